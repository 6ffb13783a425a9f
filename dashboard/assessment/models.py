"""App-database model of the composite assessment's weights (data, edited by the admin, audited)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.appdb import Base


class AssessmentWeight(Base):
    """One indicator of the assessment set: its weight and whether it counts. An indicator of the default set
    (``metrics.assessment.DEFAULT_SET``) without a row keeps its default weight, enabled; no rows at all is the
    default set."""
    __tablename__ = "assessment_weights"

    indicator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
