"""Time coverage of the mart: data range, last data date, last complete month, incomplete institutions."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from mart.connection import read_df


def data_range(mart_url: str) -> tuple[str | None, str | None]:
    """(first_month, last_month) 'YYYY-MM' holding any upload (outpatient, inpatient, lab, resources)."""
    df = read_df(mart_url, "SELECT MIN(month) AS lo, MAX(month) AS hi FROM r_inst_month")
    lo, hi = df.iloc[0]["lo"], df.iloc[0]["hi"]
    return (None if pd.isna(lo) else str(lo), None if pd.isna(hi) else str(hi))


# Pages ask for the last data date, the data versions of what they read and the org tree many times per click;
# each is remembered per (name, arguments, state of the mart). A DuckDB mart's state is its file's identity (inode,
# modification time, size, and its WAL's): one stat per call, so a load or rebuild shows at once, and a value is
# re-read at the latest after MEMO_FILE_S. A server mart (PostgreSQL) has no such stamp: its values are re-read
# after MEMO_SERVER_S, so a load shows there within that many seconds.
MEMO_FILE_S = 30.0
MEMO_SERVER_S = 2.0
_MEMO_MAX = 4096
_memo: dict[tuple, tuple[float, Any]] = {}
_memo_lock = threading.Lock()


def _mart_stamp(mart_url: str) -> int:
    """A number that changes when the DuckDB mart file is written or replaced; 0 for a server mart, -1 when the
    file is missing."""
    from core.config import duckdb_path
    path = duckdb_path(mart_url) if mart_url.startswith("duckdb:") else None
    if path is None:
        return 0
    try:
        st = os.stat(path)
    except OSError:
        return -1
    try:
        wal = os.stat(f"{path}.wal").st_mtime_ns
    except OSError:
        wal = 0
    return hash((st.st_ino, st.st_mtime_ns, st.st_size, wal)) & 0x7FFFFFFFFFFFFFFF or 1


def _engine_on_current_file(mart_url: str) -> bool:
    """False while the read engine still serves a replaced DuckDB file (it moves over once its connections are
    back): a value read then belongs to the old file and must not be remembered under the new stamp."""
    from mart import connection as mc
    identities = getattr(mc, "_identities", None)
    if identities is None or not mart_url.startswith("duckdb:") or mart_url not in identities:
        return True
    return identities.get(mart_url) == mc._file_identity(mart_url)


def memoised(name: str, mart_url: str, args: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` remembered per (name, mart URL, ``args``, state of the mart); see the comment above."""
    stamp = _mart_stamp(mart_url)
    key = (name, mart_url, args)
    now = time.monotonic()
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and hit[2] == stamp and now - hit[0] < (MEMO_SERVER_S if stamp == 0 else MEMO_FILE_S):
        return hit[1]
    value = compute()
    if stamp == _mart_stamp(mart_url) and _engine_on_current_file(mart_url):
        with _memo_lock:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[key] = (now, value, stamp)
    return value


def forget_memos() -> None:
    """Drop every remembered value (after a write this process made to a server mart; tests)."""
    with _memo_lock:
        _memo.clear()


def _memoised(name: str, mart_url: str, compute: Callable[[], Any]) -> Any:
    return memoised(name, mart_url, (), compute)


def last_data_date(mart_url: str) -> dt.date | None:
    """The last day with any outpatient, inpatient or lab row (memoised for a minute per mart file version)."""
    return _memoised("last_day", mart_url, lambda: _query_last_data_date(mart_url))


def first_data_month(mart_url: str) -> str | None:
    """The first month holding any upload ('YYYY-MM'; memoised like :func:`last_data_date`)."""
    return _memoised("first_month", mart_url, lambda: data_range(mart_url)[0])


def _query_last_data_date(mart_url: str) -> dt.date | None:
    df = read_df(mart_url, "SELECT MAX(day) AS d FROM r_inst_day")
    d = df.iloc[0]["d"]
    if d is None or pd.isna(d):
        return None
    return pd.Timestamp(d).date()


