"""Commands of the write side: export, rollups (the demo command lives with the app bootstrap, which also seeds accounts)."""
from __future__ import annotations

import time

import click


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", default="parquet", show_default=True, type=click.Choice(["parquet", "csv"]),
              help="file format (both load back with `python app.py load`)")
@click.option("--table", "tables", multiple=True, metavar="TABLE",
              help="export only this table (repeatable); default: every table of the data contract")
@click.option("--partition", type=click.Choice(["month"]), default=None,
              help="Hive-partitioned Parquet lake (<table>/month=YYYY-MM/…) for Spark: `rollups --engine spark`")
def export_command(directory: str, fmt: str, tables: tuple[str, ...], partition: str | None) -> None:
    """Export the mart's tables as <table>.parquet|csv files into DIRECTORY (the loader's input format)."""
    from core.config import load_config
    from mart.export import export_mart

    try:
        report = export_mart(load_config(), directory, fmt=fmt, tables=list(tables), partition=partition)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"导出失败 (export failed): {exc}") from exc
    width = max(len(name) for name in report.rows)
    click.echo(f"{'表 table':<{width}}  {'行数 rows':>12}")
    for name, rows in report.rows.items():
        click.echo(f"{name:<{width}}  {rows:>12,}")
    click.echo(f"合计 {report.total_rows:,} 行, 用时 {report.seconds:.1f} s → {report.directory}")


@click.command("rollups")
@click.option("--engine", type=click.Choice(["mart", "spark"]), default="mart", show_default=True,
              help="mart: rebuild inside the serving mart (DuckDB or PostgreSQL); spark: compute with Spark SQL")
@click.option("--master", default="local[2]", show_default=True, help="Spark master (local[N] or spark://host:port)")
@click.option("--lake", default=None, type=click.Path(file_okay=False, exists=True),
              help="Parquet lake (export --format parquet --partition month); default: exported from the DuckDB mart")
def rollups_command(engine: str, master: str, lake: str | None) -> None:
    """Rebuild every rollup table of the serving mart (MART_URL)."""
    from core.config import load_config

    cfg = load_config()
    t0 = time.perf_counter()
    try:
        if engine == "spark":
            from mart.spark import run_spark_rollups
            rows = run_spark_rollups(cfg, master=master, lake=lake, progress=click.echo)
        else:
            rows = _rebuild_in_mart(cfg)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"汇总表重建失败 (rollups failed): {exc}") from exc
    for name, n in rows.items():
        click.echo(f"{name:<20} {n:>12,}")
    click.echo(f"汇总表重建完成 ({engine}), 用时 {time.perf_counter() - t0:.1f} s")


def _rebuild_in_mart(cfg) -> dict[str, int]:  # noqa: ANN001
    """Every rollup rebuilt inside the serving mart, one transaction; rows per rollup table."""
    from mart.pg import is_postgres
    from mart.rollups import ROLLUP_TABLES
    if is_postgres(cfg.mart_url):
        from mart.pg import build_rollups_pg, bump_data_version_pg, pg_transaction
        with pg_transaction(cfg.mart_url) as cur:
            build_rollups_pg(cur, None)
            bump_data_version_pg(cur)
            out = {}
            for t in ROLLUP_TABLES:
                cur.execute(f"SELECT count(*) FROM {t}")
                out[t] = cur.fetchone()[0]
            return out
    from mart.db import bump_data_version, writer, writer_lock
    from mart.rollups import build_rollups
    with writer_lock(cfg), writer(cfg) as con:
        build_rollups(con)
        bump_data_version(con)
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ROLLUP_TABLES}


@click.command("partition-facts")
def partition_facts_command() -> None:
    """Move the large fact tables of a PostgreSQL mart (MART_URL) made before partitioning to monthly partitions,
    in one transaction (already partitioned tables are left as they are)."""
    from core.config import load_config
    from mart.pg import ensure_schema_pg, is_postgres, pg_transaction, to_postgres
    from mart.pg_partitions import partition_facts_pg

    cfg = load_config()
    if not is_postgres(cfg.mart_url):
        raise click.ClickException("只有 PostgreSQL 数据集市 (MART_URL=postgresql://…) 需要按月分区; DuckDB 数据集市无需此操作")
    t0 = time.perf_counter()
    with pg_transaction(cfg.mart_url) as cur:
        ensure_schema_pg(cur)           # columns added to the contract since the mart was made, before the move
        moved = partition_facts_pg(cur, to_postgres)
    if not moved:
        click.echo("事实表已按月分区, 无需迁移")
        return
    for name, n in moved.items():
        click.echo(f"{name:<20} {n:>12,} 行已移入按月分区")
    click.echo(f"按月分区迁移完成, 用时 {time.perf_counter() - t0:.1f} s")
