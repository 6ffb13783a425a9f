"""The load command: ``python app.py load DIR``."""
from __future__ import annotations

import click

from core.config import load_config

# Called with the Config after every successful load and demo build (app.py registers the alert evaluation:
# mart/ must not import the app).
AFTER_DATA_CHANGE: list = []


@click.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--quiet", is_flag=True, help="Only print the summary.")
@click.option("--encoding", default=None, metavar="ENC",
              help="Read every CSV in this encoding (gb18030, gbk, utf-16, utf-8) instead of detecting it.")
@click.option("--lenient-dates", is_flag=True, help="Accept 2025/3/7, 2025.3.7 and 20250307 as dates (cells counted).")
@click.option("--thousands", is_flag=True, help="Accept numbers with thousands separators, 1,234.50 (cells counted).")
@click.option("--no-alerts", is_flag=True, help="do not evaluate the warning rules after the load")
@click.option("--delete", "delete", is_flag=True,
              help="Delete the rows whose keys <table>.delete.csv lists (all or nothing; refused while facts "
                   "reference them).")
def load_command(directory: str, quiet: bool, encoding: str | None, lenient_dates: bool, thousands: bool,
                 delete: bool, no_alerts: bool) -> None:
    """Validate and load <table>.csv|parquet files from DIRECTORY in one transaction.

    On any error nothing is loaded, every error (file, data row, column, value, reason) is listed and the exit
    status is 1. Rows whose key already exists in the mart are replaced. CSV may be UTF-8, GB18030/GBK or UTF-16
    (detected; --encoding to force), separated by comma, tab or semicolon; <table>.xlsx workbooks are read too.
    With --delete, <table>.delete.csv files list the keys of rows to delete instead.
    """
    from mart.loader import LoadError, load_directory
    from mart.readers import ReadOptions

    cfg = load_config()
    say = None if quiet else (lambda msg: click.echo(msg, err=True))
    options = ReadOptions(encoding=encoding, lenient_dates=lenient_dates, thousands=thousands)
    if delete:
        from mart.delete import delete_command_body
        delete_command_body(cfg, directory, options, say)
        if not no_alerts:
            _evaluate_alerts(cfg)
        return
    try:
        report = load_directory(cfg, directory, progress=say, options=options)
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
