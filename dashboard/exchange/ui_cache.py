"""Shared answers of the exchange page's refreshes: one computation per few seconds, not one per open page.

Every open /exchange page refreshes four views every 10 s (node map and list, node detail, run table, log), each
30–80 ms of CPU on the demo's app database. Their answers depend on the nodes' heartbeats and runs (which change
every few seconds while nodes report) and on what people do on the page. So an answer is kept in the one result
cache (``core.cache``, namespace ``exchange``: shared by the workers when the cache is Redis) for the current
window of :data:`WINDOW_S` seconds, keyed by the view, its inputs, the user's role and the *action stamp* of the
app database: the newest command (issued, picked, finished) and the newest node-settings change. A re-run issued
or acknowledged, or map settings saved, therefore show at the next refresh on every worker; what nodes report
shows within :data:`WINDOW_S` seconds (the page says the time it was computed: 更新于 …).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select

from core import cache as core_cache
from core.config import Config
from dashboard.appdb import app_engine
from dashboard.exchange.models import ExchangeCommand, ExchangeNode

NS = "exchange"
WINDOW_S = float(os.environ.get("EXCHANGE_REFRESH_WINDOW_S", "5") or 0)
T = TypeVar("T")

_STAMP = select(
    select(func.max(ExchangeCommand.id)).scalar_subquery(),
    select(func.count(ExchangeCommand.id)).scalar_subquery(),
    select(func.max(func.coalesce(ExchangeCommand.finished_at, ExchangeCommand.picked_at,
                                  ExchangeCommand.requested_at))).scalar_subquery(),
    select(func.max(ExchangeCommand.picked_at)).scalar_subquery(),
    select(func.max(ExchangeNode.updated_at)).scalar_subquery(),
    select(func.count(ExchangeNode.id)).scalar_subquery())


def action_stamp(cfg: Config) -> str:
    """What people changed in the app database that the exchange views show (commands, node settings): one
    single-row read."""
    with app_engine(cfg.app_db_url).connect() as conn:
        row = conn.execute(_STAMP).first()
    return "|".join("" if v is None else str(v) for v in (row or ()))


def shared(cfg: Config, name: str, role: str | None, parts: tuple, build: Callable[[], T]) -> T:
    """``build()`` once per (view ``name``, ``parts``, ``role``, action stamp, window of :data:`WINDOW_S` s)."""
    if WINDOW_S <= 0:
        return build()
    window = int(time.time() // WINDOW_S)
    key = (name, cfg.app_db_url, role, action_stamp(cfg), window, parts)
    return core_cache.get_or_compute(NS, key, build, timeout=int(WINDOW_S * 2) + 1)
