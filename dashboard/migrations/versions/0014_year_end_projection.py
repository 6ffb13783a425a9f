"""Year-end projections (预计全年) shared by every worker: one row per indicator set × level × org × scope × mart
data version, computed once by whoever claims it.

Revision ID: 0014_year_end_projection
Revises: 0013_cockpit_cards
Create Date: 2026-12-05
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0014_year_end_projection"
down_revision: Union[str, Sequence[str], None] = "0013_cockpit_cards"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "year_end_projection",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("through", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_year_end_projection_data_version", "year_end_projection", ["data_version"])


def downgrade() -> None:
    op.drop_index("ix_year_end_projection_data_version", table_name="year_end_projection")
    op.drop_table("year_end_projection")
