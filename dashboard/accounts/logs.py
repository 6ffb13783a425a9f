"""Reading the three logs for the auditor's page (read-only; the app never edits log rows)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import case, func, select

from dashboard.accounts import clock
from dashboard.accounts.audit import flush_service_log
from dashboard.accounts.masking import mask_frame
from dashboard.accounts.models import AuditLog, LoginLog, ServiceLog
from dashboard.appdb import session_factory
from dashboard.config import Config

LOGIN_RESULT_ZH = {"success": "成功", "bad_password": "密码错误", "bad_password_locked": "密码错误并锁定",
                   "locked": "账号已锁定", "unknown_user": "用户不存在", "disabled": "账号已停用",
                   "rate_limited": "尝试过于频繁（已限流）"}
MAX_ROWS = 2000


def _since(days: int) -> dt.datetime:
    return clock.now() - dt.timedelta(days=max(1, min(int(days), 366)))


def _frame(cfg: Config, stmt, columns: list[str]) -> pd.DataFrame:  # noqa: ANN001
    with session_factory(cfg.app_db_url)() as s:
        rows = s.execute(stmt).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    if "ts" in df and len(df):
        df["ts"] = pd.to_datetime(df["ts"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return mask_frame(df)


def login_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Login log rows of the last ``days`` (newest first, at most MAX_ROWS)."""
    stmt = select(LoginLog.ts, LoginLog.username, LoginLog.inst_code, LoginLog.ip, LoginLog.result).where(
        LoginLog.ts >= _since(days))
    if username:
        stmt = stmt.where(LoginLog.username == username)
    df = _frame(cfg, stmt.order_by(LoginLog.id.desc()).limit(MAX_ROWS),
                ["ts", "username", "inst_code", "ip", "result"])
    df["result"] = df["result"].map(lambda r: LOGIN_RESULT_ZH.get(r, r))
    return df


def service_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Service log rows of the last ``days`` (newest first)."""
    flush_service_log(cfg)
    stmt = select(ServiceLog.ts, ServiceLog.username, ServiceLog.module, ServiceLog.function, ServiceLog.status,
                  ServiceLog.success, ServiceLog.duration_ms).where(ServiceLog.ts >= _since(days))
    if username:
        stmt = stmt.where(ServiceLog.username == username)
    df = _frame(cfg, stmt.order_by(ServiceLog.id.desc()).limit(MAX_ROWS),
                ["ts", "username", "module", "function", "status", "success", "duration_ms"])
    df["success"] = df["success"].map(lambda v: "成功" if v else "失败")
    return df


def service_calls_by_module(cfg: Config, days: int = 7) -> pd.DataFrame:
    """Calls per module: calls, failures, mean and max duration (ms)."""
    flush_service_log(cfg)
    fail = func.sum(case((ServiceLog.success.is_(False), 1), else_=0))
    stmt = (select(ServiceLog.module, func.count(), fail, func.avg(ServiceLog.duration_ms),
                   func.max(ServiceLog.duration_ms))
            .where(ServiceLog.ts >= _since(days)).group_by(ServiceLog.module).order_by(func.count().desc()))
    df = _frame(cfg, stmt, ["module", "calls", "failures", "avg_ms", "max_ms"])
    if len(df):
        df["avg_ms"] = df["avg_ms"].astype(float).round(1)
        df["max_ms"] = df["max_ms"].astype(float).round(1)
    return df


def audit_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Audit rows of the last ``days`` (newest first)."""
    stmt = select(AuditLog.ts, AuditLog.actor, AuditLog.actor_role, AuditLog.ip, AuditLog.action, AuditLog.target,
                  AuditLog.before, AuditLog.after).where(AuditLog.ts >= _since(days))
    if username:
        stmt = stmt.where(AuditLog.actor == username)
    return _frame(cfg, stmt.order_by(AuditLog.id.desc()).limit(MAX_ROWS),
                  ["ts", "actor", "actor_role", "ip", "action", "target", "before", "after"])
