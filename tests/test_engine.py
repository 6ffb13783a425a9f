"""Engine tests on the hand-made fixture (tests/engine_fixture.py): every computable indicator at two levels
(county and institution, or county and township for county/residence-based ones) and two grains (quarter and
month), with numerators and denominators worked out by hand from the fixture's design."""
from __future__ import annotations

import math

import pytest

from metrics.catalogue import INDICATORS, computable_ids
from metrics.engine import IndicatorError, compute, periods, ranking
from metrics.scope import NO_SCOPE, manager_scope
from tests.engine_fixture import build_fixture_mart


@pytest.fixture(scope="module")
def fx_url(tmp_path_factory) -> str:
    return build_fixture_mart(tmp_path_factory.mktemp("engine") / "fx.duckdb")


G = 100 * (7600 / 140 - 44) / 44            # county outpatient cost growth, 2025Q1 vs 2024Q1 (44 元 a visit)
# (indicator, level, period, org, numerator, denominator) — worked out by hand, see tests/engine_fixture.py.
# Q = 2025Q1, J = 2025-01. Weekdays: Jan 23, Feb 20, Mar 21 (64). Days: 31, 28, 31.
E = [
    ("beds_per_1k", "county", "Q", "C", 140, 10000), ("beds_per_1k", "county", "J", "C", 130, 10000),
    ("beds_per_1k", "township", "Q", "T1", 130, 6000), ("beds_per_1k", "township", "J", "T2", 10, 4000),
    ("doctors_per_1k", "county", "Q", "C", 53, 10000), ("doctors_per_1k", "county", "J", "C", 53, 10000),
    ("nurses_per_1k", "county", "Q", "C", 69, 10000), ("nurses_per_1k", "county", "J", "C", 69, 10000),
    ("gps_per_10k", "county", "Q", "C", 7, 10000), ("gps_per_10k", "county", "J", "C", 7, 10000),
    ("nurse_doctor_ratio", "county", "Q", "C", 69, 53), ("nurse_doctor_ratio", "county", "J", "C", 69, 53),
    ("nurse_doctor_ratio", "institution", "Q", "H1", 60, 40), ("nurse_doctor_ratio", "institution", "J", "S1", 6, 8),
    ("bed_occupancy", "county", "Q", "C", 9150, 12010), ("bed_occupancy", "county", "J", "C", 3050, 4030),
    ("bed_occupancy", "institution", "Q", "H1", 7500, 9310), ("bed_occupancy", "institution", "J", "H1", 2500, 3100),
    ("bed_turnover", "county", "Q", "C", 21, 400 / 3), ("bed_turnover", "county", "J", "C", 7, 130),
    ("bed_turnover", "institution", "Q", "H1", 12, 310 / 3), ("bed_turnover", "institution", "J", "H1", 4, 100),
    ("alos", "county", "Q", "C", 132, 21), ("alos", "county", "J", "C", 44, 7),
    ("alos", "institution", "Q", "H1", 84, 12), ("alos", "institution", "J", "S1", 10, 2),
    ("doctor_daily_visits", "county", "Q", "C", 140, 53 * 64), ("doctor_daily_visits", "county", "J", "C", 50, 53 * 23),
    ("doctor_daily_visits", "institution", "Q", "H1", 30, 40 * 64),
    ("doctor_daily_visits", "institution", "J", "H1", 10, 40 * 23),
    ("posted_doctors_per_10k", "county", "Q", "C", 1, 10000), ("posted_doctors_per_10k", "county", "J", "C", 2, 10000),
    ("village_ecg_coverage", "county", "Q", "C", 1, 1), ("village_ecg_coverage", "county", "J", "C", 0, 1),
    ("village_ecg_coverage", "township", "Q", "T2", 1, 1), ("village_ecg_coverage", "township", "J", "T2", 0, 1),
    ("op_antibiotic_rate", "county", "Q", "C", 21, 140), ("op_antibiotic_rate", "county", "J", "C", 7, 50),
    ("op_antibiotic_rate", "institution", "Q", "H1", 6, 30), ("op_antibiotic_rate", "institution", "J", "H1", 2, 10),
    ("ip_antibiotic_rate", "county", "Q", "C", 12, 21), ("ip_antibiotic_rate", "county", "J", "C", 4, 7),
    ("ip_antibiotic_rate", "institution", "Q", "H1", 6, 12), ("ip_antibiotic_rate", "institution", "J", "H1", 2, 4),
    ("antibiotic_intensity", "county", "Q", "C", 57, 132), ("antibiotic_intensity", "county", "J", "C", 19, 44),
    ("antibiotic_intensity", "institution", "Q", "H1", 45, 84),
    ("antibiotic_intensity", "institution", "J", "H1", 15, 28),
    # volumes (counts), the numerators/denominators worked out above
    ("op_er_visits", "county", "Q", "C", 140, None), ("op_er_visits", "county", "J", "C", 50, None),
    ("op_er_visits", "institution", "Q", "H1", 30, None), ("op_er_visits", "institution", "J", "H1", 10, None),
    ("discharges", "county", "Q", "C", 21, None), ("discharges", "county", "J", "C", 7, None),
    ("discharges", "institution", "Q", "H1", 12, None), ("discharges", "institution", "J", "S1", 2, None),
    ("surgeries", "county", "Q", "C", 6, None), ("surgeries", "county", "J", "C", 2, None),
    ("surgeries", "institution", "Q", "H1", 6, None), ("surgeries", "institution", "J", "H1", 2, None),
    ("lab_orders", "county", "Q", "C", 9, None), ("lab_orders", "county", "J", "C", 6, None),
    ("lab_orders", "institution", "Q", "S1", 5, None), ("lab_orders", "institution", "J", "H1", 2, None),
    ("surgery_share", "county", "Q", "C", 6, 21), ("surgery_share", "county", "J", "C", 2, 7),
    ("surgery_share", "institution", "Q", "H1", 6, 12), ("surgery_share", "institution", "J", "H1", 2, 4),
    ("surgery_34_share", "county", "Q", "C", 3, 6), ("surgery_34_share", "county", "J", "C", 1, 2),
    ("surgery_34_share", "institution", "Q", "H1", 3, 6), ("surgery_34_share", "institution", "J", "H1", 1, 2),
    ("mis_share", "county", "Q", "C", 3, 6), ("mis_share", "county", "J", "C", 1, 2),
    ("mis_share", "institution", "Q", "H1", 3, 6), ("mis_share", "institution", "J", "H1", 1, 2),
    ("low_risk_mortality", "county", "Q", "C", 0, 12), ("low_risk_mortality", "county", "J", "C", 0, 4),
    ("low_risk_mortality", "institution", "Q", "H1", 0, 6), ("low_risk_mortality", "institution", "J", "H1", 0, 2),
    ("ip_mortality", "county", "Q", "C", 3, 21), ("ip_mortality", "county", "J", "C", 1, 7),
    ("ip_mortality", "institution", "Q", "H1", 3, 12), ("ip_mortality", "institution", "J", "H1", 1, 4),
    ("readmission_31d", "county", "Q", "C", 2, 21), ("readmission_31d", "county", "J", "C", 1, 7),
    ("readmission_31d", "institution", "Q", "H1", 2, 12), ("readmission_31d", "institution", "J", "H1", 1, 4),
    ("lab_timeliness", "county", "Q", "C", 6, 9), ("lab_timeliness", "county", "J", "C", 4, 6),
    ("lab_timeliness", "institution", "Q", "S1", 3, 5), ("lab_timeliness", "institution", "J", "H1", 1, 2),
    ("critical_notify_rate", "county", "Q", "C", 1, 2), ("critical_notify_rate", "county", "J", "C", 1, 2),
    ("critical_notify_rate", "institution", "Q", "H1", 1, 2),
    ("critical_notify_rate", "institution", "J", "H1", 1, 2),
    ("regional_lab_share", "county", "Q", "C", 4, 7), ("regional_lab_share", "county", "J", "C", 4, 4),
    ("regional_lab_share", "institution", "Q", "S1", 4, 5), ("regional_lab_share", "institution", "J", "S1", 4, 4),
    ("op_cost_per_visit", "county", "Q", "C", 7600, 140), ("op_cost_per_visit", "county", "J", "C", 2600, 50),
    ("op_cost_per_visit", "institution", "Q", "H1", 3000, 30),
    ("op_cost_per_visit", "institution", "J", "H1", 1000, 10),
    ("ip_cost_per_discharge", "county", "Q", "C", 100500, 21), ("ip_cost_per_discharge", "county", "J", "C", 33500, 7),
    ("ip_cost_per_discharge", "institution", "Q", "H1", 84000, 12),
    ("ip_cost_per_discharge", "institution", "J", "H1", 28000, 4),
    ("op_drug_per_visit", "county", "Q", "C", 3200, 140), ("op_drug_per_visit", "county", "J", "C", 1100, 50),
    ("op_drug_per_visit", "institution", "Q", "H1", 1200, 30), ("op_drug_per_visit", "institution", "J", "H1", 400, 10),
    ("op_drug_share", "county", "Q", "C", 3200, 7600), ("op_drug_share", "county", "J", "C", 1100, 2600),
    ("op_drug_share", "institution", "Q", "H1", 1200, 3000), ("op_drug_share", "institution", "J", "H1", 400, 1000),
    ("ip_drug_share", "county", "Q", "C", 36600, 100500), ("ip_drug_share", "county", "J", "C", 12200, 33500),
    ("ip_drug_share", "institution", "Q", "H1", 30000, 84000),
    ("ip_drug_share", "institution", "J", "H1", 10000, 28000),
    ("ip_material_share", "county", "Q", "C", 11850, 100500), ("ip_material_share", "county", "J", "C", 3950, 33500),
    ("ip_material_share", "institution", "Q", "H1", 11100, 84000),
    ("ip_material_share", "institution", "J", "H1", 3700, 28000),
    ("insured_ip_cost_in_county", "county", "Q", "C", 64500, 15),
    ("insured_ip_cost_in_county", "county", "J", "C", 21500, 5),
    ("insured_ip_cost_in_county", "township", "Q", "T1", 42000, 9),
    ("insured_ip_cost_in_county", "township", "J", "T1", 14000, 3),
    ("service_revenue_share", "county", "Q", "C", 1356000, 3465000),
    ("service_revenue_share", "county", "J", "C", 452000, 1155000),
    ("service_revenue_share", "institution", "Q", "H1", 1200000, 3000000),
    ("service_revenue_share", "institution", "J", "H1", 400000, 1000000),
    ("personnel_expense_share", "county", "Q", "C", 1149000, 3117000),
    ("personnel_expense_share", "county", "J", "C", 383000, 1039000),
    ("personnel_expense_share", "institution", "Q", "H1", 900000, 2700000),
    ("personnel_expense_share", "institution", "J", "H1", 300000, 900000),
    ("primary_lead_income_ratio", "county", "Q", "C", 249000 / 96, 2000),
    ("primary_lead_income_ratio", "county", "J", "C", 83000 / 32, 2000),
    ("self_pay_share", "county", "Q", "C", 47780, 108100), ("self_pay_share", "county", "J", "C", 15940, 36100),
    ("self_pay_share", "institution", "Q", "H1", 43200, 87000),
    ("self_pay_share", "institution", "J", "H1", 14400, 29000),
    ("up_referrals", "county", "Q", "C", 7, None), ("up_referrals", "county", "J", "C", 3, None),
    ("up_referrals", "institution", "Q", "S1", 5, None), ("up_referrals", "institution", "J", "S1", 3, None),
    ("down_referrals", "county", "Q", "C", 2, None), ("down_referrals", "county", "J", "C", 1, None),
    ("down_referrals", "institution", "Q", "H1", 2, None), ("down_referrals", "institution", "J", "H1", 1, None),
    # R8 (March) is the only up referral leaving the county
    ("up_referrals_outside", "county", "Q", "C", 1, None), ("up_referrals_outside", "county", "J", "C", 0, None),
    ("up_referrals_outside", "institution", "Q", "H1", 1, None),
    ("up_referrals_outside", "institution", "J", "H1", 0, None),
    ("outside_settlements", "county", "Q", "C", 3, None), ("outside_settlements", "county", "J", "C", 1, None),
    ("outside_settlements", "township", "Q", "T2", 1, None), ("outside_settlements", "township", "J", "T1", 1, None),
    ("outside_referred", "county", "Q", "C", 1, None), ("outside_referred", "county", "J", "C", 1, None),
    ("outside_referred", "township", "Q", "T2", 0, None), ("outside_referred", "township", "J", "T1", 1, None),
    ("outside_unreferred", "county", "Q", "C", 2, None), ("outside_unreferred", "county", "J", "C", 0, None),
    ("outside_unreferred", "township", "Q", "T2", 1, None), ("outside_unreferred", "township", "J", "T1", 0, None),
    ("down_up_ratio", "county", "Q", "C", 2, 7), ("down_up_ratio", "county", "J", "C", 1, 3),
    ("down_up_ratio", "institution", "Q", "H1", 2, 1), ("down_up_ratio", "institution", "J", "H1", 1, 0),
    ("county_down_share", "county", "Q", "C", 2, 12), ("county_down_share", "county", "J", "C", 1, 4),
    ("county_down_share", "institution", "Q", "H1", 2, 12), ("county_down_share", "institution", "J", "H1", 1, 4),
    ("referral_acceptance", "county", "Q", "C", 5, 6), ("referral_acceptance", "county", "J", "C", 3, 4),
    ("referral_acceptance", "institution", "Q", "H1", 3, 4), ("referral_acceptance", "institution", "J", "H1", 2, 3),
    ("referral_response_24h", "county", "Q", "C", 5, 8), ("referral_response_24h", "county", "J", "C", 3, 4),
    ("referral_response_24h", "institution", "Q", "H1", 3, 6),
    ("referral_response_24h", "institution", "J", "H1", 2, 3),
    ("primary_visit_share", "county", "Q", "C", 110, 140), ("primary_visit_share", "county", "J", "C", 40, 50),
    ("primary_visit_share", "township", "Q", "T1", 60, 78), ("primary_visit_share", "township", "J", "T2", 20, 23),
    ("in_county_ip_share", "county", "Q", "C", 15, 17), ("in_county_ip_share", "county", "J", "C", 5, 6),
    ("in_county_ip_share", "township", "Q", "T1", 9, 11), ("in_county_ip_share", "township", "J", "T1", 3, 4),
    ("in_county_visit_rate", "county", "Q", "C", 155, 158), ("in_county_visit_rate", "county", "J", "C", 55, 56),
    ("in_county_visit_rate", "township", "Q", "T1", 90, 92), ("in_county_visit_rate", "township", "J", "T1", 30, 31),
    ("orderly_outflow_rate", "county", "Q", "C", 1, 3), ("orderly_outflow_rate", "county", "J", "C", 1, 1),
    ("orderly_outflow_rate", "township", "Q", "T2", 0, 1), ("orderly_outflow_rate", "township", "J", "T1", 1, 1),
    ("tcm_visit_share", "county", "Q", "C", 24, 140), ("tcm_visit_share", "county", "J", "C", 8, 50),
    ("tcm_visit_share", "institution", "Q", "H1", 3, 30), ("tcm_visit_share", "institution", "J", "S1", 5, 20),
    ("insurance_in_county_share", "county", "Q", "C", 51740, 68940),
    ("insurance_in_county_share", "county", "J", "C", 17300, 29300),
    ("insurance_in_county_share", "township", "Q", "T2", 17960, 18160),
    ("insurance_in_county_share", "township", "J", "T1", 11260, 23260),
    ("insurance_primary_share", "county", "Q", "C", 16520, 60320),
    ("insurance_primary_share", "county", "J", "C", 5560, 20160),
    ("htn_standard_rate", "county", "Q", "C", 2, 3), ("htn_standard_rate", "county", "J", "C", 3, 4),
    ("htn_standard_rate", "township", "Q", "T1", 1, 2), ("htn_standard_rate", "township", "J", "T2", 2, 2),
    ("htn_standard_rate", "institution", "J", "S2", 2, 2),
    ("dm_standard_rate", "county", "Q", "C", 1, 2), ("dm_standard_rate", "county", "J", "C", 0, 1),
    ("dm_standard_rate", "township", "Q", "T2", 1, 1), ("dm_standard_rate", "township", "J", "T1", 0, 1),
    ("htn_control_rate", "county", "Q", "C", 1, 3), ("htn_control_rate", "county", "J", "C", 2, 4),
    ("htn_control_rate", "township", "Q", "T2", 0, 1), ("htn_control_rate", "township", "J", "T2", 1, 2),
    ("dm_control_rate", "county", "Q", "C", 2, 2), ("dm_control_rate", "county", "J", "C", 1, 1),
    ("dm_control_rate", "township", "Q", "T1", 1, 1), ("dm_control_rate", "township", "J", "T1", 1, 1),
    ("chronic_hospitalization_rate", "county", "Q", "C", 2, 4),
    ("chronic_hospitalization_rate", "county", "J", "C", 1, 4),
    ("chronic_hospitalization_rate", "township", "Q", "T1", 1, 2),
    ("chronic_hospitalization_rate", "township", "J", "T2", 1, 2),
    ("visits_per_capita", "county", "Q", "C", 138, 10000), ("visits_per_capita", "county", "J", "C", 49, 10000),
    ("visits_per_capita", "township", "Q", "T2", 60, 4000), ("visits_per_capita", "township", "J", "T1", 26, 6000),
    ("hospitalization_rate", "county", "Q", "C", 20, 10000), ("hospitalization_rate", "county", "J", "C", 7, 10000),
    ("hospitalization_rate", "township", "Q", "T1", 14, 6000), ("hospitalization_rate", "township", "J", "T2", 2, 4000),
]
# growth indicators: (indicator, level, period, org, value) — base values by hand, 2024 = same months a year back
GROWTH = [
    ("op_cost_growth", "county", "Q", "C", G), ("op_cost_growth", "county", "J", "C", 100 * (52 - 44) / 44),
    ("op_cost_growth", "institution", "Q", "H1", 25.0), ("op_cost_growth", "institution", "J", "S1", 25.0),
    ("ip_cost_growth", "county", "Q", "C", 100 * 4000 / 29500), ("ip_cost_growth", "county", "J", "C", 100 * 4000 / 29500),
    ("ip_cost_growth", "institution", "Q", "H1", 100 * 4000 / 24000),
    ("ip_cost_growth", "institution", "J", "S2", 0.0),
]
PERIOD = {"Q": ("quarter", "2025Q1"), "J": ("month", "2025-01")}

