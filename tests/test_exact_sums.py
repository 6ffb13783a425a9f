"""Exact sums: the same facts in another row order give bit-identical indicators.

Money (DECIMAL(14,2) in the contract) and DDDs used to be summed as DOUBLE; a floating-point sum depends on the
order of its additions, so the same county loaded from another file (GB18030, .xlsx, a re-export) or summed by
other DuckDB threads could print 37.76 instead of 37.77. Every sum of a decimal measure now goes through DECIMAL
(``mart.rollups.exact_sum``): this test loads the tiny demo twice, once with the big fact tables' rows in reverse
order, and compares every indicator's numerator, denominator and value bit for bit, and the rollups' money columns.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from core.config import Config
from mart.connection import read_df
from mart.export import export_mart
from mart.loader import load_directory
from mart.rollups import EXACT_SCALE, SPECS, exact_sum
from metrics.catalogue import INDICATORS
from metrics.engine import compute

MART_IDS = [i.id for i in INDICATORS.values() if i.available and i.kind != "exchange"]
REORDERED = ("outpatient_visit", "inpatient_discharge", "outside_settlement", "resource_month")


def _cfg(folder: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    return Config(data_dir=folder, mart_url=f"duckdb:///{folder / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{folder / 'app.db'}", cache_url="")


@pytest.fixture(scope="module")
def two_marts(demo_cfg: Config, tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Config]:
    """The tiny demo loaded from Parquet as exported, and from the same files with the fact rows reversed."""
    root = tmp_path_factory.mktemp("exact")
    export_mart(demo_cfg, root / "asis", fmt="parquet")
    (root / "reversed").mkdir()
    con = duckdb.connect()
    for path in (root / "asis").glob("*.parquet"):
        target = root / "reversed" / path.name
        if path.stem in REORDERED:
            con.execute(f"COPY (SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER () AS _n "
                        f"FROM read_parquet('{path}')) ORDER BY _n DESC) TO '{target}' (FORMAT parquet)")
        else:
            target.write_bytes(path.read_bytes())
    con.close()
    marts = (_cfg(root / "mart_asis"), _cfg(root / "mart_reversed"))
    load_directory(marts[0], root / "asis")
    load_directory(marts[1], root / "reversed")
    return marts


def _last_month(cfg: Config) -> str:
    return read_df(cfg.mart_url, "SELECT max(month) AS m FROM r_op_month")["m"].iloc[0]


def test_reversed_rows_give_bit_identical_indicators(two_marts: tuple[Config, Config]) -> None:
    asis, reversed_ = two_marts
    end = _last_month(asis)
    start = f"{int(end[:4]) - 1}{end[4:]}"
    frames = [compute(MART_IDS, "institution", "month", start, end, mart_url=cfg.mart_url, use_cache=False)
              for cfg in (asis, reversed_)]
    a, b = (f.sort_values(["indicator_id", "org_code", "period"]).reset_index(drop=True) for f in frames)
    assert len(a) == len(b) > 1000
    assert (a["org_code"] == b["org_code"]).all() and (a["period"] == b["period"]).all()
    for col in ("numerator", "denominator", "value"):
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        same = (x == y) | (np.isnan(x) & np.isnan(y))
        assert same.all(), a.loc[~same, ["indicator_id", "org_code", "period", col]].head().to_string() + "\n" + \
            b.loc[~same, [col]].head().to_string()
    # money indicators are among them (the cost ones were the ones that differed)
    assert {"op_cost_per_visit", "ip_drug_share"} <= set(a["indicator_id"])


def test_rollup_money_columns_are_bit_identical(two_marts: tuple[Config, Config]) -> None:
    sums = []
    for cfg in two_marts:      # through the read gateway: compute() above holds the files open read-only
        row = {}
        for table, spec in SPECS.items():
            cols = [c for c in spec.measures if c in EXACT_SCALE]
            if cols:
                keys = ", ".join(spec.keys)
                row[table] = read_df(cfg.mart_url, f"SELECT {keys}, {', '.join(cols)} FROM {table} ORDER BY {keys}")
        sums.append(row)
    assert sums[0].keys() == sums[1].keys() and "r_op_month" in sums[0]
    for table in sums[0]:
        pd.testing.assert_frame_equal(sums[0][table], sums[1][table], check_exact=True)


def test_exact_sum_is_order_independent() -> None:
    """On DuckDB itself: the same DOUBLE values summed in two orders through exact_sum give the exact decimal sum."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i, CAST(((i * 7919) % 100000) / 100.0 + 0.01 AS DECIMAL(14,2)) AS total_cost "
                "FROM range(200000) r(i)")
    def both(expr: str) -> tuple[float, float]:
        up = con.execute(f"SELECT {expr} FROM (SELECT CAST(total_cost AS DOUBLE) AS total_cost FROM t ORDER BY i)"
                         ).fetchone()[0]
        down = con.execute(f"SELECT {expr} FROM (SELECT CAST(total_cost AS DOUBLE) AS total_cost FROM t "
                           f"ORDER BY i DESC)").fetchone()[0]
        return up, down
    con.execute("SET threads = 1")         # one thread: the order of additions is the order of the rows
    exact_up, exact_down = both(exact_sum("total_cost"))
    assert exact_up == exact_down
    exact = con.execute("SELECT CAST(sum(total_cost) AS DOUBLE) FROM t").fetchone()[0]
    assert exact_up == exact
    con.close()
