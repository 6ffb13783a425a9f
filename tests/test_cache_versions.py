"""One cache, invalidated by what changed: a load of one month's visits keeps the cached results of other years
(served from the cache: the hit counter moves) and recomputes the month it touched (equal to an uncached call)."""
from __future__ import annotations

import pandas as pd
from cachelib import SimpleCache

from core import cache as core_cache
from metrics.engine import compute

pytest_plugins = ["tests.fixtures_mart"]

IDS = ["op_antibiotic_rate", "op_cost_per_visit"]
MONTH = "2026-10"


def _hits() -> int:
    return core_cache.STATS["engine:hit"]


def _visits_of(cfg, month: str, out_dir) -> None:
    """The month's first visits again, every cost doubled: a load that replaces rows of one month only."""
    from mart.connection import read_df
    df = read_df(cfg.mart_url, "SELECT * FROM outpatient_visit WHERE strftime(visit_time, '%Y-%m') = :m "
                               "ORDER BY visit_id LIMIT 300", {"m": month})
    for col in ("total_cost", "drug_cost", "material_cost", "insurance_paid"):
        df[col] = (df[col].astype(float) * 2).round(2)
    for col in df.columns:
        if df[col].dtype == bool:
            df[col] = df[col].astype(int)
        elif df[col].dtype.kind == "f" and (df[col].dropna() % 1 == 0).all():
            df[col] = df[col].astype("Int64")     # a whole-number column with gaps (birth year): no '1964.0'
    df["visit_time"] = pd.to_datetime(df["visit_time"]).dt.strftime("%Y-%m-%dT%H:%M:%S")
    out_dir.mkdir()
    df.to_csv(out_dir / "outpatient_visit.csv", index=False)


def test_a_month_load_keeps_other_years_cached(demo_copy, tmp_path):
    from mart.connection import dispose_engines
    from mart.loader import load_directory

    url = demo_copy.mart_url
    _visits_of(demo_copy, MONTH, tmp_path / "load")
    core_cache.install(SimpleCache())
    try:
        last_year = compute(IDS, "institution", "month", "2025-01", "2025-06", mart_url=url)
        this_month = compute(IDS, "county", "month", MONTH, MONTH, mart_url=url)
        hits = _hits()
        assert_frame = pd.testing.assert_frame_equal
        assert_frame(compute(IDS, "institution", "month", "2025-01", "2025-06", mart_url=url), last_year)
        assert _hits() == hits + 1                   # warm before the load

        dispose_engines()
        report = load_directory(demo_copy, tmp_path / "load")
        assert report.rows["outpatient_visit"] > 0
        dispose_engines()

        hits = _hits()
        again = compute(IDS, "institution", "month", "2025-01", "2025-06", mart_url=url)
        assert _hits() == hits + 1                   # last year: served from the cache after the load
        assert_frame(again, last_year)

        fresh = compute(IDS, "county", "month", MONTH, MONTH, mart_url=url)
        assert _hits() == hits + 1                   # the loaded month: a miss, recomputed …
        truth = compute(IDS, "county", "month", MONTH, MONTH, mart_url=url, use_cache=False)
        assert_frame(fresh, truth)                   # … and right
        cost = fresh.set_index("indicator_id").loc["op_cost_per_visit", "value"]
        assert cost > this_month.set_index("indicator_id").loc["op_cost_per_visit", "value"]   # doubled costs show
    finally:
        core_cache.install(None)
        dispose_engines()


def test_a_writer_that_does_not_say_what_it_touched_invalidates_everything(demo_copy):
    from mart.connection import dispose_engines
    from mart.db import bump_data_version, connect_writer
    from queries.periods import table_versions

    url = demo_copy.mart_url
    before = table_versions(url, ["r_op_month"], "2025-01", "2025-06")
    dispose_engines()
    con = connect_writer(url)
    try:
        bump_data_version(con, {"r_ip_month": ["2025-03"]})
    finally:
        con.close()
    dispose_engines()
    assert table_versions(url, ["r_op_month"], "2025-01", "2025-06") == before
    assert table_versions(url, ["r_ip_month"], "2025-04", "2025-06") == before
    assert table_versions(url, ["r_ip_month"], "2025-01", "2025-06") > before
    dispose_engines()
    con = connect_writer(url)
    try:
        bump_data_version(con)
    finally:
        con.close()
    dispose_engines()
    assert table_versions(url, ["r_op_month"], "2025-01", "2025-06") > before