_cache: dict = {}


def _result(url: str, level: str, grain: str):
    if (level, grain) not in _cache:
        _cache[(level, grain)] = compute(computable_ids(level), level, grain, "2025-01", "2025-03", mart_url=url)
    return _cache[(level, grain)]


def _row(url, ind, level, p, org):
    grain, label = PERIOD[p]
    df = _result(url, level, grain)
    rows = df[(df.indicator_id == ind) & (df.period == label) & (df.org_code == org)]
    assert len(rows) == 1, f"{ind} {level} {label} {org}: {len(rows)} rows"
    return rows.iloc[0]


def test_every_computable_indicator_is_checked_at_two_levels_and_two_grains():
    covered: dict[str, set] = {}
    for ind, level, p, *_ in E + GROWTH:
        covered.setdefault(ind, set()).add((level, p))
    for iid in computable_ids():
        got = covered.get(iid, set())
        levels = {lv for lv, _ in got}
        grains = {p for _, p in got}
        need_levels = min(2, len(INDICATORS[iid].levels))
        assert len(levels) >= need_levels and grains == {"Q", "J"}, iid


@pytest.mark.parametrize("ind,level,p,org,num,den", E, ids=[f"{e[0]}-{e[1]}-{e[2]}-{e[3]}" for e in E])
def test_hand_worked_values(fx_url, ind, level, p, org, num, den):
    row = _row(fx_url, ind, level, p, org)
    spec = INDICATORS[ind]
    assert row.numerator == pytest.approx(num)
    if den is None:
        assert row.value == pytest.approx(spec.factor * num)
        return
    assert row.denominator == pytest.approx(den)
    if den == 0:
        assert row.value is None or math.isnan(row.value)
        assert row.status is None
    else:
        assert row.value == pytest.approx(spec.factor * num / den)


