"""Serving: ``python app.py serve --workers 2`` (gunicorn) on a copy of the tiny demo, driven over real HTTP.

Checks that the production server answers, that both worker processes open the DuckDB mart read-only and serve
logged-in callbacks concurrently, that logins (app-database writes on SQLite) from many clients at once all
succeed, that with ``CACHE_URL`` the workers share engine results in Redis, and that a query over the time limit
fails cleanly instead of hanging.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bench._common import child_pids, csrf_token, free_port
from bench.load import start_server, stop_server
from tests.fixtures_web import wait_until_serving

REDIS = os.environ.get("TEST_REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[1]


def _copy_demo(src: Path, dst: Path) -> Path:
    """A private copy of the tiny demo DATA_DIR (the server writes sessions and logs into its app DB)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("mart.duckdb", "app.db", "demo-accounts.txt", "secret_key"):
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    shutil.copytree(src / "geo", dst / "geo", dirs_exist_ok=True)
    return dst


def _project_as_after_load(data_dir: Path) -> None:
    """What every load, demo build and ``alerts run`` ends with: the county cockpit's 预计全年 stored in the app
    database for every worker."""
    from bench._common import make_config
    from dashboard.views.cards import warm_headline_year_end
    cfg = make_config(data_dir)
    warm_headline_year_end(cfg.app_db_url, cfg.mart_url)


