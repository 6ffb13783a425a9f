"""Report centre: generated_report (monthly report files and their generation state) and custom_report_template
(saved 自定义报表 selections per user).

Revision ID: 0010_reports
Revises: 0004
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010_reports"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "generated_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=True),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.Column("fmt", sa.String(length=8), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_generated_report_month_org", "generated_report", ["month", "org_code"])
    op.create_index("ix_generated_report_created", "generated_report", ["created_at"])
    op.create_table(
        "custom_report_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "name", name="uq_custom_report_template_owner_name"),
    )


def downgrade() -> None:
    op.drop_table("custom_report_template")
    op.drop_index("ix_generated_report_created", table_name="generated_report")
    op.drop_index("ix_generated_report_month_org", table_name="generated_report")
    op.drop_table("generated_report")
