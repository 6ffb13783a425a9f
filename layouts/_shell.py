"""The page shell: header, navigation and the page container."""
from __future__ import annotations

import dash
from dash import dcc, html


def shell() -> html.Div:
    """Layout function of the whole app (called per request)."""
    return html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        html.Header(html.H1("医共体运营监测平台"), className="app-header"),
        html.Main(dash.page_container, className="app-main"),
    ], className="app-root")
