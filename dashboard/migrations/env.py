"""Alembic environment of the app database: target metadata is every model on ``Base.metadata``.

Run by alembic's commands only (``init_app_db`` or ``python -m dashboard.migrations``). Batch mode is on so that
column changes work on SQLite (which rebuilds the table for what ALTER TABLE cannot do).
"""
from __future__ import annotations

from alembic import context

import dashboard.models  # noqa: F401  (registers every model on Base.metadata)
from dashboard.appdb import Base, migration_connection

config = context.config
target_metadata = Base.metadata
OPTIONS = {"target_metadata": target_metadata, "render_as_batch": True, "compare_type": True}


def _run_online(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run_online(given)          # the caller's connection and transaction (init_app_db holds its lock on it)
    else:
        # python -m dashboard.migrations: the same lock and SQLite safeguards as init_app_db
        with migration_connection(config.get_main_option("sqlalchemy.url")) as conn:
            _run_online(conn)
