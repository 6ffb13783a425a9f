"""驾驶舱 /: headline cards, alerts (institution × indicator out of target, worst first), data freshness.

The layout is a skeleton; ``dashboard.callbacks.cockpit`` fills it from the URL state and the user's scope.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import DROPDOWN_LABELS_ZH, page_header, section
from layouts._pageparts import (
    ALERTS,
    CARDS,
    CARDS_EDIT,
    CARDS_MSG,
    CARDS_PANEL,
    CARDS_PICK,
    CARDS_RESET,
    CARDS_SAVE,
    FRESHNESS,
    READY,
)
from layouts._pageparts import HOME_SUBTITLE as SUBTITLE

dash.register_page(__name__, path="/", title="驾驶舱 · 医共体运营监测平台", name="驾驶舱", order=0, nav_icon="◧")

def _placeholder(height: int) -> html.Div:
    return html.Div(className="chart-placeholder", style={"height": f"{height}px"})


def layout(**_query: Any) -> html.Div:
    """Skeleton of the cockpit (filled by callbacks)."""
    return html.Div([
        dcc.Store(id=READY, data=True),
        page_header("驾驶舱", html.Span(" ", id=SUBTITLE),
                    html.Button("自定义", id=CARDS_EDIT, className="btn btn-secondary", n_clicks=0)),
        html.Div([
            html.Div("选择驾驶舱显示的指标卡片，按选择的先后排列（删除后重新选择可调整顺序）。", className="cards-help"),
            dcc.Dropdown(id=CARDS_PICK, multi=True, options=[], value=[], placeholder="选择指标…", labels=DROPDOWN_LABELS_ZH,
                         className="cards-pick"),
            html.Div([html.Button("保存", id=CARDS_SAVE, className="btn btn-primary", n_clicks=0),
                      html.Button("恢复默认", id=CARDS_RESET, className="btn btn-secondary", n_clicks=0),
                      html.Span(id=CARDS_MSG, className="cards-msg", role="status")], className="cards-actions"),
        ], id=CARDS_PANEL, className="cards-panel", hidden=True),
        html.Div(id=FRESHNESS, className="freshness-row"),
        dcc.Loading(html.Div(_placeholder(420), id=CARDS, className="kpi-grid"), type="dot"),
        section("预警清单（机构 × 指标，未达标在前，偏离最大在前）",
                dcc.Loading(html.Div(_placeholder(200), id=ALERTS), type="dot")),
    ], className="page page-home")
