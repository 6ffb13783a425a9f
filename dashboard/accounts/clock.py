"""The accounts' clock. Tests may replace ``now`` (freeze time); everything in accounts reads time through it."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable


def _utc_now() -> dt.datetime:
    # Naive UTC: SQLite stores naive datetimes, so every comparison stays naive.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


_now_fn: Callable[[], dt.datetime] = _utc_now


def now() -> dt.datetime:
    """Current time (naive UTC)."""
    return _now_fn()


def set_clock(fn: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (tests freeze time); None restores the real clock."""
    global _now_fn
    _now_fn = fn or _utc_now
