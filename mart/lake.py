"""The mart as a Hive-partitioned Parquet lake: ``<dir>/<table>/month=YYYY-MM/*.parquet`` for the tables with a
period (facts by the month of their own time column, ``resource_month`` by its month), ``<dir>/<table>/*.parquet``
for the others, plus ``calendar_month`` (the rollups of registrations and resources spread over it).

``python app.py export DIR --format parquet --partition month`` writes it; Spark (``mart.spark``) reads it to
compute the rollups on a cluster. Each table is written into a hidden folder and renamed when complete.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from core.config import Config
from mart.connection import duckdb_read_cursor
from mart.export import ExportReport, _literal, resolve_tables
from mart.schema import TABLES

# Partition column added to the files of a table whose period is a date or time ('YYYY-MM' of it).
PARTITION = "month"
EXTRA_TABLES = ("calendar_month",)


def month_expression(table: str) -> str | None:
    """SQL giving a row's 'YYYY-MM' partition, or None for a table without a period."""
    spec = TABLES.get(table)
    if spec is None or spec.period_column is None:
        return None
    col = spec.column(spec.period_column)
    return f'"{col.name}"' if col.type == "month" else f"strftime(\"{col.name}\", '%Y-%m')"


def export_lake(cfg: Config, directory: str | Path, tables: list[str] | tuple[str, ...] | None = None) -> ExportReport:
    """Write the DuckDB mart's contract tables (and the calendar) as a Hive-partitioned Parquet lake."""
    if cfg.mart_path is None or not cfg.mart_path.exists():
        raise ValueError("分区导出读取 DuckDB 数据集市 (MART_URL=duckdb:///…, 且文件须存在)")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(directory=out, fmt="parquet")
    started = time.perf_counter()
    chosen = [*resolve_tables(tables), *([] if tables else EXTRA_TABLES)]
    with duckdb_read_cursor(cfg.mart_url) as con:
        for name in chosen:
            cols = TABLES[name].column_names if name in TABLES else \
                [d[0] for d in con.execute(f'SELECT * FROM "{name}" LIMIT 0').description]
            select = ", ".join(f'"{c}"' for c in cols)
            expr = month_expression(name)
            target, partial = out / name, out / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            if expr is None:
                partial.mkdir()
                con.execute(f'COPY (SELECT {select} FROM "{name}") TO {_literal(str(partial / "data.parquet"))} '
                            "(FORMAT parquet)")
            elif expr == f'"{PARTITION}"':     # the table's own month column is the partition
                con.execute(f'COPY (SELECT {select} FROM "{name}") TO {_literal(str(partial))} '
                            f"(FORMAT parquet, PARTITION_BY ({PARTITION}))")
            else:
                con.execute(f'COPY (SELECT {select}, {expr} AS {PARTITION} FROM "{name}") TO '
                            f"{_literal(str(partial))} (FORMAT parquet, PARTITION_BY ({PARTITION}))")
            if not partial.exists():        # an empty table writes no partition: keep an empty, typed file
                partial.mkdir()
                con.execute(f'COPY (SELECT {select} FROM "{name}" LIMIT 0) TO '
                            f'{_literal(str(partial / "data.parquet"))} (FORMAT parquet)')
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
            report.rows[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            report.files.append(target)
    report.seconds = time.perf_counter() - started
    return report
