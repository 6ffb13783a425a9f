"""Generated reports: who may generate/download which, the app-DB rows, files under DATA_DIR/reports/, background
generation with progress, and the monthly automatic generation (:func:`generate_due_reports`).

Scope: the county report and township reports are for leaders (every institution); a manager generates and
downloads only the reports of the institutions assigned to them. A refusal raises :class:`ReportDenied` after
writing an audit row (``report.denied``).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from core.config import Config
from dashboard.accounts.access import AccessDenied
from dashboard.accounts.audit import record_audit
from dashboard.appdb import session_factory
from dashboard.reporting.models import REPORT_STATE_ZH, GeneratedReport
from metrics.scope import Scope

log = logging.getLogger(__name__)
AUTO_FORMATS = ("docx", "pdf")
AUTO_USER = "auto"
PROGRESS_EVERY_S = 0.5
STALE_AFTER = dt.timedelta(minutes=30)    # a 'running' row older than this lost its worker (restart): 中断


class ReportDenied(AccessDenied):
    """403: the report's org is outside the user's scope."""
    description = "无权生成或下载该机构的报表"


@dataclass(frozen=True)
class ReportRow:
    id: int
    month: str
    org_code: str | None
    org_name: str
    fmt: str
    state: str
    state_zh: str
    progress: float
    message: str
    created_by: str
    created_at: str
    size_bytes: int | None


def reports_dir(cfg: Config) -> Path:
    return cfg.data_dir / "reports"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def may_access(scope: Scope, org: str | None, mart_url: str) -> bool:
    """County and township reports: leaders only; an institution's report: whoever may see that institution."""
    if scope.all_institutions:
        return True
    if not org:
        return False
    from queries import org as qorg
    return qorg.org_level(org, mart_url) == "institution" and scope.may_see_institution(org)


def check_access(cfg: Config, scope: Scope, org: str | None, what: str, username: str = "") -> None:
    """Raise :class:`ReportDenied` (403) with an audit row when ``scope`` may not have ``org``'s report."""
    if may_access(scope, org, cfg.mart_url):
        return
    record_audit("report.denied", f"{what} {org or '全县'}", after={"org": org or "county", "what": what},
                 cfg=cfg, actor=username or None)
    raise ReportDenied()


def _view(row: GeneratedReport) -> ReportRow:
    state = row.state
    if state == "running" and row.created_at < _now() - STALE_AFTER:
        state = "failed"
    message = "生成中断（服务重启），请重新生成" if state != row.state else row.message or ""
    return ReportRow(row.id, row.month, row.org_code, row.org_name, row.fmt, state,
                     REPORT_STATE_ZH.get(state, state), float(row.progress or 0), message,
                     row.created_by, f"{row.created_at:%Y-%m-%d %H:%M}", row.size_bytes)


def list_reports(cfg: Config, scope: Scope, limit: int = 200) -> list[ReportRow]:
    """Reports the user may see (newest first): all for leaders, their institutions' for managers."""
    with session_factory(cfg.app_db_url)() as session:
        stmt = select(GeneratedReport).order_by(GeneratedReport.id.desc())
        if not scope.all_institutions:
            stmt = stmt.where(GeneratedReport.org_code.in_(sorted(scope.inst_codes) or ["-"]))
        return [_view(r) for r in session.scalars(stmt.limit(limit))]


def get_report(cfg: Config, report_id: int) -> ReportRow | None:
    with session_factory(cfg.app_db_url)() as session:
        row = session.get(GeneratedReport, report_id)
        return _view(row) if row is not None else None


def report_file(cfg: Config, report_id: int, scope: Scope, username: str = "") -> tuple[Path, str]:
    """(path, download name) of a finished report the user may download; 403 + audit otherwise, 404 if none."""
    from werkzeug.exceptions import NotFound
    with session_factory(cfg.app_db_url)() as session:
        row = session.get(GeneratedReport, report_id)
        if row is None:
            raise NotFound("报表不存在")
        org, month, fmt, name, state, org_name = (row.org_code, row.month, row.fmt, row.file_name, row.state,
                                                  row.org_name)
    check_access(cfg, scope, org, f"下载报表#{report_id}", username)
    path = reports_dir(cfg) / (name or "")
    if state != "done" or not name or not path.is_file():
        raise NotFound("报表尚未生成或文件已不存在")
    record_audit("report.download", f"报表#{report_id} {org_name} {month}", cfg=cfg, actor=username or None)
    return path, f"{org_name}运行监测月报_{month}.{fmt}"


