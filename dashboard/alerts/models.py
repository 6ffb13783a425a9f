"""App-database models of the early-warning centre: rules (data, admin-edited), alerts and their lifecycle
events, notification channels and the log of every send."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.appdb import Base

STATUSES = ("new", "acknowledged", "in_progress", "closed")
STATUS_ZH = {"new": "新", "acknowledged": "已确认", "in_progress": "处置中", "closed": "已关闭"}
RESOLUTION_ZH = {"manual": "人工关闭", "auto": "自动恢复"}


class AlertRule(Base):
    """One warning rule: kind, indicators (comma list, empty = all it can judge), levels, severity, parameters
    (JSON), channels notified (comma list of channel names)."""
    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    levels: Mapped[str] = mapped_column(String(128), nullable=False)
    indicator_ids: Mapped[str] = mapped_column(Text, nullable=False, default="")
    params: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    notify: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class Alert(Base):
    """One alert: at most one per rule × indicator × org × period; re-evaluation updates it."""
    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("rule_code", "indicator_id", "org_code", "period", name="uq_alert_key"),
                      Index("ix_alert_status_severity", "status", "severity"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    indicator_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    org_code: Mapped[str] = mapped_column(String(32), nullable=False)
    org_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    parent_code: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="new")
    resolution: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    value: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    handler: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class AlertEvent(Base):
    """One lifecycle step of an alert: who moved it from which status to which, with a note."""
    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class AlertChannel(Base):
    """Where alerts are sent: a 企业微信 or 钉钉 group robot (webhook URL) or e-mail addresses."""
    __tablename__ = "alert_channel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)         # wecom | dingtalk | email
    target: Mapped[str] = mapped_column(Text, nullable=False)             # URL, or comma-separated addresses
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class AlertNotification(Base):
    """Every send attempt of a notification (kept for the record)."""
    __tablename__ = "alert_notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


class YearEndProjection(Base):
    """The year-end projection (预计全年) of a set of indicators at one level/org/scope for one mart data version,
    computed once by whichever process claimed it and read by every worker (``dashboard.alerts.projections``).
    ``state`` is computing | done | failed; ``payload`` the projection rows as JSON. Rows whose key starts with
    ``forecast:`` hold a trend forecast of one data version (``dashboard.alerts.stored_forecasts``)."""
    __tablename__ = "year_end_projection"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_version: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False, default="")
    through: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
