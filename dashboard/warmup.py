"""Warm-up: after a load (and at start) the server renders the default views of each role and scope in the
background, so the first click after a load is served from the cache.

A daemon thread per worker process (:func:`start`) watches the mart's data version (``mart_meta.data_version``,
every :data:`POLL_SECONDS`); when it changes — a load, a delete, a demo build, or the first look at start — it
runs every registered warmer (``dashboard.views.output_cache.WARMERS``: the cockpit's cards, …) once for each
distinct (scope, card set) among the active accounts that see mart figures (leaders, the wall, managers), inside
a request context of the app logged in as one such account. The account is not logged in anywhere else: no
session is made, nothing is written but the cache. At most :data:`MAX_VIEWS` views per round.

When the workers share one cache (a file cache, ``core.cache``), a data version is warmed once per deployment: the
worker that takes the warm-up lock first warms it and marks it done in the cache; the others skip it (a click they
get meanwhile waits for the key the warming worker computes, through the cache's cross-process single flight).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from core.roles import LEADER, MANAGER, SCREEN

log = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("WARMUP_POLL_SECONDS", "5") or 5)
# The warm-up thread runs at a lowered OS priority (Linux: per thread), so the clicks of people come first. Only
# mildly (nice 5): the thread holds the interpreter lock while it renders, and a thread the kernel starves while
# holding it would stall its worker's request threads too.
NICE = min(19, max(0, int(os.environ.get("WARMUP_NICE", "5") or 0)))
MAX_VIEWS = 50
ROUNDS: list[dict[str, Any]] = []       # what each round did (version, views, seconds): tests and logs read it
_started: set[int] = set()
_lock = threading.Lock()


def _accounts(cfg: Any) -> list[Any]:
    """Active accounts of the roles that read the mart, leaders first (their views are the most shared)."""
    from sqlalchemy import select

    from dashboard.accounts.models import User
    from dashboard.appdb import session_factory
    order = {LEADER: 0, SCREEN: 1, MANAGER: 2}
    with session_factory(cfg.app_db_url)() as session:
        users = list(session.scalars(select(User).where(User.is_active.is_(True),
                                                        User.role.in_(tuple(order)))))
        for user in users:
            session.expunge(user)
    return sorted(users, key=lambda u: (order[u.role], u.id))


def warm_once(server: Any) -> int:
    """Run every warmer for each distinct view of the accounts; returns how many views were rendered."""
    from flask import g

    from dashboard.accounts.access import current_scope
    from dashboard.accounts.web import LoggedIn
    from dashboard.app import get_config
    from dashboard.views.my_cards import own_or_default
    from dashboard.views.output_cache import WARMERS, scope_key

    cfg = get_config(server)
    seen: set[tuple] = set()
    done = 0
    for user in _accounts(cfg):
        if done >= MAX_VIEWS:
            break
        with server.test_request_context("/"):
            g._login_user = LoggedIn("warmup", user)        # flask-login's user of this context only
            view = (scope_key(current_scope()), tuple(own_or_default([])))
            if view in seen:
                continue
            seen.add(view)
            for name, warm in WARMERS.items():
                try:
                    warm()
                except Exception:  # a view that fails to warm is computed on its first click
                    log.warning("预热失败 %s (%s)", name, user.role, exc_info=True)
            done += 1
    return done


@contextlib.contextmanager
def _turn(version: str) -> Iterator[bool]:
    """True when this process is to warm ``version``: always with a per-process cache; with a shared one only the
    process holding the warm-up lock that finds ``version`` not warmed yet (then it is marked warmed after the
    block)."""
    from core import cache as core_cache
    folder = core_cache.shared_lock_dir()
    if folder is None:
        yield True
        return
    import fcntl
    fd = os.open(folder / "warmup", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:         # another worker is warming (this version or a newer one)
            yield False
            return
        if core_cache.get("warmup", ("done", version)):
            yield False
            return
        yield True
        core_cache.set("warmup", ("done", version), os.getpid())      # who warmed it (tests read it)
    finally:
        os.close(fd)


def _loop(server: Any) -> None:
    from dashboard.app import get_config
    from queries.periods import data_version
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        pass
    last = None
    while id(server) in _started:
        try:
            with server.app_context():
                version = data_version(get_config(server).mart_url)
                if version and version != last:
                    last = version          # once per version, whatever happens below: never a warm-up loop
                    t0 = time.perf_counter()
                    with _turn(version) as mine:
                        views = warm_once(server) if mine else None
                    ROUNDS.append({"version": version, "views": views, "seconds": time.perf_counter() - t0,
                                   "pid": os.getpid()})
                    if views is None:
                        log.info("缓存预热：数据版本 %s 由另一个工作进程预热", version)
                    else:
                        log.info("缓存预热完成：数据版本 %s，%d 个视图，用时 %.1f 秒", version, views,
                                 time.perf_counter() - t0)
        except Exception:  # no mart yet, or it is being swapped: try again at the next poll
            log.debug("缓存预热暂不可用", exc_info=True)
        time.sleep(POLL_SECONDS)


def stop(server: Any) -> None:
    """End the warm-up thread of ``server`` after its current poll (tests)."""
    with _lock:
        _started.discard(id(server))


def start(server: Any) -> bool:
    """Start the warm-up thread of this process for ``server`` (once; off with ``WARMUP=0``)."""
    if os.environ.get("WARMUP", "1") == "0":
        return False
    with _lock:
        if id(server) in _started:
            return False
        _started.add(id(server))
    threading.Thread(target=_loop, args=(server,), daemon=True, name="cache-warmup").start()
    return True
