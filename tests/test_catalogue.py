"""Catalogue validation: every INDICATORS.md id present, labels complete, bad entries rejected."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from metrics import catalogue as cat
from metrics.docs import DOC_PATH, render

MD_IDS = """beds_per_1k doctors_per_1k nurses_per_1k gps_per_10k nurse_doctor_ratio bed_occupancy bed_turnover alos
doctor_daily_visits posted_doctors_per_10k village_ecg_coverage op_er_visits discharges surgeries lab_orders
op_antibiotic_rate ip_antibiotic_rate
antibiotic_intensity surgery_share surgery_34_share mis_share low_risk_mortality ip_mortality readmission_31d
lab_timeliness critical_notify_rate regional_lab_share op_cost_per_visit ip_cost_per_discharge op_drug_per_visit
op_drug_share ip_drug_share ip_material_share op_cost_growth ip_cost_growth insured_ip_cost_in_county
service_revenue_share personnel_expense_share primary_lead_income_ratio self_pay_share up_referrals down_referrals
up_referrals_outside outside_settlements outside_referred outside_unreferred down_up_ratio county_down_share referral_acceptance referral_response_24h primary_visit_share in_county_ip_share
in_county_visit_rate orderly_outflow_rate tcm_visit_share insurance_in_county_share insurance_primary_share
htn_standard_rate dm_standard_rate htn_control_rate dm_control_rate chronic_hospitalization_rate visits_per_capita
hospitalization_rate upload_timeliness job_success_rate node_online_rate reject_rate""".split()


def test_catalogue_has_every_indicator_in_order():
    available = [i for i in cat.INDICATORS if cat.INDICATORS[i].available]
    assert available == MD_IDS
    unavailable = [i for i in cat.INDICATORS.values() if not i.available]
    assert len(unavailable) == 4 and all(i.unavailable_reason.startswith("not available: needs") or
                                         "qualitative" in i.unavailable_reason for i in unavailable)
    assert {i.id for i in cat.INDICATORS.values() if i.kind == "exchange"} == set(MD_IDS[-4:])
    assert all("应用数据库" in cat.INDICATORS[i].source for i in MD_IDS[-4:])


def test_labels_and_definitions_complete():
    for ind in cat.INDICATORS.values():
        assert ind.zh and ind.en and ind.definition and ind.topic in cat.TOPICS
        if ind.available and ind.kind in ("ratio", "growth"):
            assert ind.numerator_zh and ind.denominator_zh


PAGE_FIELDS = ("zh", "numerator_zh", "denominator_zh", "definition", "target_text", "source", "unit", "note")
ABBREVIATIONS = {"DDD", "DDDs"}          # an international unit, written so in Chinese documents too


def test_texts_shown_on_pages_are_chinese():
    """Pages show these fields as they are: no English (the unavailable reasons reached /topic/health)."""
    english = re.compile(r"[A-Za-z]{2,}")
    for ind in cat.INDICATORS.values():
        fields = PAGE_FIELDS + (() if ind.available else ("unavailable_zh",))
        for name in fields:
            words = set(english.findall(getattr(ind, name) or "")) - ABBREVIATIONS
            assert not words, (ind.id, name, words)
        if not ind.available:
            assert ind.unavailable_zh and ind.definition == ind.unavailable_zh
            assert ind.unavailable_reason.startswith("not available")     # English kept for refusals and docs


def test_validation_requires_a_chinese_unavailable_reason():
    bad = dict(cat.INDICATORS)
    bad["monitor_2024_1"] = replace(cat.INDICATORS["monitor_2024_1"], unavailable_zh="")
    with pytest.raises(cat.CatalogueError, match="unavailable_zh"):
        cat.validate(bad, cat.MEASURES)


def test_docs_show_both_reasons():
    text = render()
    ind = cat.INDICATORS["premature_chronic_mortality"]
    assert ind.unavailable_zh in text and ind.unavailable_reason in text


def test_residence_indicators_never_below_township():
    for ind in cat.INDICATORS.values():
        if ind.basis == "residence" and ind.id not in ("htn_standard_rate", "dm_standard_rate", "htn_control_rate",
                                                       "dm_control_rate"):
            assert set(ind.levels) <= {"county", "township"}, ind.id


@pytest.mark.parametrize("change,match", [
    (dict(numerator="no_such_measure"), "unknown measure"),
    (dict(levels=("county", "doctor")), "not allowed"),
    (dict(zh=""), "missing zh"),
    (dict(direction="sideways"), "direction"),
    (dict(target_low=10, target_high=5), "target_low"),
])
def test_validation_rejects_bad_entries(change, match):
    bad = dict(cat.INDICATORS)
    key = "in_county_ip_share" if "levels" in change else "alos"
    bad[key] = replace(cat.INDICATORS[key], **change)
    with pytest.raises(cat.CatalogueError, match=match):
        cat.validate(bad, cat.MEASURES)


def test_validation_rejects_bad_measure():
    bad = dict(cat.MEASURES)
    bad["x"] = cat.Measure("x", "x", "r_os_month", "settlements", ("primary",))
    with pytest.raises(cat.CatalogueError, match="does not apply"):
        cat.validate(cat.INDICATORS, bad)


def test_docs_are_fresh():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run: python -m metrics.docs"
