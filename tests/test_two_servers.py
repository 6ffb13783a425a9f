"""Two web servers, one deployment: two ``python app.py serve`` processes on different ports share a PostgreSQL
app database and a Redis cache (and SECRET_KEY, as the backends behind one load balancer do).

A session made by logging in on one is valid on the other; a re-run command issued by an operator on one (the
/exchange page's callback) is what the node sees when it asks the other for its commands; both servers' schedules
of the alert rules fire every few seconds, and the rules are evaluated once per tick (``alerts.run`` audit rows).

Needs ``TEST_POSTGRES_URL`` (a throw-away database is created beside it and dropped) and ``TEST_REDIS_URL``.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench._common import csrf_token, free_port
from bench.load import start_server, stop_server
from tests.fixtures_web import wait_until_serving
from tests.test_serve import _accounts, _login

PG = os.environ.get("TEST_POSTGRES_URL", "")
TICK_MINUTES = 0.25          # the alert schedule of both servers: every 15 s
REDIS = os.environ.get("TEST_REDIS_URL", "")
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600),
              pytest.mark.skipif(not (PG and REDIS), reason="needs TEST_POSTGRES_URL and TEST_REDIS_URL")]


@pytest.fixture(scope="module")
def app_db_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the app DB, dropped afterwards."""
    import psycopg2
    from sqlalchemy.engine import make_url

    name = f"twoserv_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(make_url(PG).set(drivername="postgresql").render_as_string(hide_password=False))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        from dashboard.appdb import dispose_app_engines
        dispose_app_engines()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def two_servers(demo_cfg, app_db_url, tmp_path_factory):
    """(base A, base B, data dir, app DB config) of two servers sharing the app DB and the cache."""
    import dataclasses

    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import init_app_db
    from dashboard.exchange.seed import seed_demo_history

    data = tmp_path_factory.mktemp("two_servers")
    shutil.copy2(demo_cfg.data_dir / "mart.duckdb", data / "mart.duckdb")
    shutil.copytree(demo_cfg.data_dir / "geo", data / "geo")
    cfg = dataclasses.replace(demo_cfg, data_dir=data, mart_url=f"duckdb:///{data / 'mart.duckdb'}",
                              app_db_url=app_db_url)
    init_app_db(app_db_url)
    ensure_demo_accounts(cfg)
    seed_demo_history(cfg, days=30)
    env = {"APP_DB_URL": app_db_url, "CACHE_URL": REDIS, "MART_URL": cfg.mart_url,
           "ALERTS_SCHEDULE_MINUTES": str(TICK_MINUTES),
           "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex}      # the backends of one deployment share it
    procs, bases = [], []
    try:
        for n in (1, 2):
            port = free_port()
            log = data / f"server{n}.log"
            proc = start_server(data, port, 1, 4, log, extra_env=env)
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
            wait_until_serving(bases[-1], proc, log)
        yield bases[0], bases[1], data, cfg
    finally:
        for proc in procs:
            stop_server(proc)


def test_a_session_made_on_one_server_is_valid_on_the_other(two_servers) -> None:
    a, b, data, _cfg = two_servers
    user, password = _accounts(data)["leader"]
    assert requests.get(f"{b}/", timeout=30, allow_redirects=False).status_code in (302, 303)   # B: login first
    s = _login(a, user, password)
    r = s.get(f"{b}/", timeout=60, allow_redirects=False)
    assert r.status_code == 200, r.headers.get("Location")
    cookies = s.cookies.copy()
    token = csrf_token(s.get(f"{a}/logout", timeout=30).text)
    assert s.post(f"{a}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30).status_code in (302, 303)
    r = requests.get(f"{b}/", cookies=cookies, timeout=30, allow_redirects=False)   # ended on A: gone on B too
    assert r.status_code in (302, 303)


def _rerun_payload(s: requests.Session, base: str, run_id: str) -> dict:
    """The /exchange re-run callback's request, its output names taken from the server's dependency list."""
    from layouts import _exchange_parts as P
    deps = s.get(f"{base}/_dash-dependencies", timeout=30).json()
    dep = next(d for d in deps if any(i["id"] == P.EX_RERUN_CONFIRM for i in d["inputs"]))
    outs = []
    for part in dep["output"].strip(".").split("..."):
        ident, prop = part.split(".", 1)
        outs.append({"id": ident, "property": prop})
    return {"output": dep["output"], "outputs": outs,
            "inputs": [{"id": P.EX_RERUN_CONFIRM, "property": "submit_n_clicks", "value": 1}],
            "state": [{"id": P.EX_RUN, "property": "data", "value": run_id},
                      {"id": P.EX_TICK, "property": "data", "value": 0}],
            "changedPropIds": [f"{P.EX_RERUN_CONFIRM}.submit_n_clicks"]}


def test_a_rerun_issued_on_one_server_is_seen_on_the_other(two_servers) -> None:
    from dashboard.exchange.service import issue_token, job_runs, now_local
    a, b, data, cfg = two_servers
    runs, _total = job_runs(cfg, status="failed")
    assert len(runs), "the seeded history has failed runs"
    run = runs.iloc[0]
    token = issue_token(cfg, run["node_code"])
    auth = {"Authorization": f"Bearer {token}"}
    # the node is online now (its seeded heartbeats may be minutes old when the servers were slow to start)
    beat = requests.post(f"{b}/api/exchange/heartbeat", json={"ts": now_local().isoformat()}, headers=auth,
                         timeout=30)
    assert beat.status_code == 204, beat.text[:300]
    before = requests.get(f"{b}/api/exchange/commands", headers=auth, timeout=30).json()["commands"]
    assert not [c for c in before if c["run_id"] == run["run_id"]]
    user, password = _accounts(data)["operator"]
    s = _login(a, user, password)
    r = s.post(f"{a}/_dash-update-component", json=_rerun_payload(s, a, run["run_id"]), headers={"Origin": a},
               timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert "重跑命令" in r.text
    after = requests.get(f"{b}/api/exchange/commands", headers=auth, timeout=30).json()["commands"]
    assert [c["kind"] for c in after if c["run_id"] == run["run_id"]] == ["rerun"], (run.to_dict(), after, r.text[-600:])


def _schedule_lines(log: Path) -> list[str]:
    return [ln for ln in log.read_text(errors="replace").splitlines() if "定时预警评估" in ln]


def test_the_alert_schedule_fires_on_both_servers_and_evaluates_once_per_tick(two_servers) -> None:
    """Both servers fire at the same 15 s boundaries; one evaluates (PostgreSQL advisory lock), the other skips —
    on the lock, or because the tick was already evaluated — so every tick has at most one ``alerts.run`` row."""
    import datetime as dt

    from sqlalchemy import select

    from dashboard.accounts.models import AuditLog
    from dashboard.alerts.lock import RUN_ACTION
    from dashboard.appdb import session_factory
    _a, _b, data, cfg = two_servers
    step = dt.timedelta(minutes=TICK_MINUTES)
    deadline = time.time() + 150
    while True:           # three evaluated ticks, and each server has fired at least twice
        with session_factory(cfg.app_db_url)() as s:
            runs = list(s.scalars(select(AuditLog.ts).where(AuditLog.action == RUN_ACTION).order_by(AuditLog.ts)))
        fired = [_schedule_lines(data / f"server{n}.log") for n in (1, 2)]
        if len(runs) >= 3 and all(len(f) >= 2 for f in fired):
            break
        assert time.time() < deadline, f"runs {runs}, server logs {fired}"
        time.sleep(1)
    epoch = dt.datetime(2000, 1, 1)
    ticks = [(ts - epoch) // step for ts in runs]        # a run finishes within its tick
    assert len(set(ticks)) == len(ticks), f"a tick evaluated twice: {runs}"
    assert all(any("跳过" in ln for ln in f) or any("完成" in ln for ln in f) for f in fired)
    assert sum("跳过" in ln for f in fired for ln in f) >= 1, fired
