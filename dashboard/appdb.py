"""The app database: users, roles, scopes, logs, exchange nodes, job runs (SQLite default, PostgreSQL in production)."""
from __future__ import annotations

import threading

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class Base(DeclarativeBase):
    """Declarative base of every app-database model."""


def app_engine(url: str) -> Engine:
    """One engine per URL per process. SQLite runs in WAL mode with a busy timeout so several workers share it."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

                @event.listens_for(engine, "connect")
                def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA busy_timeout=30000")
                    cur.execute("PRAGMA foreign_keys=ON")
                    cur.close()
            else:
                from sqlalchemy.engine import make_url
                target = make_url(url)
                if target.drivername in ("postgresql", "postgres"):
                    # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is what requirements.txt installs
                    target = target.set(drivername="postgresql+psycopg2")
                engine = create_engine(target, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=app_engine(url), expire_on_commit=False)


def init_app_db(url: str) -> None:
    """Create every app-database table that does not exist yet (models must be imported first)."""
    import dashboard.models  # noqa: F401  (registers every model on Base.metadata)
    if url.startswith("sqlite:///"):
        from pathlib import Path
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    Base.metadata.create_all(app_engine(url))


def dispose_app_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
