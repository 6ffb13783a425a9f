"""Backlog counts as 64-bit integers: exchange_node.last_backlog and exchange_heartbeat.backlog.

The node API accepts a backlog up to 10¹¹ rows (as it does for row counts of runs, already BIGINT); a 32-bit
column made PostgreSQL refuse such a heartbeat with a server error. SQLite stores any integer in INTEGER, so the
batch operation there only records the declared type (the table is rebuilt; rows are kept).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COLUMNS = (("exchange_node", "last_backlog"), ("exchange_heartbeat", "backlog"))


def upgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(),
                                  existing_nullable=True)


def downgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(),
                                  existing_nullable=True)
