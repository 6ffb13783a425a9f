"""View model of the store's open alerts for other pages (the cockpit's alert list reads the same store)."""
from __future__ import annotations

from typing import Any

from dash import dcc, html

SEVERITY_ZH = {"high": "严重", "medium": "一般", "low": "提示"}


def drill_href(row: dict[str, Any]) -> str:
    """The indicator drill at the alert's org and period (the quality page for upload and node alerts)."""
    if not row["indicator_id"]:
        return "/quality"
    period = str(row["period"])
    grain = "year" if len(period) == 4 else "month"
    org = "" if row["level"] == "county" else f"&org={row['org_code']}"
    return f"/indicator/{row['indicator_id']}?grain={grain}&period={period}{org}"


def open_alert_list(app_db_url: str, scope: Any, limit: int = 10) -> Any | None:
    """The worst open alerts the user may see as a short list with a link to 预警中心; None when there are none."""
    from dashboard.alerts.store import list_alerts
    df = list_alerts(app_db_url, scope, "open")
    if df.empty:
        return None
    items = [html.Li(dcc.Link([
        html.Span(SEVERITY_ZH.get(r["severity"], r["severity"]), className=f"alert-sev sev-{r['severity']}"),
        html.Span(r["message"], className="alert-text"),
    ], href=drill_href(r), className="alert-link"), className="alert-item") for r in df.head(limit).to_dict("records")]
    more = dcc.Link(f"预警中心：共 {len(df)} 条未关闭预警 →", href="/alerts", className="alert-more")
    return html.Div([html.Ol(items, className="alert-list"), more])