@pytest.mark.parametrize("ind,level,p,org,value", GROWTH, ids=[f"{e[0]}-{e[1]}-{e[2]}-{e[3]}" for e in GROWTH])
def test_growth_compares_same_months_last_year(fx_url, ind, level, p, org, value):
    assert _row(fx_url, ind, level, p, org).value == pytest.approx(value)


def test_status_target_and_small_sample(fx_url):
    alos_s1 = _row(fx_url, "alos", "institution", "J", "S1")
    assert alos_s1.target == 7.0 and alos_s1.status == "达标"          # township hospital target ≤ 7 days
    assert alos_s1.small_sample and "样本量小" in alos_s1.note            # 2 discharges
    assert _row(fx_url, "alos", "institution", "J", "H1").target == 9.0
    ab = _row(fx_url, "antibiotic_intensity", "county", "Q", "C")          # 43.2 > 40 by more than 5 %
    assert ab.status == "未达标"
    ip = _row(fx_url, "in_county_ip_share", "county", "Q", "C")            # 88.2 % vs ≥ 90 %: within 5 % → 预警
    assert ip.status == "预警"
    assert _row(fx_url, "op_antibiotic_rate", "county", "Q", "C").status == "达标"
    assert _row(fx_url, "surgery_share", "county", "Q", "C").status is None     # reference only
    assert not _row(fx_url, "op_antibiotic_rate", "county", "Q", "C").small_sample  # 140 visits


