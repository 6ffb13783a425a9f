"""Readable Chinese names for the logs page: what a service-log row called, what an audit row did.

The service log stores what the request named — the Dash callback's output ids (``..admin-edit-result.children
...admin-users-refresh.data@368a…..``), the callback's module (``admin``), ``page:/path`` for Dash's page router,
``api:exchange`` and ``POST /api/exchange/runs`` for the node API. Those raw values stay in the table (they are
the evidence); the auditor's page shows the names here and keeps the raw value in a tooltip. Anything not named
here falls back to the raw id without Dash's hash suffix, so a new callback is never hidden, only unnamed.
"""
from __future__ import annotations

import json
from typing import Any

from core.roles import ROLE_ZH
from layouts._nav import page_label

# Callback module (last dotted part) → feature area.
MODULE_ZH: dict[str, str] = {
    "shell": "页面框架", "home": "驾驶舱", "cockpit": "驾驶舱", "indicator": "指标分析", "topic": "专题分析", "catalogue": "指标目录",
    "map": "一张图", "maps": "一张图", "referral": "双向转诊", "referrals": "双向转诊", "quality": "数据质量",
    "exchange": "数据交换监测", "exchange_rerun": "数据交换监测", "exchange_settings": "数据交换监测",
    "admin": "系统管理", "admin_users": "系统管理", "admin_alerts": "预警规则", "admin_logs": "审计日志", "unknown": "未知模块",
    "assessment": "综合评价", "assessment_weights": "综合评价权重",
}

# First output component id of a callback → (area, function). Areas override MODULE_ZH where one module serves
# two pages (admin: 系统管理 and 审计日志).
OUTPUT_ZH: dict[str, tuple[str | None, str]] = {
    # 系统管理 / 审计日志
    "admin-users-table": ("系统管理", "加载账号列表"), "admin-create-result": ("系统管理", "创建账号"),
    "admin-edit-result": ("系统管理", "修改账号（保存/重置密码/解锁/停用）"),
    "admin-edit-role": ("系统管理", "读取账号设置"),
    "admin-reset-confirm": ("系统管理", "确认重置密码或停用账号"),
    "logs-body": ("审计日志", "查询日志"), "logs-audit-detail": ("审计日志", "查看审计详情"),
    # shell
    "url": (None, "同步地址栏与工具栏"), "nav-link": (None, "导航高亮"), "shell-toolbar": (None, "工具栏"),
    "echarts": (None, "图表样式"),
    # 驾驶舱
    "home-cards": (None, "指标卡"), "home-alerts": (None, "预警提示"), "home-freshness": (None, "数据更新时间"),
    # 指标分析
    "ind-crumbs": (None, "指标页标题与路径"), "ind-trend-box": (None, "指标趋势"),
    "ind-ranking-box": (None, "同类机构排名"), "ind-breakdown-box": (None, "下钻明细"),
    "ind-download": (None, "导出指标数据"),
    # 一张图
    "map-inst": (None, "医疗机构运行地图"), "map-inst-indicator": (None, "医疗机构运行：指标选择"),
    "map-inst-panel": (None, "医疗机构运行：机构详情"),
    "map-health": (None, "居民健康地图"), "map-health-indicator": (None, "居民健康：指标与分级"),
    "map-health-panel": (None, "居民健康：区域详情"),
    "map-reform": (None, "医改动态监测地图"), "map-reform-indicator": (None, "医改动态监测：指标选择"),
    "map-reform-cards": (None, "医改动态监测：指标卡"), "map-reform-panel": (None, "医改动态监测：区域详情"),
    "map-inst-sel": (None, "医疗机构运行：选中机构"), "map-health-sel": (None, "居民健康：选中区域"),
    "map-reform-sel": (None, "医改动态监测：选中区域"),
    # 专题
    "topic-tabs": (None, "专题页内容"),
    # 双向转诊
    "ref-kpis": (None, "转诊指标卡"), "ref-volume": (None, "转诊量趋势"), "ref-flow": (None, "转诊流向"),
    "ref-dest": (None, "转诊去向"), "ref-diag": (None, "转诊病种"), "ref-outside": (None, "县外转诊"),
    "ref-pending": (None, "待处理转诊"),
    # 数据质量
    "q-kpis": (None, "质量指标卡"), "q-trend": (None, "质量趋势"), "q-heat": (None, "质量热力图"),
    "q-inst": (None, "机构质量明细"), "q-behind": (None, "数据滞后机构"),
    # 数据交换监测
    "exchange-map": (None, "前置机地图与状态"), "ex-detail": (None, "前置机详情"), "ex-node": (None, "选择前置机"),
    "ex-runs": (None, "运行记录"), "ex-page": (None, "运行记录翻页"), "ex-run": (None, "选择运行记录"),
    "ex-log-head": (None, "运行日志"), "ex-rerun-confirm": (None, "确认重新执行"),
    "ex-rerun-msg": (None, "重新执行失败任务"), "ex-set-node": (None, "读取节点设置"),
    "ex-set-msg": (None, "保存节点设置"), "ex-interval": (None, "自动刷新开关"),
}

