"""Commands of the write side: export (the demo command lives with the app bootstrap, which also seeds accounts)."""
from __future__ import annotations

import click


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", default="parquet", show_default=True, type=click.Choice(["parquet", "csv"]),
              help="file format (both load back with `python app.py load`)")
@click.option("--table", "tables", multiple=True, metavar="TABLE",
              help="export only this table (repeatable); default: every table of the data contract")
def export_command(directory: str, fmt: str, tables: tuple[str, ...]) -> None:
    """Export the mart's tables as <table>.parquet|csv files into DIRECTORY (the loader's input format)."""
    from core.config import load_config
    from mart.export import export_mart

    try:
        report = export_mart(load_config(), directory, fmt=fmt, tables=list(tables))
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"导出失败 (export failed): {exc}") from exc
    width = max(len(name) for name in report.rows)
    click.echo(f"{'表 table':<{width}}  {'行数 rows':>12}")
    for name, rows in report.rows.items():
        click.echo(f"{name:<{width}}  {rows:>12,}")
    click.echo(f"合计 {report.total_rows:,} 行, 用时 {report.seconds:.1f} s → {report.directory}")
