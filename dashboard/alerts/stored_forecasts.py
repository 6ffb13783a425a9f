"""Trend forecasts (预测) stored in the app database per request and mart data version, like 预计全年.

:func:`metrics.forecast.forecast` reads every month of the engine's history and fits Holt-Winters to the numerator
and the denominator: the first trend a fresh process draws paid that (the per-process result cache only helps the
clicks after it). The result is a pure function of the mart's data, so it is kept in the app database, in the
rows of ``year_end_projection`` (one table for the forecast module's results; the key says which kind), under the
mart's data version and last complete month: every worker and every later process read it back instead of
refitting, and a load — a new data version — makes a new key, so a changed series is always refitted (the rows of
older versions are deleted with the first new row). Nothing is claimed: two processes that miss at once both fit,
the same numbers, and the first insert wins. Reading (with the per-process memo) and storing are the projection
module's (:func:`dashboard.alerts.projections.read_done` / :func:`~dashboard.alerts.projections.store_done`).
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from dashboard.alerts.models import YearEndProjection
from dashboard.alerts.projections import read_done, scope_part, store_done

log = logging.getLogger(__name__)


def forecast_key(data_version: str, through: str | None, ids: list[str], level: str, org: str | None,
                 horizon: int, scope: Any) -> str:
    """The row key of one forecast request (``forecast:`` + a digest): the same in every process."""
    raw = repr(("forecast", data_version, through, tuple(ids), level, org, int(horizon), scope_part(scope)))
    return "forecast:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:40]


def _from_row(row: YearEndProjection) -> pd.DataFrame:
    from metrics.forecast import FORECAST_COLUMNS
    records = json.loads(row.payload or "[]")
    df = pd.DataFrame(records, columns=list(records[0]) if records else [*FORECAST_COLUMNS, "num", "den"])
    for col in ("value", "lower80", "upper80", "lower", "upper", "num", "den"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df.attrs["through"] = row.through
    return df


def stored_forecast(app_db_url: str, mart_url: str, ids: list[str], level: str, org: str | None, horizon: int,
                    scope: Any) -> pd.DataFrame:
    """:func:`metrics.forecast.forecast` of this request for the mart's current data, from the app database when
    any process stored it already, else computed here and stored (``ForecastError`` / ``ValueError`` pass
    through and store nothing; a mart without a data version is never stored for)."""
    from metrics.forecast import forecast
    from queries.periods import data_version, last_complete_month
    version, through = data_version(mart_url), last_complete_month(mart_url)
    if not version:         # a mart without a data version: nothing tells a load apart, so nothing is stored
        return forecast(list(ids), level, org, horizon, mart_url=mart_url, scope=scope)
    key = forecast_key(version, through, ids, level, org, horizon, scope)
    try:
        hit = read_done(app_db_url, key, _from_row)
    except SQLAlchemyError:
        log.warning("读取已存预测失败，改为现算", exc_info=True)
        hit = None
    if hit is not None:
        return hit
    df = forecast(list(ids), level, org, horizon, mart_url=mart_url, scope=scope)
    try:
        store_done(app_db_url, key, version, df)
    except SQLAlchemyError:
        log.warning("保存预测失败（下次重新计算）", exc_info=True)
    return df