def test_yoy_and_mom(fx_url):
    h1 = _row(fx_url, "op_cost_per_visit", "institution", "J", "H1")
    assert h1.yoy_value == pytest.approx(80.0) and h1.yoy_change == pytest.approx(20.0)
    feb = compute(["op_cost_per_visit"], "institution", "month", "2025-02", "2025-02", org="H1", mart_url=fx_url)
    assert feb.iloc[0].mom_value == pytest.approx(100.0)
    q = _row(fx_url, "htn_standard_rate", "county", "Q", "C")
    # previous quarter 2024Q4: CP1, CP2, CP3, CP5 registered, 3 standard
    assert q.mom_value == pytest.approx(75.0)


def test_completeness_flags_missing_upload(fx_url):
    # V2 normally uploads outpatient visits but has none in February 2025
    assert not _row(fx_url, "op_antibiotic_rate", "county", "Q", "C").complete
    assert _row(fx_url, "op_antibiotic_rate", "county", "J", "C").complete
    assert _row(fx_url, "op_antibiotic_rate", "institution", "Q", "H1").complete
    assert _row(fx_url, "ip_mortality", "county", "Q", "C").complete          # inpatient uploads complete
    feb = compute(["op_visits_share_dummy"] if False else ["tcm_visit_share"], "township", "month", "2025-02",
                  "2025-02", mart_url=fx_url)
    by = dict(zip(feb.org_code, feb.complete))
    assert by == {"T1": True, "T2": False}


