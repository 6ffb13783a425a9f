"""The change/audit log and the service log.

``record_audit(action, target, before, after)`` appends one audit row (who, what, before, after). Services that
change state write their audit row in the same transaction as the change (``add_audit_row``), so a change is
never stored without its audit row, nor an audit row without its change.
"""
from __future__ import annotations

import getpass
import json
import os
import threading
import time
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.config import Config
from core.masking import mask_text, mask_value
from dashboard.accounts import clock
from dashboard.accounts.models import AuditLog, ServiceLog


def _to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(mask_value(value), ensure_ascii=False, sort_keys=True, default=str)


def current_actor() -> tuple[str, str, str]:
    """(username, role, ip) of whoever acts: the logged-in user in a request, else ``cli:<os user>``."""
    from flask import has_request_context, request
    if has_request_context():
        from dashboard.accounts.access import current_user_info
        info = current_user_info()
        ip = request.remote_addr or ""
        if info:
            return info["username"], info["role"], ip
        return "anonymous", "", ip
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001  (no login name in some containers)
        who = "unknown"
    return f"cli:{who}", "", ""


def add_audit_row(session: Session, action: str, target: str, before: Any = None, after: Any = None,
                  actor: tuple[str, str, str] | None = None) -> None:
    """Add an audit row to ``session`` (committed with the change it describes)."""
    username, role, ip = actor or current_actor()
    session.add(AuditLog(ts=clock.now(), actor=username, actor_role=role, ip=ip, action=action,
                         target=mask_text(str(target))[:256], before=_to_json(before), after=_to_json(after)))


def _cfg(cfg: Config | None) -> Config:
    if cfg is not None:
        return cfg
    from flask import current_app, has_app_context
    if has_app_context() and "DASHBOARD_CONFIG" in current_app.config:
        return current_app.config["DASHBOARD_CONFIG"]
    from core.config import load_config
    return load_config()


def record_audit(action: str, target: str, before: Any = None, after: Any = None, *,
                 cfg: Config | None = None, actor: str | None = None) -> None:
    """Append one audit row: ``action`` (e.g. ``job.rerun``, ``node.settings``), its target, state before/after.

    Inside a request the actor is the logged-in user; ``actor`` overrides it (e.g. a command line user).
    """
    from dashboard.appdb import session_factory
    cfg = _cfg(cfg)
    who = current_actor()
    if actor:
        who = (actor, who[1], who[2])
    with session_factory(cfg.app_db_url)() as session, session.begin():
        add_audit_row(session, action, target, before, after, actor=who)


class ServiceLogBuffer:
    """Batches service-log rows: one multi-row INSERT every ``max_rows`` rows or ``max_age`` seconds."""

    def __init__(self, app_db_url: str, max_rows: int = 50, max_age: float = 2.0) -> None:
        self.app_db_url = app_db_url
        self.max_rows = max_rows
        self.max_age = max_age
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._timer_pid = 0

    def _ensure_timer(self) -> None:
        """A daemon thread flushing every ``max_age`` seconds, so rows never wait for the next request (one per
        process: a forked worker starts its own)."""
        if self._timer_pid == os.getpid():
            return
        self._timer_pid = os.getpid()

        def tick() -> None:
            while True:
                time.sleep(self.max_age)
                if self._rows:
                    try:
                        self.flush()
                    except Exception:  # noqa: BLE001  (kept for the next tick; the app database may be busy)
                        pass
        threading.Thread(target=tick, name="service-log-flush", daemon=True).start()

    def add(self, username: str, module: str, function: str, status: int, duration_ms: float,
            success: bool | None = None) -> None:
        """Buffer one row; ``success`` defaults to a 2xx/3xx status (a callback that answered 200 with an error
        card passes False)."""
        ok = 200 <= int(status) < 400 if success is None else bool(success)
        row = dict(ts=clock.now(), username=username, module=mask_text(module)[:128],
                   function=mask_text(function)[:256], status=int(status), success=ok,
                   duration_ms=round(float(duration_ms), 2))
        self._ensure_timer()
        with self._lock:
            self._rows.append(row)
            due = len(self._rows) >= self.max_rows or time.monotonic() - self._last_flush >= self.max_age
        if due:
            self.flush()

    def flush(self) -> int:
        """Write the buffered rows now; returns how many were written."""
        with self._lock:
            rows, self._rows = self._rows, []
            self._last_flush = time.monotonic()
        if not rows:
            return 0
        from dashboard.appdb import app_engine
        try:
            with app_engine(self.app_db_url).begin() as conn:
                conn.execute(insert(ServiceLog), rows)
        except Exception:
            with self._lock:    # keep them for the next attempt rather than lose them
                self._rows[:0] = rows
            raise
        return len(rows)


_buffers: dict[str, ServiceLogBuffer] = {}
_buffers_lock = threading.Lock()


def service_log_buffer(app_db_url: str) -> ServiceLogBuffer:
    """The process-wide service-log buffer of an app database."""
    with _buffers_lock:
        buf = _buffers.get(app_db_url)
        if buf is None:
            buf = _buffers[app_db_url] = ServiceLogBuffer(app_db_url)
            import atexit
            atexit.register(_safe_flush, buf)
        return buf


def _safe_flush(buf: ServiceLogBuffer) -> None:
    try:
        buf.flush()
    except Exception:  # noqa: BLE001  (at exit the database may be gone)
        pass


def flush_service_log(cfg: Config | None = None) -> int:
    """Write this process's buffered service-log rows (the logs page calls it before reading)."""
    cfg = _cfg(cfg)
    return service_log_buffer(cfg.app_db_url).flush()
