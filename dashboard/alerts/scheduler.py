"""The in-process schedule of the rule evaluation and the monthly report (APScheduler). Every web worker starts one; a run takes the
non-blocking runner lock (``dashboard.alerts.run``), so when several workers fire at once only one evaluates and
the others skip. ``ALERTS_SCHEDULE_MINUTES`` (default 60; 0 turns it off; cron can use ``alerts run`` instead)."""
from __future__ import annotations

import logging
import os
from typing import Any

from core.config import Config

log = logging.getLogger(__name__)
_started: dict[str, Any] = {}


def _job(cfg: Config) -> None:
    from dashboard.alerts.run import run_alerts
    try:
        res = run_alerts(cfg, wait=False)
    except Exception:
        log.exception("定时预警评估失败")
        return
    if res.skipped:
        log.info("定时预警评估：另一进程正在评估，本次跳过")
        return
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
    from apscheduler.schedulers.background import BackgroundScheduler
    sched = BackgroundScheduler(daemon=True, timezone="Asia/Shanghai")
    sched.add_job(_job, "interval", minutes=minutes, args=[cfg], id="alerts-run", max_instances=1, coalesce=True,
                  replace_existing=True)
    sched.start()
    _started[key] = sched
    return sched