def test_org_drill_and_partial_period(fx_url):
    df = compute(["op_antibiotic_rate"], "institution", "quarter", "2025-01", "2025-03", org="T2", mart_url=fx_url)
    assert sorted(df.org_code) == ["S2", "V2"]
    dept = compute(["alos"], "doctor", "month", "2025-01", "2025-01", org="H1", mart_url=fx_url)
    # every doctor of H1 has a row (complete rows); only D2 discharged anyone, the others read 无病例 / 无数据
    with_value = dept[dept["value"].notna()]
    assert list(with_value.org_code) == ["D2"] and with_value.iloc[0].parent_code == "H1-SU"
    assert len(dept) > 1 and dept["org_code"].is_unique
    empty = dept[dept["value"].isna()]
    assert (empty["numerator"] == 0).all() and (empty["denominator"] == 0).all()
    assert empty["note"].str.contains("无病例|无数据").all()
    part = compute(["op_antibiotic_rate"], "county", "quarter", "2025-02", "2025-03", mart_url=fx_url)
    row = part.iloc[0]
    assert row.period == "2025Q1" and row.months == 2 and "部分期间" in row.note
    assert row.denominator == 90      # Feb 40 (V2 missing) + Mar 50


def test_refusals(fx_url):
    with pytest.raises(IndicatorError, match="unknown indicator"):
        compute(["nope"], "county", "month", "2025-01", "2025-01", mart_url=fx_url)
    with pytest.raises(IndicatorError, match="not allowed"):
        compute(["in_county_ip_share"], "institution", "month", "2025-01", "2025-01", mart_url=fx_url)
    with pytest.raises(IndicatorError, match="YYYY-MM"):
        compute(["alos"], "county", "month", "2025-1", "2025-01", mart_url=fx_url)
    with pytest.raises(IndicatorError, match="after"):
        compute(["alos"], "county", "month", "2025-03", "2025-01", mart_url=fx_url)
    # no app-database source installed (a web app started earlier in the same test process installs one)
    from metrics import sources
    from metrics.catalogue import MEASURES
    name = MEASURES[INDICATORS["reject_rate"].numerator].table
    installed = sources.reader(name)
    sources.unregister(name)
    try:
        with pytest.raises(IndicatorError, match="exchange module"):
            compute(["reject_rate"], "county", "month", "2025-01", "2025-01", mart_url=fx_url)
    finally:
        if installed is not None:
            sources.register(name, installed)
    with pytest.raises(IndicatorError, match="death registry"):
        compute(["premature_chronic_mortality"], "county", "month", "2025-01", "2025-01", mart_url=fx_url)
    with pytest.raises(IndicatorError, match="unknown org"):
        compute(["alos"], "institution", "month", "2025-01", "2025-01", org="ZZZ", mart_url=fx_url)
    mixed = compute(["alos", "in_county_ip_share"], "institution", "month", "2025-01", "2025-01", mart_url=fx_url)
    assert set(mixed.indicator_id) == {"alos"} and "in_county_ip_share" in mixed.attrs["refused"]


