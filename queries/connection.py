"""Read-only access to the mart for the web process (every worker opens it read-only)."""
from __future__ import annotations

import threading
from typing import Any, Mapping

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

_engines: dict[str, Engine] = {}
_lock = threading.Lock()

QUERY_TIMEOUT_S = 30


def mart_engine(mart_url: str) -> Engine:
    """One SQLAlchemy engine per mart URL per process; DuckDB is opened read-only."""
    with _lock:
        engine = _engines.get(mart_url)
        if engine is None:
            if mart_url.startswith("duckdb:"):
                engine = create_engine(mart_url, connect_args={"read_only": True, "config": {"threads": 2}},
                                       pool_pre_ping=False)
            else:
                # every query carries the time limit; options already in the URL (search_path …) are kept
                from sqlalchemy.engine import make_url
                url = make_url(mart_url)
                if url.drivername in ("postgresql", "postgres"):
                    # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is what requirements.txt installs
                    url = url.set(drivername="postgresql+psycopg2")
                options = url.query.get("options") or ""
                options = " ".join(([options] if isinstance(options, str) else list(options))
                                   + [f"-c statement_timeout={QUERY_TIMEOUT_S * 1000}"]).strip()
                engine = create_engine(url, pool_pre_ping=True, connect_args={"options": options})
            _engines[mart_url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (after a load, or in tests before the file is rewritten)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def read_df(mart_url: str, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run one parameterised SELECT and return a DataFrame."""
    with mart_engine(mart_url).connect() as conn:
        result = conn.execute(text(sql), dict(params or {}))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
