"""Commands of the write side: demo, load."""
from __future__ import annotations

import time

import click


@click.command("demo")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(min=0.0001, max=1000),
              help="residents and volumes × scale (1 = 300,000 residents)")
@click.option("--seed", default=42, show_default=True, type=int, help="same seed → same data")
@click.option("--years", default=3, show_default=True, type=click.IntRange(0, 30),
              help="full calendar years before the current one")
@click.option("--quiet", is_flag=True, help="no progress bar")
def demo_command(scale: float, seed: int, years: int, quiet: bool) -> None:
    """Build the demo county into the mart (replaces the mart atomically)."""
    from dashboard.bootstrap import build_demo_everything
    from dashboard.config import load_config

    cfg = load_config()
    from mart.pg import is_postgres
    if cfg.mart_path is None and not is_postgres(cfg.mart_url):
        raise click.ClickException("演示数据只能写入 DuckDB 或 PostgreSQL 数据集市 "
                                   "(MART_URL 须为 duckdb:///路径 或 postgresql://…)")
    t0 = time.perf_counter()
    try:
        counts = build_demo_everything(cfg, scale=scale, seed=seed, years=years, quiet=quiet)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"演示数据生成失败: {exc}") from exc
    width = max(len(name) for name in counts)
    click.echo(f"{'table':<{width}}  {'rows':>12}")
    for name, rows in counts.items():
        click.echo(f"{name:<{width}}  {rows:>12,}")
    click.echo(f"{'total':<{width}}  {sum(counts.values()):>12,}")
    click.echo(f"elapsed {time.perf_counter() - t0:.1f} s  ({cfg.mart_path})")
    from mart.loader_cli import _evaluate_alerts
    _evaluate_alerts(cfg)


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", default="parquet", show_default=True, type=click.Choice(["parquet", "csv"]),
              help="file format (both load back with `python app.py load`)")
@click.option("--table", "tables", multiple=True, metavar="TABLE",
              help="export only this table (repeatable); default: every table of the data contract")
def export_command(directory: str, fmt: str, tables: tuple[str, ...]) -> None:
    """Export the mart's tables as <table>.parquet|csv files into DIRECTORY (the loader's input format)."""
    from dashboard.config import load_config
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
