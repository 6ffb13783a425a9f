"""Checks of a load that span rows of the file and of the mart (beyond the per-row contract checks).

Returned as (file, row, column, value, reason) tuples, the fields of ``mart.loader.LoadIssue``.
"""
from __future__ import annotations

import duckdb


def lead_institution_issues(con: duckdb.DuckDBPyConnection, stage: str, file: str) -> list[tuple]:
    """At most one lead hospital (``is_lead = 1``) in the mart after the load: the staged institutions plus the
    mart's institutions that the load does not replace."""
    rows = con.execute(
        f'SELECT _row, inst_code, name FROM "{stage}" WHERE is_lead = 1 '
        f'UNION ALL SELECT NULL, inst_code, name FROM institution WHERE is_lead = 1 '
        f'AND inst_code NOT IN (SELECT inst_code FROM "{stage}" WHERE inst_code IS NOT NULL) '
        f'ORDER BY 1 NULLS FIRST, 2').fetchall()
    if len(rows) <= 1:
        return []
    listed = ", ".join(f"{code} {name}" + ("" if row is None else f" (第 {row} 行数据)")
                       + (" (数据集市中已有 already in the mart)" if row is None else "") for row, code, name in rows)
    first_file_row = next((r for r, _, _ in rows if r is not None), None)
    return [(file, first_file_row, "is_lead", "1",
             f"牵头医院最多一家, 导入后将有 {len(rows)} 家 (at most one lead institution): {listed}")]
