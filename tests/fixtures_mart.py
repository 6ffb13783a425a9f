"""Mart fixtures: a tiny demo county built once per test session.

``demo_cfg``  — Config of a tmp DATA_DIR holding a tiny demo (scale 0.01, 1 year + 2026 up to 2026-11-24, seed 42),
                built end to end with ``build_demo_everything`` (mart, geometry, app DB, demo accounts, exchange).
``demo_con``  — a read-only DuckDB connection to that mart (closed after the test).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core.config import Config

DEMO_UNTIL = dt.date(2026, 11, 24)
DEMO_SCALE = 0.01
DEMO_SEED = 42
DEMO_YEARS = 1


def make_config(data_dir) -> Config:
    """A Config whose every file lives in ``data_dir`` (no environment needed)."""
    return Config(data_dir=data_dir, mart_url=f"duckdb:///{data_dir / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{data_dir / 'app.db'}", cache_url="")


@pytest.fixture(scope="session")
def demo_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Config of a tiny demo county built once for the session."""
    from dashboard.bootstrap import build_demo_everything

    data_dir = tmp_path_factory.mktemp("demo_data")
    cfg = make_config(data_dir)
    with pytest.MonkeyPatch.context() as mp:     # code that calls load_config() sees the same folder
        mp.setenv("DATA_DIR", str(data_dir))
        mp.setenv("MART_URL", cfg.mart_url)
        mp.setenv("APP_DB_URL", cfg.app_db_url)
        build_demo_everything(cfg, scale=DEMO_SCALE, seed=DEMO_SEED, years=DEMO_YEARS, until=DEMO_UNTIL,
                              quiet=True)
    return cfg


@pytest.fixture
def demo_con(demo_cfg: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only DuckDB connection to the tiny demo mart, returned to the pool after the test.

    It comes from the web process' own read-only engine (``mart.connection.mart_engine``): DuckDB refuses a
    second connection to the same file with a different configuration in one process.
    """
    from mart.connection import duckdb_read_cursor

    with duckdb_read_cursor(demo_cfg.mart_url) as con:
        yield con


def copy_demo_dir(demo_cfg: Config, data: Path) -> Config:
    """The tiny demo's mart, app database, demo accounts and geometry copied into ``data``; its config."""
    import dataclasses
    import shutil
    for name in ("mart.duckdb", "app.db", "demo-accounts.txt"):
        shutil.copy2(demo_cfg.data_dir / name, data / name)
    if demo_cfg.geo_dir.exists():
        shutil.copytree(demo_cfg.geo_dir, data / "geo")
    return dataclasses.replace(demo_cfg, data_dir=data, mart_url=f"duckdb:///{data / 'mart.duckdb'}",
                               app_db_url=f"sqlite:///{data / 'app.db'}")


@pytest.fixture
def demo_copy(demo_cfg: Config, tmp_path, monkeypatch) -> Iterator[Config]:
    """A private copy of the tiny demo's mart and app database (for tests that write: alerts, reports), with the
    environment pointing at it."""
    import shutil

    from dashboard.appdb import dispose_app_engines
    for name in ("mart.duckdb", "app.db"):
        shutil.copy(demo_cfg.data_dir / name, tmp_path / name)
    cfg = make_config(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MART_URL", cfg.mart_url)
    monkeypatch.setenv("APP_DB_URL", cfg.app_db_url)
    yield cfg
    dispose_app_engines()

