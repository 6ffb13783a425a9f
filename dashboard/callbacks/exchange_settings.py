"""Node map settings from /exchange (administrators only: the web gate maps this module to the admin role, and
the callbacks check role and same-origin again). A save that changes something writes one ``node.settings``
audit row in the same transaction as the change; a save that changes nothing writes nothing.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.exchange import service as svc
from layouts import _exchange_parts as P

FIELD_ZH = {"lon": "经度", "lat": "纬度", "zoom": "缩放级别", "city": "城市", "address": "地址"}


def settings_values(code: Any) -> tuple[Any, ...]:
    """(node label, lon, lat, zoom, city, address) of the selected node for the form."""
    if not isinstance(code, str) or not code:
        return html.Span("先在地图或列表中选择一台前置机", className="ex-muted"), None, None, None, "", ""
    nodes = svc.node_states(_cfg(), codes=[code])
    if nodes.empty:
        return html.Span("该前置机不存在", className="ex-msg-bad"), None, None, None, "", ""
    r = nodes.iloc[0]

    def num(v: Any) -> Any:
        return None if v is None or v != v else v
    return (html.Span([html.B(r["name"]), f"（{code}）"]), num(r["lon"]), num(r["lat"]), num(r["zoom"]),
            r["city"] or "", r["address"] or "")


def save_settings(code: Any, lon: Any, lat: Any, zoom: Any, city: Any, address: Any) -> tuple[Any, bool]:
    """Validate and save as the logged-in administrator: (message, whether something changed).

    Raises AccessDenied (403) for any other role or a cross-site request.
    """
    from dashboard.accounts.access import current_user_info, require_state_change
    from dashboard.accounts.audit import add_audit_row
    from dashboard.accounts.roles import ADMIN
    require_state_change(ADMIN)
    if not isinstance(code, str) or not code:
        return html.Span("请先选择一台前置机", className="ex-msg-bad"), False
    user = current_user_info() or {}

    def audit(session, changes: dict) -> None:  # noqa: ANN001
        add_audit_row(session, "node.settings", code, before={f: o for f, (o, _n) in changes.items()},
                      after={f: n for f, (_o, n) in changes.items()})
    try:
        changes = svc.update_node_settings(_cfg(), code, lon, lat, zoom, city, address,
                                           actor=user.get("username", ""), on_change=audit)
    except svc.SettingsInvalid as exc:
        text = "；".join(f"{FIELD_ZH.get(e['field'], e['field'])}：{e['message']}" for e in exc.errors)
        return html.Span(f"未保存：{text}", className="ex-msg-bad"), False
    except LookupError:
        return html.Span("该前置机不存在", className="ex-msg-bad"), False
    if not changes:
        return html.Span("没有修改", className="ex-muted"), False
    return html.Span("已保存：" + "、".join(FIELD_ZH[f] for f in changes), className="ex-msg-ok"), True


def _cfg():  # noqa: ANN202
    from dashboard.app import get_config
    return get_config()


def register(app: dash.Dash) -> None:
    """Register the save callback (the form is filled by ``callbacks.exchange``: operators see it read-only)."""
    @app.callback(Output(P.EX_SET_MSG, "children"), Output(P.EX_TICK, "data", allow_duplicate=True),
                  Input(P.EX_SET_SAVE, "n_clicks"), State(P.EX_NODE, "data"), State(P.EX_SET_LON, "value"),
                  State(P.EX_SET_LAT, "value"), State(P.EX_SET_ZOOM, "value"), State(P.EX_SET_CITY, "value"),
                  State(P.EX_SET_ADDR, "value"), State(P.EX_TICK, "data"), prevent_initial_call=True)
    def _save(n, code, lon, lat, zoom, city, address, tick):  # noqa: ANN001, ANN202
        if not n:
            raise PreventUpdate
        msg, changed = save_settings(code, lon, lat, zoom, city, address)
        return msg, ((tick or 0) + 1) if changed else no_update
