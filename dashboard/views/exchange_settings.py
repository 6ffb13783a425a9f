"""The node-settings form's values for the selected exchange node (operators see them read-only, admins edit)."""
from __future__ import annotations

from typing import Any

from dash import html

from dashboard.exchange import service as svc


def _cfg():
    from dashboard.app import get_config
    return get_config()


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
