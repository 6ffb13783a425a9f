"""A per-minute result cache for the exchange-side figures (quality page, cockpit banner): the figures change with
the clock, so a key carries the minute it was computed in and the scope it was computed for. The entries live in
the app's one result cache (``core.cache``, namespace ``minute``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from core import cache as core_cache

CACHE_SECONDS = 120          # keys carry the minute: an entry is only read during its minute


def _cfg():
    from dashboard.app import get_config
    return get_config()


def cached(name: str, now: dt.datetime, codes: Iterable[str] | None, compute, *parts: Any,  # noqa: ANN001
           timeout: int = CACHE_SECONDS) -> Any:
    """``compute()`` once per minute of ``now``, scope and ``parts`` (per process, or shared through Redis)."""
    scope_key = "all" if codes is None else ",".join(sorted(codes))
    key = (name, _cfg().app_db_url, f"{now:%Y%m%d%H%M}", scope_key, *map(str, parts))
    return core_cache.get_or_compute("minute", key, compute, timeout)
