"""A per-minute result cache for the exchange-side figures (quality page, cockpit banner): the figures change with
the clock, so a key carries the minute it was computed in and the scope it was computed for."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
CACHE_SECONDS = 120          # keys carry the minute: an entry is only read during its minute


def _cfg():
    from dashboard.app import get_config
    return get_config()


def _cache():
    """The app's result cache (``metrics.cache``: Flask-Caching, Redis when CACHE_URL is set, else per process);
    an app built without it gets a per-process SimpleCache of its own on first use."""
    from flask import current_app

    from metrics.cache import backend
    app_cache = backend()
    if app_cache is not None:
        return app_cache
    with _cache_lock:
        cache = current_app.extensions.get("exchange_quality_cache")
        if cache is None:
            from flask_caching import Cache
            cache = Cache(config={"CACHE_TYPE": "SimpleCache", "CACHE_KEY_PREFIX": "exq:"})
            cache.init_app(current_app)
            current_app.extensions["exchange_quality_cache"] = cache
    return cache


def cached(name: str, now: dt.datetime, codes: Iterable[str] | None, compute, *parts: Any,  # noqa: ANN001
           timeout: int = CACHE_SECONDS) -> Any:
    """``compute()`` once per minute of ``now``, scope and ``parts`` (per process, or shared through Redis)."""
    scope_key = "all" if codes is None else ",".join(sorted(codes))
    key = "exq:" + hashlib.sha1((f"{name}|{_cfg().app_db_url}|{now:%Y%m%d%H%M}|{scope_key}|"
                                 + "|".join(map(str, parts))).encode()).hexdigest()
    try:
        cache = _cache()
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 — a cache outage must not break the page
        cache, hit = None, None
    if hit is not None:
        return hit
    value = compute()
    if cache is not None:
        try:
            cache.set(key, value, timeout=timeout)
        except Exception:
            log.warning("quality cache write failed", exc_info=True)
    return value
