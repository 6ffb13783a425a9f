"""Write-side access to the mart: one writer at a time (the loader or the demo builder)."""
from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from core.config import Config, duckdb_path
from core.periods import month_first_day, month_index, month_last_day, month_range
from mart.schema import all_ddl


def connect_writer(mart_url: str) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB mart for writing (creates the file and its folder)."""
    path = duckdb_path(mart_url)
    if path is None:
        raise ValueError(f"the write side supports DuckDB marts only, got {mart_url!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    return con


@contextmanager
def writer(cfg: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager yielding a writer connection with the schema ensured; closes it afterwards."""
    con = connect_writer(cfg.mart_url)
    try:
        ensure_schema(con)
        yield con
    finally:
        con.close()


@contextmanager
def writer_lock(cfg: Config) -> Iterator[None]:
    """Hold the mart's writer lock (``<mart>.writer.lock``, an OS file lock): one loader or demo build at a time,
    across processes. Readers (the web workers) never take it."""
    path = cfg.mart_path
    if path is None:
        yield
        return
    from core.filelock import file_lock
    with file_lock(path.with_name(path.name + ".writer.lock")):
        yield


def is_reader_conflict(exc: BaseException) -> bool:
    """True when DuckDB refused a writer because the file is open elsewhere: another process reads it (the
    dashboard's workers hold it read-only), or this process holds it read-only."""
    text = str(exc).lower()
    return (isinstance(exc, duckdb.IOException) and "lock" in text) or \
        (isinstance(exc, duckdb.ConnectionException) and "different configuration" in text)


@contextmanager
def shadow_copy(cfg: Config) -> Iterator[Config]:
    """Copy-on-write for a mart the dashboard is reading: yield a Config of a private copy of the mart file; when
    the block ends normally the copy (checkpointed by its writer) atomically replaces the mart, else it is
    deleted and the mart is untouched. Readers keep their snapshot until they notice the new file
    (``mart.connection.mart_engine`` compares the file's identity on every use) and reopen it."""
    import dataclasses
    import os
    import shutil
    path = cfg.mart_path
    assert path is not None
    copy = path.with_name(f".{path.name}.write-{os.getpid()}")
    wal, copy_wal = Path(str(path) + ".wal"), Path(str(copy) + ".wal")
    try:
        shutil.copyfile(path, copy)
        if wal.exists():            # committed but not yet checkpointed changes belong to the copy too
            shutil.copyfile(wal, copy_wal)
        yield dataclasses.replace(cfg, mart_url=f"duckdb:///{copy}")
        if copy_wal.exists():       # the writer closes with a checkpoint; a WAL left means it did not
            con = duckdb.connect(str(copy))
            con.execute("CHECKPOINT")
            con.close()
        wal.unlink(missing_ok=True)     # a stale WAL must never be replayed on the new file
        os.replace(copy, path)
    finally:
        copy.unlink(missing_ok=True)
        copy_wal.unlink(missing_ok=True)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every contract table, meta table, the calendar and the views if missing.

    The DDL's fingerprint is kept in ``mart_meta.schema_ddl``: a mart already made by this very DDL skips the
    ~40 statements (a fixed cost every load paid; it is a measurable share of a load of a few million rows).
    """
    ddl = all_ddl()
    fingerprint = hashlib.sha256("\n;\n".join(ddl).encode("utf-8")).hexdigest()
    try:
        row = con.execute("SELECT value FROM mart_meta WHERE key = 'schema_ddl'").fetchone()
    except duckdb.CatalogException:      # a new mart: no meta table yet
        row = None
    if row is not None and row[0] == fingerprint:
        return
    for stmt in ddl:
        con.execute(stmt)
    set_meta(con, "schema_ddl", fingerprint)


def fill_calendar(con: duckdb.DuckDBPyConnection, first: str, last: str) -> None:
    """Insert the months first..last (YYYY-MM) into calendar_month (idempotent)."""
    rows = []
    for month in month_range(first, last):
        y, m = int(month[:4]), int(month[5:7])
        start, end = month_first_day(month_index(month)), month_last_day(month_index(month))
        days = end.day
        weekdays = sum(1 for d in range(days) if (start + dt.timedelta(days=d)).weekday() < 5)
        rows.append((month, start, end, y, f"{y}Q{(m - 1) // 3 + 1}", days, weekdays))
    con.executemany("INSERT OR REPLACE INTO calendar_month VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO mart_meta VALUES (?, ?)", [key, value])


def bump_data_version(con: duckdb.DuckDBPyConnection) -> str:
    """Record a new data version (read by the result cache to invalidate itself)."""
    version = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    set_meta(con, "data_version", version)
    return version


def mart_exists(cfg: Config) -> bool:
    """True when the mart holds a built county (DuckDB file with institutions)."""
    path: Path | None = cfg.mart_path
    if path is None:
        return True
    if not path.exists():
        return False
    # DuckDB refuses a second connection to one file with another configuration in the same process, so
    # ask through the process's read-only engine (the one the web app and account services use).
    from mart.connection import read_df
    try:
        return int(read_df(cfg.mart_url, "SELECT count(*) AS n FROM institution")["n"].iloc[0]) > 0
    except Exception:  # noqa: BLE001  (a missing table, a locked or foreign file: not a built mart)
        return False
