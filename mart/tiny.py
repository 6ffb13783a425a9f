"""A tiny county of institutions only (no facts): the fastest mart for exchange-node tests and benchmarks."""
from __future__ import annotations

from pathlib import Path

from core.config import Config


def build_tiny_mart(cfg: Config, townships: int = 8, villages_per_township: int = 3) -> None:
    """Write area and institution rows: 3 county hospitals, ``townships`` township centres, their village clinics."""
    from mart.db import writer
    with writer(cfg) as con:
        con.execute("INSERT INTO area VALUES ('330100', '示范县', 'county', NULL, 300000)")
        con.execute("INSERT INTO institution VALUES ('H001', '县人民医院', 'general_hospital', 'county', "
                    "'330100101', NULL, 1, 600, 119.65, 29.08)")
        con.execute("INSERT INTO institution VALUES ('H002', '县中医院', 'tcm_hospital', 'county', "
                    "'330100101', NULL, 0, 300, 119.66, 29.09)")
        con.execute("INSERT INTO institution VALUES ('H003', '县妇幼保健院', 'maternal_child', 'county', "
                    "'330100101', NULL, 0, 120, 119.64, 29.07)")
        for t in range(1, townships + 1):
            area = f"330100{100 + t}"
            if t > 1:
                con.execute("INSERT INTO area VALUES (?, ?, 'township', '330100', 20000)", [area, f"乡镇{t}"])
            else:
                con.execute("INSERT INTO area VALUES (?, ?, 'township', '330100', 20000)", [area, "城关镇"])
            code = f"T{t:03d}"
            con.execute("INSERT INTO institution VALUES (?, ?, 'township_center', 'township', ?, 'H001', 0, 40, "
                        "?, ?)", [code, f"乡镇{t}卫生院", area, 119.5 + t * 0.03, 29.0 + t * 0.01])
            for v in range(1, villages_per_township + 1):
                con.execute("INSERT INTO institution VALUES (?, ?, 'village_clinic', 'village', ?, ?, 0, 0, "
                            "NULL, NULL)", [f"V{t:03d}{v:02d}", f"乡镇{t}第{v}村卫生室", area, code])


def make_cfg(tmp: Path) -> Config:
    """Config of a DuckDB mart and SQLite app DB inside ``tmp``."""
    return Config(data_dir=tmp, mart_url=f"duckdb:///{tmp / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{tmp / 'app.db'}", cache_url="")