def _serve(data_dir: Path, workers: int, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = start_server(data_dir, port, workers, 4, data_dir / "server.log", extra_env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, data_dir / "server.log", timeout_s=60, poll_s=0.3)
        yield base, proc
    finally:
        stop_server(proc)


def _login(base: str, user: str, password: str) -> requests.Session:
    s = requests.Session()
    token = csrf_token(s.get(f"{base}/login", timeout=30).text)
    r = s.post(f"{base}/login", data={"username": user, "password": password, "csrf_token": token},
               allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text[:300]
    return s


def _accounts(data_dir: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in (data_dir / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out[parts[0]] = (parts[1], parts[2])
    return out


def _mart_fds(pid: int, mart: Path) -> list[int]:
    """Open-file flags of ``mart`` in process ``pid`` (one entry per descriptor)."""
    flags = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == mart:
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                flags.append(int(next(x for x in info.splitlines() if x.startswith("flags:")).split()[1], 8))
        except (OSError, StopIteration):
            continue
    return flags


@pytest.fixture(scope="module")
def served(demo_cfg, tmp_path_factory) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    data_dir = _copy_demo(demo_cfg.data_dir, tmp_path_factory.mktemp("serve"))
    _project_as_after_load(data_dir)
    env = {"CACHE_URL": REDIS} if REDIS else {}
    for base, proc in _serve(data_dir, 2, env):
        yield base, proc, data_dir


def _cockpit_payload(search: str) -> dict:
    from bench.pages import CALLS, _payload
    name, outputs, trigger = next(c for c in CALLS if c[0] == "cockpit.cards")
    return _payload(outputs, trigger, search)


def _search(demo_cfg) -> str:
    from dashboard.urlstate import month_to_period
    from queries.periods import last_complete_month
    return f"?grain=quarter&period={month_to_period(last_complete_month(demo_cfg.mart_url), 'quarter')}"


def test_two_workers_answer_and_read_the_mart_read_only(served, demo_cfg) -> None:
    base, proc, data_dir = served
    assert requests.get(f"{base}/login", timeout=30).status_code == 200
    assert requests.get(f"{base}/", timeout=30, allow_redirects=False).status_code in (302, 303)  # login first
    workers = child_pids(proc.pid)
    assert len(workers) == 2, workers
    user, password = _accounts(data_dir)["leader"]
    sessions = [_login(base, user, password) for _ in range(8)]
    payload = _cockpit_payload(_search(demo_cfg))
    mart = (data_dir / "mart.duckdb").resolve()

    def click(s: requests.Session) -> tuple[int, bytes]:
        r = s.post(f"{base}/_dash-update-component", json=payload, timeout=60)
        return r.status_code, r.content

    deadline = time.time() + 60
    while True:     # concurrent rounds until both workers have served a callback (each then holds the mart open)
        with ThreadPoolExecutor(len(sessions)) as pool:
            answers = list(pool.map(click, sessions))
        assert all(code == 200 for code, _ in answers), [a[1][:200] for a in answers if a[0] != 200]
        assert all(b"error-card" not in body for _, body in answers)
        # every worker answers the same cards, 预计全年 included (one projection in the app database for all); compared
        # as decoded JSON: a figure rendered now and one served from the output cache differ only in key order
        decoded = [json.loads(body) for _, body in answers]
        assert all(d == decoded[0] for d in decoded)
        assert all(b"kpi-projection" in body for _, body in answers)
        if all(_mart_fds(pid, mart) for pid in workers) or time.time() > deadline:
            break
    for pid in workers:
        flags = _mart_fds(pid, mart)
        assert flags, f"worker {pid} never opened the mart"
        assert all(f & os.O_ACCMODE == os.O_RDONLY for f in flags), f"worker {pid} opened the mart for writing"


def test_many_concurrent_logins_on_sqlite_all_succeed(served) -> None:
    base, _proc, data_dir = served
    accounts = _accounts(data_dir)
    roles = ["leader", "manager", "operator", "auditor"] * 6

    def login(role: str) -> int:
        user, password = accounts[role]
        s = requests.Session()
        token = csrf_token(s.get(f"{base}/login", timeout=30).text)
        return s.post(f"{base}/login", data={"username": user, "password": password, "csrf_token": token},
                      allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(login, roles))
    assert codes == [302] * len(roles), codes
    import sqlite3
    con = sqlite3.connect(data_dir / "app.db")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


@pytest.mark.skipif(not REDIS, reason="TEST_REDIS_URL is not set: no Redis server for the shared cache "
                                      "(CI sets it, see .ci/run)")
def test_workers_share_engine_results_in_redis(served, demo_cfg) -> None:
    import redis
    base, _proc, data_dir = served
    client = redis.Redis.from_url(REDIS)
    user, password = _accounts(data_dir)["leader"]
    s = _login(base, user, password)
    r = s.post(f"{base}/_dash-update-component", json=_cockpit_payload(_search(demo_cfg)), timeout=60)
    assert r.status_code == 200
    keys = client.keys("ycty:engine:*")
    assert keys, "no engine result was stored in Redis"


def test_a_query_over_the_time_limit_fails_and_the_engine_keeps_serving(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from mart import connection as qc
    path = tmp_path / "slow.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(2000)")
    con.close()
    url = f"duckdb:///{path}"
    monkeypatch.setattr(qc, "QUERY_TIMEOUT_S", 0.5)
    try:
        t0 = time.perf_counter()
        with pytest.raises(Exception, match="(?i)interrupt"):
            qc.read_df(url, "SELECT count(*) FROM t a, t b, t c, t d WHERE a.i + b.i + c.i + d.i = 7")
        assert time.perf_counter() - t0 < 10
        assert qc.read_df(url, "SELECT count(*) AS n FROM t")["n"].iloc[0] == 2000   # the pool still works
    finally:
        qc.dispose_engines()


PG = os.environ.get("TEST_POSTGRES_URL", "")


@pytest.mark.skipif(not PG, reason="TEST_POSTGRES_URL is not set: no PostgreSQL server for the app database "
                                   "(CI sets it, see .ci/run)")
def test_app_database_on_postgresql_with_two_workers(demo_cfg, tmp_path: Path) -> None:
    """APP_DB_URL=postgresql://…: tables created once before the workers fork, accounts, concurrent logins and a
    callback work across both workers."""
    import uuid

    import psycopg2

    from core.config import Config
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import dispose_app_engines
    from mart.pg import libpq_dsn
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(libpq_dsn(PG))
    admin.autocommit = True
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    url = f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}"
    try:
        data_dir = tmp_path / "pgapp"
        data_dir.mkdir()
        shutil.copy2(demo_cfg.mart_path, data_dir / "mart.duckdb")
        shutil.copytree(demo_cfg.data_dir / "geo", data_dir / "geo")
        cfg = Config(data_dir=data_dir, mart_url=f"duckdb:///{data_dir / 'mart.duckdb'}", app_db_url=url,
                     cache_url="")
        ensure_demo_accounts(cfg)
        dispose_app_engines()
        for base, _proc in _serve(data_dir, 2, {"APP_DB_URL": url}):
            user, password = _accounts(data_dir)["leader"]

            def login(_n: int) -> int:
                s = requests.Session()
                token = csrf_token(s.get(f"{base}/login", timeout=30).text)
                return s.post(f"{base}/login", data={"username": user, "password": password, "csrf_token": token},
                              allow_redirects=False, timeout=60).status_code
            with ThreadPoolExecutor(8) as pool:
                assert list(pool.map(login, range(16))) == [302] * 16
            s = _login(base, user, password)
            r = s.post(f"{base}/_dash-update-component", json=_cockpit_payload(_search(demo_cfg)), timeout=60)
            assert r.status_code == 200 and b"error-card" not in r.content
            assert not (data_dir / "app.db").exists()                 # nothing went to a SQLite file
        with admin.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}'")
            assert cur.fetchone()[0] >= 5
    finally:
        dispose_app_engines()
        admin.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def test_first_run_serves_the_demo_with_live_exchange_nodes(demo_cfg, tmp_path: Path) -> None:
    """``python app.py`` on the demo mart also runs the simulated exchange nodes, so the operator's map is live:
    heartbeats reach the server it started (on PORT) within seconds."""
    import signal
    import sqlite3

    data_dir = _copy_demo(demo_cfg.data_dir, tmp_path / "first")
    with sqlite3.connect(data_dir / "app.db") as db:
        db.execute("UPDATE exchange_node SET last_heartbeat_at = NULL")
    port = free_port()
    env = dict(os.environ, DATA_DIR=str(data_dir), PORT=str(port), PYTHONUNBUFFERED="1")
    for name in ("MART_URL", "APP_DB_URL", "CACHE_URL", "DEMO_SIMULATE"):
        env.pop(name, None)
    log_path = tmp_path / "first.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=str(ROOT), env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        beating = 0
        while time.time() < deadline:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-2000:]
            with sqlite3.connect(data_dir / "app.db") as db:
                beating = db.execute("SELECT count(*) FROM exchange_node WHERE last_heartbeat_at IS NOT NULL"
                                     ).fetchone()[0]
            if beating >= 5:
                break
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")
        assert beating >= 5, output[-2000:]
        assert f"http://127.0.0.1:{port}/" in output and "演示前置机模拟器已启动" in output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)      # the server, its workers and the simulator child
        proc.wait(timeout=30)