def start(cfg: Config, month: str, fmt: str, org: str | None, scope: Scope, username: str) -> int:
    """Check scope, validate, and add a ``running`` row; returns its id (run :func:`run` next)."""
    from metrics.engine import parse_month
    from queries import org as qorg
    from reports.build import FORMATS
    check_access(cfg, scope, org, "生成报表", username)
    parse_month(month)
    if fmt not in FORMATS:
        raise ValueError(f"不支持的格式 {fmt!r}（可选 {', '.join(FORMATS)}）")
    org_name = qorg.county(cfg.mart_url)["name"] if not org else (qorg.org_name(cfg.mart_url, org) or org)
    with session_factory(cfg.app_db_url)() as session, session.begin():
        row = GeneratedReport(month=month, org_code=org or None, org_name=org_name, fmt=fmt, state="running",
                              progress=0.0, message="排队中", created_by=username, created_at=_now())
        session.add(row)
        session.flush()
        report_id = row.id
    record_audit("report.generate", f"报表#{report_id} {org_name} {month} {fmt}", cfg=cfg, actor=username or None)
    return report_id


def _update(cfg: Config, report_id: int, **values: object) -> None:
    with session_factory(cfg.app_db_url)() as session, session.begin():
        row = session.get(GeneratedReport, report_id)
        for key, value in values.items():
            setattr(row, key, value)


def run(cfg: Config, report_id: int, scope: Scope) -> ReportRow:
    """Generate report ``report_id`` (its row from :func:`start`): the file, then the row done or failed."""
    from dashboard.reporting.alerts import month_alerts
    from reports.build import SUFFIX, generate
    row = get_report(cfg, report_id)
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = time.monotonic()
            _update(cfg, report_id, progress=round(fraction, 3), message=message)

    name = f"{row.month}_{row.org_code or 'county'}_{report_id}{SUFFIX[row.fmt]}"
    try:
        progress(0.01, "读取预警")
        alerts = month_alerts(cfg, row.month, row.org_code, scope)
        generate(row.month, row.fmt, reports_dir(cfg) / name, org=row.org_code, alerts=alerts, scope=scope,
                 mart_url=cfg.mart_url, progress=progress)
    except Exception as exc:
        log.exception("report %s failed", report_id)
        _update(cfg, report_id, state="failed", message=f"生成失败：{exc}", finished_at=_now())
        return get_report(cfg, report_id)
    size = (reports_dir(cfg) / name).stat().st_size
    _update(cfg, report_id, state="done", progress=1.0, message="已生成", file_name=name, size_bytes=size,
            finished_at=_now())
    return get_report(cfg, report_id)


def run_in_background(cfg: Config, report_id: int, scope: Scope) -> threading.Thread:
    """Generate in a daemon thread of this worker; the page polls the row's progress (any worker can read it)."""
    thread = threading.Thread(target=run, args=(cfg, report_id, scope), name=f"report-{report_id}", daemon=True)
    thread.start()
    return thread


def generate_due_reports(cfg: Config, formats: tuple[str, ...] = AUTO_FORMATS) -> list[ReportRow]:
    """Monthly automatic generation: the county report of the last complete month in each of ``formats``, unless
    one was already generated. Call it from the scheduler (APScheduler, e.g. daily at 06:00: it does nothing
    until a new month's data is complete) or ``python app.py report auto``. Returns the rows generated now."""
    from metrics.scope import FULL_SCOPE
    from queries import periods
    month = periods.last_complete_month(cfg.mart_url)
    if month is None:
        return []
    with session_factory(cfg.app_db_url)() as session:
        have = set(session.scalars(select(GeneratedReport.fmt).where(
            GeneratedReport.month == month, GeneratedReport.org_code.is_(None), GeneratedReport.state == "done")))
    done = []
    for fmt in formats:
        if fmt in have:
            continue
        report_id = start(cfg, month, fmt, None, FULL_SCOPE, AUTO_USER)
        done.append(run(cfg, report_id, FULL_SCOPE))
    return done
