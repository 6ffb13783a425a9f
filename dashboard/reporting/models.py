"""App-database models of the report centre: generated reports and saved custom-report templates."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.appdb import Base

REPORT_STATES = ("running", "done", "failed")
REPORT_STATE_ZH = {"running": "生成中", "done": "已生成", "failed": "失败"}


class GeneratedReport(Base):
    """One generated monthly report file (or a generation in progress / failed)."""
    __tablename__ = "generated_report"
    __table_args__ = (Index("ix_generated_report_month_org", "month", "org_code"),
                      Index("ix_generated_report_created", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    org_code: Mapped[str | None] = mapped_column(String(32))          # None: the county report
    org_name: Mapped[str] = mapped_column(String(200), nullable=False)
    fmt: Mapped[str] = mapped_column(String(8), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(300))         # relative to DATA_DIR/reports
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)   # username, or 'auto' / 'cli:…'
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CustomReportTemplate(Base):
    """A named selection of indicators × orgs × periods saved by one user (自定义报表模板)."""
    __tablename__ = "custom_report_template"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_custom_report_template_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    spec_json: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
