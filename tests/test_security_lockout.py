"""Lockout under parallel attempts (SQLite and PostgreSQL) and the login limiter shared between workers."""
from __future__ import annotations

import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import Config
from dashboard.accounts.models import AuditLog, LoginLog
from dashboard.accounts.service import authenticate, create_user, get_user_view
from dashboard.appdb import init_app_db, session_factory

PG = os.environ.get("TEST_POSTGRES_URL", "")
PARALLEL = 16


def _cfg(tmp_path: Path, app_db_url: str) -> Config:
    return Config(data_dir=tmp_path, mart_url=f"duckdb:///{tmp_path / 'mart.duckdb'}", app_db_url=app_db_url,
                  cache_url="")


def _burst(cfg: Config, username: str, password: str, n: int) -> list[str]:
    """``n`` logins released at the same instant from ``n`` threads (each its own connection)."""
    gate = threading.Barrier(n)

    def one(_i: int) -> str:
        gate.wait()
        return authenticate(cfg, username, password, ip="10.0.0.9")[1]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _check_parallel_lockout(cfg: Config) -> None:
    init_app_db(cfg.app_db_url)
    name = "race" + secrets.token_hex(3)
    pw = "Qx7!race-" + secrets.token_hex(4)
    create_user(cfg, name, "leader", pw, [], is_demo=True)
    results = _burst(cfg, name, "wrong-Pass1!", PARALLEL)
    # Every attempt counted: 4 failures, the 5th locks, the other 11 meet the lock.
    assert sorted(results) == sorted(["bad_password"] * 4 + ["bad_password_locked"] + ["locked"] * 11), results
    assert get_user_view(cfg, name).locked
    # A second burst while locked locks nothing again.
    assert set(_burst(cfg, name, "wrong-Pass1!", 8)) == {"locked"}
    assert authenticate(cfg, name, pw)[1] == "locked"          # the right password is refused too
    with session_factory(cfg.app_db_url)() as s:
        locks = s.scalars(select(AuditLog).where(AuditLog.action == "user.lock", AuditLog.target == name)).all()
        logged = s.scalars(select(LoginLog.result).where(LoginLog.username == name)).all()
    assert len(locks) == 1
    assert len(logged) == PARALLEL + 8 + 1


def test_parallel_wrong_passwords_lock_once_sqlite(tmp_path):
    _check_parallel_lockout(_cfg(tmp_path, f"sqlite:///{tmp_path / 'app.db'}"))


@pytest.mark.postgres
@pytest.mark.skipif(not PG, reason="TEST_POSTGRES_URL is not set")
def test_parallel_wrong_passwords_lock_once_postgres(tmp_path):
    _check_parallel_lockout(_cfg(tmp_path, PG))


def test_locked_unknown_and_wrong_take_the_same_time(tmp_path):
    """The hash work is done on every path: a locked account answers no faster than an unknown user."""
    cfg = _cfg(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")
    init_app_db(cfg.app_db_url)
    create_user(cfg, "timed", "leader", "Qx7!clock-pw", [], is_demo=True)
    for _ in range(5):
        authenticate(cfg, "timed", "nope")
    assert get_user_view(cfg, "timed").locked

    def fastest(user: str) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            authenticate(cfg, user, "nope")
            times.append(time.perf_counter() - t0)
        return min(times)
    locked, unknown = fastest("timed"), fastest("no-such-user")
    assert locked > unknown / 3, (locked, unknown)        # was 7-12 ms against 0.2-0.7 s before


def test_limiter_counts_are_shared_between_workers(tmp_path):
    """Two storages on one file (two workers) count together; parallel increments lose nothing."""
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from dashboard.accounts.web import limiter_storage_uri

    uri = limiter_storage_uri(_cfg(tmp_path, "sqlite://"))
    assert uri.startswith("ycty-sqlite:///")
    workers = [FixedWindowRateLimiter(storage_from_string(uri)) for _ in range(2)]
    limit = parse("10 per minute")
    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(lambda i: workers[i % 2].hit(limit, "login", "10.0.0.1"), range(20)))
    assert allowed.count(True) == 10
    assert (tmp_path / "ratelimit.db").stat().st_mode & 0o077 == 0


def test_limiter_uses_redis_when_configured(tmp_path):
    from dashboard.accounts.web import limiter_storage_uri
    cfg = Config(data_dir=tmp_path, mart_url="duckdb:///x", app_db_url="sqlite://", cache_url="redis://127.0.0.1/12")
    assert limiter_storage_uri(cfg) == "redis://127.0.0.1/12"
