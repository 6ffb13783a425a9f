"""What the warning-rule admin page (/admin/alerts) shows: rules and channels in Chinese, the form's values, and
the changes a form submits (validated and saved by ``dashboard.alerts.admin``, the CLI's own service)."""
from __future__ import annotations

import json
import re
from typing import Any

from core.config import Config
from core.labels import LEVEL_ZH
from dashboard.alerts import admin as svc
from dashboard.alerts.run import rules_table
from metrics.alert_rules import KIND_ZH, LEVELS, SEVERITIES, SEVERITY_ZH
from metrics.catalogue import INDICATORS

CHANNEL_KIND_ZH = {"wecom": "企业微信", "dingtalk": "钉钉", "email": "邮件"}
DIRECTION_ZH = {"up": "越高越好", "down": "越低越好"}
TEST_TITLE = "医共体运营监测平台：测试消息"
TEST_TEXT = "这是一条测试消息：通知渠道配置正确时，预警将发送到这里。"


def _fmt_param(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    return f"{value}"


def params_zh(kind: str, params: dict[str, Any]) -> str:
    """'最小样本量（分母或例数） 100；连续月数 3' (keys without a Chinese label are shown as they are)."""
    parts = []
    for key, value in params.items():
        if key in svc.PARAM_SPECS:
            parts.append(f"{svc.PARAM_SPECS[key][0]} {_fmt_param(value)}")
        elif key == "direction" and isinstance(value, dict):
            parts.append("方向：" + "、".join(f"{INDICATORS[i].zh if i in INDICATORS else i} {DIRECTION_ZH.get(d, d)}"
                                             for i, d in value.items()))
        elif key == "noise_floor":
            parts.append("区间按样本量放宽" if value else "区间不按样本量放宽")
        elif key == "skip_when_breached":
            parts.append("已未达标的不再预警全年" if value else "已未达标的仍预警全年")
        else:
            parts.append(f"{key} {value}")
    return "；".join(parts) or "—"


def _indicators_zh(kind: str, ids: str, short: bool = False) -> str:
    if kind in ("upload_gap", "node_failure"):
        return "—（不按指标）"             # judges uploads and exchange nodes, no indicator
    chosen = [x for x in ids.split(",") if x]
    if not chosen:
        return "全部可判断的指标"
    names = [INDICATORS[i].zh if i in INDICATORS else i for i in chosen]
    if short and len(names) > 3:        # the table's cell; the whole list in its tooltip
        return "、".join(names[:2]) + f" 等 {len(names)} 项"
    return "、".join(names)


def notify_zh(notify: str, configured: set[str]) -> str:
    """A rule's channels as a person reads them: the default names (wecom, dingtalk, email) in Chinese, and
    "（未配置）" after a name no configured channel has (nothing is sent there): '企业微信（未配置）、钉钉（未配置）'."""
    names = [x for x in (notify or "").split(",") if x]
    return "、".join(CHANNEL_KIND_ZH.get(x, x) + ("" if x in configured else "（未配置）") for x in names) or "不通知"


def rule_rows(cfg: Config) -> list[dict[str, Any]]:
    """Every rule as the table shows it (Chinese)."""
    rows = []
    configured = {c.name for c in svc.channels_table(cfg)}
    for r in rules_table(cfg):
        params = json.loads(r.params or "{}")
        rows.append({"code": r.code, "name": r.name, "kind": KIND_ZH.get(r.kind, r.kind),
                     "severity": SEVERITY_ZH.get(r.severity, r.severity),
                     "levels": "、".join(LEVEL_ZH.get(x, x) for x in r.levels.split(",") if x),
                     "indicators": _indicators_zh(r.kind, r.indicator_ids, short=True),
                     "indicators_all": _indicators_zh(r.kind, r.indicator_ids), "params": params_zh(r.kind, params),
                     "notify": notify_zh(r.notify, configured),
                     "enabled": "启用" if r.enabled else "停用"})
    return rows


def mask_target(kind: str, target: str) -> str:
    """A webhook URL with its key hidden ('…?key=****1a2b'); e-mail addresses as they are."""
    if kind == "email":
        return target
    return re.sub(r"([?&][^=&]*(?:key|token|access_token|secret)[^=&]*=)([^&]*)",
                  lambda m: m.group(1) + "****" + m.group(2)[-4:], target, flags=re.IGNORECASE)


def channel_rows(cfg: Config) -> list[dict[str, Any]]:
    """Every notification channel as the table shows it."""
    return [{"name": c.name, "kind": CHANNEL_KIND_ZH.get(c.kind, c.kind), "target": mask_target(c.kind, c.target),
             "enabled": "启用" if c.enabled else "停用"} for c in svc.channels_table(cfg)]


def rule_options(cfg: Config) -> list[dict[str, str]]:
    return [{"label": f"{r.code} {r.name}（{'启用' if r.enabled else '停用'}）", "value": r.code}
            for r in rules_table(cfg)]


def channel_options(cfg: Config) -> list[dict[str, str]]:
    return [{"label": f"{c.name}（{CHANNEL_KIND_ZH.get(c.kind, c.kind)}）", "value": c.name}
            for c in svc.channels_table(cfg)]


SEVERITY_OPTIONS = [{"label": SEVERITY_ZH[s], "value": s} for s in SEVERITIES]
LEVEL_OPTIONS = [{"label": LEVEL_ZH.get(lv, lv), "value": lv} for lv in LEVELS]
KIND_OPTIONS = [{"label": zh, "value": k} for k, zh in CHANNEL_KIND_ZH.items()]


def indicator_options() -> list[dict[str, str]]:
    from metrics.forecast import forecastable
    return [{"label": f"{ind.zh}（{iid}）", "value": iid} for iid, ind in INDICATORS.items() if forecastable(ind)]


def find_rule(cfg: Config, code: str | None) -> Any:
    return next((r for r in rules_table(cfg) if r.code == code), None)


def rule_form(cfg: Config, code: str | None) -> dict[str, Any] | None:
    """The form's values for rule ``code``: fields, the parameter inputs shown for its kind and their values."""
    r = find_rule(cfg, code)
    if r is None:
        return None
    params = json.loads(r.params or "{}")
    shown = svc.KIND_PARAMS.get(r.kind, ())
    return {"name": r.name, "kind": KIND_ZH.get(r.kind, r.kind), "severity": r.severity,
            "levels": [x for x in r.levels.split(",") if x], "indicators": [x for x in r.indicator_ids.split(",") if x],
            "notify": [x for x in r.notify.split(",") if x], "enabled": r.enabled,
            "params": {k: ("" if params.get(k) is None else _fmt_param(params[k])) for k in svc.PARAM_SPECS},
            "shown": list(shown)}


def rule_changes(cfg: Config, code: str, name: Any, severity: Any, levels: Any, indicators: Any, notify: Any,
                 param_values: dict[str, Any]) -> dict[str, Any]:
    """The changes a rule form submits, in the service's terms (parameters of the rule's kind merged into the
    stored ones; the others kept). Raises RuleError for an unknown rule or a bad value."""
    r = find_rule(cfg, code)
    if r is None:
        raise svc.RuleError(f"预警规则 {code} 不存在")
    params = json.loads(r.params or "{}")
    for key in svc.KIND_PARAMS.get(r.kind, ()):
        value = param_values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            params.pop(key, None)                  # empty: the evaluation's default
            continue
        params[key] = value.strip() if isinstance(value, str) else value
    return {"name": name or "", "severity": severity or "", "levels": ",".join(levels or []),
            "indicators": ",".join(indicators or []), "notify": ",".join(notify or []),
            "params": json.dumps(svc.check_params(params), ensure_ascii=False)}


def channel_form(cfg: Config, name: str | None) -> dict[str, Any] | None:
    ch = next((c for c in svc.channels_table(cfg) if c.name == name), None)
    if ch is None:
        return None
    return {"name": ch.name, "kind": ch.kind, "target": ch.target, "enabled": ch.enabled}


def send_test(cfg: Config, name: str | None) -> tuple[bool, str]:
    """Send the test message on a stored channel (one attempt, logged like every send): (delivered, detail)."""
    from dashboard.alerts import notify
    form = channel_form(cfg, name)
    if form is None:
        return False, "请先保存渠道，再发送测试消息"
    ok = notify.send(cfg.app_db_url, form, TEST_TITLE, TEST_TEXT, retries=1)
    if ok:
        return True, f"测试消息已发送到「{form['name']}」"
    return False, f"测试消息发送失败（{last_send_detail(cfg, form['name'])}）"


def last_send_detail(cfg: Config, channel: str) -> str:
    from sqlalchemy import select

    from dashboard.alerts.models import AlertNotification
    from dashboard.appdb import session_factory
    with session_factory(cfg.app_db_url)() as s:
        row = s.scalar(select(AlertNotification).where(AlertNotification.channel == channel)
                       .order_by(AlertNotification.id.desc()).limit(1))
        return row.detail if row is not None else "未知原因"
