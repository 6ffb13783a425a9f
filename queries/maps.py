"""Reads of the mart for the county maps (一张图) and the geometry import.

Indicator values come from ``metrics.engine.compute``; these queries return what the engine does not: the
townships to match boundaries against, institutions with their coordinates, and volumes for symbol sizes.
One function per query; values are bound parameters. Months are 'YYYY-MM', bounds inclusive.
"""
from __future__ import annotations

import pandas as pd

from mart.connection import read_df


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
    """Outpatient visits and discharges per institution in the months first..last (from the rollups).

    Columns: inst_code, op_visits, discharges (institutions without activity are absent).
    """
    df = read_df(mart_url, """
WITH op AS (
  SELECT inst_code, sum(visits) AS op_visits
  FROM r_op_month
  WHERE month >= :first AND month <= :last
  GROUP BY inst_code
), ip AS (
  SELECT inst_code, sum(discharges) AS discharges
  FROM r_ip_month
  WHERE month >= :first AND month <= :last
  GROUP BY inst_code
)
SELECT coalesce(op.inst_code, ip.inst_code) AS inst_code,
       coalesce(op.op_visits, 0) AS op_visits, coalesce(ip.discharges, 0) AS discharges
FROM op FULL OUTER JOIN ip ON ip.inst_code = op.inst_code""", {"first": first_month, "last": last_month})
    for col in ("op_visits", "discharges"):
        df[col] = df[col].astype(int) if not df.empty else df[col]
    return df


def referral_flows(mart_url: str, first_month: str, last_month: str) -> pd.DataFrame:
    """Referrals between the county's institutions in the months first..last (from the rollups).

    Columns: direction, from_inst_code, to_inst_code, referrals — one row per direction and pair; referrals
    leaving the county (no to_inst_code) are not flows between institutions and are left out.
    """
    df = read_df(mart_url, """
SELECT direction, from_inst_code, to_inst_code, sum(referrals) AS referrals
FROM r_ref_month
WHERE month >= :first AND month <= :last AND to_inst_code IS NOT NULL AND to_inst_code <> ''
GROUP BY direction, from_inst_code, to_inst_code
ORDER BY referrals DESC, from_inst_code, to_inst_code""", {"first": first_month, "last": last_month})
    if not df.empty:
        df["referrals"] = df["referrals"].astype(int)
    return df
