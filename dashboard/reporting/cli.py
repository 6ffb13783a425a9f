"""``python app.py report --month YYYY-MM [--org CODE] --format docx|pdf|html --out PATH`` and ``report auto``."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _fail(message: str) -> None:
    click.echo(f"错误: {message}", err=True)
    sys.exit(2)


@click.group("report", invoke_without_command=True)
@click.option("--month", default=None, help="报表月份 YYYY-MM（默认：最近一个数据完整的月份）")
@click.option("--org", default=None, help="乡镇或机构代码（默认：全县）")
@click.option("--format", "fmt", default="docx", type=click.Choice(["docx", "pdf", "html"]), show_default=True)
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="输出文件路径")
@click.pass_context
def report_group(ctx: click.Context, month: str | None, org: str | None, fmt: str, out: str | None) -> None:
    """生成医共体运行监测月报（Word / PDF / HTML）；`report auto` 按月自动生成。"""
    if ctx.invoked_subcommand is not None:
        return
    from core.config import load_config
    from dashboard.reporting.alerts import month_alerts
    from metrics.engine import IndicatorError
    from metrics.scope import FULL_SCOPE
    from queries import periods
    from reports.build import generate

    cfg = load_config()
    if not cfg.mart_path or not Path(cfg.mart_path).exists():
        if cfg.mart_url.startswith("duckdb"):
            _fail(f"数据集市不存在：{cfg.mart_path}（先运行 python app.py demo 或 load）")
    month = month or periods.last_complete_month(cfg.mart_url)
    if month is None:
        _fail("数据集市中没有数据")
    if out is None:
        out = f"月报_{org or '全县'}_{month}.{fmt}"
    started = time.perf_counter()
    with click.progressbar(length=100, label="生成报表", file=sys.stderr) as bar:
        done = [0]

        def progress(fraction: float, _message: str) -> None:
            step = int(fraction * 100) - done[0]
            if step > 0:
                bar.update(step)
                done[0] += step
        try:
            alerts = month_alerts(cfg, month, org, FULL_SCOPE)
            generate(month, fmt, Path(out), org=org, alerts=alerts, mart_url=cfg.mart_url, progress=progress)
        except (IndicatorError, ValueError) as exc:
            _fail(str(exc))
    click.echo(f"已生成 {out}（{time.perf_counter() - started:.1f} 秒）")


@report_group.command("auto")
def report_auto() -> None:
    """为最近一个数据完整的月份生成全县月报（Word 和 PDF，已生成的跳过），保存在 DATA_DIR/reports/。"""
    from core.config import load_config
    from dashboard.appdb import init_app_db
    from dashboard.reporting.service import generate_due_reports, reports_dir

    cfg = load_config()
    init_app_db(cfg.app_db_url)
    rows = generate_due_reports(cfg)
    if not rows:
        click.echo("没有需要生成的月报（最近完整月份的全县月报已存在，或集市无数据）")
    for row in rows:
        where = reports_dir(cfg)
        click.echo(f"{row.month} {row.org_name} {row.fmt}: {row.state_zh} {row.message if row.state != 'done' else where}")
    if any(r.state != "done" for r in rows):
        sys.exit(1)
