"""驾驶舱 /: headline cards, alerts (institution × indicator out of target, worst first), data freshness.

The layout is a skeleton; ``dashboard.callbacks.cockpit`` fills it from the URL state and the user's scope.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import page_header, section
from layouts._pageparts import ALERTS, CARDS, FRESHNESS, READY, HOME_SUBTITLE as SUBTITLE

dash.register_page(__name__, path="/", title="驾驶舱 · 医共体运营监测平台", name="驾驶舱", order=0)

def _placeholder(height: int) -> html.Div:
    return html.Div(className="chart-placeholder", style={"height": f"{height}px"})


def layout(**_query: Any) -> html.Div:
    """Skeleton of the cockpit (filled by callbacks)."""
    return html.Div([
        dcc.Store(id=READY, data=True),
        page_header("驾驶舱", html.Span(" ", id=SUBTITLE)),
        html.Div(id=FRESHNESS, className="freshness-row"),
        dcc.Loading(html.Div(_placeholder(420), id=CARDS, className="kpi-grid"), type="dot"),
        section("预警清单（机构 × 指标，未达标在前，偏离最大在前）",
                dcc.Loading(html.Div(_placeholder(200), id=ALERTS), type="dot")),
    ], className="page page-home")
