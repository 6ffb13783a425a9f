"""My cockpit: each account's chosen cockpit cards, in order.

Revision ID: 0013_cockpit_cards
Revises: 0012_run_ids_per_node
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013_cockpit_cards"
down_revision: Union[str, Sequence[str], None] = "0012_run_ids_per_node"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "cockpit_cards",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("cockpit_cards")
