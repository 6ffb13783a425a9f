"""The load command: ``python app.py load DIR``."""
from __future__ import annotations

import click

from dashboard.config import load_config

# Called with the Config after every successful load and demo build (app.py registers the alert evaluation:
# mart/ must not import the app).
AFTER_DATA_CHANGE: list = []


@click.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--quiet", is_flag=True, help="Only print the summary.")
@click.option("--no-alerts", is_flag=True, help="do not evaluate the warning rules after the load")
def load_command(directory: str, quiet: bool, no_alerts: bool) -> None:
    """Validate and load <table>.csv|parquet files from DIRECTORY in one transaction.

    On any error nothing is loaded, every error (file, data row, column, value, reason) is listed and the exit
    status is 1. Rows whose key already exists in the mart are replaced.
    """
    from mart.loader import LoadError, load_directory

    cfg = load_config()
    say = None if quiet else (lambda msg: click.echo(msg, err=True))
    try:
        report = load_directory(cfg, directory, progress=say)
    except LoadError as exc:
        for warning in exc.warnings:
            click.echo(f"警告 (warning): {warning}", err=True)
        raise click.ClickException(exc.message()) from None
    for warning in report.warnings:
        click.echo(f"警告 (warning): {warning}", err=True)
    width = max(len(t) for t in report.rows)
    click.echo(f"{'表 table':<{width}}  {'行数 rows':>12}  {'其中替换 replaced':>16}")
    for table, n in report.rows.items():
        click.echo(f"{table:<{width}}  {n:>12,}  {report.replaced.get(table, 0):>16,}")
    months = "全部 (all)" if report.months is None else (", ".join(report.months) or "无 (none)")
    click.echo(f"合计 {report.total_rows:,} 行, 用时 {report.seconds:.2f} s, {report.rows_per_second:,.0f} 行/秒 "
               f"(rows/s); 重建汇总月份 (rollup months): {months}; 数据版本 {report.data_version}")
    if not no_alerts:
        _evaluate_alerts(cfg)


def _evaluate_alerts(cfg) -> None:  # noqa: ANN001
    """Run the hooks registered for "the mart changed" (the app registers the warning-rule evaluation); a
    failing hook is reported but never undoes the load."""
    for hook in AFTER_DATA_CHANGE:
        try:
            hook(cfg)
        except Exception as exc:  # noqa: BLE001  (the data are loaded; the hook can be run again)
            click.echo(f"警告: 数据装载后的处理失败（数据已装载）：{exc}", err=True)
