"""Read-only access to the mart for the web process (every worker opens it read-only)."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

_engines: dict[str, Engine] = {}
_identities: dict[str, tuple[int, int] | None] = {}     # the file each DuckDB engine opened
_lock = threading.Lock()

QUERY_TIMEOUT_S = 30     # every mart query; a callback then shows an error card instead of hanging a worker


def _duckdb_time_limit(engine: Engine) -> None:
    """Interrupt a DuckDB query still running QUERY_TIMEOUT_S after its connection left the pool.

    DuckDB has no statement_timeout: a timer per checkout calls ``interrupt()`` on the connection (the query then
    fails with an interrupt error) and is cancelled when the connection returns. Both the SQLAlchemy path and the
    native fetch of ``queries.measures`` run inside one checkout, so both are covered.
    """
    @event.listens_for(engine, "checkout")
    def _arm(dbapi_conn, record, _proxy):  # noqa: ANN001
        raw = getattr(dbapi_conn, "_ConnectionWrapper__c", dbapi_conn)
        timer = threading.Timer(QUERY_TIMEOUT_S, raw.interrupt)
        timer.daemon = True
        timer.start()
        record.info["time_limit"] = timer

    @event.listens_for(engine, "checkin")
    def _disarm(_dbapi_conn, record):  # noqa: ANN001
        timer = record.info.pop("time_limit", None)
        if timer is not None:
            timer.cancel()


def _file_identity(mart_url: str) -> tuple[int, int] | None:
    """(device, inode) of a DuckDB mart file; None for a server database or a missing file."""
    if not mart_url.startswith("duckdb:"):
        return None
    from core.config import duckdb_path
    path = duckdb_path(mart_url)
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st is not None else None


def mart_engine(mart_url: str) -> Engine:
    """One SQLAlchemy engine per mart URL per process; DuckDB is opened read-only.

    A loader or demo build replaces the DuckDB file atomically while the dashboard reads it (``mart.db``); every
    call compares the file's identity (one stat) and reopens when it changed, so the pages move to the new data
    at their next query. The old engine is closed only once none of its connections is in use: DuckDB keeps one
    database instance per path while any connection to it lives, and a new connection made meanwhile would
    silently join the old file's instance. Until then queries keep reading the old snapshot.
    """
    identity = _file_identity(mart_url)
    with _lock:
        engine = _engines.get(mart_url)
        if engine is not None and _identities.get(mart_url) != identity and engine.pool.checkedout() == 0:
            engine.dispose()
            engine = None
            del _engines[mart_url]
        if engine is None:
            if mart_url.startswith("duckdb:"):
                engine = create_engine(mart_url, connect_args={"read_only": True, "config": {"threads": 2}},
                                       pool_pre_ping=False)
                _duckdb_time_limit(engine)
            else:
                # every query carries the time limit; options already in the URL (search_path …) are kept
                from sqlalchemy.engine import make_url
                url = make_url(mart_url)
                if url.drivername in ("postgresql", "postgres"):
                    # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is what requirements.txt installs
                    url = url.set(drivername="postgresql+psycopg2")
                options = url.query.get("options") or ""
                options = " ".join(([options] if isinstance(options, str) else list(options))
                                   + [f"-c statement_timeout={QUERY_TIMEOUT_S * 1000}",
                                      # the mart's reads are short scans of rollups: compiling them (JIT, on by
                                      # default since PostgreSQL 12) costs more than it saves
                                      "-c jit=off",
                                      # the widest reads hash tens of thousands of groups: in memory, not spilled
                                      "-c work_mem=64MB"]).strip()
                engine = create_engine(url, pool_pre_ping=True, connect_args={"options": options})
            _engines[mart_url] = engine
            _identities[mart_url] = identity
        return engine


def dispose_engines() -> None:
    """Close every cached engine (after a load, or in tests before the file is rewritten)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _identities.clear()


def read_df(mart_url: str, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run one parameterised SELECT and return a DataFrame."""
    with mart_engine(mart_url).connect() as conn:
        result = conn.execute(text(sql), dict(params or {}))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@contextmanager
def duckdb_read_cursor(mart_url: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A plain DuckDB connection on the process' read-only mart instance (for bulk reads such as COPY TO).

    It comes from ``mart_engine``'s pool because DuckDB refuses a second connection to the same file with a
    different configuration in one process; ``cursor()`` of the wrapped connection is a new connection on the
    same database instance, closed here, and the pooled connection goes back to the pool.
    """
    raw = mart_engine(mart_url).raw_connection()
    try:
        # duckdb_engine wraps the DuckDB connection in its own class
        base = getattr(raw.driver_connection, "_ConnectionWrapper__c", raw.driver_connection)
        con = base.cursor()
        try:
            yield con
        finally:
            con.close()
    finally:
        raw.close()
