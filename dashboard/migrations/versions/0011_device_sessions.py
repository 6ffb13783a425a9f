"""Role ``screen`` (the command-centre wall) and its long-lived, revocable device sessions.

Replaces the role check of ``users`` (one more role) and adds ``device_sessions``: one row per wall-screen login,
linked to its server-side session; an administrator lists and revokes them.

Revision ID: 0011_device_sessions
Revises: 0010_reports
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0011_device_sessions"
down_revision: Union[str, Sequence[str], None] = "0010_reports"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OLD_ROLES = "role IN ('leader', 'manager', 'operator', 'admin', 'auditor')"
_NEW_ROLES = "role IN ('leader', 'manager', 'operator', 'admin', 'auditor', 'screen')"


def _set_role_check(check: str) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("ck_users_role", type_="check")
        batch_op.create_check_constraint("ck_users_role", check)


def upgrade() -> None:
    _set_role_check(_NEW_ROLES)
    op.create_table(
        "device_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["sid_hash"], ["user_sessions.sid_hash"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sid_hash"),
    )
    op.create_index("ix_device_sessions_user_id", "device_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_device_sessions_user_id", table_name="device_sessions")
    op.drop_table("device_sessions")
    op.execute("DELETE FROM users WHERE role = 'screen'")
    _set_role_check(_OLD_ROLES)
