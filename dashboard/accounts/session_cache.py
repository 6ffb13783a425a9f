"""The per-request session check, made cheap: the user of a session kept in-process, re-validated by one row.

Every request (page, callback, asset behind the gate) asks who its session belongs to. The full check
(:func:`dashboard.accounts.service.session_user`: ORM session, transaction, the user and their scope) costs several
milliseconds of CPU, which at 20+ requests/s on two cores was a large share of a cached click. Here the user found
by a full check is remembered for :data:`SCOPE_SECONDS` per session, and each request re-validates it with one
single-row Core read of the session and its user (no ORM, no transaction):

- logout, session end by idle timeout or lifetime, revocation of a wall device, a disabled account, a new role and
  a password change or reset take effect **at the next request, on every worker and server** (the row read shows
  them: ``ended_at``, ``is_active``, ``role``, ``password_changed_at``, ``must_change_password``);
- a change of a manager's institutions (scope) takes effect within :data:`SCOPE_SECONDS` (the cached scope is read
  again after that; in this process at once, see :func:`forget_user`);
- the activity time is written by the full check, which runs whenever it is due (every ``TOUCH_EVERY``), so idle
  timeouts work as before. Wall-screen (device) sessions always take the full check.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from sqlalchemy import bindparam, select

from core.config import Config
from core.roles import SCREEN
from dashboard.accounts import clock, service
from dashboard.accounts.models import User, UserSession
from dashboard.appdb import app_engine

SCOPE_SECONDS = float(os.environ.get("SESSION_CACHE_SECONDS", "5") or 5)
_MAX_ENTRIES = 20000

_lock = threading.Lock()
# sid hash -> (monotonic time of the full check, user, (role, is_active, must_change, password_changed_at))
_entries: dict[str, tuple[float, Any, tuple]] = {}
STATS = {"hit": 0, "full": 0}


# the one row each request reads: what ends or changes a session, and its times
_STMT = (select(UserSession.ended_at, UserSession.last_seen, UserSession.created_at, User.role, User.is_active,
                User.must_change_password, User.password_changed_at)
         .join(User, User.id == UserSession.user_id).where(UserSession.sid_hash == bindparam("h")))


def _fingerprint(user: Any) -> tuple:
    return (user.role, bool(user.is_active), bool(user.must_change_password), user.password_changed_at)


def session_user(cfg: Config, sid: str, touch: bool = True) -> Any:
    """The user of a live session, or None: :func:`service.session_user` with the user kept briefly (see module)."""
    if not sid or SCOPE_SECONDS <= 0:
        return service.session_user(cfg, sid, touch)
    key = service._sid_hash(sid)
    mono = time.monotonic()
    with _lock:
        entry = _entries.get(key)
    if entry is not None and mono - entry[0] < SCOPE_SECONDS:
        with app_engine(cfg.app_db_url).connect() as conn:
            row = conn.execute(_STMT, {"h": key}).first()
        now = clock.now()
        if (row is not None and row.ended_at is None
                and (row.role, bool(row.is_active), bool(row.must_change_password), row.password_changed_at)
                == entry[2]
                and now - row.last_seen <= service.IDLE_TIMEOUT and now - row.created_at <= service.ABSOLUTE_LIFETIME
                and not (touch and now - row.last_seen >= service.TOUCH_EVERY)):
            STATS["hit"] += 1
            return entry[1]
    user = service.session_user(cfg, sid, touch)   # the full check: ends what must end, writes the activity
    STATS["full"] += 1
    with _lock:
        if user is None or user.role == SCREEN:
            _entries.pop(key, None)
        else:
            if len(_entries) >= _MAX_ENTRIES:
                _entries.clear()
            _entries[key] = (mono, user, _fingerprint(user))
    return user


def forget(sid: str) -> None:
    """Drop the kept user of session ``sid`` (logout in this process; other processes see the ended row)."""
    with _lock:
        _entries.pop(service._sid_hash(sid), None)


def forget_user(user_id: int) -> None:
    """Drop every kept session of ``user_id`` (a change of their account made in this process)."""
    with _lock:
        for key in [k for k, e in _entries.items() if e[1].id == user_id]:
            del _entries[key]


def clear() -> None:
    """Forget every kept session (tests)."""
    with _lock:
        _entries.clear()
