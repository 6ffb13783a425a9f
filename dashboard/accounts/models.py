"""App-database models of accounts: users, scopes, server-side sessions and the three logs.

The logs are append-only from the app: an ORM flush that updates or deletes a log row is refused
(only ``purge_logs`` removes rows past retention, with a Core DELETE).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.roles import ROLES
from dashboard.appdb import Base

_ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"


class User(Base):
    """One account; exactly one role (三权分立: admin and auditor are never the same account)."""
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    institutions: Mapped[list[UserInstitution]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def inst_codes(self) -> list[str]:
        return sorted(ui.inst_code for ui in self.institutions)


class UserInstitution(Base):
    """A manager's data scope: the institutions they may see in detail."""
    __tablename__ = "user_institutions"
    __table_args__ = (UniqueConstraint("user_id", "inst_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    inst_code: Mapped[str] = mapped_column(String(32), nullable=False)
    user: Mapped[User] = relationship(back_populates="institutions")


class UserSession(Base):
    """Server-side session: the cookie carries only ``sid``; logout, idle and absolute lifetime end it here."""
    __tablename__ = "user_sessions"

    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)   # sha256 of the cookie's session id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)   # logout/idle/expired/disabled
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")


class DeviceSession(Base):
    """A long-lived, revocable session of a wall-screen PC (role ``screen``): it outlives the 12 h lifetime and
    stays alive while /screen refreshes; an administrator lists and revokes it (dashboard/accounts/devices.py)."""
    __tablename__ = "device_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(ForeignKey("user_sessions.sid_hash", ondelete="CASCADE"), nullable=False,
                                          unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LoginLog(Base):
    """登录日志: who, institution, IP, time, result."""
    __tablename__ = "login_log"
    __table_args__ = (Index("ix_login_log_ts", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    inst_code: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    result: Mapped[str] = mapped_column(String(32), nullable=False)   # success/bad_password/locked/unknown_user/…
    user_agent: Mapped[str] = mapped_column(String(256), nullable=False, default="")


class ServiceLog(Base):
    """服务日志: one row per callback or API call (module, function, user, time, success, duration)."""
    __tablename__ = "service_log"
    __table_args__ = (Index("ix_service_log_ts", "ts"), Index("ix_service_log_module", "module"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    module: Mapped[str] = mapped_column(String(128), nullable=False)
    function: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    duration_ms: Mapped[float] = mapped_column(Float, nullable=False)


class AuditLog(Base):
    """变更审计日志: who did what to what, with the state before and after (JSON, masked)."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ts", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)


LOG_MODELS = (LoginLog, ServiceLog, AuditLog)


@event.listens_for(Session, "before_flush")
def _logs_are_append_only(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    """Refuse any ORM update or delete of a log row: the logs are append-only from the app."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LOG_MODELS) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError(f"{type(obj).__tablename__} is append-only")


class CockpitCard(Base):
    """My cockpit: the indicator cards an account chose for 驾驶舱, in order (no rows: the default set)."""
    __tablename__ = "cockpit_cards"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(64), nullable=False)
