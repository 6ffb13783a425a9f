"""Coarse rollups (month × institution [× department] × residence, no doctor) hold exactly the fine rollups summed
over the keys they drop, after a full build and after month-scoped rebuilds; the engine reads them for the levels
they can answer, a mart made before they existed falls back to the fine tables and gets them, filled for every
month, on its next (even month-scoped) rollup build."""
from __future__ import annotations

import pandas as pd
import pytest

from mart.connection import dispose_engines
from mart.db import connect_writer
from mart.rollups import COARSE, ROLLUP_KEYS, build_rollups
from metrics.catalogue import LEVELS, MEASURES, computable_ids
from metrics.engine import compute
from queries import measures as qm
from tests.engine_fixture import build_fixture_mart
from tests.test_engine_paths import assert_same


def assert_coarse_equals_fine(con) -> None:
    """Every coarse table equals its fine table grouped by the coarse keys (same rows, sums equal to 1e-9)."""
    for table, (fine, keys) in COARSE.items():
        measures = [d[0] for d in con.execute(f"SELECT * FROM {fine} LIMIT 0").description
                    if d[0] not in ROLLUP_KEYS[fine]]
        cols = ", ".join(keys) + ", " + ", ".join(f"CAST({m} AS DOUBLE) AS {m}" for m in measures)
        order = ", ".join(f"{k} NULLS FIRST" for k in keys)
        got = con.execute(f"SELECT {cols} FROM {table} ORDER BY {order}").df()
        want = con.execute(f"SELECT {cols} FROM (SELECT {', '.join(keys)}, "
                           f"{', '.join(f'sum({m}) AS {m}' for m in measures)} FROM {fine} "
                           f"GROUP BY {', '.join(keys)}) x ORDER BY {order}").df()
        assert len(got) > 0, table
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-9, obj=table)


@pytest.fixture()
def fx_url(tmp_path) -> str:
    return build_fixture_mart(tmp_path / "fx.duckdb")


def test_full_build_coarse_equals_fine_and_is_smaller(fx_url):
    con = connect_writer(fx_url)
    try:
        assert_coarse_equals_fine(con)
        for table, (fine, _keys) in COARSE.items():
            n_coarse = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            n_fine = con.execute(f"SELECT count(*) FROM {fine}").fetchone()[0]
            assert 0 < n_coarse <= n_fine
    finally:
        con.close()


def test_month_scoped_rebuild_keeps_coarse_in_step(fx_url):
    """New facts in one month, rollups rebuilt for that month only: coarse = fine again, and the other months'
    coarse rows are untouched."""
    con = connect_writer(fx_url)
    try:
        before = con.execute("SELECT * FROM r_op_month_inst WHERE month <> '2025-02' ORDER BY ALL").df()
        con.execute("INSERT INTO outpatient_visit SELECT * REPLACE (visit_id || 'x' AS visit_id, "
                    "visit_time + INTERVAL 1 DAY AS visit_time, total_cost * 2 AS total_cost) "
                    "FROM outpatient_visit WHERE strftime(visit_time, '%Y-%m') = '2025-02'")
        con.execute("INSERT INTO inpatient_discharge SELECT * REPLACE (discharge_id || 'x' AS discharge_id) "
                    "FROM inpatient_discharge WHERE strftime(discharge_time, '%Y-%m') = '2025-02'")
        build_rollups(con, ["2025-02"])
        assert_coarse_equals_fine(con)
        after = con.execute("SELECT * FROM r_op_month_inst WHERE month <> '2025-02' ORDER BY ALL").df()
        pd.testing.assert_frame_equal(before, after)
        feb = con.execute("SELECT sum(visits) FROM r_op_month_inst WHERE month = '2025-02'").fetchone()[0]
        assert feb == 2 * con.execute("SELECT count(*) FROM outpatient_visit WHERE strftime(visit_time, '%Y-%m') "
                                      "= '2025-02' AND visit_id NOT LIKE '%x'").fetchone()[0]
    finally:
        con.close()


def test_engine_reads_the_coarsest_table_per_level(fx_url):
    expected = {"county": "_inst", "township": "_inst", "institution": "_inst", "department": "_dept_all",
                "doctor": "_doc"}
    for level in LEVELS:
        for fine in ("r_op_month", "r_ip_month"):
            assert qm.rollup_source(fx_url, fine, level) == fine + expected[level]
        assert qm.rollup_source(fx_url, "r_res_month", level) == "r_res_month"


def test_residence_filter_at_doctor_level_reads_the_fine_table(fx_url):
    """No doctor-level indicator filters by residence today; a measure that does must still be right: the
    doctor table has no residence column, so such a query reads the fine table and equals the facts."""
    res = [MEASURES[i] for i in ("op_visits_resident", "discharges_insured_resident")]
    assert qm.rollup_source(fx_url, "r_op_month", "doctor", [res[0]]) == "r_op_month"
    assert qm.rollup_source(fx_url, "r_ip_month", "doctor", [res[1]]) == "r_ip_month"
    assert qm.rollup_source(fx_url, "r_op_month", "township", [res[0]]) == "r_op_month_inst"
    # department: the table without residence unless a residence filter needs it
    assert qm.rollup_source(fx_url, "r_op_month", "department", [res[0]]) == "r_op_month_dept"
    assert qm.rollup_source(fx_url, "r_ip_month", "department", [res[1]]) == "r_ip_month_dept"
    spec_months = [(0, m, m == "2025-03", 3) for m in ("2025-01", "2025-02", "2025-03")]
    for m in res:
        for level in ("doctor", "department", "township", "county"):
            got = qm.period_measures(fx_url, m.table, m.inst_col, [m], level, "residence", spec_months)
            want = qm.period_measures(fx_url, m.table, m.inst_col, [m], level, "residence", spec_months,
                                      from_facts=True)
            assert len(got) > 0 and got[m.id].sum() > 0
            key = ["spec", "org_key"]
            pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                          want.sort_values(key).reset_index(drop=True))


def test_mart_without_coarse_tables_falls_back_then_gets_them(tmp_path):
    url = build_fixture_mart(tmp_path / "old.duckdb")
    with_coarse = {level: compute(computable_ids(level), level, "month", "2024-02", "2025-03", mart_url=url)
                   for level in LEVELS}
    dispose_engines()
    con = connect_writer(url)
    for table in COARSE:
        con.execute(f"DROP TABLE {table}")
    con.close()
    qm._COARSE_PRESENT.discard(url)          # this process saw the tables before they were dropped
    assert qm.rollup_source(url, "r_op_month", "county") == "r_op_month"
    for level in LEVELS:
        assert_same(compute(computable_ids(level), level, "month", "2024-02", "2025-03", mart_url=url),
                    with_coarse[level])
    dispose_engines()
    # a month-scoped build (what the loader runs) creates the coarse tables and fills every month
    con = connect_writer(url)
    try:
        build_rollups(con, ["2025-03"])
        assert_coarse_equals_fine(con)
        assert con.execute("SELECT count(DISTINCT month) FROM r_op_month_inst").fetchone()[0] == 6
    finally:
        con.close()
    assert qm.rollup_source(url, "r_op_month", "county") == "r_op_month_inst"
    for level in LEVELS:
        assert_same(compute(computable_ids(level), level, "month", "2024-02", "2025-03", mart_url=url),
                    with_coarse[level])
