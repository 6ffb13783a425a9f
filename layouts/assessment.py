"""综合评价 /assessment: institutions' composite scores ranked within their type, the breakdown of one
institution by indicator, export; ``dashboard.callbacks.assessment`` fills it."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts import _assessment_parts as A
from layouts._components import DROPDOWN_LABELS_ZH, page_header, period_pickers, section
from layouts._forms import export_buttons

dash.register_page(__name__, path="/assessment", title="综合评价 · 医共体运营监测平台", name="综合评价",
                   order=24, toolbar=False, nav_icon="★")


def layout(**_query: Any) -> html.Div:
    """Skeleton: period and type pickers, the ranking (chart, table) and the breakdown."""
    pickers = html.Div([
        period_pickers(A.GRAIN, A.PERIOD, ("year", "quarter"), "year"),
        html.Div([
            html.Span("同类机构", className="tb-label"),
            dcc.Dropdown(id=A.TYPE, options=[], value=None, clearable=False, searchable=False,
                         placeholder="机构类型", labels=DROPDOWN_LABELS_ZH, className="tb-inst"),
        ], className="tb-group"),
    ], className="toolbar assess-toolbar")
    export = export_buttons(A.EXPORT_MSG, A.EXPORT_CSV, A.EXPORT_XLSX, A.DOWNLOAD)
    placeholder = html.Div(className="chart-placeholder", style={"height": "360px"})
    return html.Div([
        page_header("综合评价", html.Span(" ", id=A.SUBTITLE)),
        pickers,
        dcc.Store(id=A.SELECTED),
        html.Div([
            section("综合得分排名", dcc.Loading(html.Div(placeholder, id=A.CHART_BOX), type="dot"),
                    className="span-6"),
            section("排名表", dcc.Loading(html.Div(placeholder, id=A.TABLE_BOX), type="dot"), actions=export,
                    className="span-6"),
        ], className="grid-12"),
        html.Section([
            html.Div([html.H3("得分明细", id=A.DETAIL_TITLE, className="section-title")], className="section-head"),
            html.Div(dcc.Loading(html.Div(id=A.DETAIL_BOX), type="dot"), className="section-body"),
        ], className="section"),
        html.Div(html.Span("评分方法：对标目标达标得满分，预警区间线性给分，无目标的指标按同类机构排名给分；"
                        "无数据的指标不参评，权重重新归一。", className="section-hint"), className="assess-method"),
    ], className="page page-assessment")
