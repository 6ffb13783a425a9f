"""Alembic migrations of the app database (users, logs, exchange nodes, runs, run logs, commands).

``dashboard.appdb.init_app_db`` applies them at start-up; no ``alembic.ini`` is needed (the alembic Config is
built in code by ``alembic_config``). Revision 0001 is the baseline: the schema ``create_all`` made before alembic,
written out explicitly so that later model changes do not change it. Databases made by ``create_all`` (no
``alembic_version`` table) are stamped 0001, then upgraded.

A schema change is a model change plus a new revision, generated against a database at head and then reviewed::

    python -m dashboard.migrations revision --autogenerate -m "what changes"   # APP_DB_URL or --url
    python -m dashboard.migrations upgrade head [--sql]                        # --sql prints the DDL (PostgreSQL)

then set ``HEAD`` below to the new revision id (a test checks that it is the script directory's head).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The newest revision. init_app_db compares the database's revision with it, so that a database already at head
# costs one small read and never loads the migration scripts.
HEAD = "0014_year_end_projection"

# The revision of the schema create_all made before alembic, and its tables (a database holding some of them but
# no alembic_version table was made by create_all).
BASELINE = "0001"
BASELINE_TABLES: frozenset[str] = frozenset({
    "users", "user_institutions", "user_sessions", "login_log", "service_log", "audit_log",
    "exchange_node", "exchange_job", "exchange_run", "exchange_run_log", "exchange_heartbeat",
    "exchange_presence_hour", "exchange_command",
})

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str, connection: Any = None) -> AlembicConfig:
    """The alembic Config of the app database at ``url``; with ``connection`` the migrations run on it (inside its
    transaction, which the caller commits) instead of on a connection of their own."""
    from alembic.config import Config as AlembicConfig
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))   # ConfigParser interpolates '%'
    cfg.attributes["connection"] = connection
    return cfg
