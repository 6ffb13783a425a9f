"""Callbacks of 预警中心 /alerts: the list (scope-checked on the server), filters, lifecycle steps."""
from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html, no_update

from dashboard.alerts.view import drill_href
from layouts import _alerts_parts as L

SEVERITY_ZH = {"high": "严重", "medium": "一般", "low": "提示"}
STATUS_ZH = {"new": "新", "acknowledged": "已确认", "in_progress": "处置中", "closed": "已关闭"}
KIND_ZH = {o["value"]: o["label"] for o in L.KIND_OPTIONS}
TOPIC_ZH = {"resources": "资源", "quality": "质量", "cost": "费用", "referrals": "转诊与分级诊疗",
            "health": "健康管理", "volume": "服务量", "exchange": "数据质量与交换"}


def _cfg():
    from dashboard.app import get_config
    return get_config()


def visible_alerts(status: str | None) -> pd.DataFrame:
    """Alerts the logged-in user may see, with theme and township added."""
    from dashboard.accounts.access import current_scope
    from dashboard.alerts.store import list_alerts
    from metrics.catalogue import INDICATORS
    df = list_alerts(_cfg().app_db_url, current_scope(), status or "open")
    df["theme"] = [INDICATORS[i].topic if i in INDICATORS else "exchange" for i in df["indicator_id"]]
    df["township"] = [p if lvl == "institution" else (o if lvl == "township" else "")
                      for lvl, o, p in zip(df["level"], df["org_code"], df["parent_code"])]
    return df




def _item(row: Any) -> html.Div:
    status = STATUS_ZH.get(row["status"], row["status"])
    if row["status"] == "closed" and row["resolution"] == "auto":
        status = "自动恢复"
    return html.Div([
        html.Span(SEVERITY_ZH.get(row["severity"], row["severity"]), className=f"alert-sev sev-{row['severity']}"),
        html.Span(f"#{row['alert_id']}", className="alert-id"),
        html.Span(KIND_ZH.get(row["kind"], row["kind"]), className="alert-kind"),
        html.Span(row["message"], className="alert-text"),
        html.Span(status, className=f"alert-status st-{row['status']}"),
        dcc.Link("查看指标" if row["indicator_id"] else "查看数据质量", href=drill_href(row),
                 className="alert-link", id={"type": "alert-link", "index": int(row["alert_id"])}),
    ], className="alert-item", id=f"alert-{row['alert_id']}")


def render(status, severity, kind, theme, township, inst, _tick, _ready):
    df = visible_alerts(status)
    themes = [{"label": TOPIC_ZH.get(t, t), "value": t} for t in sorted(df["theme"].unique())]
    towns = df[df["level"] == "township"][["org_code", "org_name"]].drop_duplicates()
    town_opts = [{"label": n, "value": c} for c, n in towns.itertuples(index=False)]
    known = {o["value"] for o in town_opts}
    town_opts += [{"label": c, "value": c} for c in sorted(set(df["township"]) - known - {""})]
    insts = df[df["level"] == "institution"][["org_code", "org_name"]].drop_duplicates().sort_values("org_code")
    inst_opts = [{"label": f"{n}（{c}）", "value": c} for c, n in insts.itertuples(index=False)]
    for col, val in (("severity", severity), ("kind", kind), ("theme", theme), ("township", township)):
        if val:
            df = df[df[col] == val]
    if inst:
        df = df[(df["org_code"] == inst) & (df["level"] == "institution")]
    pick = [{"label": f"#{r.alert_id} {r.message[:40]}", "value": int(r.alert_id)}
            for r in df.itertuples() if r.status != "closed"]
    items = [_item(r) for r in df.to_dict("records")] or [html.Div("没有符合条件的预警", className="empty-state")]
    return items, f"共 {len(df)} 条", themes, town_opts, inst_opts, pick


def act(n_ack, n_handle, n_close, alert_id, note, tick):
    from dashboard.accounts.access import current_scope
    from dashboard.accounts.audit import current_actor
    from dashboard.alerts.store import AlertError, set_status
    trigger = dash.ctx.triggered_id
    to = {L.A_ACK: "acknowledged", L.A_HANDLE: "in_progress", L.A_CLOSE: "closed"}.get(trigger)
    if to is None:
        return no_update, no_update
    if not alert_id:
        return html.Span("请先选择一条预警", className="form-error"), no_update
    try:
        a = set_status(_cfg().app_db_url, int(alert_id), to, current_scope(), current_actor(), note or "")
    except AlertError as exc:
        return html.Span(str(exc), className="form-error"), no_update
    done = {"acknowledged": "已确认", "in_progress": "已转为处置中", "closed": "已关闭"}[to]
    return html.Span(f"预警 #{a['alert_id']} {done}", className="form-ok"), (tick or 0) + 1


def register(app: dash.Dash) -> None:
    app.callback(
        Output(L.A_LIST, "children"), Output(L.A_SUBTITLE, "children"), Output(L.A_THEME, "options"),
        Output(L.A_TOWNSHIP, "options"), Output(L.A_INST, "options"), Output(L.A_PICK, "options"),
        Input(L.A_STATUS, "value"), Input(L.A_SEVERITY, "value"), Input(L.A_KIND, "value"),
        Input(L.A_THEME, "value"), Input(L.A_TOWNSHIP, "value"), Input(L.A_INST, "value"),
        Input(L.A_TICK, "data"), Input(L.A_READY, "data"))(render)
    app.callback(
        Output(L.A_MSG, "children"), Output(L.A_TICK, "data"),
        Input(L.A_ACK, "n_clicks"), Input(L.A_HANDLE, "n_clicks"), Input(L.A_CLOSE, "n_clicks"),
        State(L.A_PICK, "value"), State(L.A_NOTE, "value"), State(L.A_TICK, "data"),
        prevent_initial_call=True)(act)
