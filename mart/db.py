"""Write-side access to the mart: one writer at a time (the loader or the demo builder)."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.config import Config, duckdb_path
from core.periods import month_first_day, month_index, month_last_day, month_range
from mart.schema import META_DDL, all_ddl


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


WRITE_COPY_MARK = ".write-"
COMPACT_FREE_SHARE = 0.25      # rewrite the new file compactly when more than this share of its blocks is free


def write_copy_path(path: Path, pid: int | None = None) -> Path:
    """The private copy a writer with ``pid`` builds the new mart in (``.<mart>.write-<pid>``)."""
    import os
    return path.with_name(f".{path.name}{WRITE_COPY_MARK}{os.getpid() if pid is None else pid}")


def _pid_alive(pid: int) -> bool:
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_copies(cfg: Config, *, holding_writer_lock: bool = False) -> list[Path]:
    """Delete the write copies (and their WALs, compaction files) left by writers that died (``kill -9``, power
    loss). Under the writer lock every copy is a dead writer's; without it only those whose process is gone.
    Returns the removed paths."""
    path = cfg.mart_path
    if path is None or not path.parent.exists():
        return []
    removed = []
    for stale in path.parent.glob(f".{path.name}{WRITE_COPY_MARK}*"):
        tail = stale.name[len(f".{path.name}{WRITE_COPY_MARK}"):]
        pid = tail.split(".", 1)[0]
        if not pid.isdigit():
            continue
        if holding_writer_lock or not _pid_alive(int(pid)):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def _free_share(con: duckdb.DuckDBPyConnection) -> float:
    """Share of the database file's blocks that are free (left by replaced rows)."""
    row = con.execute("SELECT total_blocks, free_blocks FROM pragma_database_size() "
                      "WHERE database_name = current_database()").fetchone()
    return (row[1] / row[0]) if row and row[0] else 0.0


def compact_into(src: Path, dst: Path) -> None:
    """Write the database ``src`` into a fresh file ``dst`` (``COPY FROM DATABASE``): only live blocks."""
    dst.unlink(missing_ok=True)
    con = duckdb.connect(str(src))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("ATTACH ? AS compacted", [str(dst)])
        source = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f'COPY FROM DATABASE "{source}" TO compacted')
        con.execute("DETACH compacted")
    finally:
        con.close()


@contextmanager
def shadow_copy(cfg: Config) -> Iterator[Config]:
    """Copy-on-write for every DuckDB load: yield a Config of a private copy of the mart file; when the block
    ends normally the copy (checkpointed, rewritten compactly when replaced rows left much free space) atomically
    replaces the mart, else it is deleted and the mart is untouched. Readers are never blocked: they keep their
    snapshot until they notice the new file (``mart.connection.mart_engine`` compares the file's identity on
    every use) and reopen it. Call under ``writer_lock``."""
    import dataclasses
    import os
    import shutil
    path = cfg.mart_path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    copy = write_copy_path(path)
    compacted = copy.with_name(copy.name + ".compact")
    wal, copy_wal = Path(str(path) + ".wal"), Path(str(copy) + ".wal")
    try:
        if path.exists():
            shutil.copyfile(path, copy)
            if wal.exists():            # committed but not yet checkpointed changes belong to the copy too
                shutil.copyfile(wal, copy_wal)
        yield dataclasses.replace(cfg, mart_url=f"duckdb:///{copy}")
        con = duckdb.connect(str(copy))
        try:
            con.execute("CHECKPOINT")   # the writer closes with one; a WAL left means it did not
            compact = _free_share(con) > COMPACT_FREE_SHARE
        finally:
            con.close()
        final = copy
        if compact:
            compact_into(copy, compacted)
            final = compacted
        os.chmod(final, 0o600)
        wal.unlink(missing_ok=True)     # a stale WAL must never be replayed on the new file
        os.replace(final, path)
    finally:
        for leftover in (copy, copy_wal, compacted, Path(str(compacted) + ".wal")):
            leftover.unlink(missing_ok=True)


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


def bump_data_version(con: duckdb.DuckDBPyConnection, touched: dict[str, list[str] | None] | None = None) -> str:
    """Record a new data version (read by the result cache to invalidate itself).

    ``touched`` says what this write changed: {table: its months ('YYYY-MM'), or None for the whole table} —
    contract tables and rollups alike (the loader passes the tables it wrote and its rollup plan). Each gets the
    new version in ``mart_version``, so a cached result depends only on the tables and months it read. None (the
    demo builder, a full rebuild, any writer that does not know) stamps everything (table ``'*'``).
    """
    version = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    set_meta(con, "data_version", version)
    con.execute(next(d for d in META_DDL if "mart_version" in d))       # marts made before the table existed
    if touched is None:
        rows = [("*", "*", version)]
    else:
        rows = [(t, m, version) for t, months in touched.items() for m in (["*"] if months is None else months)]
    if rows:
        con.executemany("INSERT OR REPLACE INTO mart_version VALUES (?, ?, ?)", rows)
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
