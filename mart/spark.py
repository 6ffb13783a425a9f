"""Rollups computed by Spark SQL from the Parquet lake, written into the serving mart (DuckDB or PostgreSQL).

``python app.py rollups --engine spark [--master URL] [--lake DIR]``. The SQL is not written twice: every
statement is the DuckDB SQL of ``mart.rollups`` (:class:`mart.rollups.RollupSpec` for the month-partitioned
rollups, the coarse and whole-table statements for the others) transpiled to Spark SQL by ``sqlglot``. Spark reads
the lake of ``mart.lake`` (exported from the DuckDB mart into a temporary folder when ``--lake`` is not given),
computes every rollup in the order the DuckDB build does (fine, coarse from fine, the calendar-spread and
completeness tables), writes each as Parquet files into a work folder (the executors write them: nothing is
collected into the driver, so a province's rollups of millions of rows need no driver memory of their size; the
coarse and completeness tables read the written files back), and the serving mart receives them all from those
files in ONE transaction with a new data version: readers never see a half-replaced set.

Settings (environment; :func:`spark_settings`): ``SPARK_DRIVER_MEMORY`` (default ``2g``; in ``local[N]`` mode the
driver JVM is also the executor, so this is the memory of the whole computation — ``8g`` for a province of
≈ 166M fact rows), ``SPARK_EXECUTOR_MEMORY`` (default ``1g``, per executor of a cluster), ``SPARK_SHUFFLE_PARTITIONS``
(default 16; adaptive execution coalesces the small shuffles of small data). The lake and the work folder must
be on storage every executor reaches (one machine, or a shared file system) — like the lake itself.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

from core.config import Config

DEFAULT_MASTER = "local[2]"
# Session settings read from the environment: name → (Spark property, default).
SETTINGS: dict[str, tuple[str, str]] = {
    "SPARK_DRIVER_MEMORY": ("spark.driver.memory", "2g"),
    "SPARK_EXECUTOR_MEMORY": ("spark.executor.memory", "1g"),
    "SPARK_SHUFFLE_PARTITIONS": ("spark.sql.shuffle.partitions", "16"),
}
_MEMORY = re.compile(r"[1-9][0-9]*[kmgt]?", re.IGNORECASE)


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


def spark_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark properties of :data:`SETTINGS` from ``env`` (default ``os.environ``), checked: a memory size such
    as ``2g`` / ``512m``, a positive number of shuffle partitions. A bad value is a ValueError in Chinese."""
    env = os.environ if env is None else env
    out: dict[str, str] = {}
    for name, (prop, default) in SETTINGS.items():
        value = (env.get(name) or default).strip()
        if prop.endswith(".memory"):
            if not _MEMORY.fullmatch(value):
                raise ValueError(f"{name}={value!r} 不是内存大小 (例如 2g、8g、512m)")
        elif not value.isdigit() or int(value) < 1:
            raise ValueError(f"{name}={value!r} 不是正整数")
        out[prop] = value
    return out


