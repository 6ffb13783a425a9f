"""The alert store: findings → alerts (one per rule × indicator × org × period), the lifecycle
新 → 已确认 → 处置中 → 已关闭 (or 自动恢复), scope, listing. Every transition writes one alert_event and one audit row
in the same transaction as the change."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row
from dashboard.alerts.models import STATUS_ZH, Alert, AlertEvent, AlertRule
from dashboard.appdb import session_factory
from metrics.alert_rules import Finding, RuleSpec
from metrics.scope import Scope

OPEN = ("new", "acknowledged", "in_progress")
TRANSITIONS = {"acknowledged": ("new",), "in_progress": ("new", "acknowledged"), "closed": OPEN}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
LIST_COLUMNS = ["alert_id", "rule", "kind", "indicator_id", "level", "org_code", "period", "severity", "status",
                "value", "expected", "message"]
SYSTEM_ACTOR = ("system", "", "")


class AlertError(ValueError):
    """A refused lifecycle step (Chinese message)."""


# --------------------------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------------------------
def rule_spec(rule: AlertRule) -> RuleSpec:
    """The evaluation's view of a stored rule."""
    return RuleSpec(code=rule.code, kind=rule.kind, severity=rule.severity,
                    levels=tuple(x for x in rule.levels.split(",") if x),
                    indicator_ids=tuple(x for x in rule.indicator_ids.split(",") if x),
                    params=json.loads(rule.params or "{}"))


def load_rules(s: Session, enabled_only: bool = True) -> list[AlertRule]:
    """Stored rules by code."""
    q = select(AlertRule).order_by(AlertRule.code)
    if enabled_only:
        q = q.where(AlertRule.enabled.is_(True))
    return list(s.scalars(q))


# --------------------------------------------------------------------------------------------------------------
# sync
# --------------------------------------------------------------------------------------------------------------
def _event(s: Session, alert: Alert, to_status: str, actor: tuple[str, str, str], note: str = "",
           from_status: str | None = None) -> None:
    before = alert.status if from_status is None else from_status
    s.add(AlertEvent(alert_id=alert.id, ts=clock.now(), actor=actor[0], from_status=before, to_status=to_status,
                     note=note))
    add_audit_row(s, f"alert.{to_status}", f"alert:{alert.id} {alert.rule_code} {alert.org_code} {alert.period}",
                  {"status": STATUS_ZH.get(before, before)} if before else None,
                  {"status": STATUS_ZH.get(to_status, to_status), "note": note, "resolution": alert.resolution},
                  actor=actor)


def sync_findings(s: Session, findings: Iterable[Finding], evaluated_rules: Iterable[str],
                  month: str | None) -> dict[str, list[int]]:
    """Open or update an alert per finding; auto-close (自动恢复) open alerts of ``evaluated_rules`` whose condition
    no longer holds. Returns ids by what happened: opened, updated, reopened, auto_closed."""
    now = clock.now()
    result: dict[str, list[int]] = {"opened": [], "updated": [], "reopened": [], "auto_closed": []}
    rules = list(evaluated_rules)
    existing = {(a.rule_code, a.indicator_id, a.org_code, a.period): a
                for a in s.scalars(select(Alert).where(Alert.rule_code.in_(rules)))} if rules else {}
    seen = set()
    for f in findings:
        key = (f.rule, f.indicator_id, f.org_code, f.period)
        if key in seen:
            continue
        seen.add(key)
        alert = existing.get(key)
        if alert is None:
            alert = Alert(rule_code=f.rule, kind=f.kind, indicator_id=f.indicator_id, level=f.level,
                          org_code=f.org_code, org_name=f.org_name, parent_code=f.parent_code, period=f.period,
                          severity=f.severity, status="new", resolution="", value=f.value, expected=f.expected,
                          message=f.message, first_seen=now, last_seen=now, updated_at=now)
            s.add(alert)
            s.flush()
            _event(s, alert, "new", SYSTEM_ACTOR, "规则评估发现", from_status="")
            result["opened"].append(alert.id)
            continue
        alert.value, alert.expected, alert.message, alert.severity = f.value, f.expected, f.message, f.severity
        alert.last_seen = now
        if alert.status == "closed" and alert.resolution == "auto":      # the condition came back
            _event(s, alert, "new", SYSTEM_ACTOR, "条件再次出现，重新打开")
            alert.status, alert.resolution, alert.updated_at = "new", "", now
            result["reopened"].append(alert.id)
        else:
            result["updated"].append(alert.id)
    for key, alert in existing.items():
        if key in seen or alert.status not in OPEN:
            continue
        if month is not None and alert.kind != "node_failure" and alert.period not in (month, month[:4]):
            # an alert of an earlier month: its month is over; it clears only by people (or stays as history)
            continue
        alert.resolution = "auto"
        _event(s, alert, "closed", SYSTEM_ACTOR, "自动恢复：条件已解除")
        alert.status, alert.updated_at = "closed", now
        result["auto_closed"].append(alert.id)
    return result


