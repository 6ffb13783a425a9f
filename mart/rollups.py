"""Rollups (placeholder until the engine issue lands)."""
from __future__ import annotations

import duckdb


def build_rollups(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> None:
    """(Re)build the rollup tables for the given months (all months when None)."""
