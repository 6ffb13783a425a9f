"""``python app.py alerts …``: run the evaluation, list alerts, move them through their lifecycle, edit rules
and notification channels (every change audited)."""
from __future__ import annotations

import csv
import json
import math
import sys

import click

from core.config import Config
from dashboard.alerts.store import LIST_COLUMNS


def _cfg():
    from core.config import load_config
    return load_config()


def after_data_change(cfg: Config) -> None:
    """Evaluate the rules after a load or a demo build (registered by app.py)."""
    from dashboard.alerts.run import run_alerts
    res = run_alerts(cfg)
    click.echo(f"预警评估 {res.month}: 新增 {len(res.counts.get('opened', []))}，"
               f"自动恢复 {len(res.counts.get('auto_closed', []))}，用时 {res.seconds:.1f} 秒")


@click.group("alerts")
def alerts_group() -> None:
    """预警：评估、清单、处置、规则与通知渠道。"""


@alerts_group.command("run")
@click.option("--month", default=None, help="YYYY-MM (default: the last complete month)")
@click.option("--no-notify", is_flag=True, help="do not send notifications")
def run_command(month: str | None, no_notify: bool) -> None:
    """Evaluate every enabled rule now (for cron)."""
    from dashboard.alerts.run import run_alerts
    res = run_alerts(_cfg(), month=month, send=not no_notify)
    c = {k: len(v) for k, v in res.counts.items()}
    click.echo(f"预警评估 {res.month}: 发现 {res.findings} 项；新增 {c.get('opened', 0)}，更新 {c.get('updated', 0)}，"
               f"重新打开 {c.get('reopened', 0)}，自动恢复 {c.get('auto_closed', 0)}；通知成功 {res.sent}，"
               f"失败 {res.failed}；用时 {res.seconds:.1f} 秒")


@alerts_group.command("list")
@click.option("--status", default=None, help="open | new | acknowledged | in_progress | closed")
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "json"]), show_default=True)
def list_command(status: str | None, fmt: str) -> None:
    """Alerts, worst first."""
    from dashboard.alerts.store import list_alerts
    from dashboard.appdb import init_app_db
    from metrics.scope import FULL_SCOPE
    cfg = _cfg()
    init_app_db(cfg.app_db_url)
    df = list_alerts(cfg.app_db_url, FULL_SCOPE, status)
    records = [{k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in rec.items() if k in LIST_COLUMNS}
               for rec in df.to_dict("records")]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=1, default=str))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=LIST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: "" if rec.get(k) is None else (round(rec[k], 4) if isinstance(rec[k], float)
                                                            else rec[k]) for k in LIST_COLUMNS})


def _step(alert_id: int, to_status: str, note: str) -> None:
    from dashboard.accounts.audit import current_actor
    from dashboard.alerts.store import AlertError, set_status
    from metrics.scope import FULL_SCOPE
    try:
        a = set_status(_cfg().app_db_url, alert_id, to_status, FULL_SCOPE, current_actor(), note)
    except AlertError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"预警 {a['alert_id']} 状态已改为 {to_status}")


@alerts_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--note", default="")
def ack_command(alert_id: int, note: str) -> None:
    """新 → 已确认."""
    _step(alert_id, "acknowledged", note)


@alerts_group.command("handle")
@click.argument("alert_id", type=int)
@click.option("--note", default="")
def handle_command(alert_id: int, note: str) -> None:
    """→ 处置中."""
    _step(alert_id, "in_progress", note)


@alerts_group.command("close")
@click.argument("alert_id", type=int)
@click.option("--note", required=True, help="处置说明")
def close_command(alert_id: int, note: str) -> None:
    """→ 已关闭 (with a note)."""
    _step(alert_id, "closed", note)


@alerts_group.command("rules")
def rules_command() -> None:
    """List the warning rules."""
    from dashboard.alerts.run import rules_table
    for r in rules_table(_cfg()):
        click.echo(f"{r.code}\t{'启用' if r.enabled else '停用'}\t{r.kind}\t{r.severity}\t{r.levels}\t{r.name}\t"
                   f"通知: {r.notify or '—'}\t参数: {r.params}")


@alerts_group.command("rule-set")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--kind", default=None)
@click.option("--severity", type=click.Choice(["high", "medium", "low"]), default=None)
@click.option("--levels", default=None, help="comma list of county,township,institution")
@click.option("--indicators", default=None, help="comma list of indicator ids ('' = all)")
@click.option("--params", default=None, help="JSON object")
@click.option("--notify", default=None, help="comma list of channel names")
@click.option("--enable/--disable", default=None)
def rule_set_command(code: str, **changes) -> None:
    """Create or change a rule (audited)."""
    from dashboard.alerts.admin import RuleError, save_rule
    try:
        save_rule(_cfg(), code, {k: v for k, v in changes.items() if v is not None})
    except RuleError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"规则 {code} 已保存")


@alerts_group.command("channel-set")
@click.argument("name")
@click.option("--kind", type=click.Choice(["wecom", "dingtalk", "email"]), required=True)
@click.option("--target", required=True, help="webhook URL, or comma-separated e-mail addresses")
@click.option("--enable/--disable", default=True)
def channel_set_command(name: str, kind: str, target: str, enable: bool) -> None:
    """Create or change a notification channel (audited)."""
    from dashboard.alerts.admin import RuleError, save_channel
    try:
        save_channel(_cfg(), name, kind, target, enable)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"通知渠道 {name} 已保存")
