"""Fixtures of the exchange tests: a tiny real DuckDB mart with institutions and a real SQLite app DB."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.config import Config
from mart import tiny

TOWNSHIPS = 8
VILLAGES_PER_TOWNSHIP = 3


def build_tiny_mart(cfg: Config) -> None:
    """Write area and institution rows (3 county hospitals, 8 township centres, 24 village clinics)."""
    tiny.build_tiny_mart(cfg, TOWNSHIPS, VILLAGES_PER_TOWNSHIP)


make_cfg = tiny.make_cfg


@pytest.fixture()
def ex_cfg(tmp_path: Path) -> Config:
    """A fresh config: tiny mart, empty app DB with the exchange tables, nodes created."""
    from dashboard.appdb import init_app_db
    from dashboard.exchange.service import ensure_nodes
    from mart.connection import dispose_engines
    cfg = make_cfg(tmp_path)
    build_tiny_mart(cfg)
    init_app_db(cfg.app_db_url)
    ensure_nodes(cfg)
    dispose_engines()
    return cfg


@pytest.fixture()
def ex_app(ex_cfg: Config):
    from dashboard.app import create_app
    app = create_app(ex_cfg)
    app.server.config["TESTING"] = True
    return app


@pytest.fixture()
def client(ex_app):
    return ex_app.server.test_client()


def token_for(cfg: Config, code: str) -> dict[str, str]:
    from dashboard.exchange.service import issue_token
    return {"Authorization": f"Bearer {issue_token(cfg, code)}"}


_ = dataclasses
