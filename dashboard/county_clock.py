"""One clock for the exchange API and the operator pages: county wall time in ``MART_TIMEZONE``.

The mart stores the county's local wall time (``MART_TIMEZONE``, default Asia/Shanghai); so does everything the
exchange API receives, stores and shows, whatever the server's operating-system time zone (a UTC host answers
``10:00`` for a documented ``10:00+08:00``). A naive time from a node is read as county time; a time with an
offset is converted to county time; stored times are naive county time.
"""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def county_zone() -> ZoneInfo:
    """The county's time zone (env ``MART_TIMEZONE``, default Asia/Shanghai)."""
    return _zone(os.environ.get("MART_TIMEZONE", "").strip() or "Asia/Shanghai")


def county_now() -> dt.datetime:
    """The county's wall time now, naive, to the second."""
    return dt.datetime.now(county_zone()).replace(tzinfo=None, microsecond=0)


def to_county(value: dt.datetime) -> dt.datetime:
    """A time as naive county wall time: a time with an offset is converted, a naive time is taken as county
    time already."""
    if value.tzinfo is not None:
        return value.astimezone(county_zone()).replace(tzinfo=None)
    return value


def from_utc(value: dt.datetime) -> dt.datetime:
    """A naive UTC time (how the app DB stores logins, sessions and log rows) as naive county wall time, so that
    the admin and audit pages show the same clock as every other page."""
    return value.replace(tzinfo=dt.UTC).astimezone(county_zone()).replace(tzinfo=None)
