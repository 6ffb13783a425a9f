"""Sessions and stale pages against a real ``python app.py serve --workers 2`` (the workers share the file result
cache in DATA_DIR/cache, ``serve``'s default with more than one worker, and one of them warms it), the account
changed and the mart loaded by other processes (the CLI), as in production.

* logout, disabling the account and a password reset by the administrator end the session at once on every
  worker (each check is a dozen requests on fresh connections, which the two workers share between them); a
  manager's narrowed scope within ``SESSION_CACHE_SECONDS`` (docs/security.md), whatever the output cache holds;
* after ``app.py load`` of one month's visits, the cockpit of that month shows the new figures on every worker at
  once, while the cockpit of last year is unchanged.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench._common import csrf_token, free_port
from bench.load import start_server, stop_server
from layouts import _pageparts as L
from tests.fixtures_mart import copy_demo_dir
from tests.fixtures_web import wait_until_serving
from tests.test_cache_versions import _visits_of
from tests.test_serve import _accounts, _login

pytest_plugins = ["tests.fixtures_mart"]
pytestmark = [pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Cache-probe-2026!"
FRESH = 12          # requests on fresh connections per check: both workers answer some of them
MONTH = "2026-10"


@pytest.fixture(scope="module")
def server(demo_cfg, tmp_path_factory) -> Iterator[dict]:
    """(base URL, data dir, environment for the CLI) of a two-worker server on a copy of the tiny demo."""

    from dashboard.accounts.service import create_user
    data = tmp_path_factory.mktemp("cache_iso_server")
    cfg = copy_demo_dir(demo_cfg, data)
    create_user(cfg, "srv_probe", "manager", PASSWORD, ["T001"] if _has(cfg, "T001") else [], is_demo=True,
                actor=("test:cache-isolation", "admin", ""))
    from dashboard.appdb import dispose_app_engines
    dispose_app_engines()
    port = free_port()
    log = data / "server.log"
    proc = start_server(data, port, 2, 4, log, extra_env={"CACHE_URL": ""})
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("MART_URL", "APP_DB_URL", "CACHE_URL")}
    env["DATA_DIR"] = str(data)
    try:
        wait_until_serving(base, proc, log)
        yield {"base": base, "data": data, "env": env, "cfg": cfg, "log": log}
    finally:
        stop_server(proc)


def _has(cfg, inst: str) -> bool:
    from mart.connection import read_df
    return not read_df(cfg.mart_url, "SELECT 1 FROM institution WHERE inst_code = :i", {"i": inst}).empty


def _cli(server: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), *args], env=server["env"], cwd=str(ROOT),
                          input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def _cards_body(search: str) -> dict:
    return {"output": f"..{L.CARDS}.children...{L.HOME_SUBTITLE}.children..",
            "outputs": [{"id": L.CARDS, "property": "children"}, {"id": L.HOME_SUBTITLE, "property": "children"}],
            "inputs": [{"id": L.READY, "property": "data", "value": True}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{L.READY}.data"]}


def _fresh(server: dict, cookies, search: str = "?grain=quarter&period=2026Q3") -> list[requests.Response]:
    """The cockpit cards asked FRESH times, each on a new connection (a new connection may reach either worker)."""
    out = []
    for _ in range(FRESH):
        with requests.Session() as s:
            s.cookies.update(cookies)
            out.append(s.post(f"{server['base']}/_dash-update-component", json=_cards_body(search), timeout=120))
    return out


def _codes(server: dict, cookies) -> set[int]:
    return {r.status_code for r in _fresh(server, cookies)}


def test_logout_disable_and_reset_end_the_session_on_every_worker(server):
    s = _login(server["base"], "srv_probe", PASSWORD)
    assert _codes(server, s.cookies) == {200}
    token = csrf_token(s.get(f"{server['base']}/logout", timeout=30).text)
    cookies = s.cookies.copy()
    assert s.post(f"{server['base']}/logout", data={"csrf_token": token}, allow_redirects=False,
                  timeout=30).status_code == 302
    assert _codes(server, cookies) == {401}, "a logged-out session still answered"

    s = _login(server["base"], "srv_probe", PASSWORD)
    assert _codes(server, s.cookies) == {200}
    _cli(server, "users", "set", "srv_probe", "--disable")
    assert _codes(server, s.cookies) == {401}, "a disabled account's session still answered"
    _cli(server, "users", "set", "srv_probe", "--enable")

    s = _login(server["base"], "srv_probe", PASSWORD)
    assert _codes(server, s.cookies) == {200}
    _cli(server, "users", "reset-password", "srv_probe", stdin=f"{PASSWORD}x\n{PASSWORD}x\n")
    assert _codes(server, s.cookies) == {401}, "a session survived the password reset"
    _cli(server, "users", "reset-password", "srv_probe", stdin=f"{PASSWORD}\n{PASSWORD}\n")


def _breakdown_body(search: str) -> dict:
    return {"output": f"..{L.BREAKDOWN_BOX}.children...{L.BREAKDOWN_TITLE}.children...{L.TABLE_BOX}.children..",
            "outputs": [{"id": L.BREAKDOWN_BOX, "property": "children"},
                        {"id": L.BREAKDOWN_TITLE, "property": "children"},
                        {"id": L.TABLE_BOX, "property": "children"}],
            "inputs": [{"id": L.ID, "property": "data", "value": "op_antibiotic_rate"},
                       {"id": L.BREAKDOWN_MODE, "property": "value", "value": "share"}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{L.ID}.data"]}


def _named(server: dict, cookies, search: str, names: list[str]) -> list[bool]:
    """For FRESH breakdowns on new connections: does the answer name any of ``names``?"""
    out = []
    for _ in range(FRESH):
        with requests.Session() as s:
            s.cookies.update(cookies)
            r = s.post(f"{server['base']}/_dash-update-component", json=_breakdown_body(search), timeout=120)
            assert r.status_code == 200, r.text[:300]
            text = json.dumps(r.json(), ensure_ascii=False)
            out.append(any(n in text for n in names))
    return out


def test_a_narrowed_scope_reaches_every_worker_within_the_session_cache_time(server):
    from dashboard.accounts.session_cache import SCOPE_SECONDS
    from mart.connection import read_df
    mine = "T001"
    names = sorted(set(read_df(server["cfg"].mart_url, "SELECT name FROM department WHERE inst_code = :i",
                               {"i": mine})["name"]))
    assert names
    s = _login(server["base"], "srv_probe", PASSWORD)
    search = f"?grain=year&period=2025&org={mine}"
    assert all(_named(server, s.cookies, search, names))      # both workers cached the named view for this scope
    other = str(read_df(server["cfg"].mart_url, "SELECT inst_code FROM institution WHERE inst_code <> :i AND "
                        "level <> 'village' ORDER BY inst_code LIMIT 1", {"i": mine})["inst_code"].iloc[0])
    _cli(server, "users", "set", "srv_probe", "--inst", other)
    try:
        changed = time.monotonic()
        deadline = changed + SCOPE_SECONDS + 3      # the documented delay, plus a request's time on a busy machine
        while any(_named(server, s.cookies, search, names)):
            assert time.monotonic() < deadline, f"the old scope still served {SCOPE_SECONDS + 3:.0f} s after the change"
            time.sleep(0.5)
        assert not any(_named(server, s.cookies, search, names))
    finally:
        _cli(server, "users", "set", "srv_probe", "--inst", mine)


def _answers(responses: list[requests.Response]) -> set[str]:
    assert {r.status_code for r in responses} == {200}, [r.text[:200] for r in responses if r.status_code != 200]
    return {json.dumps(r.json(), sort_keys=True, ensure_ascii=False) for r in responses}


def test_a_month_load_shows_at_once_on_every_worker_and_keeps_last_year(server, tmp_path):
    user, password = _accounts(server["data"])["leader"]
    leader = _login(server["base"], user, password)
    this_month, last_year = f"?grain=month&period={MONTH}", "?grain=year&period=2025"
    before = _answers(_fresh(server, leader.cookies, this_month))
    old = _answers(_fresh(server, leader.cookies, last_year))
    assert len(before) == 1 and len(old) == 1                 # every worker says the same (cached or not)

    _visits_of(server["cfg"], MONTH, tmp_path / "load")      # the month's first visits again, costs doubled
    out = _cli(server, "load", str(tmp_path / "load"))
    assert "outpatient_visit" in out

    after = _answers(_fresh(server, leader.cookies, this_month))
    assert len(after) == 1, "the workers disagree right after the load"
    assert after != before, "the loaded month still shows the old figures"
    assert _answers(_fresh(server, leader.cookies, last_year)) == old
