"""Extra reads of the mart for the 双向转诊 page: flows, outside destinations, diagnoses, pending referrals.

Indicator numbers (volumes, ratio, acceptance, 24-hour response) come from ``metrics.engine.compute``; so do the
totals of outside-county care (``outside_referred`` / ``outside_unreferred``); these queries return the lists and
matrices the engine does not (the flow pairs between institutions: the engine has no (from, to) dimension). One function per query; every value is a bound
parameter; lists of codes are bound as expanding parameters. Periods are half-open ``[start, end_excl)``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import bindparam, text

from mart.connection import mart_engine

DateLike = dt.date | dt.datetime | str


def _ts(value: DateLike) -> dt.datetime:
    """A period bound as a datetime (dates become midnight) so DuckDB and PostgreSQL compare alike."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value))


def _day(value: DateLike) -> dt.date:
    return _ts(value).date()


def _run(mart_url: str, sql: str, params: dict, expanding: Sequence[str] = ()) -> pd.DataFrame:
    """Execute one SELECT; names in ``expanding`` are bound as lists (``IN :name``)."""
    stmt = text(sql)
    if expanding:
        stmt = stmt.bindparams(*[bindparam(name, expanding=True) for name in expanding])
    with mart_engine(mart_url).connect() as conn:
        result = conn.execute(stmt, params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _inst_filter(inst_codes: Sequence[str] | None, *columns: str) -> tuple[str, list[str]]:
    """SQL fragment restricting rows to institutions (any of ``columns`` in the list), or nothing."""
    if inst_codes is None:
        return "", []
    clause = " OR ".join(f"{col} IN :insts" for col in columns)
    return f" AND ({clause})", ["insts"]


def _inst_params(inst_codes: Sequence[str] | None) -> dict:
    # An empty list must match nothing, yet "IN ()" is invalid SQL: bind a code no institution has.
    return {} if inst_codes is None else {"insts": list(inst_codes) or ["\x00"]}


def referral_flows(mart_url: str, start: DateLike, end_excl: DateLike,
                   inst_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Referrals between the county's institutions in the period, one row per (direction, from, to).

    Columns: direction, from_inst_code, from_name, from_level, from_township, to_inst_code, to_name, to_level,
    to_township, referrals. ``inst_codes`` keeps flows with either end in the list (None: all).
    """
    where, exp = _inst_filter(inst_codes, "r.from_inst_code", "r.to_inst_code")
    sql = f"""
SELECT r.direction, r.from_inst_code, fi.name AS from_name, fi.level AS from_level, fa.name AS from_township,
       r.to_inst_code, ti.name AS to_name, ti.level AS to_level, ta.name AS to_township,
       count(*) AS referrals
FROM referral r
JOIN institution fi ON fi.inst_code = r.from_inst_code
JOIN institution ti ON ti.inst_code = r.to_inst_code
LEFT JOIN area fa ON fa.area_code = fi.area_code
LEFT JOIN area ta ON ta.area_code = ti.area_code
WHERE r.request_time >= :start AND r.request_time < :end_excl{where}
GROUP BY r.direction, r.from_inst_code, fi.name, fi.level, fa.name, r.to_inst_code, ti.name, ti.level, ta.name
ORDER BY referrals DESC, r.from_inst_code, r.to_inst_code"""
    df = _run(mart_url, sql, {"start": _ts(start), "end_excl": _ts(end_excl), **_inst_params(inst_codes)}, exp)
    if not df.empty:
        df["referrals"] = df["referrals"].astype(int)
    return df


def outside_destinations(mart_url: str, start: DateLike, end_excl: DateLike,
                         area_codes: Sequence[str] | None = None, limit: int = 10) -> pd.DataFrame:
    """Top hospitals outside the county where insured residents were treated (settlements), by count.

    Columns: hospital_name, settlements, orderly (with a referral), unorderly, total_cost. ``area_codes``
    restricts to residents of those townships (None: the whole county).
    """
    where, exp = ("", [])
    if area_codes is not None:
        where, exp = " AND s.patient_area_code IN :areas", ["areas"]
    sql = f"""
SELECT s.hospital_name, count(*) AS settlements,
       sum(CASE WHEN s.referral_id IS NOT NULL AND s.referral_id <> '' THEN 1 ELSE 0 END) AS orderly,
       sum(CASE WHEN s.referral_id IS NULL OR s.referral_id = '' THEN 1 ELSE 0 END) AS unorderly,
       sum(s.total_cost) AS total_cost
FROM outside_settlement s
WHERE s.settle_date >= :start AND s.settle_date < :end_excl{where}
GROUP BY s.hospital_name
ORDER BY settlements DESC, s.hospital_name
LIMIT :limit"""
    params = {"start": _day(start), "end_excl": _day(end_excl), "limit": int(limit)}
    if area_codes is not None:
        params["areas"] = list(area_codes) or ["\x00"]
    df = _run(mart_url, sql, params, exp)
    for col in ("settlements", "orderly", "unorderly"):
        df[col] = df[col].astype(int) if not df.empty else df[col]
    if not df.empty:
        df["total_cost"] = df["total_cost"].astype(float)
    return df


def top_up_diagnoses(mart_url: str, start: DateLike, end_excl: DateLike,
                     inst_codes: Sequence[str] | None = None, limit: int = 10) -> pd.DataFrame:
    """Most frequent diagnoses of upward referrals in the period (inside and outside the county).

    Columns: diagnosis_code, referrals, outside (referred out of the county). ``inst_codes`` filters on the
    referring institution.
    """
    where, exp = _inst_filter(inst_codes, "r.from_inst_code")
    sql = f"""
SELECT coalesce(r.diagnosis_code, '未填写') AS diagnosis_code, count(*) AS referrals,
       sum(CASE WHEN r.to_inst_code IS NULL THEN 1 ELSE 0 END) AS outside
FROM referral r
WHERE r.direction = 'up' AND r.request_time >= :start AND r.request_time < :end_excl{where}
GROUP BY 1
ORDER BY referrals DESC, 1
LIMIT :limit"""
    params = {"start": _ts(start), "end_excl": _ts(end_excl), "limit": int(limit), **_inst_params(inst_codes)}
    df = _run(mart_url, sql, params, exp)
    if not df.empty:
        df[["referrals", "outside"]] = df[["referrals", "outside"]].astype(int)
    return df


def pending_referrals(mart_url: str, as_of: DateLike, older_than_hours: float = 24.0,
                      inst_codes: Sequence[str] | None = None, limit: int = 200) -> pd.DataFrame:
    """Referrals still pending ``older_than_hours`` after their request, as of ``as_of``, oldest first.

    Columns: referral_id, direction, from_inst_code, from_name, to_inst_code, to_name (县外 name when outside),
    setting, request_time, hours_waiting, diagnosis_code. No patient identifiers (they never leave the mart).
    ``inst_codes`` keeps referrals with either end in the list.
    """
    where, exp = _inst_filter(inst_codes, "r.from_inst_code", "r.to_inst_code")
    as_of_ts = _ts(as_of)
    cutoff = as_of_ts - dt.timedelta(hours=float(older_than_hours))
    sql = f"""
SELECT r.referral_id, r.direction, r.from_inst_code, fi.name AS from_name, r.to_inst_code,
       coalesce(ti.name, r.to_outside_name) AS to_name, r.setting, r.request_time, r.diagnosis_code
FROM referral r
JOIN institution fi ON fi.inst_code = r.from_inst_code
LEFT JOIN institution ti ON ti.inst_code = r.to_inst_code
WHERE r.status = 'pending' AND r.request_time <= :cutoff{where}
ORDER BY r.request_time, r.referral_id
LIMIT :limit"""
    df = _run(mart_url, sql, {"cutoff": cutoff, "limit": int(limit), **_inst_params(inst_codes)}, exp)
    if df.empty:
        df["hours_waiting"] = pd.Series(dtype=float)
        return df
    df["request_time"] = pd.to_datetime(df["request_time"])
    df["hours_waiting"] = ((as_of_ts - df["request_time"]).dt.total_seconds() / 3600.0).round(1)
    return df


def last_referral_time(mart_url: str) -> dt.datetime | None:
    """Latest request or response time in the referral table (the 'now' of the data for pending ages)."""
    sql = "SELECT max(greatest(request_time, coalesce(respond_time, request_time))) AS t FROM referral"
    df = _run(mart_url, sql, {})
    value = df["t"].iloc[0] if not df.empty else None
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()
