"""Editing warning rules and notification channels (admin; CLI or page), validated and audited."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from core.config import Config
from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row, current_actor
from dashboard.alerts.models import AlertChannel, AlertRule
from dashboard.appdb import init_app_db, session_factory
from metrics.alert_rules import KINDS, LEVELS, SEVERITIES
from metrics.catalogue import INDICATORS

CHANNEL_KINDS = ("wecom", "dingtalk", "email")


class RuleError(ValueError):
    """A refused rule or channel change (Chinese message)."""


# Parameters the evaluation reads (metrics.alert_rules), in Chinese, with type and bounds: checked on every save
# (CLI and page); keys not listed here are kept as they are.
PARAM_SPECS: dict[str, tuple[str, type, float, float]] = {
    "min_denominator": ("最小样本量（分母或例数）", int, 0, 1_000_000),
    "n": ("连续月数", int, 1, 12),
    "min_change": ("比去年同期恶化幅度下限（%）", float, 0, 1000),
    "from_month": ("自几月起预测全年", int, 1, 12),
    "min_expected_days": ("应有上传的天数下限", int, 1, 31),
    "max_share": ("实际上传天数占比下限", float, 0, 1),
}
KIND_PARAMS: dict[str, tuple[str, ...]] = {
    "target_breach": ("min_denominator",), "year_end_miss": ("from_month",),
    "worsening": ("n", "min_change", "min_denominator"), "anomaly": ("min_denominator",),
    "upload_gap": ("min_expected_days", "max_share"), "node_failure": (),
}


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the known ones checked and typed (Chinese message on the first bad one)."""
    out = dict(params)
    for key, (label, kind, low, high) in PARAM_SPECS.items():
        if key not in out:
            continue
        value = out[key]
        if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
            raise RuleError(f"参数「{label}」须为数字")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RuleError(f"参数「{label}」须为数字，收到 {value!r}") from None
        if kind is int and number != int(number):
            raise RuleError(f"参数「{label}」须为整数")
        if not low <= number <= high:
            raise RuleError(f"参数「{label}」须在 {low:g} 到 {high:g} 之间")
        out[key] = int(number) if kind is int else number
    return out


def _validate(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "kind" in out and out["kind"] not in KINDS:
        raise RuleError(f"未知规则类型 {out['kind']!r}（可选：{', '.join(KINDS)}）")
    if "severity" in out and out["severity"] not in SEVERITIES:
        raise RuleError(f"未知严重程度 {out['severity']!r}")
    if "levels" in out:
        levels = [x.strip() for x in out["levels"].split(",") if x.strip()]
        bad = [x for x in levels if x not in LEVELS]
        if bad or not levels:
            raise RuleError(f"层级无效：{', '.join(bad) or '空'}（可选：{', '.join(LEVELS)}）")
        out["levels"] = ",".join(levels)
    if "indicators" in out:
        ids = [x.strip() for x in out.pop("indicators").split(",") if x.strip()]
        bad = [x for x in ids if x not in INDICATORS]
        if bad:
            raise RuleError(f"未知指标：{', '.join(bad)}")
        out["indicator_ids"] = ",".join(ids)
    if "params" in out:
        try:
            params = json.loads(out["params"])
        except ValueError as exc:
            raise RuleError(f"参数须为 JSON 对象：{exc}") from exc
        if not isinstance(params, dict):
            raise RuleError("参数须为 JSON 对象")
        out["params"] = json.dumps(check_params(params), ensure_ascii=False)
    if "enable" in out:
        out["enabled"] = bool(out.pop("enable"))
    if "name" in out:
        out["name"] = str(out["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 128:
            raise RuleError("规则名称须为 1 到 128 个字")
    if "notify" in out:
        out["notify"] = ",".join(x.strip() for x in str(out["notify"] or "").split(",") if x.strip())
    return out


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    return {k: getattr(rule, k) for k in ("name", "kind", "severity", "levels", "indicator_ids", "params",
                                          "notify", "enabled")}


def save_rule(cfg: Config, code: str, changes: dict[str, Any]) -> bool:
    """Create rule ``code`` or change its fields; one audit row with before/after. A save that changes nothing
    writes nothing and returns False."""
    values = _validate(changes)
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s, s.begin():
        rule = s.scalar(select(AlertRule).where(AlertRule.code == code))
        before = _snapshot(rule) if rule else None
        if rule is None:
            missing = [k for k in ("name", "kind", "levels") if k not in values]
            if missing:
                raise RuleError(f"新规则须给出：{', '.join(missing)}")
            rule = AlertRule(code=code, severity="medium", indicator_ids="", params="{}", notify="", enabled=True)
            s.add(rule)
        for key, value in values.items():
            setattr(rule, key, value)
        after = _snapshot(rule)
        if before == after:
            return False
        actor = current_actor()
        rule.updated_at, rule.updated_by = clock.now(), actor[0]
        add_audit_row(s, "alert_rule.save", f"预警规则 {code}", before, after, actor=actor)
        return True


def check_channel(name: str, kind: str, target: str) -> tuple[str, str, str]:
    """The channel's name, kind and target, stripped and checked (Chinese message when refused)."""
    name, target = (name or "").strip(), (target or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}", name):
        raise RuleError("渠道名称须为 1 到 64 个字母、数字、汉字、下划线或短横线")
    if kind not in CHANNEL_KINDS:
        raise RuleError(f"未知渠道类型 {kind!r}（可选：企业微信 wecom、钉钉 dingtalk、邮件 email）")
    if kind != "email" and not re.fullmatch(r"https?://[^\s/]+\S*", target):
        raise RuleError("机器人渠道须填写 http(s):// 开头的 Webhook 地址")
    if kind == "email":
        addrs = [a.strip() for a in target.split(",")]
        if not addrs or not all(re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", a) for a in addrs):
            raise RuleError("邮件渠道须填写以逗号分隔的邮箱地址（如 a@example.cn,b@example.cn）")
        target = ",".join(addrs)
    return name, kind, target


def save_channel(cfg: Config, name: str, kind: str, target: str, enabled: bool = True) -> bool:
    """Create or change a notification channel; audited (the target is masked in the audit as usual). A save
    that changes nothing writes nothing and returns False."""
    name, kind, target = check_channel(name, kind, target)
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s, s.begin():
        ch = s.scalar(select(AlertChannel).where(AlertChannel.name == name))
        before = None if ch is None else {"kind": ch.kind, "target": ch.target, "enabled": ch.enabled}
        after = {"kind": kind, "target": target, "enabled": bool(enabled)}
        if before == after:
            return False
        if ch is None:
            ch = AlertChannel(name=name, kind=kind, target=target, enabled=enabled)
            s.add(ch)
        ch.kind, ch.target, ch.enabled = kind, target, bool(enabled)
        add_audit_row(s, "alert_channel.save", f"通知渠道 {name}", before, after)
        return True


def delete_channel(cfg: Config, name: str) -> None:
    """Remove a notification channel (audited); rules that name it simply notify nobody there any more."""
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s, s.begin():
        ch = s.scalar(select(AlertChannel).where(AlertChannel.name == name))
        if ch is None:
            raise RuleError(f"通知渠道 {name} 不存在")
        add_audit_row(s, "alert_channel.delete", f"通知渠道 {name}",
                      {"kind": ch.kind, "target": ch.target, "enabled": ch.enabled}, None)
        s.delete(ch)


def channels_table(cfg: Config) -> list[AlertChannel]:
    """Every notification channel by name (for the CLI and the admin page)."""
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s:
        rows = list(s.scalars(select(AlertChannel).order_by(AlertChannel.name)))
        s.expunge_all()
        return rows
