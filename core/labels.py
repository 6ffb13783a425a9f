"""Chinese labels of codes that every layer shows (one definition each): grains, org levels, institution types,
status colours and exchange job names."""
from __future__ import annotations

GRAINS: tuple[str, ...] = ("year", "quarter", "month")
GRAIN_ZH: dict[str, str] = {"year": "年", "quarter": "季", "month": "月"}

JOB_NAMES_ZH: dict[str, str] = {"HIS_OP": "HIS门诊", "HIS_IP": "HIS住院", "LIS": "检验LIS", "PACS": "影像PACS",
                                "EMR": "电子病历EMR", "PH": "公共卫生"}

LEVEL_ZH: dict[str, str] = {"county": "全县", "township": "乡镇", "institution": "机构", "department": "科室",
                            "doctor": "医生"}
# Institution types of the data contract (mart/schema.py INST_TYPES) as a type name, never an institution's name
INST_TYPE_ZH: dict[str, str] = {
    "general_hospital": "综合医院", "county_hospital": "县级医院", "tcm_hospital": "中医院",
    "maternal_child": "妇幼保健院", "community_center": "社区卫生服务中心", "township_center": "乡镇卫生院",
    "village_clinic": "村卫生室",
}
# Colours of an indicator's status (cards, sparklines, bars, map markers); None: no target or no value.
# ok / bad / none are the --c-ok / --c-bad / --c-none of assets/app.css.
STATUS_COLORS: dict[str | None, str] = {"达标": "#2e8b57", "预警": "#e0a100", "未达标": "#c0392b", None: "#8c96a0"}