def test_scope_hides_other_institutions_detail(fx_url):
    mgr = manager_scope({"S1"})
    inst = compute(["op_antibiotic_rate"], "institution", "month", "2025-01", "2025-01", scope=mgr, mart_url=fx_url)
    assert set(inst.org_code) == {"S1"}
    docs = compute(["op_antibiotic_rate"], "doctor", "month", "2025-01", "2025-01", scope=mgr, mart_url=fx_url)
    assert set(docs.org_code) == {"D3"}
    other = compute(["op_antibiotic_rate"], "department", "month", "2025-01", "2025-01", org="H1", scope=mgr,
                    mart_url=fx_url)
    assert other.empty
    county = compute(["op_antibiotic_rate"], "county", "month", "2025-01", "2025-01", scope=mgr, mart_url=fx_url)
    assert county.iloc[0].denominator == 50                   # aggregates stay whole
    assert compute(["op_antibiotic_rate"], "county", "month", "2025-01", "2025-01", scope=NO_SCOPE,
                   mart_url=fx_url).empty
    ranked = ranking("op_antibiotic_rate", "quarter", "2025-01", "2025-03", inst_type="township_center", scope=mgr,
                     mart_url=fx_url)
    assert list(ranked.org_code) == ["S2", "S1"]              # 3/30 = 10 % beats 12/60 = 20 % (lower is better)
    assert list(ranked["rank"]) == [1, 2] and list(ranked.is_own) == [False, True]
    assert ranking("op_antibiotic_rate", "quarter", "2025-01", "2025-03", scope=NO_SCOPE, mart_url=fx_url).empty


