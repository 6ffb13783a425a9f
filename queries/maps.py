"""Reads of the mart for the county maps (一张图) and the geometry import.

Indicator values come from ``metrics.engine.compute``; these queries return what the engine does not: the
townships to match boundaries against, institutions with their coordinates, and volumes for symbol sizes.
One function per query; values are bound parameters. Months are 'YYYY-MM', bounds inclusive.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from queries.connection import read_df


def _month_start(month: str) -> dt.datetime:
    return dt.datetime(int(month[:4]), int(month[5:7]), 1)


def _month_after(month: str) -> dt.datetime:
    y, m = int(month[:4]), int(month[5:7])
    return dt.datetime(y + (m == 12), m % 12 + 1, 1)


def township_areas(mart_url: str) -> pd.DataFrame:
    """The county's townships: area_code, name, population (ordered by code)."""
    df = read_df(mart_url, """
SELECT area_code, name, population
FROM area
WHERE level = :level
ORDER BY area_code""", {"level": "township"})
    if not df.empty:
        df["area_code"] = df["area_code"].astype(str)
    return df


def institution_points(mart_url: str) -> pd.DataFrame:
    """Every institution with its township and coordinates.

    Columns: inst_code, name, inst_type, level, area_code, township_name, parent_inst_code, is_lead,
    approved_beds, lon, lat.
    """
    return read_df(mart_url, """
SELECT i.inst_code, i.name, i.inst_type, i.level, i.area_code, a.name AS township_name, i.parent_inst_code,
       i.is_lead, i.approved_beds, i.lon, i.lat
FROM institution i
LEFT JOIN area a ON a.area_code = i.area_code
ORDER BY i.inst_code""")


def institution_volumes(mart_url: str, first_month: str, last_month: str) -> pd.DataFrame:
    """Outpatient visits and discharges per institution in the months first..last.

    Columns: inst_code, op_visits, discharges (institutions without activity are absent).
    """
    params = {"start": _month_start(first_month), "end_excl": _month_after(last_month)}
    df = read_df(mart_url, """
WITH op AS (
  SELECT inst_code, count(*) AS op_visits
  FROM outpatient_visit
  WHERE visit_time >= :start AND visit_time < :end_excl
  GROUP BY inst_code
), ip AS (
  SELECT inst_code, count(*) AS discharges
  FROM inpatient_discharge
  WHERE discharge_time >= :start AND discharge_time < :end_excl
  GROUP BY inst_code
)
SELECT coalesce(op.inst_code, ip.inst_code) AS inst_code,
       coalesce(op.op_visits, 0) AS op_visits, coalesce(ip.discharges, 0) AS discharges
FROM op FULL OUTER JOIN ip ON ip.inst_code = op.inst_code""", params)
    for col in ("op_visits", "discharges"):
        df[col] = df[col].astype(int) if not df.empty else df[col]
    return df
