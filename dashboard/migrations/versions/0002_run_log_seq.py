"""exchange_run_log.seq: the node's line number within a run, unique per run, so a retried POST stores nothing twice.

Nullable (lines of nodes that send no seq, and every line stored before, keep NULL; NULLs never collide in a
unique index on SQLite or PostgreSQL). On SQLite both steps are plain ALTER TABLE / CREATE INDEX (batch mode
rebuilds the table only for the downgrade's DROP COLUMN).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_run_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.create_index("ux_exchange_run_log_run_seq", ["run_pk", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("exchange_run_log", schema=None) as batch_op:
        batch_op.drop_index("ux_exchange_run_log_run_seq")
        batch_op.drop_column("seq")
