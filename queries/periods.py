"""Time coverage of the mart: data range, last data date, last complete month, incomplete institutions."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pandas as pd

from queries.connection import read_df


def data_range(mart_url: str) -> tuple[str | None, str | None]:
    """(first_month, last_month) 'YYYY-MM' holding any upload (outpatient, inpatient, lab, resources)."""
    df = read_df(mart_url, "SELECT MIN(month) AS lo, MAX(month) AS hi FROM r_inst_month")
    lo, hi = df.iloc[0]["lo"], df.iloc[0]["hi"]
    return (None if pd.isna(lo) else str(lo), None if pd.isna(hi) else str(hi))


# Pages ask for the last data date several times per callback (every drill link computes its default period);
# remember it briefly, keyed by the mart file's modification time so a load or rebuild shows at once.
_MEMO_SECONDS = 60.0
_memo: dict[tuple[str, int], tuple[float, dt.date | None]] = {}
_memo_lock = threading.Lock()


def _mart_stamp(mart_url: str) -> int:
    from dashboard.config import duckdb_path
    path = duckdb_path(mart_url)
    try:
        return os.stat(path).st_mtime_ns if path is not None else 0
    except OSError:
        return -1


def last_data_date(mart_url: str) -> dt.date | None:
    """The last day with any outpatient, inpatient or lab row (memoised for a minute per mart file version)."""
    key = (mart_url, _mart_stamp(mart_url))
    now = time.monotonic()
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and now - hit[0] < _MEMO_SECONDS:
        return hit[1]
    value = _query_last_data_date(mart_url)
    with _memo_lock:
        _memo.clear()          # one mart version at a time is enough
        _memo[key] = (now, value)
    return value


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
    """Institutions with missing uploads in ``month``: inst_code, name, source, days_with_data, days_expected,
    missing_months (1 when the source is absent for the whole month although the institution normally reports it).

    Daily sources (outpatient, inpatient, lab) are compared with the days up to the last data date; an
    institution counts as incomplete for a source when it has fewer days with data than 80 % of the days the
    busiest institution has for that source in the month, or none at all while it normally reports it.
    """
    sql = """
WITH nmonths AS (SELECT source, COUNT(DISTINCT month) AS n FROM r_inst_month GROUP BY source),
     normal AS (SELECT r.inst_code, r.source FROM r_inst_month r JOIN nmonths k ON k.source = r.source
                GROUP BY r.inst_code, r.source, k.n HAVING 2 * COUNT(*) >= k.n),
     cur AS (SELECT inst_code, source, days FROM r_inst_month WHERE month = :m),
     best AS (SELECT source, MAX(days) AS days FROM cur GROUP BY source)
SELECT n.inst_code, i.name, n.source, COALESCE(c.days, 0) AS days_with_data, b.days AS days_expected,
       CASE WHEN c.days IS NULL THEN 1 ELSE 0 END AS missing_month
FROM normal n
JOIN institution i ON i.inst_code = n.inst_code
LEFT JOIN cur c ON c.inst_code = n.inst_code AND c.source = n.source
LEFT JOIN best b ON b.source = n.source
WHERE c.days IS NULL OR (n.source <> 'resource_month' AND c.days < 0.8 * b.days)
ORDER BY n.inst_code, n.source"""
    return read_df(mart_url, sql, {"m": month})


def mart_meta(mart_url: str, key: str) -> str:
    """One value of the mart's ``mart_meta`` table ('' when not set): data_version, source ('demo'), …"""
    from queries.measures import read_df as session_read_df
    df = session_read_df(mart_url, "SELECT value FROM mart_meta WHERE key = :key", {"key": key})
    return "" if df.empty else str(df.iloc[0]["value"])


def data_version(mart_url: str) -> str:
    """The mart's data version (``mart_meta.data_version``; changes on every load), '' when not set."""
    return mart_meta(mart_url, "data_version")
