"""The warning rules a new app database starts with (migration 0004 stores them; the admin edits them after)."""
from __future__ import annotations

from typing import Any

HEADLINE = ["primary_visit_share", "in_county_ip_share", "insurance_in_county_share", "insured_ip_cost_in_county",
            "tcm_visit_share", "chronic_hospitalization_rate", "bed_occupancy", "alos", "op_cost_per_visit",
            "op_antibiotic_rate", "down_up_ratio", "referral_acceptance"]

DEFAULT_RULES: list[dict[str, Any]] = [
    {"code": "R01", "name": "全县指标未达目标", "kind": "target_breach", "severity": "high", "levels": "county",
     "indicator_ids": "", "params": {}, "notify": "wecom,dingtalk,email"},
    {"code": "R02", "name": "乡镇与机构指标未达目标", "kind": "target_breach", "severity": "medium",
     "levels": "township,institution", "indicator_ids": ",".join(HEADLINE),
     "params": {"min_denominator": 100}, "notify": ""},
    {"code": "R03", "name": "预计全年未达目标", "kind": "year_end_miss", "severity": "high", "levels": "county",
     "indicator_ids": "", "params": {"from_month": 3}, "notify": "wecom,dingtalk,email"},
    {"code": "R04", "name": "连续3个月同比恶化", "kind": "worsening", "severity": "medium",
     "levels": "township,institution", "indicator_ids": ",".join(HEADLINE + ["doctor_daily_visits"]),
     "params": {"n": 3, "min_change": 15, "min_denominator": 100, "direction": {"doctor_daily_visits": "up"}},
     "notify": ""},
    {"code": "R05", "name": "超出预测区间（异常波动）", "kind": "anomaly", "severity": "medium",
     "levels": "county,township,institution",
     "indicator_ids": ",".join(HEADLINE + ["doctor_daily_visits", "up_referrals", "down_referrals"]),
     "params": {"min_denominator": 100}, "notify": "wecom"},
    {"code": "R06", "name": "数据上传缺失", "kind": "upload_gap", "severity": "high", "levels": "institution",
     "indicator_ids": "", "params": {"min_expected_days": 20, "max_share": 0.9}, "notify": "wecom,email"},
    {"code": "R07", "name": "交换节点故障", "kind": "node_failure", "severity": "high", "levels": "institution",
     "indicator_ids": "", "params": {}, "notify": "wecom,dingtalk"},
]
