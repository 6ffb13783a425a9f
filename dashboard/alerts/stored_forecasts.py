"""Trend forecasts (预测) stored in the app database per request and mart data version, like 预计全年.

:func:`metrics.forecast.forecast` reads every month of the engine's history and fits Holt-Winters to the numerator
and the denominator: the first trend a fresh process draws paid that (the per-process result cache only helps the
clicks after it). The result is a pure function of the mart's data, so it is kept in the app database, in the
rows of ``year_end_projection`` (one table for the forecast module's results; the key says which kind), under the
mart's data version and last complete month: every worker and every later process read it back instead of
refitting, and a load — a new data version — makes a new key, so a changed series is always refitted (the rows of
older versions are deleted with the first new row). Nothing is claimed: two processes that miss at once both fit,
the same numbers, and the first insert wins.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

import pandas as pd
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dashboard.accounts import clock
from dashboard.alerts.models import YearEndProjection
from dashboard.alerts.projections import _scope_part, _to_json
from dashboard.appdb import session_factory

log = logging.getLogger(__name__)
_MEMO_MAX = 256
_memo: dict[str, pd.DataFrame] = {}         # rows never change (the key holds the data version)
_memo_lock = threading.Lock()


def forecast_key(data_version: str, through: str | None, ids: list[str], level: str, org: str | None,
                 horizon: int, scope: Any) -> str:
    """The row key of one forecast request (``forecast:`` + a digest): the same in every process."""
    raw = repr(("forecast", data_version, through, tuple(ids), level, org, int(horizon), _scope_part(scope)))
    return "forecast:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:40]


def _from_payload(payload: str, through: str) -> pd.DataFrame:
    from metrics.forecast import FORECAST_COLUMNS
    records = json.loads(payload or "[]")
    df = pd.DataFrame(records, columns=list(records[0]) if records else [*FORECAST_COLUMNS, "num", "den"])
    for col in ("value", "lower80", "upper80", "lower", "upper", "num", "den"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df.attrs["through"] = through
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
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None:
        return _copy(hit)
    Session = session_factory(app_db_url)
    try:
        with Session() as s:
            row = s.get(YearEndProjection, key)
            if row is not None and row.state == "done":
                return _remember(key, _from_payload(row.payload, row.through))
    except SQLAlchemyError:
        log.warning("读取已存预测失败，改为现算", exc_info=True)
    df = forecast(list(ids), level, org, horizon, mart_url=mart_url, scope=scope)
    now = clock.now()
    try:
        with Session() as s, s.begin():
            s.execute(delete(YearEndProjection).where(YearEndProjection.data_version != version))
            s.add(YearEndProjection(key=key, data_version=version, state="done", payload=_to_json(df),
                                    through=str(df.attrs.get("through") or ""), started_at=now, finished_at=now))
    except IntegrityError:
        pass                                    # another process stored the same numbers first
    except SQLAlchemyError:
        log.warning("保存预测失败（下次重新计算）", exc_info=True)
    return _remember(key, df)


def _copy(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = dict(df.attrs)
    return out


def _remember(key: str, df: pd.DataFrame) -> pd.DataFrame:
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = _copy(df)
    return df
