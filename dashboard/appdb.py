"""The app database: users, roles, scopes, logs, exchange nodes, job runs (SQLite default, PostgreSQL in production)."""
from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import column, create_engine, event, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_migrate_lock = threading.Lock()      # threads of one process; processes use the file / advisory lock below
_ALEMBIC_VERSION = table("alembic_version", column("version_num"))
_PG_MIGRATE_LOCK = zlib.crc32(b"ycty app-db migrations")   # pg_advisory_lock key


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
    """Bring the app database to the newest schema with alembic (revisions in ``dashboard/migrations``).

    A fresh database is upgraded to head; one made by ``create_all`` before alembic (baseline tables, no
    ``alembic_version``) is stamped at the baseline 0001, then upgraded; one at an older revision is upgraded.
    At head — every call after the first — it costs one read of ``alembic_version`` and loads no migration script.
    Concurrent callers (gunicorn workers, the demo simulator) take turns on a lock (a file lock beside a SQLite
    file, an advisory lock on PostgreSQL) and whoever waited finds the database at head.
    """
    import dashboard.models  # noqa: F401  (registers every model on Base.metadata: env.py compares against it)
    from dashboard.migrations import HEAD
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with app_engine(url).connect() as conn:
        if _revision(conn) == HEAD:
            return
    with migration_connection(url) as conn:
        _migrate(conn, url)


def _sqlite_file(url: str) -> Path | None:
    """The database file of a file-based SQLite URL, else None (in-memory SQLite, PostgreSQL)."""
    if not url.startswith("sqlite:///"):
        return None
    name = url[len("sqlite:///"):].split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def _revision(conn: Connection) -> str | None:
    """The database's alembic revision; None when it has no alembic_version table (fresh or made by create_all)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(select(_ALEMBIC_VERSION.c.version_num)).scalar()


def _migrate(conn: Connection, url: str) -> None:
    """Upgrade to head on ``conn`` (a ``migration_connection``), stamping a create_all database first."""
    from alembic import command

    from dashboard.migrations import BASELINE, BASELINE_TABLES, HEAD, alembic_config
    current = _revision(conn)          # again: another process may have migrated while we waited for the lock
    if current == HEAD:
        return
    cfg = alembic_config(url, connection=conn)
    if current is None and BASELINE_TABLES <= set(inspect(conn).get_table_names()):
        # made by create_all before alembic: its schema is the baseline. (With only some baseline tables, e.g.
        # made by older code, the upgrade's 0001 creates just the missing ones.)
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, "head")


@contextmanager
def migration_connection(url: str) -> Iterator[Connection]:
    """A connection to the app database that alone may migrate it; what runs in the block is one transaction,
    committed when the block ends without error (``init_app_db`` and ``python -m dashboard.migrations`` use it).

    SQLite: an exclusive file lock beside the database file (it waits as long as a migration takes, unlike SQLite's
    busy timeout); foreign keys are off meanwhile, because a batch-mode table rebuild drops and re-creates a table,
    which with foreign keys on would cascade-delete the rows of its children, and checked before the commit;
    BEGIN makes the DDL transactional too (Python's sqlite3 would otherwise run each DDL statement on its own).
    PostgreSQL: a session advisory lock.
    """
    engine = app_engine(url)
    with _migrate_lock, _file_lock(_sqlite_file(url)), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")     # only outside a transaction does this take effect
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"app-database migration broke foreign keys: {problems[:5]}")
                conn.commit()
            finally:
                conn.rollback()                                 # no-op after the commit
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # the connection goes back to the pool
                conn.commit()
        elif engine.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_lock(_PG_MIGRATE_LOCK)))
            conn.commit()                                       # a session lock: it outlives this transaction
            try:
                yield conn
                conn.commit()
            finally:
                conn.rollback()
                conn.execute(select(func.pg_advisory_unlock(_PG_MIGRATE_LOCK)))
                conn.commit()
        else:
            yield conn
            conn.commit()


@contextmanager
def _file_lock(db_file: Path | None) -> Iterator[None]:
    """Exclusive lock on ``<db_file>.migrate.lock`` (no-op without a file)."""
    if db_file is None:
        yield
        return
    from core.filelock import file_lock
    with file_lock(db_file.with_name(db_file.name + ".migrate.lock")):
        yield


def dispose_app_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
