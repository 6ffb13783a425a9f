"""Rollups computed by Spark SQL from the Parquet lake, written into the serving mart (DuckDB or PostgreSQL).

``python app.py rollups --engine spark [--master URL] [--lake DIR]``. The SQL is not written twice: every
statement is the DuckDB SQL of ``mart.rollups`` (:class:`mart.rollups.RollupSpec` for the month-partitioned
rollups, the coarse and whole-table statements for the others) transpiled to Spark SQL by ``sqlglot``. Spark reads
the lake of ``mart.lake`` (exported from the DuckDB mart into a temporary folder when ``--lake`` is not given),
computes every rollup in the order the DuckDB build does (fine, coarse from fine, the calendar-spread and
completeness tables), collects the results — rollups are small — and the serving mart receives them all in ONE
transaction with a new data version: readers never see a half-replaced set.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from core.config import Config

DEFAULT_MASTER = "local[2]"


def rollup_columns() -> dict[str, list[str]]:
    """Columns of every rollup table in build order (from the schema the DuckDB builder creates)."""
    from mart.db import ensure_schema
    from mart.rollups import ROLLUP_TABLES, _ensure_tables
    con = duckdb.connect()
    try:
        ensure_schema(con)
        _ensure_tables(con)
        return {t: [d[0] for d in con.execute(f"SELECT * FROM {t} LIMIT 0").description] for t in ROLLUP_TABLES}
    finally:
        con.close()


def _select_of(insert: str, table: str) -> str:
    """The SELECT of ``INSERT INTO <table> SELECT …``."""
    head = f"INSERT INTO {table}"
    body = insert.strip()
    if not body.startswith(head) or not body[len(head)].isspace():
        raise ValueError(f"not an INSERT INTO {table}: {body[:60]}")
    return body[len(head):].strip()


def rollup_selects(columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every rollup's SELECT statements (DuckDB SQL; a table filled by several INSERTs has several, unioned),
    derived from the declarations of ``mart.rollups`` exactly as the DuckDB build runs them."""
    from mart.rollups import (
        COARSE,
        SPECS,
        WHOLE_TABLES,
        coarse_group_by,
        coarse_sql,
        rebuild_statements,
    )
    out: dict[str, list[str]] = {t: [s.build_select(None)] for t, s in SPECS.items()}
    for table, (fine, _keys) in COARSE.items():
        out[table] = [_select_of(coarse_sql(table, columns[fine])[1] + coarse_group_by(table), table)]
    for table in WHOLE_TABLES:
        out[table] = [_select_of(s, table) for s in rebuild_statements(table, None)
                      if s.strip().startswith("INSERT")]
    return out


def to_spark(sql: str) -> str:
    """DuckDB SQL → Spark SQL (sqlglot)."""
    import sqlglot
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_session(master: str = DEFAULT_MASTER):  # noqa: ANN201
    """A Spark session on ``master`` (``local[N]`` or ``spark://host:port``); timestamps are read as written."""
    from pyspark.sql import SparkSession
    return (SparkSession.builder.master(master).appName("yigongti-rollups")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.memory", "1g")
            .getOrCreate())


def compute_rollups(lake: str | Path, master: str = DEFAULT_MASTER,
                    progress: Callable[[str], None] | None = None) -> dict[str, pd.DataFrame]:
    """Every rollup table computed by Spark from the lake; {table: rows} in build order."""
    say = progress or (lambda _msg: None)
    lake = Path(lake)
    columns = rollup_columns()
    selects = rollup_selects(columns)
    spark = spark_session(master)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for folder in sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith(".")):
            spark.read.parquet(str(folder)).createOrReplaceTempView(folder.name)
        out: dict[str, pd.DataFrame] = {}
        for table, sqls in selects.items():
            t0 = time.perf_counter()
            df = None
            for sql in sqls:
                part = spark.sql(to_spark(sql))
                df = part if df is None else df.union(part)
            df = df.toDF(*columns[table]).cache()
            df.createOrReplaceTempView(table)       # coarse and completeness tables read these
            with warnings.catch_warnings():    # "PySpark does not yet fully support pandas >= 3": plain frames
                warnings.simplefilter("ignore", FutureWarning)
                out[table] = df.toPandas()
            say(f"{table}: {len(out[table]):,} 行, {time.perf_counter() - t0:.1f} s")
        return out
    finally:
        spark.stop()


def write_rollups(cfg: Config, frames: dict[str, pd.DataFrame]) -> str:
    """Replace the serving mart's rollup tables with ``frames`` in one transaction and bump the data version;
    returns the new version. A DuckDB mart the dashboard is reading is written through a copy swapped in."""
    from mart.pg import is_postgres
    if is_postgres(cfg.mart_url):
        return _write_pg(cfg.mart_url, frames)
    from mart.db import is_reader_conflict, shadow_copy, writer_lock
    with writer_lock(cfg):
        try:
            return _write_duckdb(cfg, frames)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not is_reader_conflict(exc):
                raise
        with shadow_copy(cfg) as copy_cfg:
            return _write_duckdb(copy_cfg, frames)


def _write_duckdb(cfg: Config, frames: dict[str, pd.DataFrame]) -> str:
    from mart.db import bump_data_version, writer
    from mart.rollups import _ensure_tables
    with writer(cfg) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            _ensure_tables(con)
            for table, df in frames.items():
                cols = ", ".join(df.columns)
                con.execute(f"DELETE FROM {table}")
                con.register("spark_rows", df)
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM spark_rows")
                con.unregister("spark_rows")
            version = bump_data_version(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")
    try:
        from mart.connection import dispose_engines
        dispose_engines()
    except ImportError:  # pragma: no cover
        pass
    return version


def _write_pg(url: str, frames: dict[str, pd.DataFrame]) -> str:
    from mart.pg import (
        bump_data_version_pg,
        copy_to_pg,
        ensure_schema_pg,
        pg_transaction,
    )
    staging = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="sparkpg_") as tmp, pg_transaction(url) as cur:
            ensure_schema_pg(cur)
            for table, df in frames.items():
                cur.execute(f"DELETE FROM {table}")
                staging.register("spark_rows", df)
                copy_to_pg(staging, cur, table, list(df.columns), "SELECT * FROM spark_rows", workdir=Path(tmp))
                staging.unregister("spark_rows")
                cur.execute(f"ANALYZE {table}")
            return bump_data_version_pg(cur)
    finally:
        staging.close()


def run_spark_rollups(cfg: Config, master: str = DEFAULT_MASTER, lake: str | Path | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """``rollups --engine spark``: export the lake when none is given (DuckDB mart), compute, write; rows per
    rollup table."""
    from mart.pg import is_postgres
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="lake_") as tmp:
        if lake is None:
            if is_postgres(cfg.mart_url):
                raise ValueError("PostgreSQL 数据集市须用 --lake 指定 Parquet 数据湖目录 "
                                 "(由 python app.py export DIR --format parquet --partition month 生成)")
            from mart.lake import export_lake
            say("导出 Parquet 数据湖 …")
            export_lake(dataclasses.replace(cfg), tmp)
            lake = tmp
        frames = compute_rollups(lake, master, say)
        say("写入数据集市 …")
        write_rollups(cfg, frames)
    return {t: len(df) for t, df in frames.items()}
