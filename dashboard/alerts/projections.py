"""Year-end projections (预计全年) shared by every worker and server through the app database.

A projection (:func:`metrics.forecast.year_end`) takes seconds, so no page computes it on a click. Per indicator
set × level × org × scope × mart data version there is one ``year_end_projection`` row: the first process that
needs it (``alerts run`` after every load and demo build, or a cockpit render finding none) claims the row by
inserting it as ``computing``, computes, and stores the result as ``done``; every other process sees the row and
waits for it (the cards show no 预计全年 line meanwhile), then all read the same numbers. A claim left
``computing`` by a process that died is taken over after :data:`STALE_AFTER`; a failed one is retried after
:data:`RETRY_AFTER`. Rows of older data versions are deleted when a new version is claimed. The trend's stored
forecasts share the table (keys ``forecast:…``, :mod:`dashboard.alerts.stored_forecasts`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from dashboard.accounts import clock
from dashboard.alerts.models import YearEndProjection
from dashboard.appdb import session_factory

log = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(minutes=15)
RETRY_AFTER = dt.timedelta(minutes=5)
_MEMO_MAX = 64
_memo: dict[str, pd.DataFrame] = {}        # done rows never change (the key holds the data version)
_memo_lock = threading.Lock()


def scope_part(scope: Any) -> tuple | None:
    """The part of a stored row's key that names the scope (None: the full scope)."""
    if scope is None:
        return None
    return (scope.all_institutions, tuple(sorted(scope.inst_codes)), scope.aggregates)


def projection_key(data_version: str, ids: list[str], level: str, org: str | None, scope: Any) -> str:
    """The row key: the same in every process for the same request and data version."""
    raw = repr((data_version, tuple(ids), level, org, scope_part(scope)))
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def to_json(df: pd.DataFrame) -> str:
    """The rows of ``df`` as the JSON payload of a stored row (NaN and inf as null)."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v.item() if hasattr(v, "item") else v
    return json.dumps([{k: clean(v) for k, v in rec.items()} for rec in df.to_dict("records")], ensure_ascii=False)


def _from_row(row: YearEndProjection) -> pd.DataFrame:
    from metrics.forecast import YEAR_END_COLUMNS
    df = pd.DataFrame(json.loads(row.payload or "[]"), columns=YEAR_END_COLUMNS)
    df["projected"] = pd.to_numeric(df["projected"], errors="coerce")
    df.attrs["through"] = row.through
    return df


def read_done(app_db_url: str, key: str, parse: Callable[[YearEndProjection], pd.DataFrame]
              ) -> pd.DataFrame | None:
    """The rows of the finished row ``key`` (``parse`` makes them a frame), remembered in this process: a done row
    never changes, its key holds the data version. None while there is no finished row."""
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None:
        return hit.copy()
    with session_factory(app_db_url)() as s:
        row = s.get(YearEndProjection, key)
        if row is None or row.state != "done":
            return None
        df = parse(row)
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = df
    return df.copy()


def store_done(app_db_url: str, key: str, version: str, df: pd.DataFrame) -> None:
    """Store ``df`` as the finished row ``key`` of data ``version`` (rows of other versions are deleted); a row
    another process stored first under the same key is kept (it holds the same numbers)."""
    now = clock.now()
    try:
        with session_factory(app_db_url)() as s, s.begin():
            s.execute(delete(YearEndProjection).where(YearEndProjection.data_version != version))
            s.add(YearEndProjection(key=key, data_version=version, state="done", payload=to_json(df),
                                    through=str(df.attrs.get("through") or ""), started_at=now, finished_at=now))
    except IntegrityError:
        pass


def stored_year_end(app_db_url: str, mart_url: str, ids: list[str], level: str, org: str | None,
                    scope: Any) -> pd.DataFrame | None:
    """The stored projection of this data version, or None while nobody has finished it."""
    from queries.periods import data_version
    return read_done(app_db_url, projection_key(data_version(mart_url), ids, level, org, scope), _from_row)


def _claim(app_db_url: str, key: str, version: str) -> bool:
    """Insert the row as ``computing`` (or take over a stale/failed one): True when this process computes it."""
    now = clock.now()
    Session = session_factory(app_db_url)
    try:
        with Session() as s, s.begin():
            s.execute(delete(YearEndProjection).where(YearEndProjection.data_version != version))
            s.add(YearEndProjection(key=key, data_version=version, state="computing", payload="", through="",
                                    started_at=now))
        return True
    except IntegrityError:
        pass
    with Session() as s, s.begin():
        row = s.get(YearEndProjection, key)
        if row is None or row.state == "done":
            return False
        limit = STALE_AFTER if row.state == "computing" else RETRY_AFTER
        if now - row.started_at < limit:
            return False
        taken = s.execute(update(YearEndProjection)
                          .where(YearEndProjection.key == key, YearEndProjection.started_at == row.started_at)
                          .values(state="computing", started_at=now))
        return taken.rowcount == 1


def _compute(app_db_url: str, mart_url: str, key: str, ids: list[str], level: str, org: str | None,
             scope: Any) -> pd.DataFrame | None:
    from metrics.forecast import year_end
    try:
        df = year_end(ids, level, org, mart_url, scope)
    except Exception:
        log.warning("预计全年计算失败 %s %s", level, org, exc_info=True)
        with session_factory(app_db_url)() as s, s.begin():
            s.execute(update(YearEndProjection).where(YearEndProjection.key == key)
                      .values(state="failed", finished_at=clock.now()))
        return None
    with session_factory(app_db_url)() as s, s.begin():
        s.execute(update(YearEndProjection).where(YearEndProjection.key == key)
                  .values(state="done", payload=to_json(df), through=str(df.attrs.get("through") or ""),
                          finished_at=clock.now()))
    return df


def ensure_year_end(app_db_url: str, mart_url: str, ids: list[str], level: str, org: str | None, scope: Any,
                    background: bool = True) -> pd.DataFrame | None:
    """The stored projection; when there is none yet and this process wins the claim, compute and store it (in a
    daemon thread when ``background``, then None is returned). None while another process is computing it."""
    from queries.periods import data_version
    done = stored_year_end(app_db_url, mart_url, ids, level, org, scope)
    if done is not None:
        return done
    version = data_version(mart_url)
    key = projection_key(version, ids, level, org, scope)
    if not _claim(app_db_url, key, version):
        return None
    if background:
        threading.Thread(target=_compute, args=(app_db_url, mart_url, key, list(ids), level, org, scope),
                         daemon=True, name="year-end-projection").start()
        return None
    return _compute(app_db_url, mart_url, key, list(ids), level, org, scope)
