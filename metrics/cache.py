"""Per-process (or Redis-shared) cache of :func:`metrics.engine.compute` results.

Off unless installed: the app factory calls :func:`init_app_cache` (Flask-Caching, ``CACHE_URL`` redis://… when
set, else a per-process SimpleCache), which serves calls made inside that app (callbacks, API routes); direct
calls outside an app context (CLI, tests) compute every time unless :func:`install` is given a cache. Keys hold every argument that changes a result plus the mart's ``data_version``, which every load
bumps, so a load invalidates every cached result without any explicit flush.
"""
from __future__ import annotations

import hashlib
from typing import Any, Protocol

import pandas as pd

DEFAULT_TIMEOUT_S = 3600


class CacheBackend(Protocol):
    """What the engine needs of a cache: Flask-Caching's ``Cache`` and cachelib's caches both fit."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


_backend: CacheBackend | None = None


def install(backend: CacheBackend | None) -> None:
    """Use ``backend`` for engine results from now on (None turns caching off)."""
    global _backend
    _backend = backend


_EXTENSION = "engine_result_cache"


def backend() -> CacheBackend | None:
    """The cache of the current Flask app when called inside one that has it, else the installed one (or None)."""
    try:
        from flask import current_app, has_app_context
        if has_app_context():
            app_cache = current_app.extensions.get(_EXTENSION)
            if app_cache is not None:
                return app_cache
    except ImportError:     # Flask is a dependency of the app only
        pass
    return _backend


def init_app_cache(server: Any, cache_url: str = "") -> Any:
    """Create the Flask-Caching cache of the Flask ``server``; engine calls inside that app use it."""
    from flask_caching import Cache

    config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": DEFAULT_TIMEOUT_S, "CACHE_KEY_PREFIX": "ycty:"}
    if cache_url.startswith(("redis://", "rediss://", "unix://")):
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=cache_url)
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=2000)
    cache = Cache(server, config=config)
    server.extensions[_EXTENSION] = cache
    return cache


def make_key(*parts: Any) -> str:
    """A short stable key of the arguments (their repr: tuples, strings, numbers, frozensets sorted by caller)."""
    return "engine:" + hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def get(key: str) -> pd.DataFrame | None:
    """A copy of the cached result (callers may change what they get), or None."""
    cache = backend()
    if cache is None:
        return None
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 — a cache outage must never break a page: compute instead
        return None
    if hit is None:
        return None
    frame, refused = hit
    out = frame.copy()
    out.attrs["refused"] = dict(refused)
    return out


def put(key: str, result: pd.DataFrame) -> None:
    """Store a copy of ``result`` (and its refusals) under ``key``."""
    cache = backend()
    if cache is None:
        return
    try:
        cache.set(key, (result.copy(), dict(result.attrs.get("refused", {}))), timeout=DEFAULT_TIMEOUT_S)
    except Exception:  # noqa: BLE001 — best effort, see get()
        pass
