"""One evaluation of every enabled rule: findings from ``metrics.alert_rules`` (mart) and from the exchange
nodes (app database), synced into the alert store, new alerts notified. Runs from ``python app.py alerts run``,
after ``load`` and the demo build, and on the web app's schedule (one runner at a time across servers: ``dashboard.alerts.lock``)."""
from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select

from core.config import Config
from core.labels import JOB_NAMES_ZH
from dashboard.accounts.audit import add_audit_row
from dashboard.alerts import notify
from dashboard.alerts.lock import RUN_ACTION, runner_lock, tick_already_run
from dashboard.alerts.models import Alert, AlertRule
from dashboard.alerts.store import SYSTEM_ACTOR, load_rules, rule_spec, sync_findings
from dashboard.appdb import init_app_db, session_factory
from metrics.alert_rules import Finding, RuleSpec, evaluate

log = logging.getLogger(__name__)
SEVERITY_ZH = {"high": "严重", "medium": "一般", "low": "提示"}


@dataclass
class RunResult:
    month: str | None
    findings: int = 0
    counts: dict[str, list[int]] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0
    skipped: bool = False


def node_failure_findings(cfg: Config, rule: RuleSpec, month: str | None) -> list[Finding]:
    """Exchange nodes that are offline or have a failed job (state of ``dashboard.exchange.service``)."""
    from dashboard.exchange.service import node_states
    period = month or ""
    states = node_states(cfg)
    if len(states) > 1 and (states["state"] == "offline").all():     # the platform hears nobody: one alert
        return [Finding(rule.code, rule.kind, "", "county", "platform", "数据交换平台", period, rule.severity,
                        None, None, f"全部 {len(states)} 个数据交换节点均无心跳，请检查交换平台与网络")]
    out = []
    for n in states.itertuples(index=False):
        if n.state not in ("offline", "failed"):
            continue
        name = n.inst_name or n.name
        what = "离线（超过3个心跳周期无心跳）" if n.state == "offline" else \
            f"作业失败：{'、'.join(JOB_NAMES_ZH.get(j, j) for j in n.failed_jobs)}"
        out.append(Finding(rule.code, rule.kind, "", "institution", str(n.inst_code), str(name), period,
                           rule.severity, None, None, f"{name} 数据交换节点{what}"))
    return out


def _runner_lock(cfg: Config) -> AbstractContextManager[bool]:
    """Non-blocking exclusive lock across processes and servers: True when this caller is the one runner now."""
    return runner_lock(cfg, wait=False)


def run_alerts(cfg: Config, month: str | None = None, send: bool = True, wait: bool = True,
               tick_minutes: float | None = None) -> RunResult:
    """Evaluate every enabled rule and sync the alert store. With ``wait`` False a run already going elsewhere
    (another worker or server) makes this one skip (the scheduler's runs); with ``tick_minutes`` (the schedule's
    interval) a tick another server already evaluated is skipped too."""
    t0 = time.perf_counter()
    init_app_db(cfg.app_db_url)
    with runner_lock(cfg, wait=wait) as mine:
        if not mine or (tick_minutes and tick_already_run(cfg, tick_minutes)):
            return RunResult(month=month, skipped=True)
        return _run(cfg, month, send, t0)


def _run(cfg: Config, month: str | None, send: bool, t0: float) -> RunResult:
    Session = session_factory(cfg.app_db_url)
    with Session() as s:
        rules = load_rules(s)
        specs = [rule_spec(r) for r in rules]
        notify_of = {r.code: [x for x in r.notify.split(",") if x] for r in rules}
        names = {r.code: r.name for r in rules}
    findings, month = evaluate([r for r in specs if r.kind != "node_failure"], cfg.mart_url, month)
    for spec in specs:
        if spec.kind == "node_failure":
            findings.extend(node_failure_findings(cfg, spec, month))
    with Session() as s, s.begin():
        counts = sync_findings(s, findings, [r.code for r in specs], month)
        add_audit_row(s, RUN_ACTION, f"预警评估 {month}",
                      None, {k: len(v) for k, v in counts.items()}, actor=SYSTEM_ACTOR)
    result = RunResult(month=month, findings=len(findings), counts=counts)
    if send:
        _notify(cfg, counts["opened"] + counts["reopened"], notify_of, names, result)
    try:        # after a load the cockpit's 预计全年 is stored for every worker here, not on a click
        from dashboard.views.cards import warm_headline_year_end
        warm_headline_year_end(cfg.app_db_url, cfg.mart_url)
    except Exception:
        log.warning("预计全年预热失败", exc_info=True)
    result.seconds = time.perf_counter() - t0
    log.info("预警评估完成 %s: %s", month, {k: len(v) for k, v in counts.items()})
    return result


def _notify(cfg: Config, alert_ids: list[int], notify_of: dict[str, list[str]], names: dict[str, str],
            result: RunResult) -> None:
    if not alert_ids:
        return
    with session_factory(cfg.app_db_url)() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.id.in_(alert_ids))))
    by_channel: dict[str, list[Alert]] = {}
    for a in alerts:
        for ch in notify_of.get(a.rule_code, []):
            by_channel.setdefault(ch, []).append(a)
    for ch in notify.channels(cfg.app_db_url, list(by_channel)):
        items = sorted(by_channel[ch["name"]], key=lambda a: (a.severity != "high", a.id))
        title = f"医共体运营监测预警：新增 {len(items)} 条"
        text = "\n".join(f"- 【{SEVERITY_ZH.get(a.severity, a.severity)}】{a.message}" for a in items[:20])
        if len(items) > 20:
            text += f"\n- 另有 {len(items) - 20} 条，请登录预警中心查看"
        ok = notify.send(cfg.app_db_url, ch, title, text, alert_id=items[0].id)
        result.sent += int(ok)
        result.failed += int(not ok)


def rules_table(cfg: Config) -> list[AlertRule]:
    """Every stored rule (for the CLI and the admin)."""
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s:
        rules = list(s.scalars(select(AlertRule).order_by(AlertRule.code)))
        s.expunge_all()
        return rules
