"""The in-process schedule of the rule evaluation and the monthly report (APScheduler). Every web worker of every
server starts one, all firing at the same wall-clock boundaries; a run takes the non-blocking runner lock
(``dashboard.alerts.lock``: a PostgreSQL advisory lock when the app database is PostgreSQL, a file lock on SQLite)
and skips a tick another server already evaluated, so the rules are evaluated once per tick across the deployment.
``ALERTS_SCHEDULE_MINUTES`` (default 60; 0 turns it off; cron can use ``alerts run`` instead)."""
from __future__ import annotations

import logging
import os
from typing import Any

from core.config import Config

log = logging.getLogger(__name__)
_started: dict[str, Any] = {}


def _job(cfg: Config, tick_minutes: float | None = None) -> None:
    from dashboard.alerts.run import run_alerts
    try:
        res = run_alerts(cfg, wait=False, tick_minutes=tick_minutes)
    except Exception:
        log.exception("定时预警评估失败")
        return
    if res.skipped:
        log.info("定时预警评估：另一进程或服务器正在或已经评估本轮，本次跳过")
        return
    log.info("定时预警评估完成：%s，%s 条发现", res.month, res.findings)
    # The worker that evaluated the rules also writes the monthly county report once a month's data is complete
    # (generate_due_reports does nothing while that month's report exists), so one schedule serves both.
    from dashboard.reporting.service import generate_due_reports
    try:
        made = generate_due_reports(cfg)
    except Exception:
        log.exception("定时生成月报失败")
        return
    if made:
        log.info("已自动生成月报：%s", "、".join(f"{r.month} {r.fmt}" for r in made))


def start_scheduler(cfg: Config) -> Any | None:
    """Start the background schedule once per process (None when turned off)."""
    minutes = float(os.environ.get("ALERTS_SCHEDULE_MINUTES", "60") or 0)
    if minutes <= 0:
        return None
    key = cfg.app_db_url
    if key in _started:
        return _started[key]
    import datetime as dt

    _log_to_stderr()
    from apscheduler.schedulers.background import BackgroundScheduler

    from dashboard.alerts.lock import aligned_start
    sched = BackgroundScheduler(daemon=True, timezone="UTC")
    start = aligned_start(minutes).replace(tzinfo=dt.UTC)     # every server fires at the same boundaries
    sched.add_job(_job, "interval", minutes=minutes, start_date=start, args=[cfg, minutes], id="alerts-run",
                  max_instances=1, coalesce=True, replace_existing=True)
    sched.start()
    _started[key] = sched
    return sched


def _log_to_stderr() -> None:
    """The schedule's INFO lines (run, skipped, report made) with the process id on stderr — the server's log —
    unless the process configured logging itself."""
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
