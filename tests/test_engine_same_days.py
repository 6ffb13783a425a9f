"""YoY of a running period compares the same days of last year, counted from the facts.

The tiny demo's data end on 2026-11-24, so November 2026 (and 2026Q4) are running: their YoY base is 1–24
November 2025 (with October 2025 whole for the quarter), for counts and for both sides of a ratio, at county,
township and institution level; the fact mode of the engine (which aggregates the facts themselves) agrees.
"""
from __future__ import annotations

import math

import pytest

from metrics.engine import compute
from tests.fixtures_mart import DEMO_UNTIL

CUT = f"{DEMO_UNTIL.year - 1}-{DEMO_UNTIL.month:02d}-{DEMO_UNTIL.day + 1:02d}"   # first day after the cut
MONTH_START = f"{DEMO_UNTIL.year - 1}-{DEMO_UNTIL.month:02d}-01"
RUNNING = f"{DEMO_UNTIL.year}-{DEMO_UNTIL.month:02d}"


def _visits(con, lo: str, hi: str, by: str | None = None, where: str = "TRUE") -> dict:
    """Outpatient visits with lo <= visit_time < hi from the facts: {org: (visits, with antibiotic)}."""
    key = by or "'__county__'"
    rows = con.execute(f"SELECT {key}, count(*), sum(CAST(has_antibiotic AS BIGINT)) FROM outpatient_visit v "
                       f"WHERE visit_time >= CAST(? AS TIMESTAMP) AND visit_time < CAST(? AS TIMESTAMP) AND {where} "
                       f"GROUP BY 1", [lo, hi]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_running_month_yoy_counts_the_same_days_of_last_year(demo_cfg, demo_con) -> None:
    url = demo_cfg.mart_url
    df = compute(["op_er_visits", "op_antibiotic_rate"], "county", "month", RUNNING, RUNNING, mart_url=url)
    facts = _visits(demo_con, MONTH_START, CUT)["__county__"]
    whole = _visits(demo_con, MONTH_START, f"{DEMO_UNTIL.year - 1}-12-01")["__county__"]
    assert facts[0] < whole[0]                                    # the cut is a real cut
    visits = df[df["indicator_id"] == "op_er_visits"].iloc[0]
    assert visits["partial"] == 1 and visits["yoy_value"] == facts[0]
    rate = df[df["indicator_id"] == "op_antibiotic_rate"].iloc[0]
    assert math.isclose(rate["yoy_value"], 100.0 * facts[1] / facts[0], rel_tol=1e-12)
    # the whole last month stays the base of a whole month
    full = compute(["op_er_visits"], "county", "month", f"{DEMO_UNTIL.year}-10", f"{DEMO_UNTIL.year}-10", mart_url=url)
    assert full.iloc[0]["yoy_value"] == sum(_visits(demo_con, f"{DEMO_UNTIL.year - 1}-10-01", MONTH_START)
                                            ["__county__"][:1])


def test_running_quarter_yoy_by_institution_and_township(demo_cfg, demo_con) -> None:
    url = demo_cfg.mart_url
    q = f"{DEMO_UNTIL.year}-10"
    lo = f"{DEMO_UNTIL.year - 1}-10-01"
    inst = compute(["op_er_visits", "op_antibiotic_rate"], "institution", "quarter", q, RUNNING, mart_url=url)
    facts = _visits(demo_con, lo, CUT, by="inst_code")
    assert facts
    for r in inst.itertuples(index=False):
        n, abx = facts.get(r.org_code, (0, 0))
        if r.indicator_id == "op_er_visits":
            assert r.yoy_value == n, r.org_code
        elif n:
            assert math.isclose(r.yoy_value, 100.0 * abx / n, rel_tol=1e-12), r.org_code
        else:
            assert math.isnan(r.yoy_value), r.org_code
    town = compute(["op_er_visits"], "township", "quarter", q, RUNNING, mart_url=url)
    by_town = _visits(demo_con, lo, CUT, by="(SELECT area_code FROM institution i WHERE i.inst_code = v.inst_code)")
    assert {r.org_code: r.yoy_value for r in town.itertuples()} == \
        {code: float(by_town.get(code, (0, 0))[0]) for code in town["org_code"]}


@pytest.mark.parametrize("ids,level", [(["up_referrals", "referral_acceptance"], "institution"),
                                       (["discharges", "op_antibiotic_rate", "hospitalization_rate"], "township"),
                                       (["bed_occupancy", "doctor_daily_visits", "lab_orders"], "county")])
def test_cut_twin_from_day_rollups_equals_fact_mode(demo_cfg, ids, level) -> None:
    """The day rollups give the fact mode's numbers (rollups proven against the facts, cut twins included)."""
    url = demo_cfg.mart_url
    a = compute(ids, level, "quarter", f"{DEMO_UNTIL.year}-10", RUNNING, mart_url=url, use_cache=False)
    b = compute(ids, level, "quarter", f"{DEMO_UNTIL.year}-10", RUNNING, mart_url=url, from_facts=True,
                use_cache=False)
    assert len(a) == len(b) and len(a)
    for col in ("yoy_value", "value", "numerator", "denominator"):
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        assert all((math.isnan(u) and math.isnan(v)) or math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9)
                   for u, v in zip(x, y)), col


def test_cut_rows_subtract_exact_tails_and_prorate_monthly_flows_only_while_open() -> None:
    """The cut itself on a small frame: exact tails where the day rollups gave them, the cut month pro rata for
    monthly-only flows while the period is open, stocks untouched."""
    import pandas as pd

    from metrics.twins import Cut, cut_rows
    idx = pd.MultiIndex.from_tuples([(1, "A"), (1, "B"), (2, "A"), (2, "B")], names=["spec", "org_key"])
    # spec 1: the twin quarter; spec 2: its last month (November 2025, 30 days) alone
    wide = pd.DataFrame({"op_visits": [100.0, 50.0, 30.0, 20.0], "bed_capacity": [900.0, 300.0, 300.0, 90.0],
                         "open_beds_last": [10.0, 3.0, 10.0, 3.0]}, index=idx)
    exact = {"op_visits": pd.Series([12.0], index=pd.MultiIndex.from_tuples([(9, "A")], names=["spec", "org_key"]))}
    for is_open, capacity in ((True, [900 - 300 * 6 / 30, 300 - 90 * 6 / 30]), (False, [900.0, 300.0])):
        out = cut_rows(wide, {0: Cut(spec=9, twin=1, month_spec=2, month="2025-11", day=24, open=is_open)}, exact)
        cut = out.xs(9, level="spec")
        assert list(cut["op_visits"]) == [88.0, 50.0]             # B had no visits after the 24th
        assert list(cut["bed_capacity"]) == capacity
        assert list(cut["open_beds_last"]) == [10.0, 3.0]
        assert out.xs(1, level="spec").equals(wide.xs(1, level="spec"))
