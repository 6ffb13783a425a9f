"""The load command: ``python app.py load DIR``."""
from __future__ import annotations

import click

from core.config import load_config


@click.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--quiet", is_flag=True, help="Only print the summary.")
def load_command(directory: str, quiet: bool) -> None:
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
