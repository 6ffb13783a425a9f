"""Engine results in the one result cache (:mod:`core.cache`, namespace ``engine``).

A key holds every argument that changes a result plus the data version of exactly what the result reads
(:func:`read_version`): the rollups of its indicators (and their coarse variants), the org tables and calendar,
for the months of its periods, their year-earlier twins and predecessors. A load of this month's visits therefore
leaves last year's cockpit cached. Off outside an app unless :func:`install` is given a cache (CLI, tests).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from core import cache as _cache
from core.periods import month_index, month_str

NS = "engine"
DEFAULT_TIMEOUT_S = _cache.DEFAULT_TIMEOUT_S
CacheBackend = _cache.Backend
LOOKBACK_MONTHS = 25     # YoY twin of the previous period of a year: everything a period's comparisons read
install = _cache.install
backend = _cache.backend


def init_app_cache(server: Any, cache_url: str = "") -> Any:
    """The app's one result cache (see :func:`core.cache.init_app`)."""
    return _cache.init_app(server, cache_url)


def make_key(*parts: Any) -> str:
    """A short stable key of the arguments in the engine namespace."""
    return _cache.make_key(NS, *parts)


def tables_read(indicator_ids: list[str]) -> set[str] | None:
    """The mart tables the engine reads for ``indicator_ids`` (None when that cannot be told: key on everything)."""
    from metrics.catalogue import INDICATORS, MEASURES, base_measures
    from queries.periods import DIMENSION_TABLES, rollup_family
    tables: set[str] = set(DIMENSION_TABLES)
    for iid in indicator_ids:
        ind = INDICATORS.get(iid)
        if ind is None:
            return None
        for one in (ind, INDICATORS.get(ind.growth_of or "")):
            if one is None:
                continue
            for measure in one.measures:
                for base in base_measures(measure):
                    table = MEASURES[base].table
                    if table is None:
                        return None
                    tables.add(table)
    return rollup_family(tables)


def read_version(url: str, indicator_ids: list[str], start: str, end: str, from_facts: bool = False) -> str:
    """The data version of what ``compute(indicator_ids, …, start, end)`` reads, plus the data's first month and
    (when the asked months reach it) its last day, which decide partial periods and where periods are clipped."""
    from queries import periods as qperiods
    tables = None if from_facts else tables_read(indicator_ids)
    try:
        lo: str | None = month_str(month_index(start) - LOOKBACK_MONTHS)
    except (TypeError, ValueError):     # a bad month: the engine refuses it; key on every month meanwhile
        lo = None
    version = qperiods.table_versions(url, tables, lo, end if lo else None)
    last = qperiods.last_data_date(url)
    edge = "-" if last is None or str(end) < f"{last.year:04d}-{last.month:02d}" else last.isoformat()
    return f"{version}|{qperiods.first_data_month(url)}|{edge}"


def get(key: str) -> pd.DataFrame | None:
    """A copy of the cached result (callers may change what they get), or None."""
    hit = _cache.get(NS, key)
    if hit is None:
        return None
    frame, refused = hit
    out = frame.copy()
    out.attrs["refused"] = dict(refused)
    return out


def tables_version(url: str, indicator_ids: list[str]) -> str:
    """The data version of every month of what ``indicator_ids`` read (forecasts and projections read all history)."""
    from queries import periods as qperiods
    return qperiods.table_versions(url, tables_read(indicator_ids))


def get_or_compute(key: str, compute) -> pd.DataFrame:  # noqa: ANN001 — () -> DataFrame
    """The cached result of ``key``, else ``compute()`` stored (one thread computes a key at a time, the others
    wait for it: :func:`core.cache.get_or_compute`). A copy either way."""
    def build() -> tuple:
        result = compute()
        return result.copy(), dict(result.attrs.get("refused", {}))
    frame, refused = _cache.get_or_compute(NS, key, build)
    out = frame.copy()
    out.attrs["refused"] = dict(refused)
    return out


def put(key: str, result: pd.DataFrame) -> None:
    """Store a copy of ``result`` (and its refusals) under ``key``."""
    _cache.set(NS, key, (result.copy(), dict(result.attrs.get("refused", {}))))
