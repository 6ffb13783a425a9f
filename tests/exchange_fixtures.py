"""Fixtures of the exchange tests: a tiny real DuckDB mart with institutions and a real SQLite app DB."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dashboard.config import Config

TOWNSHIPS = 8
VILLAGES_PER_TOWNSHIP = 3


def build_tiny_mart(cfg: Config) -> None:
    """Write area and institution rows (3 county hospitals, 8 township centres, 24 village clinics)."""
    from mart.db import writer
    with writer(cfg) as con:
        con.execute("INSERT INTO area VALUES ('330100', '示范县', 'county', NULL, 300000)")
        con.execute("INSERT INTO institution VALUES ('H001', '县人民医院', 'general_hospital', 'county', "
                    "'330100101', NULL, 1, 600, 119.65, 29.08)")
        con.execute("INSERT INTO institution VALUES ('H002', '县中医院', 'tcm_hospital', 'county', "
                    "'330100101', NULL, 0, 300, 119.66, 29.09)")
        con.execute("INSERT INTO institution VALUES ('H003', '县妇幼保健院', 'maternal_child', 'county', "
                    "'330100101', NULL, 0, 120, 119.64, 29.07)")
        for t in range(1, TOWNSHIPS + 1):
            area = f"330100{100 + t}"
            if t > 1:
                con.execute("INSERT INTO area VALUES (?, ?, 'township', '330100', 20000)", [area, f"乡镇{t}"])
            else:
                con.execute("INSERT INTO area VALUES (?, ?, 'township', '330100', 20000)", [area, "城关镇"])
            code = f"T{t:03d}"
            con.execute("INSERT INTO institution VALUES (?, ?, 'township_center', 'township', ?, 'H001', 0, 40, "
                        "?, ?)", [code, f"乡镇{t}卫生院", area, 119.5 + t * 0.03, 29.0 + t * 0.01])
            for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
                con.execute("INSERT INTO institution VALUES (?, ?, 'village_clinic', 'village', ?, ?, 0, 0, "
                            "NULL, NULL)", [f"V{t:03d}{v:02d}", f"乡镇{t}第{v}村卫生室", area, code])


def make_cfg(tmp: Path) -> Config:
    return Config(data_dir=tmp, mart_url=f"duckdb:///{tmp / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{tmp / 'app.db'}", cache_url="")


@pytest.fixture()
def ex_cfg(tmp_path: Path) -> Config:
    """A fresh config: tiny mart, empty app DB with the exchange tables, nodes created."""
    from dashboard.appdb import init_app_db
    from dashboard.exchange.service import ensure_nodes
    from queries.connection import dispose_engines
    cfg = make_cfg(tmp_path)
    build_tiny_mart(cfg)
    init_app_db(cfg.app_db_url)
    ensure_nodes(cfg)
    dispose_engines()
    return cfg


@pytest.fixture()
def ex_app(ex_cfg: Config):  # noqa: ANN201
    from dashboard.app import create_app
    app = create_app(ex_cfg)
    app.server.config["TESTING"] = True
    return app


@pytest.fixture()
def client(ex_app):  # noqa: ANN001, ANN201
    return ex_app.server.test_client()


def token_for(cfg: Config, code: str) -> dict[str, str]:
    from dashboard.exchange.service import issue_token
    return {"Authorization": f"Bearer {issue_token(cfg, code)}"}


_ = dataclasses
