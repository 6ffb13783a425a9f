"""Measure sources outside the mart, registered by the layer that owns their data.

The engine reads the mart through ``queries.measures``; a few catalogued indicators count things kept in the
application database (the exchange figures: scheduled and timely upload slots, finished and successful jobs,
extracted and rejected rows, expected and online node hours). ``metrics`` may not import the web package that
owns that database, so the web package registers a *reader* here when it starts (``dashboard.exchange.measures
.install``, called by ``create_app`` and by the CLI) and the engine asks for it by name.

A reader takes ``(first_day, last_day, inst_codes | None)`` and returns one row per institution and day with
columns ``inst_code``, ``day`` (datetime.date) and one integer column per stored measure it serves (the
``column`` of the catalogue's measures of ``table`` = the source name).
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence

import pandas as pd

Reader = Callable[[dt.date, dt.date, Sequence[str] | None], pd.DataFrame]

_readers: dict[str, Reader] = {}
_lock = threading.Lock()


def register(name: str, reader: Reader) -> None:
    """Install (or replace) the reader of source ``name``."""
    with _lock:
        _readers[name] = reader


def unregister(name: str) -> None:
    """Remove the reader of ``name`` (tests)."""
    with _lock:
        _readers.pop(name, None)


def reader(name: str) -> Reader | None:
    """The installed reader of ``name``, or None."""
    with _lock:
        return _readers.get(name)
