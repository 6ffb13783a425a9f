"""The one result cache of the application: engine results, forecasts, map data, per-minute exchange figures and
whole callback outputs all live here, each under its own namespace.

The backend is Flask-Caching: a per-process ``SimpleCache``, or ``RedisCache`` shared by every worker and server
when ``CACHE_URL`` is ``redis://…``. The app factory calls :func:`init_app`; code running inside that app (callbacks,
routes, the warm-up thread it starts) uses the app's cache, code outside an app (CLI, tests) uses the backend given
to :func:`install`, or none (then every call computes).

Keys are ``namespace:sha1(repr(parts))``. Whoever caches a value read from the mart puts the *data version of what
it read* into its parts (``queries.periods.table_versions``: only the tables and months it depends on), so a load
invalidates exactly the entries it changed, without any flush. A cache outage never breaks a page: reads that fail
are misses and writes that fail are dropped.

:data:`STATS` counts hits and misses per namespace in this process (tests and ``bench/`` read it).
"""
from __future__ import annotations

import functools
import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

DEFAULT_TIMEOUT_S = 3600
KEY_PREFIX = "ycty:"
_EXTENSION = "result_cache"


class Backend(Protocol):
    """What is needed of a cache: Flask-Caching's ``Cache`` and cachelib's caches both fit."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


_installed: Backend | None = None
_stats_lock = threading.Lock()
STATS: Counter[str] = Counter()          # "<ns>:hit" / "<ns>:miss" in this process
_versioner: Callable[[Iterable[str] | None], str] | None = None


def install(backend: Backend | None) -> None:
    """Use ``backend`` outside an app from now on (None turns caching off there)."""
    global _installed
    _installed = backend


def init_app(server: Any, cache_url: str = "") -> Any:
    """Create the Flask-Caching cache of the Flask ``server`` (Redis when ``cache_url`` is redis://…)."""
    from flask_caching import Cache

    config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": DEFAULT_TIMEOUT_S, "CACHE_KEY_PREFIX": KEY_PREFIX}
    if cache_url.startswith(("redis://", "rediss://", "unix://")):
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=cache_url)
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=5000)
    cache = Cache(server, config=config)
    server.extensions[_EXTENSION] = cache
    return cache


def backend() -> Backend | None:
    """The cache of the current Flask app when called inside one that has it, else the installed one (or None)."""
    try:
        from flask import current_app, has_app_context
        if has_app_context():
            app_cache = current_app.extensions.get(_EXTENSION)
            if app_cache is not None:
                return app_cache
    except ImportError:     # Flask is a dependency of the web app only
        pass
    return _installed


def make_key(ns: str, *parts: Any) -> str:
    """``ns:`` + a short stable digest of ``parts`` (their repr: pass tuples, strings, numbers; sort sets first)."""
    return f"{ns}:" + hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def _count(ns: str, what: str) -> None:
    with _stats_lock:
        STATS[f"{ns}:{what}"] += 1


def get(ns: str, key: Any) -> Any:
    """The value cached under ``key`` in namespace ``ns`` (``key``: a string or a tuple of parts), else None."""
    cache = backend()
    if cache is None:
        return None
    try:
        hit = cache.get(key if isinstance(key, str) and key.startswith(f"{ns}:") else make_key(ns, key))
    except Exception:  # noqa: BLE001 — an outage is a miss
        hit = None
    _count(ns, "miss" if hit is None else "hit")
    return hit


def set(ns: str, key: Any, value: Any, timeout: int | None = None) -> None:
    """Store ``value`` (not None) under ``key`` in ``ns`` (best effort)."""
    cache = backend()
    if cache is None or value is None:
        return
    try:
        cache.set(key if isinstance(key, str) and key.startswith(f"{ns}:") else make_key(ns, key), value,
                  timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout)
    except Exception:  # noqa: BLE001 — best effort
        pass


_inflight: dict[str, threading.Event] = {}
_inflight_lock = threading.Lock()
WAIT_FOR_OTHER_S = 60.0


def get_or_compute(ns: str, key: Any, compute: Callable[[], Any], timeout: int | None = None) -> Any:
    """The cached value of ``key`` in ``ns``, else ``compute()`` stored there.

    Single flight per process: while one thread computes a key, the other threads asking for it wait for that
    result instead of computing it too (after a load or a start, 20 users opening the cockpit cost one
    computation, not 20 fighting over the interpreter lock). A waiter that waits too long computes itself.
    """
    hit = get(ns, key)
    if hit is not None or backend() is None:
        return hit if hit is not None else compute()
    full = key if isinstance(key, str) and key.startswith(f"{ns}:") else make_key(ns, key)
    with _inflight_lock:
        running = _inflight.get(full)
        if running is None:
            _inflight[full] = mine = threading.Event()
    if running is not None:
        running.wait(WAIT_FOR_OTHER_S)
        hit = get(ns, full)
        if hit is not None:
            return hit
        return compute()
    try:
        value = compute()
        set(ns, full, value, timeout)
        return value
    finally:
        with _inflight_lock:
            _inflight.pop(full, None)
        mine.set()


def set_versioner(fn: Callable[[Iterable[str] | None], str] | None) -> None:
    """Install the function giving the data version of tables (``queries.periods`` installs one reading the
    mart's ``mart_version``); :func:`memoize` puts its answer into every key."""
    global _versioner
    _versioner = fn


def data_version(tables: Iterable[str] | None = None) -> str:
    """The data version of ``tables`` (None: the whole mart) from the installed versioner ('' without one)."""
    if _versioner is None:
        return ""
    return _versioner(tables)


def memoize(ns: str, tables: Iterable[str] | None = None, timeout: int | None = None) -> Callable:
    """Decorator: cache a function's results in ``ns`` per arguments and the data version of ``tables`` (None:
    any change of the mart invalidates; pass ``()`` for results that read no mart table)."""
    wanted = None if tables is None else tuple(sorted(tables))

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            version = data_version(wanted) if wanted != () else ""
            key = (fn.__module__, fn.__qualname__, version, args, tuple(sorted(kwargs.items())))
            return get_or_compute(ns, key, lambda: fn(*args, **kwargs), timeout)
        return inner
    return wrap
