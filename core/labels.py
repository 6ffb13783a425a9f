"""Chinese labels of codes that every layer shows: grains and exchange job names (one definition each)."""
from __future__ import annotations

GRAINS: tuple[str, ...] = ("year", "quarter", "month")
GRAIN_ZH: dict[str, str] = {"year": "年", "quarter": "季", "month": "月"}

JOB_NAMES_ZH: dict[str, str] = {"HIS_OP": "HIS门诊", "HIS_IP": "HIS住院", "LIS": "检验LIS", "PACS": "影像PACS",
                                "EMR": "电子病历EMR", "PH": "公共卫生"}
