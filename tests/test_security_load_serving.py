"""A load never takes the dashboard down: a real server polled every 100 ms answers without an error card
through a load started from idle and through a ``kill -9`` of that load; the dead load's copy is cleaned up."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from core.config import Config
from layouts import _pageparts as L
from tests.fixtures_mart import make_config

ROOT = Path(__file__).resolve().parent.parent
ERROR_MARKS = ("加载失败", "出错了", "Conflicting lock", "Could not set lock")


def _cards_body(search: str) -> dict:
    outputs = [{"id": L.CARDS, "property": "children"}, {"id": L.HOME_SUBTITLE, "property": "children"}]
    return {"output": f"..{L.CARDS}.children...{L.HOME_SUBTITLE}.children..", "outputs": outputs,
            "inputs": [{"id": L.READY, "property": "data", "value": True}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{L.READY}.data"]}


class Poller:
    """Polls the cockpit cards every 100 ms (a new period each time, so the mart is read, not the cache)."""

    def __init__(self, base: str, session: requests.Session, csrf: dict[str, str]) -> None:
        self.base, self.session, self.csrf = base, session, csrf
        self.answers: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        months = [f"2026-{m:02d}" for m in range(1, 12)]
        i = 0
        while not self._stop.is_set():
            search = f"?grain=month&period={months[i % len(months)]}"
            i += 1
            try:
                r = self.session.post(self.base + "/_dash-update-component", json=_cards_body(search),
                                      headers=self.csrf, timeout=30)
                self.answers.append((r.status_code, r.text))
            except requests.RequestException as exc:
                self.answers.append((0, str(exc)))
            self._stop.wait(0.1)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def failures(self) -> list[str]:
        return [f"{code}: {text[:200]}" for code, text in self.answers
                if code != 200 or any(m in text for m in ERROR_MARKS)]


@pytest.fixture(scope="module")
def served(demo_cfg: Config, tmp_path_factory: pytest.TempPathFactory):
    """Own DATA_DIR with a copy of the tiny demo mart, its exported files, and a real HTTP server on it."""
    from werkzeug.serving import make_server

    from dashboard.accounts.service import ensure_demo_accounts, read_demo_accounts
    from dashboard.app import create_app
    from dashboard.appdb import init_app_db
    from mart.export import export_mart

    data = tmp_path_factory.mktemp("loadserve")
    cfg = make_config(data)
    shutil.copyfile(demo_cfg.mart_path, cfg.mart_path)
    export_mart(cfg, data / "files", "parquet")
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    user, pw = read_demo_accounts(cfg)["leader"]
    s = requests.Session()
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    r = s.post(base + "/login", data={"username": user, "password": pw, "csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302
    page = s.get(base + "/").text
    meta = re.search(r'name="csrf-token" content="([^"]+)"', page)
    csrf = {"X-CSRFToken": meta.group(1)} if meta else {}
    yield cfg, base, s, csrf
    srv.shutdown()


def _start_load(cfg: Config) -> subprocess.Popen:
    env = dict(os.environ, DATA_DIR=str(cfg.data_dir), MART_URL=cfg.mart_url, APP_DB_URL=cfg.app_db_url)
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "load", str(cfg.data_dir / "files")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _copies(cfg: Config) -> list[Path]:
    return sorted(cfg.data_dir.glob(f".{cfg.mart_path.name}.write-*"))


def test_server_answers_through_a_load_from_idle_and_a_killed_load(served) -> None:
    from mart.connection import dispose_engines
    cfg, base, session, csrf = served
    first = Poller(base, session, csrf)
    with first:
        deadline = time.monotonic() + 60
        while len(first.answers) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.answers and not first.failures(), first.failures()[:3]
    dispose_engines()           # idle: no worker holds the mart when the load starts
    load = _start_load(cfg)
    with Poller(base, session, csrf) as during:
        out, _ = load.communicate(timeout=240)
    assert load.returncode == 0, out
    assert len(during.answers) >= 3 and not during.failures(), during.failures()[:3]
    assert not _copies(cfg)
    assert cfg.mart_path.stat().st_mode & 0o077 == 0           # not readable by other users

    with Poller(base, session, csrf) as through_kill:
        for _attempt in range(3):       # kill the load while its copy exists (a fast machine may finish first)
            dispose_engines()
            size_before = cfg.mart_path.stat().st_size
            killed = _start_load(cfg)
            deadline = time.monotonic() + 60
            while not _copies(cfg) and time.monotonic() < deadline and killed.poll() is None:
                time.sleep(0.01)
            if killed.poll() is None:
                os.kill(killed.pid, signal.SIGKILL)
            killed.wait()
            if _copies(cfg):
                break
        time.sleep(1.0)
    assert not through_kill.failures(), through_kill.failures()[:3]
    left = _copies(cfg)
    assert left, "the load was killed before it made its copy: nothing to clean up was tested"
    assert cfg.mart_path.stat().st_size == size_before          # the mart itself untouched

    from mart.db import remove_dead_copies
    assert remove_dead_copies(cfg) and not _copies(cfg)          # what the next start does
    # a full reload keeps the file compact (no doubling)
    again = _start_load(cfg)
    out, _ = again.communicate(timeout=240)
    assert again.returncode == 0, out
    assert cfg.mart_path.stat().st_size < size_before * 1.3
    assert json.loads(json.dumps(out)) and not _copies(cfg)
