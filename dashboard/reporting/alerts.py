"""The alerts a monthly report files under its sections: read from the alert store of 预警中心.

``month_alerts`` is the one place the report centre asks for alerts. It lists the store's alerts of the month
(and of its year, for year-end projections) within the reader's scope and under ``org``, each with its lifecycle
state in Chinese as ``status`` (新 / 已确认 / 处置中 / 已关闭 / 自动恢复), worst first. Only when the store holds no
alert of that month does it fall back to the cockpit's threshold list (``dashboard.views.alert_list``), every
entry marked 未登记 (not registered in the store, so without a lifecycle).
"""
from __future__ import annotations

import pandas as pd

from core.config import Config
from metrics.scope import Scope

STATUS_UNREGISTERED = "未登记"
SEVERITY = {"未达标": "未达标", "预警": "预警"}
SEVERITY_ZH = {"high": "严重", "medium": "一般", "low": "提示"}


def month_alerts(cfg: Config, month: str, org: str | None, scope: Scope) -> list[dict]:
    """The month's alerts within ``scope`` (and under ``org`` when given), worst first, as dicts:
    ``org_name``, ``org_code``, ``indicator`` (indicator id), ``message``, ``severity``, ``status``."""
    stored = stored_month_alerts(cfg, month, org, scope)
    if stored is not None:
        return stored
    return computed_month_alerts(cfg, month, org, scope)


def lifecycle_zh(status: str, resolution: str) -> str:
    """The Chinese lifecycle state of a stored alert (a closed alert that cleared by itself is 自动恢复)."""
    from dashboard.alerts.models import RESOLUTION_ZH, STATUS_ZH
    if status == "closed" and resolution == "auto":
        return RESOLUTION_ZH["auto"]
    return STATUS_ZH.get(status, status)


def stored_month_alerts(cfg: Config, month: str, org: str | None, scope: Scope) -> list[dict] | None:
    """The store's alerts of ``month`` (or of its year) in scope and under ``org``; None when the store holds no
    alert of that month at all (whatever the scope), so the caller may fall back to computed alerts."""
    from dashboard.alerts.store import SEVERITY_RANK, list_alerts
    from metrics.scope import FULL_SCOPE
    every = list_alerts(cfg.app_db_url, FULL_SCOPE)
    every = every[every["period"].astype(str).isin([month, month[:4]])]
    if every.empty:
        return None
    mine = list_alerts(cfg.app_db_url, scope)
    mine = mine[mine["period"].astype(str).isin([month, month[:4]])]
    if org:
        mine = mine[(mine["org_code"] == org) | (mine["parent_code"] == org)]
    if mine.empty:
        return []
    mine = mine.assign(_sev=mine["severity"].map(SEVERITY_RANK).fillna(9),
                       _open=(mine["status"] == "closed").astype(int))
    mine = mine.sort_values(["_sev", "_open", "alert_id"], kind="stable")
    return [{"org_name": str(r["org_name"] or r["org_code"]), "org_code": str(r["org_code"]),
             "indicator": str(r["indicator_id"] or ""), "message": str(r["message"]),
             "severity": SEVERITY_ZH.get(r["severity"], str(r["severity"])),
             "status": lifecycle_zh(str(r["status"]), str(r["resolution"] or "")), "alert_id": int(r["alert_id"])}
            for r in mine.to_dict("records")]


def computed_month_alerts(cfg: Config, month: str, org: str | None, scope: Scope) -> list[dict]:
    """The cockpit's threshold list for the month (institutions out of target), every one 未登记."""
    from dashboard.views.alert_list import alert_ids, any_whole_period, rank_alerts
    from metrics.catalogue import INDICATORS
    from metrics.engine import compute
    from queries import org as qorg
    from reports.text import value_text

    if not any_whole_period("month", month, month, cfg.mart_url):
        return []       # a running month: every row would be dropped as partial
    level = "institution"
    df = compute(alert_ids(), level, "month", month, month, org=org, scope=scope, mart_url=cfg.mart_url,
                 comparisons=False)
    if df.empty:
        return []
    df = df[[scope.may_see_institution(c) for c in df["org_code"]]]
    tree = qorg.org_tree(cfg.mart_url)
    ranked: pd.DataFrame = rank_alerts(df, dict(zip(tree["inst_code"], tree["level"])), limit=60, per_indicator=5)
    out = []
    for r in ranked.to_dict("records"):
        ind = INDICATORS[r["indicator_id"]]
        unit = ind.unit if ind.unit == "%" else f" {ind.unit}" if ind.unit else ""
        out.append({"org_name": str(r["org_name"]), "org_code": str(r["org_code"]), "indicator": ind.id,
                    "message": f"{ind.zh} {value_text(r['value'], ind.decimals)}{unit}，目标 {ind.target_text}",
                    "severity": SEVERITY.get(str(r["status"]), str(r["status"])), "status": STATUS_UNREGISTERED})
    return out