def spark_session(master: str = DEFAULT_MASTER, settings: Mapping[str, str] | None = None):  # noqa: ANN201
    """A Spark session on ``master`` (``local[N]`` or ``spark://host:port``) with ``settings`` (default
    :func:`spark_settings`: driver and executor memory, shuffle partitions); timestamps are read as written. The
    driver memory applies when this call starts the driver JVM (not to a session already running)."""
    from pyspark.sql import SparkSession
    builder = (SparkSession.builder.master(master).appName("yigongti-rollups")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1"))
    for prop, value in (spark_settings() if settings is None else settings).items():
        builder = builder.config(prop, value)
    return builder.getOrCreate()


def parquet_files(folder: Path) -> str | None:
    """The glob of a written rollup's Parquet files for DuckDB's ``read_parquet``, or None when it has none."""
    return str(folder / "*.parquet") if any(folder.glob("*.parquet")) else None


def compute_rollups(lake: str | Path, out_dir: str | Path, master: str = DEFAULT_MASTER,
                    progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Every rollup table computed by Spark from the lake and written as Parquet into ``out_dir/<table>``;
    {table: its folder} in build order. The coarse and completeness tables read the fine ones back from there."""
    say = progress or (lambda _msg: None)
    lake, out_dir = Path(lake), Path(out_dir)
    columns = rollup_columns()
    selects = rollup_selects(columns)
    spark = spark_session(master)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for folder in sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith(".")):
            spark.read.parquet(str(folder)).createOrReplaceTempView(folder.name)
        out: dict[str, Path] = {}
        for table, sqls in selects.items():
            t0 = time.perf_counter()
            df = None
            for sql in sqls:
                part = spark.sql(to_spark(sql))
                df = part if df is None else df.union(part)
            target = out_dir / table
            df.toDF(*columns[table]).write.mode("overwrite").parquet(str(target))
            spark.read.parquet(str(target)).createOrReplaceTempView(table)   # coarse and completeness read these
            out[table] = target
            say(f"{table}: {_parquet_rows(target):,} 行, {time.perf_counter() - t0:.1f} s")
        return out
    finally:
        spark.stop()


def _parquet_rows(folder: Path) -> int:
    """Rows of a written rollup (from the Parquet footers)."""
    files = parquet_files(folder)
    if files is None:
        return 0
    with duckdb.connect() as con:
        return int(con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0])


def write_rollups(cfg: Config, frames: dict[str, Path]) -> str:
    """Replace the serving mart's rollup tables with the Parquet rows of ``frames`` ({table: folder}, see
    :func:`compute_rollups`) in one transaction and bump the data version; returns the new version. A DuckDB mart
    the dashboard is reading is written through a copy swapped in."""
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


def _write_duckdb(cfg: Config, frames: dict[str, Path]) -> str:
    from mart.db import bump_data_version, writer
    from mart.rollups import _ensure_tables
    columns = rollup_columns()
    with writer(cfg) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            _ensure_tables(con)
            for table, folder in frames.items():
                cols = ", ".join(columns[table])
                con.execute(f"DELETE FROM {table}")
                files = parquet_files(folder)
                if files is not None:
                    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM read_parquet(?)", [files])
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


def _write_pg(url: str, frames: dict[str, Path]) -> str:
    from mart.pg import (
        bump_data_version_pg,
        copy_to_pg,
        ensure_schema_pg,
        pg_transaction,
    )
    columns = rollup_columns()
    staging = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="sparkpg_") as tmp, pg_transaction(url) as cur:
            ensure_schema_pg(cur)
            for table, folder in frames.items():
                cur.execute(f"DELETE FROM {table}")
                files = parquet_files(folder)
                if files is not None:
                    cols = ", ".join(columns[table])
                    copy_to_pg(staging, cur, table, columns[table],
                               f"SELECT {cols} FROM read_parquet('{_sql_text(files)}')", workdir=Path(tmp))
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
    spark_settings()        # a bad setting fails before the lake is exported
    with tempfile.TemporaryDirectory(prefix="lake_") as tmp:
        if lake is None:
            if is_postgres(cfg.mart_url):
                raise ValueError("PostgreSQL 数据集市须用 --lake 指定 Parquet 数据湖目录 "
                                 "(由 python app.py export DIR --format parquet --partition month 生成)")
            from mart.lake import export_lake
            say("导出 Parquet 数据湖 …")
            t0 = time.perf_counter()
            export_lake(dataclasses.replace(cfg), Path(tmp) / "lake")
            say(f"数据湖导出完成, {time.perf_counter() - t0:.1f} s")
            lake = Path(tmp) / "lake"
        t0 = time.perf_counter()
        frames = compute_rollups(lake, Path(tmp) / "rollups", master, say)
        say(f"Spark 计算完成, {time.perf_counter() - t0:.1f} s")
        rows = {t: _parquet_rows(folder) for t, folder in frames.items()}
        say("写入数据集市 …")
        t0 = time.perf_counter()
        write_rollups(cfg, frames)
        say(f"写入完成, {time.perf_counter() - t0:.1f} s")
    return rows


def _sql_text(value: str) -> str:
    """``value`` inside a single-quoted SQL string literal."""
    return value.replace("'", "''")
