"""The one result cache of the application: engine results, forecasts, map data, per-minute exchange figures and
whole callback outputs all live here, each under its own namespace.

The backend is Flask-Caching: a per-process ``SimpleCache``, ``RedisCache`` shared by every worker and server
when ``CACHE_URL`` is ``redis://…``, or ``FileSystemCache`` in a folder shared by the workers of one machine when it
is ``file:///folder`` (``serve --workers N`` with N > 1 and no ``CACHE_URL`` uses ``DATA_DIR/cache``: every view is
then computed once per deployment, not once per worker). The app factory calls :func:`init_app`; code running
inside that app (callbacks, routes, the warm-up thread it starts) uses the app's cache, code outside an app (CLI,
tests) uses the backend given to :func:`install`, or none (then every call computes).

Keys are ``namespace:sha1(repr(parts))``. Whoever caches a value read from the mart puts the *data version of what
it read* into its parts (``queries.periods.table_versions``: only the tables and months it depends on), so a load
invalidates exactly the entries it changed, without any flush. A cache outage never breaks a page: reads that fail
are misses and writes that fail are dropped.

Single flight: a key being computed by one thread is waited for by the other threads of the process and — with a
file cache — by the other processes too (an ``fcntl`` lock per key in the folder :func:`lock_dir` beside it).

:data:`STATS` counts hits and misses per namespace in this process (tests and ``bench/`` read it).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

try:
    import fcntl
except ImportError:         # not POSIX: single flight per process only
    fcntl = None  # type: ignore[assignment]

DEFAULT_TIMEOUT_S = 3600
KEY_PREFIX = "ycty:"
_EXTENSION = "result_cache"
_LOCKS_EXTENSION = "result_cache_locks"
FILE_PREFIX = "file://"
FILE_THRESHOLD = 5000
log = logging.getLogger(__name__)


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


def file_cache_dir(cache_url: str) -> Path | None:
    """The folder of a ``file:///folder`` cache URL, else None."""
    if not cache_url.startswith(FILE_PREFIX):
        return None
    return Path(cache_url[len(FILE_PREFIX):])


def lock_dir(folder: Path) -> Path:
    """The folder of the cross-process locks of the file cache in ``folder``: beside it, not in it (cachelib counts
    and prunes every name in its folder as an entry)."""
    return folder.with_name(folder.name + "-locks")


def clear_file_cache(folder: Path) -> None:
    """Remove the entries of a file cache and its key locks (``serve`` does at start, before any worker runs:
    entries of older code must not be served, since the keys carry data versions, not the code's; and a lock file
    is left per key ever computed, so they would pile up over the versions)."""
    for where in (folder, lock_dir(folder)):
        try:
            names = list(where.iterdir())
        except OSError:
            continue
        for path in names:
            if path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()


class UnsafeCacheFolder(RuntimeError):
    """A file-cache folder another account could write into (its entries are pickles: reading one runs code)."""


def check_private(folder: Path) -> None:
    """Refuse ``folder`` (a resolved path) when another account could put files into it: it must be this account's,
    and no folder above it may be writable by every account without the sticky bit (in such a folder anyone may
    move ours away and put theirs in its place; ``/tmp`` has the bit). The entries of a file cache are pickles, and
    loading one runs whatever its writer put in it."""
    owner = folder.stat().st_uid
    if owner != os.geteuid():
        raise UnsafeCacheFolder(f"结果缓存目录 {folder} 属于另一个账户（uid {owner}），不能使用：缓存条目读取时会被执行。"
                                f"请在 CACHE_URL 中指定本账户自己的目录。")
    for above in folder.parents:
        mode = above.stat().st_mode
        if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
            raise UnsafeCacheFolder(f"结果缓存目录 {folder} 的上级目录 {above} 所有账户都可写入，不能使用：别人可以把缓存目录"
                                    f"换成自己的。请在 CACHE_URL 中指定不在这类目录下的目录。")


def _private_folder(folder: Path) -> Path | None:
    """``folder`` and its lock folder made (this account's only) and resolved (a link swapped later cannot move the
    cache elsewhere); None, with the reason logged, when they cannot be made or are not safe (the caller then
    keeps a cache per process: slower after a start, never wrong)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder = folder.resolve()
        check_private(folder)
        lock_dir(folder).mkdir(exist_ok=True)
        check_private(lock_dir(folder))
        folder.chmod(0o700)             # entries are page outputs: this account's only, like the mart
        lock_dir(folder).chmod(0o700)
    except (OSError, UnsafeCacheFolder) as exc:
        log.error("结果缓存目录不可用，各工作进程改用自己的缓存：%s", exc)
        return None
    return folder


def init_app(server: Any, cache_url: str = "") -> Any:
    """Create the Flask-Caching cache of the Flask ``server`` (Redis when ``cache_url`` is redis://…, a folder
    shared by the processes of this machine when it is file:///folder, else per process)."""
    from flask_caching import Cache

    config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": DEFAULT_TIMEOUT_S, "CACHE_KEY_PREFIX": KEY_PREFIX}
    folder = file_cache_dir(cache_url)
    if cache_url.startswith(("redis://", "rediss://", "unix://")):
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=cache_url)
    elif folder is not None and (folder := _private_folder(folder)) is not None:
        config.update(CACHE_TYPE="core.file_cache.PrunedFileSystemCache", CACHE_DIR=str(folder),
                      CACHE_THRESHOLD=FILE_THRESHOLD)
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=5000)
    cache = Cache(server, config=config)
    server.extensions[_EXTENSION] = cache
    if folder is not None and fcntl is not None:
        server.extensions[_LOCKS_EXTENSION] = lock_dir(folder)
    else:
        server.extensions.pop(_LOCKS_EXTENSION, None)
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


def shared_lock_dir() -> Path | None:
    """The folder of the cross-process locks of the current app's cache when it is shared by the processes of this
    machine (a file cache), else None (per process, or Redis: no cross-process locks)."""
    return _lock_dir()


def _lock_dir() -> Path | None:
    """The folder of the cross-process key locks of the current app's cache (None: per process only)."""
    try:
        from flask import current_app, has_app_context
        if has_app_context():
            return current_app.extensions.get(_LOCKS_EXTENSION)
    except ImportError:
        pass
    return None


@contextlib.contextmanager
def _other_processes(full: str) -> Iterator[bool]:
    """Hold the cross-process lock of key ``full`` while the block computes it; yields True when another process
    held it first (it has probably stored the value meanwhile: look again before computing). Without a lock folder
    yields False at once; a lock held longer than :data:`WAIT_FOR_OTHER_S` is given up on (compute anyway)."""
    folder = _lock_dir()
    if folder is None:
        yield False
        return
    try:
        fd = os.open(folder / full.rsplit(":", 1)[-1], os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        yield False
        return
    try:
        waited, deadline = False, time.monotonic() + WAIT_FOR_OTHER_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        yield waited
    finally:
        os.close(fd)            # releases the lock


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

    Single flight: while one thread computes a key, the other threads asking for it wait for that result instead
    of computing it too (after a load or a start, 20 users opening the cockpit cost one computation, not 20
    fighting over the interpreter lock); with a file cache the other processes wait too. A waiter that waits too
    long computes itself.
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
        with _other_processes(full) as waited:
            if waited:
                hit = get(ns, full)
                if hit is not None:
                    return hit
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
