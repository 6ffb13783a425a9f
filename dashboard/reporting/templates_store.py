"""Saved custom-report selections (自定义报表模板), one namespace per user."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.config import Config
from dashboard.appdb import session_factory
from dashboard.reporting.models import CustomReportTemplate
from reports.custom import CustomSpec

MAX_NAME = 100


def save_template(cfg: Config, owner: str, name: str, spec: CustomSpec) -> int:
    """Save (or overwrite) ``owner``'s template ``name``; returns its id. Raises ValueError on a bad name."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"模板名称须为 1–{MAX_NAME} 个字符")
    now = dt.datetime.now().replace(microsecond=0)
    with session_factory(cfg.app_db_url)() as session, session.begin():
        row = session.scalars(select(CustomReportTemplate).where(CustomReportTemplate.owner == owner,
                                                                 CustomReportTemplate.name == name)).first()
        if row is None:
            row = CustomReportTemplate(owner=owner, name=name, spec_json=spec.to_json(), created_at=now)
            session.add(row)
        else:
            row.spec_json, row.updated_at = spec.to_json(), now
        session.flush()
        return row.id


def list_templates(cfg: Config, owner: str) -> list[tuple[int, str]]:
    """(id, name) of ``owner``'s templates by name."""
    with session_factory(cfg.app_db_url)() as session:
        rows = session.execute(select(CustomReportTemplate.id, CustomReportTemplate.name)
                               .where(CustomReportTemplate.owner == owner).order_by(CustomReportTemplate.name))
        return [(r.id, r.name) for r in rows]


def load_template(cfg: Config, owner: str, template_id: int) -> CustomSpec | None:
    """``owner``'s template (None when it does not exist or belongs to someone else)."""
    with session_factory(cfg.app_db_url)() as session:
        row = session.get(CustomReportTemplate, template_id)
        if row is None or row.owner != owner:
            return None
        return CustomSpec.from_json(row.spec_json)