# Node API routes (Flask rule) → function.
API_ZH: dict[str, str] = {
    "/api/exchange/heartbeat": "上报心跳", "/api/exchange/runs": "上报运行记录",
    "/api/exchange/runs/<run_id>/logs": "上报运行日志", "/api/exchange/commands": "拉取指令",
    "/api/exchange/commands/<int:command_id>/ack": "确认指令",
}
API_MODULE_ZH: dict[str, str] = {"exchange": "前置机接口"}

# Page paths beyond the navigation entries (path templates).
PAGE_PREFIX_ZH: tuple[tuple[str, str], ...] = (("/indicator/", "指标分析"), ("/topic/", "专题分析"),
                                               ("/map/", "一张图"), ("/admin/", "系统管理"))

ACTION_ZH: dict[str, str] = {
    "cockpit.cards": "自定义驾驶舱卡片", "cockpit.reset": "驾驶舱卡片恢复默认",
    "assessment.weights": "修改综合评价权重", "assessment.reset": "综合评价权重恢复默认",
    "user.create": "创建账号", "user.role": "修改角色", "user.scope": "修改机构范围", "user.disable": "停用账号",
    "user.enable": "启用账号", "user.update": "修改账号", "user.reset_password": "重置密码",
    "user.change_password": "本人修改密码", "user.unlock": "解除锁定", "user.lock": "锁定账号（连续登录失败）",
    "logs.purge": "清理过期日志", "job.rerun": "重新执行任务", "node.settings": "修改前置机设置", "data.export": "导出数据",
    "alert_rule.save": "修改预警规则", "alert_channel.save": "修改通知渠道", "alert_channel.delete": "删除通知渠道",
}

FIELD_ZH: dict[str, str] = {
    "username": "用户名", "display_name": "显示名", "role": "角色", "inst_codes": "机构范围", "is_active": "启用",
    "must_change_password": "须修改密码", "failed_logins": "连续失败次数", "locked_until": "锁定至",
    "reason": "原因", "status": "状态", "login_log": "登录日志行数", "service_log": "服务日志行数",
    "audit_log": "审计日志行数", "user_sessions": "会话行数", "lon": "经度", "lat": "纬度", "zoom": "缩放级别",
    "city": "城市", "address": "地址", "command_id": "指令号", "job_code": "任务", "run_id": "运行号",
    "job": "任务", "node": "前置机", "state": "指令状态", "message": "说明",
    "indicator": "指标", "org": "机构代码", "org_name": "机构", "grain": "粒度", "period": "期间", "format": "格式",
    "rows": "行数", "name": "名称", "kind": "类型", "severity": "严重程度", "levels": "层级",
    "indicator_ids": "指标", "params": "参数", "notify": "通知渠道", "enabled": "启用", "target": "地址",
}


def _code_names() -> dict[str, dict[str, str]]:
    """Field → (code → Chinese label) for audit values that are codes (run status, command state, job)."""
    from dashboard.exchange.models import COMMAND_STATE_ZH, JOB_NAMES_ZH, RUN_STATUS_ZH
    return {"status": RUN_STATUS_ZH, "state": COMMAND_STATE_ZH, "job": JOB_NAMES_ZH, "job_code": JOB_NAMES_ZH}