def last_complete_month(mart_url: str) -> str | None:
    """The last month whose data is complete: the month of the last data date when that date is the month's
    last day, else the month before."""
    last = last_data_date(mart_url)
    if last is None:
        return None
    if (last + dt.timedelta(days=1)).month != last.month:
        return f"{last.year:04d}-{last.month:02d}"
    first = last.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def incomplete_institutions(mart_url: str, month: str) -> pd.DataFrame:
    """Institutions with upload gaps in ``month`` (the rule of ``queries.measures.UPLOAD_GAPS_SQL``, which the
    engine's completeness flag uses too): inst_code, name, source, days_with_data, days_expected, missing_month
    (1 when the source is absent for the whole month although the institution normally reports it)."""
    from queries.measures import UPLOAD_GAPS_SQL
    sql = UPLOAD_GAPS_SQL + """
SELECT g.inst_code, i.name, g.source, g.days_with_data, g.days_expected, g.missing_month
FROM gaps g JOIN institution i ON i.inst_code = g.inst_code
ORDER BY g.inst_code, g.source"""
    return read_df(mart_url, sql, {"lo": month, "hi": month})


def mart_meta(mart_url: str, key: str) -> str:
    """One value of the mart's ``mart_meta`` table ('' when not set): data_version, source ('demo'), …"""
    from queries.measures import read_df as session_read_df
    df = session_read_df(mart_url, "SELECT value FROM mart_meta WHERE key = :key", {"key": key})
    return "" if df.empty else str(df.iloc[0]["value"])


def data_version(mart_url: str) -> str:
    """The mart's data version (``mart_meta.data_version``; changes on every load), '' when not set (memoised like
    :func:`last_data_date`)."""
    return memoised("data_version", mart_url, (), lambda: mart_meta(mart_url, "data_version"))


# Tables every engine result reads besides its rollups: names and the org tree, the calendar, upload coverage.
DIMENSION_TABLES = ("area", "institution", "department", "staff", "calendar_month", "r_inst_day", "r_inst_month")


def rollup_family(tables: Iterable[str]) -> set[str]:
    """``tables`` and the coarse variants of every rollup among them (the reader picks the coarsest that answers)."""
    from mart.rollups import COARSE
    out = set(tables)
    out |= {coarse for coarse, (fine, _keys) in COARSE.items() if fine in out}
    return out


def table_versions(mart_url: str, tables: Iterable[str] | None = None, lo: str | None = None,
                   hi: str | None = None) -> str:
    """The data version of what a result reads (memoised like :func:`last_data_date`; see
    :func:`_table_versions`)."""
    names = None if tables is None else tuple(sorted(set(tables)))
    return memoised("versions", mart_url, (names, lo, hi), lambda: _table_versions(mart_url, names, lo, hi))


def _table_versions(mart_url: str, tables: Iterable[str] | None = None, lo: str | None = None,
                    hi: str | None = None) -> str:
    """The data version of what a result reads: the newest ``mart_version`` stamp among ``tables`` (None: every
    table) for the months ``lo``..``hi`` ('YYYY-MM'; None: every month), whole-table stamps and whole-mart stamps
    included. It changes exactly when a write touched one of those tables in one of those months. A mart without
    the table (PostgreSQL, older marts) answers its global data version."""
    from queries.measures import read_df as session_read_df
    where, params = ["1 = 1"], {}
    if tables is not None:
        names = sorted(set(tables))
        marks = ", ".join(f":t{n}" for n in range(len(names)))
        where.append(f"(tbl = '*' OR tbl IN ({marks or ''''''}))")
        params.update({f"t{n}": t for n, t in enumerate(names)})
    if lo is not None and hi is not None:
        where.append("(month = '*' OR month BETWEEN :lo AND :hi)")
        params.update(lo=lo, hi=hi)
    try:
        df = session_read_df(mart_url, "SELECT max(version) AS v, count(*) AS n FROM mart_version WHERE "
                             + " AND ".join(where), params)
    except Exception:  # noqa: BLE001 — no mart_version here: every load invalidates everything
        return "g" + data_version(mart_url)
    if not int(df.iloc[0]["n"]) and not _has_versions(mart_url):
        return "g" + data_version(mart_url)
    value = df.iloc[0]["v"]
    return "" if value is None or pd.isna(value) else str(value)


def _has_versions(mart_url: str) -> bool:
    """True when the mart's writes stamp ``mart_version`` (a mart built before it existed has no rows)."""
    from queries.measures import read_df as session_read_df
    return not session_read_df(mart_url, "SELECT 1 FROM mart_version LIMIT 1").empty


def _installed_versioner(tables: Iterable[str] | None) -> str:
    from core.config import load_config
    url = load_config().mart_url
    return table_versions(url, None if tables is None else rollup_family(tables))


def install_versioner() -> None:
    """Let ``core.cache.memoize(ns, tables=…)`` key its entries by these tables' data version in the configured mart."""
    from core import cache
    cache.set_versioner(_installed_versioner)
