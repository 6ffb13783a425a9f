"""Exchange run ids namespaced per node: ``exchange_run`` is unique on (node_id, run_id) instead of run_id.

Two nodes may now both report run "R1" and each gets its own run. What refers to a run already carries the node:
run logs point at the run's primary key (``run_pk``), a command has ``node_id`` next to ``run_id`` and
``result_run_id`` (a run of the same node), a run's ``rerun_of`` names a run of its own node. The command index
on run_id becomes one on (node_id, run_id), the way commands are now looked up.

The old unique constraint was unnamed in the baseline (PostgreSQL calls it ``exchange_run_run_id_key``; SQLite
keeps no name): its name is read from the database on PostgreSQL; on SQLite batch mode rebuilds the table from a copy of its
definition (rows and their ids, the indexes, and the foreign keys of ``exchange_run_log`` stay).

Downgrade: run ids used by more than one node cannot all keep their id under a platform-wide unique constraint;
every such run but the oldest one is renamed ``<run_id (≤ 54 chars)>~<node_id>`` together with the commands and
``rerun_of`` values of its node that name it, so nothing is lost and the old constraint can come back.

Revision ID: 0012_run_ids_per_node
Revises: 0011_device_sessions
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012_run_ids_per_node"
down_revision: Union[str, Sequence[str], None] = "0011_device_sessions"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OLD_UQ_DEFAULT = "exchange_run_run_id_key"     # PostgreSQL's name of the baseline's unnamed UNIQUE (run_id)
_NEW_UQ = "uq_exchange_run_node_run"
_INDEXES = (("ix_exchange_run_node_job_status_start", ("node_id", "job_code", "status", "started_at")),
            ("ix_exchange_run_start", ("started_at",)), ("ix_exchange_run_status_start", ("status", "started_at")))


def _run_table(per_node: bool) -> sa.Table:
    """exchange_run as the baseline made it (``per_node`` False: UNIQUE (run_id), unnamed) or as it is from
    this revision on (UNIQUE (node_id, run_id)): SQLite's batch mode copies it instead of reflecting the table,
    whose unnamed constraint it could not drop by name."""
    md = sa.MetaData()
    unique = (sa.UniqueConstraint("node_id", "run_id", name=_NEW_UQ) if per_node else sa.UniqueConstraint("run_id"))
    sa.Table("exchange_node", md, sa.Column("id", sa.Integer(), primary_key=True))
    table = sa.Table(
        "exchange_run", md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("job_code", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_extracted", sa.BigInteger(), nullable=True),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=True),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rerun_of", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        unique,
        sa.ForeignKeyConstraint(["node_id"], ["exchange_node.id"], ondelete="CASCADE"),
    )
    for name, columns in _INDEXES:
        sa.Index(name, *(table.c[c] for c in columns))
    return table


def _unique_name(columns: list[str]) -> str | None:
    """Name of the UNIQUE constraint of exchange_run on exactly ``columns`` (PostgreSQL), None when there is none."""
    for uq in sa.inspect(op.get_bind()).get_unique_constraints("exchange_run"):
        if list(uq["column_names"]) == columns:
            return uq["name"]
    return None


def _replace_command_index(old: str, new: str, columns: list[str]) -> None:
    """Drop index ``old`` of exchange_command (when there) and create ``new`` on ``columns`` (when missing)."""
    have = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("exchange_command")}
    if old in have:
        op.drop_index(old, table_name="exchange_command")
    if new not in have:
        op.create_index(new, "exchange_command", columns, unique=False)


def _set_run_unique(per_node: bool) -> None:
    """Make exchange_run unique on (node_id, run_id) (``per_node``) or on run_id."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("exchange_run", copy_from=_run_table(per_node), recreate="always"):
            pass
        return
    old, new = (["run_id"], ["node_id", "run_id"]) if per_node else (["node_id", "run_id"], ["run_id"])
    old_name = _unique_name(old)
    if old_name is not None:
        op.drop_constraint(old_name, "exchange_run", type_="unique")
    if _unique_name(new) is None:
        op.create_unique_constraint(_NEW_UQ if per_node else _OLD_UQ_DEFAULT, "exchange_run", new)


def upgrade() -> None:
    _set_run_unique(per_node=True)
    _replace_command_index("ix_exchange_command_run", "ix_exchange_command_node_run", ["node_id", "run_id"])


# A run that shares its run_id with an older run (smaller id) of another node: renamed on downgrade.
_LATER_DUPLICATE = ("r.id <> (SELECT MIN(o.id) FROM exchange_run o WHERE o.run_id = r.run_id)")
_NEW_ID = "SUBSTR(r.run_id, 1, 54) || '~' || CAST(r.node_id AS VARCHAR(10))"


def _rename_shared_run_ids() -> None:
    """Give every later run of a run id used by several nodes a platform-unique id (see module docstring)."""
    bind = op.get_bind()
    renames = bind.execute(sa.text(
        f"SELECT r.id, r.node_id, r.run_id, {_NEW_ID} AS new_id FROM exchange_run r WHERE {_LATER_DUPLICATE}"
    )).all()
    for _pk, node_id, old_id, new_id in renames:
        params = {"node": node_id, "old": old_id, "new": new_id}
        bind.execute(sa.text("UPDATE exchange_command SET run_id = :new WHERE node_id = :node AND run_id = :old"),
                     params)
        bind.execute(sa.text("UPDATE exchange_command SET result_run_id = :new "
                             "WHERE node_id = :node AND result_run_id = :old"), params)
        bind.execute(sa.text("UPDATE exchange_run SET rerun_of = :new WHERE node_id = :node AND rerun_of = :old"),
                     params)
    for pk, _node_id, _old_id, new_id in renames:
        bind.execute(sa.text("UPDATE exchange_run SET run_id = :new WHERE id = :pk"), {"new": new_id, "pk": pk})


def downgrade() -> None:
    _rename_shared_run_ids()
    _replace_command_index("ix_exchange_command_node_run", "ix_exchange_command_run", ["run_id"])
    _set_run_unique(per_node=False)