def strip_hash(raw: str) -> str:
    """A Dash output string without the ``@<hash>`` suffixes Dash adds to ``allow_duplicate`` outputs."""
    out = []
    for part in raw.split("..."):
        out.append(part.split("@", 1)[0] if "@" in part else part)
    return "...".join(out).strip(".")


def first_output_id(raw: str) -> str | None:
    """The component id of a Dash output string's first output (the ``type`` of a pattern-matching id whose
    ``id`` is a wildcard), or None when ``raw`` is not a Dash output string."""
    first = strip_hash(raw).split("...", 1)[0]
    if "." not in first:
        return None
    ident = first.rsplit(".", 1)[0]
    if ident.startswith("{"):
        try:
            parsed = json.loads(ident)
        except ValueError:
            return None
        value = parsed.get("id")
        return value if isinstance(value, str) else parsed.get("type")
    return ident


def page_name(path: str) -> str:
    """The Chinese name of a page path (menu label or registered page name, else its area), or the path itself."""
    path = (path or "/").split("?", 1)[0] or "/"
    label = page_label(path)
    if label:
        return label
    for prefix, label in PAGE_PREFIX_ZH:
        if path.startswith(prefix):
            return label
    return path


def service_call_names(module: str, function: str) -> tuple[str, str]:
    """(area, function) in Chinese for one service-log row; unknown ones fall back to the raw values."""
    module, function = module or "", function or ""
    if module.startswith("page:"):
        return page_name(module[5:]), "打开页面"
    if module.startswith("api:"):
        area = API_MODULE_ZH.get(module[4:], "接口")
        method, _, rule = function.partition(" ")
        return area, API_ZH.get(rule, function) if method else function
    area = MODULE_ZH.get(module, module)
    ident = first_output_id(function)
    if ident is not None and ident in OUTPUT_ZH:
        own_area, name = OUTPUT_ZH[ident]
        return own_area or area, name
    return area, strip_hash(function) if ident is not None else function


def action_name(action: str) -> str:
    """Chinese label of an audit action code (the code itself when unknown)."""
    return ACTION_ZH.get(action, action)


def actor_role_name(actor: str, role: str) -> str:
    """Chinese label of who acted: a role, the command line or the system."""
    if role:
        return ROLE_ZH.get(role, role)
    if (actor or "").startswith("cli:"):
        return "命令行"
    if (actor or "").startswith("system"):
        return "系统"
    return "—"


def _value_text(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "role" and isinstance(value, str):
        return ROLE_ZH.get(value, value)
    if isinstance(value, str) and key in ("status", "state", "job", "job_code"):
        label = _code_names()[key].get(value)
        return f"{label}（{value}）" if label and key.startswith("job") else (label or value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（无）"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def parse_json(text: str | None) -> Any:
    """An audit row's before/after JSON (None stays None; text that is not JSON is returned as it is)."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def change_rows(before: Any, after: Any) -> list[dict[str, Any]]:
    """Field-by-field rows {field, before, after, changed} of an audit row's state before and after."""
    b, a = parse_json(before), parse_json(after)
    if isinstance(b, dict) or isinstance(a, dict):
        bd, ad = (b if isinstance(b, dict) else {}), (a if isinstance(a, dict) else {})
        order = list(FIELD_ZH)     # who, then what: username, display name, role, scope, active …
        keys = sorted(dict.fromkeys(list(bd) + list(ad)),
                      key=lambda k: (order.index(k) if k in order else len(order), k))
        return [{"field": FIELD_ZH.get(k, k),
                 "before": _value_text(k, bd.get(k)) if isinstance(b, dict) else "—",
                 "after": _value_text(k, ad.get(k)) if isinstance(a, dict) else "—",
                 "changed": bd.get(k) != ad.get(k)} for k in keys]
    if b is None and a is None:
        return []
    return [{"field": "内容", "before": _value_text("", b), "after": _value_text("", a), "changed": b != a}]


def change_summary(before: Any, after: Any, side: str) -> str:
    """One line for the audit table: the changed fields of one side (``before`` or ``after``), readable."""
    rows = change_rows(before, after)
    changed = [r for r in rows if r["changed"]] or rows
    parts = [f"{r['field']}：{r[side]}" for r in changed if r[side] != "—"]
    return "；".join(parts) or "—"
