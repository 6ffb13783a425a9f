"""Reading the three logs for the auditor's page (read-only; the app never edits log rows)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import case, func, select

from core.config import Config
from core.masking import mask_frame
from dashboard.accounts import clock
from dashboard.accounts.audit import flush_service_log
from dashboard.accounts.institutions import institution_names
from dashboard.accounts.log_names import action_name, actor_role_name, change_summary, service_call_names, strip_hash
from dashboard.accounts.models import AuditLog, LoginLog, ServiceLog
from dashboard.appdb import session_factory
from dashboard.county_clock import county_zone

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
        # stored as naive UTC; shown in county time like every other page
        df["ts"] = (pd.to_datetime(df["ts"]).dt.tz_localize("UTC").dt.tz_convert(county_zone())
                    .dt.strftime("%Y-%m-%d %H:%M:%S"))
    return mask_frame(df)


def login_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Login log rows of the last ``days`` (newest first, at most MAX_ROWS).

    ``inst_code`` (the account's scope as recorded, ``H001,T001``) becomes ``institution``, the institutions'
    names (``丰安县总医院、城关镇中心卫生院``; the code where the mart does not know it); the codes stay as written
    in ``inst_code`` (the table's tooltip and CSV).
    """
    stmt = select(LoginLog.ts, LoginLog.username, LoginLog.inst_code, LoginLog.ip, LoginLog.result).where(
        LoginLog.ts >= _since(days))
    if username:
        stmt = stmt.where(LoginLog.username == username)
    df = _frame(cfg, stmt.order_by(LoginLog.id.desc()).limit(MAX_ROWS),
                ["ts", "username", "inst_code", "ip", "result"])
    df["result"] = df["result"].map(lambda r: LOGIN_RESULT_ZH.get(r, r))
    names = institution_names(cfg) or {}
    df["institution"] = [describe_scope(codes, names) for codes in df["inst_code"]]
    return df


def describe_scope(codes: str | None, names: dict[str, str]) -> str:
    """``'H001,T001' → '丰安县总医院、城关镇中心卫生院'``; an unknown code stays a code; none → ``''``."""
    parts = [c.strip() for c in str(codes or "").split(",") if c.strip()]
    return "、".join(names.get(c, c) for c in parts)


def service_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Service log rows of the last ``days`` (newest first), with Chinese area and function names.

    ``module``/``function`` are the readable names (``log_names``); ``raw`` keeps what was recorded (tooltip).
    """
    flush_service_log(cfg)
    stmt = select(ServiceLog.ts, ServiceLog.username, ServiceLog.module, ServiceLog.function, ServiceLog.status,
                  ServiceLog.success, ServiceLog.duration_ms).where(ServiceLog.ts >= _since(days))
    if username:
        stmt = stmt.where(ServiceLog.username == username)
    df = _frame(cfg, stmt.order_by(ServiceLog.id.desc()).limit(MAX_ROWS),
                ["ts", "username", "module", "function", "status", "success", "duration_ms"])
    names = [service_call_names(m, f) for m, f in zip(df["module"], df["function"])]
    df["raw"] = [f"{m} · {strip_hash(f)}" for m, f in zip(df["module"], df["function"])]
    df["module"] = [n[0] for n in names]
    df["function"] = [n[1] for n in names]
    df["success"] = df["success"].map(lambda v: "成功" if v else "失败")
    return df[["ts", "username", "module", "function", "status", "success", "duration_ms", "raw"]]


def service_calls_by_module(cfg: Config, days: int = 7) -> pd.DataFrame:
    """Calls per area (Chinese name): calls, failures, mean and max duration (ms)."""
    flush_service_log(cfg)
    fail = func.sum(case((ServiceLog.success.is_(False), 1), else_=0))
    stmt = (select(ServiceLog.module, ServiceLog.function, func.count(), fail,
                   func.sum(ServiceLog.duration_ms), func.max(ServiceLog.duration_ms))
            .where(ServiceLog.ts >= _since(days)).group_by(ServiceLog.module, ServiceLog.function))
    df = _frame(cfg, stmt, ["module", "function", "calls", "failures", "total_ms", "max_ms"])
    if not len(df):
        return pd.DataFrame(columns=["module", "calls", "failures", "avg_ms", "max_ms"])
    # several recorded modules share one area (exchange, exchange_rerun …; every page: its own area)
    df["module"] = [service_call_names(m, f)[0] for m, f in zip(df["module"], df["function"])]
    out = (df.astype({"calls": int, "failures": int, "total_ms": float, "max_ms": float})
           .groupby("module", as_index=False).agg(calls=("calls", "sum"), failures=("failures", "sum"),
                                                  total_ms=("total_ms", "sum"), max_ms=("max_ms", "max")))
    out["avg_ms"] = (out["total_ms"] / out["calls"]).round(1)
    out["max_ms"] = out["max_ms"].round(1)
    return out.sort_values(["calls", "module"], ascending=[False, True])[
        ["module", "calls", "failures", "avg_ms", "max_ms"]].reset_index(drop=True)


def audit_log(cfg: Config, days: int = 7, username: str = "") -> pd.DataFrame:
    """Audit rows of the last ``days`` (newest first): Chinese action and role labels, one readable line of the
    changed fields per side (``before``/``after``), the recorded JSON in ``before_json``/``after_json``."""
    stmt = select(AuditLog.ts, AuditLog.actor, AuditLog.actor_role, AuditLog.ip, AuditLog.action, AuditLog.target,
                  AuditLog.before, AuditLog.after).where(AuditLog.ts >= _since(days))
    if username:
        stmt = stmt.where(AuditLog.actor == username)
    df = _frame(cfg, stmt.order_by(AuditLog.id.desc()).limit(MAX_ROWS),
                ["ts", "actor", "actor_role", "ip", "action", "target", "before_json", "after_json"])
    df["actor_role"] = [actor_role_name(a, r) for a, r in zip(df["actor"], df["actor_role"])]
    df["action_code"] = df["action"]
    df["action"] = df["action"].map(action_name)
    df["before"] = [change_summary(b, a, "before") for b, a in zip(df["before_json"], df["after_json"])]
    df["after"] = [change_summary(b, a, "after") for b, a in zip(df["before_json"], df["after_json"])]
    return df[["ts", "actor", "actor_role", "ip", "action", "target", "before", "after", "action_code",
               "before_json", "after_json"]]
