"""Editing warning rules and notification channels (admin; CLI or page), validated and audited."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from core.config import Config
from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row, current_actor
from dashboard.alerts.models import AlertChannel, AlertRule
from dashboard.appdb import init_app_db, session_factory
from metrics.alert_rules import KINDS, LEVELS, SEVERITIES
from metrics.catalogue import INDICATORS


class RuleError(ValueError):
    """A refused rule or channel change (Chinese message)."""


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
        out["params"] = json.dumps(params, ensure_ascii=False)
    if "enable" in out:
        out["enabled"] = bool(out.pop("enable"))
    return out


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    return {k: getattr(rule, k) for k in ("name", "kind", "severity", "levels", "indicator_ids", "params",
                                          "notify", "enabled")}


def save_rule(cfg: Config, code: str, changes: dict[str, Any]) -> None:
    """Create rule ``code`` or change its fields; one audit row with before/after."""
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
        actor = current_actor()
        rule.updated_at, rule.updated_by = clock.now(), actor[0]
        add_audit_row(s, "alert_rule.save", f"预警规则 {code}", before, _snapshot(rule), actor=actor)


def save_channel(cfg: Config, name: str, kind: str, target: str, enabled: bool = True) -> None:
    """Create or change a notification channel; audited (the target is masked in the audit as usual)."""
    if kind not in ("wecom", "dingtalk", "email"):
        raise RuleError(f"未知渠道类型 {kind!r}")
    if kind != "email" and not target.startswith(("http://", "https://")):
        raise RuleError("机器人渠道须填写 http(s):// 开头的 Webhook 地址")
    if kind == "email" and not all("@" in a for a in target.split(",")):
        raise RuleError("邮件渠道须填写以逗号分隔的邮箱地址")
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s, s.begin():
        ch = s.scalar(select(AlertChannel).where(AlertChannel.name == name))
        before = None if ch is None else {"kind": ch.kind, "target": ch.target, "enabled": ch.enabled}
        if ch is None:
            ch = AlertChannel(name=name, kind=kind, target=target, enabled=enabled)
            s.add(ch)
        ch.kind, ch.target, ch.enabled = kind, target, enabled
        add_audit_row(s, "alert_channel.save", f"通知渠道 {name}", before,
                      {"kind": kind, "target": target, "enabled": enabled})
