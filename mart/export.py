"""Export the mart's contract tables as ``<table>.parquet`` or ``<table>.csv`` files that the loader accepts.

Uses: a copy of the data for a hospital IT department (the files show the exact shape the loader wants), moving a
county from the embedded DuckDB mart to a PostgreSQL mart (``export`` here, ``load`` there), and the loader
benchmark on a whole demo county. The mart is opened read-only, so the dashboard may keep serving meanwhile.
Each file is written under a temporary name and renamed when complete: a reader never sees half a file.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.config import Config
from mart.connection import duckdb_read_cursor
from mart.schema import LOAD_ORDER, TABLES

FORMATS = ("parquet", "csv")


@dataclass
class ExportReport:
    """What one export wrote: rows per table, the files and the elapsed time."""

    directory: Path
    fmt: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _literal(text: str) -> str:
    """A SQL string literal (COPY TO takes no bound parameter for its file name)."""
    return "'" + text.replace("'", "''") + "'"


def resolve_tables(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """The contract tables to export, in load order; raises ValueError naming any unknown table."""
    if not names:
        return list(LOAD_ORDER)
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        raise ValueError(f"未知的表 (unknown table): {', '.join(unknown)}; 可选 (known): {', '.join(LOAD_ORDER)}")
    return [t for t in LOAD_ORDER if t in set(names)]


def export_mart(cfg: Config, directory: str | Path, fmt: str = "parquet",
                tables: list[str] | tuple[str, ...] | None = None, partition: str | None = None) -> ExportReport:
    """Write the chosen contract tables of the DuckDB mart into ``directory`` (created if missing).

    Only contract columns are written, in contract order, so the files load back unchanged with
    ``python app.py load``. Raises ValueError for an unknown format or table, a mart that is not a DuckDB file
    or does not exist.
    """
    if partition is not None:
        if partition != "month" or fmt != "parquet":
            raise ValueError("分区导出只支持 --format parquet --partition month (Hive 分区的 Parquet 数据湖)")
        from mart.lake import export_lake
        return export_lake(cfg, directory, tables)
    if fmt not in FORMATS:
        raise ValueError(f"未知的格式 (unknown format) {fmt!r}; 可选 (known): {', '.join(FORMATS)}")
    chosen = resolve_tables(tables)
    if cfg.mart_path is None:
        raise ValueError("导出目前只支持 DuckDB 数据集市 (export reads a DuckDB mart: MART_URL=duckdb:///…)")
    if not cfg.mart_path.exists():
        raise ValueError(f"数据集市不存在 (no mart at {cfg.mart_path}); 先运行 python app.py demo 或 load")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(directory=out, fmt=fmt)
    started = time.perf_counter()
    option = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    with duckdb_read_cursor(cfg.mart_url) as con:
        for name in chosen:
            table = TABLES[name]           # whitelisted name; columns come from the contract
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            target = out / f"{name}.{fmt}"
            partial = out / f".{name}.{fmt}.partial"
            try:
                con.execute(f'COPY (SELECT {cols} FROM "{name}") TO {_literal(str(partial))} {option}')
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            report.rows[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            report.files.append(target)
    report.seconds = time.perf_counter() - started
    return report
