"""What the monthly report holds: the headline indicators and the sections with their indicators.

``chart`` is the indicator whose 12-month trend is drawn (``rank`` instead where ``chart`` is not computable at
the report's level); ``rank`` the indicator by which the section's child orgs are ranked. Ids not in the catalogue or not computable at a level are left out by the engine (its refusals).
"""
from __future__ import annotations

from dataclasses import dataclass

# The cockpit's headline indicators (layouts._pageparts.HEADLINE_IDS), in the same order.
HEADLINE_IDS: tuple[str, ...] = (
    "primary_visit_share", "in_county_ip_share", "insurance_in_county_share", "insured_ip_cost_in_county",
    "tcm_visit_share", "chronic_hospitalization_rate",
    "bed_occupancy", "alos", "op_cost_per_visit", "op_antibiotic_rate", "down_up_ratio", "referral_acceptance",
)


@dataclass(frozen=True)
class SectionSpec:
    """One chapter of the report."""
    key: str
    title: str
    indicator_ids: tuple[str, ...]
    chart: str | None = None
    rank: str | None = None


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("resources", "二、资源配置",
                ("beds_per_1k", "doctors_per_1k", "nurses_per_1k", "gps_per_10k", "nurse_doctor_ratio",
                 "bed_occupancy", "bed_turnover", "alos", "doctor_daily_visits"),
                chart="bed_occupancy", rank="bed_occupancy"),
    SectionSpec("quality", "三、医疗服务与质量",
                ("op_antibiotic_rate", "ip_antibiotic_rate",
                 "antibiotic_intensity", "surgery_share", "surgery_34_share", "low_risk_mortality",
                 "readmission_31d", "lab_timeliness", "critical_notify_rate"),
                chart="op_antibiotic_rate", rank="op_antibiotic_rate"),
    SectionSpec("cost", "四、费用控制",
                ("op_cost_per_visit", "ip_cost_per_discharge", "op_drug_per_visit", "op_drug_share",
                 "ip_drug_share", "ip_material_share", "op_cost_growth", "ip_cost_growth",
                 "insured_ip_cost_in_county", "self_pay_share"),
                chart="op_cost_per_visit", rank="op_cost_per_visit"),
    SectionSpec("referrals", "五、分级诊疗与双向转诊",
                ("up_referrals", "down_referrals", "down_up_ratio", "referral_acceptance", "referral_response_24h",
                 "primary_visit_share", "in_county_ip_share", "in_county_visit_rate", "insurance_in_county_share",
                 "tcm_visit_share"),
                chart="primary_visit_share", rank="referral_acceptance"),
    SectionSpec("health", "六、健康管理",
                ("htn_standard_rate", "dm_standard_rate", "htn_control_rate", "dm_control_rate",
                 "chronic_hospitalization_rate", "visits_per_capita", "hospitalization_rate"),
                chart="htn_standard_rate", rank="htn_standard_rate"),
    SectionSpec("data_quality", "七、数据上报质量", ()),
)

# How many ranked rows a section table shows (best and worst halves when there are more).
RANK_ROWS = 12
