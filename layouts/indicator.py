"""指标分析 /indicator/<id>: definition, trend, breakdown of child orgs, peer ranking, table, export.

The layout only builds the skeleton and the definition panel (from the catalogue, no query); the callbacks in
``dashboard.callbacks.indicator`` fill the charts from the URL state (grain, period, org) and the user's scope
through the view model ``dashboard.views.indicator`` (frames) and ``dashboard.views.indicator_render`` (sections).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
from dash import dcc, html

from layouts._components import page_header, section
from layouts._forms import export_buttons
from layouts._pageparts import (
    BREAKDOWN_BOX,
    BREAKDOWN_MODE,
    BREAKDOWN_TITLE,
    CRUMBS,
    DOWNLOAD,
    EXPORT_CSV,
    EXPORT_MSG,
    EXPORT_XLSX,
    ID,
    NOTICE,
    RANKING_BOX,
    RANKING_TITLE,
    SUBTITLE,
    TABLE_BOX,
    TREND_BOX,
    _attr,
    definition_panel,
)

dash.register_page(__name__, path_template="/indicator/<indicator_id>", title="指标分析 · 医共体运营监测平台",
                   name="指标分析", order=20,
                   nav=False)   # reached from 指标目录 and every card; 指标目录 is the active entry here


def _placeholder(height: int = 320) -> html.Div:
    """Reserved space while a section loads (no empty axes)."""
    return html.Div(className="chart-placeholder", style={"height": f"{height}px"})


def layout(indicator_id: str | None = None, **_query: Any) -> html.Div:
    """Skeleton of the indicator page; unknown ids get a clear message."""
    from metrics.catalogue import INDICATORS
    entry = INDICATORS.get(indicator_id or "")
    if entry is None:
        return html.Div([page_header("指标分析"),
                         html.Div(f"未找到指标“{indicator_id}”，请从驾驶舱或专题页进入。", className="page-notice")],
                        className="page page-indicator")
    export = export_buttons(EXPORT_MSG, EXPORT_CSV, EXPORT_XLSX, DOWNLOAD)
    return html.Div([
        dcc.Store(id=ID, data=indicator_id),
        html.Div(id=CRUMBS, className="crumbs-row"),
        page_header(_attr(entry, "zh", indicator_id), html.Span(" ", id=SUBTITLE), actions=(
            # the same indicator in the 自助分析 pivot (any org level or dimension × period)
            dcc.Link("自助分析 ›", href="/analysis?" + urlencode(
                {"ind": indicator_id, **{k: str(_query[k]) for k in ("grain", "period", "org") if _query.get(k)}}),
                className="btn btn-secondary", id="ind-to-analysis")
            if _attr(entry, "available", True) and _attr(entry, "kind") not in ("exchange", "unavailable") else None)),
        html.Div(id=NOTICE),
        html.Div([
            section("指标定义", definition_panel(entry), className="span-4"),
            section("24个月趋势", dcc.Loading(html.Div(_placeholder(), id=TREND_BOX), type="dot"),
                    className="span-8"),
        ], className="grid-12"),
        html.Div([
            section("下级分布", dcc.Loading(html.Div(_placeholder(), id=BREAKDOWN_BOX), type="dot"),
                    actions=html.Div([
                        # "who drives it" is the share of the numerator; the rate ranks who does it most often
                        dcc.RadioItems(id=BREAKDOWN_MODE, options=[{"label": "按贡献", "value": "share"},
                                                                   {"label": "按比率", "value": "rate"}],
                                       value="share", inline=True, className="breakdown-mode grain-switch",
                                       inputClassName="grain-input", labelClassName="grain-option"),
                        html.Span(id=BREAKDOWN_TITLE, className="section-hint")], className="breakdown-actions"),
                    className="span-6"),
            section("同类机构排名", dcc.Loading(html.Div(_placeholder(), id=RANKING_BOX), type="dot"),
                    actions=html.Span(id=RANKING_TITLE, className="section-hint"), className="span-6"),
        ], className="grid-12"),
        section("明细表", dcc.Loading(html.Div(_placeholder(480), id=TABLE_BOX), type="dot"), actions=export),
    ], className="page page-indicator")
