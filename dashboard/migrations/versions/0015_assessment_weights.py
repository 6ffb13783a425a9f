"""综合评价: the admin-edited weights of the composite assessment's indicator set.

Revision ID: 0015_assessment_weights
Revises: 0014_year_end_projection
Create Date: 2026-12-05
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0015_assessment_weights"
down_revision: Union[str, Sequence[str], None] = "0014_year_end_projection"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "assessment_weights",
        sa.Column("indicator_id", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("indicator_id"),
    )


def downgrade() -> None:
    op.drop_table("assessment_weights")