def test_rollups_equal_facts_on_fixture(fx_url):
    for level in ("county", "township", "institution", "department", "doctor"):
        for grain in ("quarter", "month"):
            a = compute(computable_ids(level), level, grain, "2025-01", "2025-03", mart_url=fx_url)
            b = compute(computable_ids(level), level, grain, "2025-01", "2025-03", mart_url=fx_url, from_facts=True)
            assert len(a) == len(b) > 0
            for col in ("numerator", "denominator", "value", "yoy_value", "mom_value"):
                assert a[col].astype(float).to_numpy() == pytest.approx(b[col].astype(float).to_numpy(), nan_ok=True)


def test_periods_cover_and_clip():
    ps = periods("quarter", "2024-11", "2025-02")
    assert [p.label for p in ps] == ["2024Q4", "2025Q1"]
    assert [len(p.months) for p in ps] == [2, 2] and all(p.partial for p in ps)
    assert [p.label for p in periods("year", "2024-12", "2025-01")] == ["2024", "2025"]


def test_period_past_the_data_is_computed_over_months_with_data(demo_cfg) -> None:
    """The tiny demo's data end on 24 November 2026: 2026Q4 is computed over October–November and flagged partial;
    a stock indicator takes November (not the empty December), and YoY compares October 2025 and 1–24 November
    2025 (the same days; tests/test_engine_same_days.py counts them from the facts)."""
    from queries.periods import last_data_date
    url = demo_cfg.mart_url
    last = last_data_date(url)
    assert (last.year, last.month) == (2026, 11)
    q = compute(["htn_standard_rate", "up_referrals"], "county", "quarter", "2026-10", "2026-12", mart_url=url)
    nov = compute(["htn_standard_rate"], "county", "month", "2026-11", "2026-11", mart_url=url)
    htn = q[q["indicator_id"] == "htn_standard_rate"].iloc[0]
    assert htn["period"] == "2026Q4" and htn["months"] == 2 and "部分期间" in htn["note"]
    assert not math.isnan(htn["value"]) and htn["value"] == nov.iloc[0]["value"]
    # November itself runs to the 24th: partial too; October is a whole month
    assert "部分期间" in nov.iloc[0]["note"]
    octo = compute(["htn_standard_rate"], "county", "month", "2026-10", "2026-10", mart_url=url)
    assert octo.iloc[0]["note"] is None or "部分期间" not in octo.iloc[0]["note"]
    up = q[q["indicator_id"] == "up_referrals"].iloc[0]
    oct_2025 = compute(["up_referrals"], "county", "month", "2025-10", "2025-10", mart_url=url)
    nov_2026 = compute(["up_referrals"], "county", "month", "2026-11", "2026-11", mart_url=url)
    assert up["yoy_value"] == oct_2025.iloc[0]["value"] + nov_2026.iloc[0]["yoy_value"]


