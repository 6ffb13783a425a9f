"""The alerts a monthly report files under its sections — THE SEAM to the alert store.

``month_alerts`` is the one place the report centre asks for alerts. Today it derives them from the cockpit's
threshold logic (``dashboard.callbacks.cockpit.alert_ids`` / ``rank_alerts``: institutions out of target in the
month, ranked, every one 待处置 because threshold alerts have no lifecycle yet). When the alert store of 预警中心
lands, replace the body with a query of that store for the month and scope (with each alert's lifecycle state as
``status``); the report builder only needs the list of dicts described below.
"""
from __future__ import annotations

import pandas as pd

from core.config import Config
from metrics.scope import Scope

STATUS_PENDING = "待处置"
SEVERITY = {"未达标": "未达标", "预警": "预警"}


def month_alerts(cfg: Config, month: str, org: str | None, scope: Scope) -> list[dict]:
    """The month's alerts within ``scope`` (and under ``org`` when given), worst first, as dicts:
    ``org_name``, ``org_code``, ``indicator`` (indicator id), ``message``, ``severity``, ``status``."""
    from dashboard.views.alert_list import alert_ids, rank_alerts
    from metrics.catalogue import INDICATORS
    from metrics.engine import compute
    from queries import org as qorg
    from reports.text import value_text

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
                    "severity": SEVERITY.get(str(r["status"]), str(r["status"])), "status": STATUS_PENDING})
    return out