# --------------------------------------------------------------------------------------------------------------
# scope and lifecycle
# --------------------------------------------------------------------------------------------------------------
def visible(alert: Alert, scope: Scope) -> bool:
    """A leader sees every alert; a manager only the alerts of their institutions."""
    if scope.all_institutions:
        return True
    return alert.level == "institution" and alert.org_code in scope.inst_codes


def transition(s: Session, alert_id: int, to_status: str, scope: Scope, actor: tuple[str, str, str],
               note: str = "") -> Alert:
    """Move an alert one step (acknowledge, start handling, close) with a note; checked against the scope."""
    alert = s.get(Alert, alert_id)
    if alert is None or not visible(alert, scope):
        raise AlertError(f"预警 {alert_id} 不存在或不在您的管辖范围内")
    allowed = TRANSITIONS.get(to_status)
    if allowed is None:
        raise AlertError(f"未知状态 {to_status!r}（可选：acknowledged / in_progress / closed）")
    if alert.status not in allowed:
        raise AlertError(f"预警 {alert_id} 当前为「{STATUS_ZH[alert.status]}」，不能改为「{STATUS_ZH[to_status]}」")
    if to_status == "closed" and not note.strip():
        raise AlertError("关闭预警须填写处置说明")
    if to_status == "closed":
        alert.resolution = "manual"
    _event(s, alert, to_status, actor, note.strip())
    alert.status, alert.updated_at = to_status, clock.now()
    alert.handler, alert.note = actor[0], note.strip() or alert.note
    return alert


def set_status(app_db_url: str, alert_id: int, to_status: str, scope: Scope, actor: tuple[str, str, str],
               note: str = "") -> dict[str, Any]:
    """:func:`transition` in its own transaction; returns the alert as a dict."""
    with session_factory(app_db_url)() as s, s.begin():
        alert = transition(s, alert_id, to_status, scope, actor, note)
        return alert_dict(alert)


def alert_dict(a: Alert) -> dict[str, Any]:
    """An alert as pages and the CLI use it."""
    return {"alert_id": a.id, "rule": a.rule_code, "kind": a.kind, "indicator_id": a.indicator_id,
            "level": a.level, "org_code": a.org_code, "org_name": a.org_name, "parent_code": a.parent_code,
            "period": a.period, "severity": a.severity, "status": a.status, "resolution": a.resolution,
            "value": a.value, "expected": a.expected, "message": a.message, "handler": a.handler, "note": a.note,
            "first_seen": a.first_seen, "updated_at": a.updated_at}


def list_alerts(app_db_url: str, scope: Scope, status: str | None = None) -> pd.DataFrame:
    """Alerts in scope, worst first (severity, then open before closed, then newest period); ``status`` 'open'
    or one status."""
    with session_factory(app_db_url)() as s:
        q = select(Alert)
        if status == "open":
            q = q.where(Alert.status.in_(OPEN))
        elif status:
            q = q.where(Alert.status == status)
        rows = [alert_dict(a) for a in s.scalars(q) if visible(a, scope)]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=LIST_COLUMNS + ["org_name", "parent_code", "resolution", "handler", "note",
                                                    "first_seen", "updated_at"])
    df["_sev"] = df["severity"].map(SEVERITY_RANK).fillna(9)
    df["_open"] = (~df["status"].isin(OPEN)).astype(int)
    df = df.sort_values(["_open", "_sev", "period", "alert_id"], ascending=[True, True, False, True])
    return df.drop(columns=["_sev", "_open"]).reset_index(drop=True)


def open_count(app_db_url: str, scope: Scope) -> int:
    """Open alerts the user may see (the header badge)."""
    return len(list_alerts(app_db_url, scope, "open"))


def events(app_db_url: str, alert_id: int) -> pd.DataFrame:
    """Lifecycle steps of one alert, oldest first."""
    with session_factory(app_db_url)() as s:
        rows = [{"ts": e.ts, "actor": e.actor, "from_status": e.from_status, "to_status": e.to_status,
                 "note": e.note} for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                                   .order_by(AlertEvent.id))]
    return pd.DataFrame(rows, columns=["ts", "actor", "from_status", "to_status", "note"])


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as plain data (for logs and tests)."""
    return asdict(f)