def test_engine_completeness_agrees_with_the_freshness_banner(demo_cfg) -> None:
    """One rule for upload gaps: the institutions the cockpit banner lists for October 2026 are exactly those the
    engine flags incomplete, and they include the demo's planted silent week (T005)."""
    from queries.periods import incomplete_institutions
    url = demo_cfg.mart_url
    gaps = incomplete_institutions(url, "2026-10")
    assert "T005" in set(gaps["inst_code"])
    listed = set(gaps.loc[gaps["source"] == "outpatient_visit", "inst_code"])      # the indicator's source
    df = compute(["op_antibiotic_rate"], "institution", "month", "2026-10", "2026-10", mart_url=url)
    flagged = set(df.loc[~df["complete"].astype(bool), "org_code"])
    assert flagged == listed & set(df["org_code"])


def test_status_is_judged_on_the_displayed_value() -> None:
    """A value that displays as the target (65.0 against 65, 1 decimal) is 达标, not 预警."""
    from metrics.status import MET, WARN, status_of
    ind = INDICATORS["primary_visit_share"]
    assert ind.decimals == 1 and ind.target_low == 65
    assert status_of(ind, 64.96) == MET and status_of(ind, 64.94) == WARN


def test_engine_status_agrees_with_the_displayed_value(demo_cfg) -> None:
    """Every engine row's status equals the status of its value rounded to the indicator's decimals."""
    from metrics.status import status_for_target
    df = compute(["primary_visit_share", "op_antibiotic_rate", "referral_acceptance"], "township", "month",
                 "2025-01", "2026-10", mart_url=demo_cfg.mart_url)
    for r in df.itertuples(index=False):
        ind = INDICATORS[r.indicator_id]
        if r.status is None or ind.target_by_inst_level:
            continue
        expect = status_for_target(ind.direction, ind.target_low, ind.target_high, round(r.value, ind.decimals))
        assert r.status == expect, (r.indicator_id, r.org_code, r.period, r.value)
