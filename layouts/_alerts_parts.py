"""Component ids and filter options of 预警中心 (shared by its layout and its callbacks)."""
from __future__ import annotations

A_READY, A_LIST, A_SUBTITLE, A_TICK = "al-ready", "al-list", "al-subtitle", "al-tick"
A_SEVERITY, A_KIND, A_THEME, A_TOWNSHIP, A_INST, A_STATUS = ("al-severity", "al-kind", "al-theme", "al-township",
                                                             "al-inst", "al-status")
A_PICK, A_NOTE, A_ACK, A_HANDLE, A_CLOSE, A_MSG = ("al-pick", "al-note", "al-ack", "al-handle", "al-close",
                                                   "al-msg")
SEVERITY_OPTIONS = [{"label": "严重", "value": "high"}, {"label": "一般", "value": "medium"},
                    {"label": "提示", "value": "low"}]
KIND_OPTIONS = [{"label": v, "value": k} for k, v in {
    "target_breach": "目标未达", "year_end_miss": "全年预计未达标", "worsening": "连续恶化", "anomaly": "异常波动",
    "upload_gap": "数据上传缺失", "node_failure": "交换节点故障"}.items()]
STATUS_OPTIONS = [{"label": "未关闭", "value": "open"}, {"label": "新", "value": "new"},
                  {"label": "已确认", "value": "acknowledged"}, {"label": "处置中", "value": "in_progress"},
                  {"label": "已关闭", "value": "closed"}]


# 预警规则 admin page (/admin/alerts): the parameters a rule can have; every input exists always, the callbacks show
# those of the selected rule's kind with their Chinese labels
PARAM_KEYS = ("min_denominator", "n", "min_change", "from_month", "min_expected_days", "max_share")


def param_id(key: str) -> str:
    """Component id of one rule-parameter input ('alert-admin-p-min-denominator')."""
    return f"alert-admin-p-{key.replace('_', '-')}"
