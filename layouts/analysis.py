"""自助分析 /analysis: any indicator as a pivot (rows × columns with totals), a heat map, drill and export.

The layout is only the skeleton; ``dashboard.callbacks.analysis`` fills the pickers from the URL (the view state
lives in the query string, so a link restores the view), and the grid and the chart from the engine.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts import _analysis_parts as A
from layouts._components import DROPDOWN_LABELS_ZH, GRAPH_CONFIG, data_table, page_header, section
from layouts._forms import export_buttons

dash.register_page(__name__, path="/analysis", title="自助分析 · 医共体运营监测平台", name="自助分析", order=21,
                   toolbar=False, nav_icon="▥")


def _picker(label: str, control: Any, className: str = "") -> html.Label:
    return html.Label([html.Span(label, className="an-label"), control], className=f"an-field {className}".strip())


def _dropdown(cid: str, placeholder: str, clearable: bool = False, **kw: Any) -> dcc.Dropdown:
    return dcc.Dropdown(id=cid, options=[], value=None, clearable=clearable, placeholder=placeholder,
                        labels=DROPDOWN_LABELS_ZH, **kw)


def controls() -> html.Div:
    """The pickers (options and values come from the URL through a callback)."""
    return html.Div([
        _picker("指标", _dropdown(A.IND, "搜索指标名称或主题…", searchable=True, search_order="original",
                                  maxHeight=360), "an-field-ind"),
        _picker("行", _dropdown(A.ROWS, "行", searchable=False)),
        _picker("列", _dropdown(A.COLS, "列", searchable=False)),
        _picker("粒度", dcc.RadioItems(id=A.GRAIN, options=[{"label": "月", "value": "month"},
                                                           {"label": "季", "value": "quarter"},
                                                           {"label": "年", "value": "year"}],
                                      value=None, inline=True, className="grain-switch",
                                      inputClassName="grain-input", labelClassName="grain-option")),
        _picker("起", _dropdown(A.FROM, "起始期间", searchable=False)),
        _picker("止", _dropdown(A.TO, "截止期间", searchable=False)),
        _picker("范围", _dropdown(A.ORG, "全县", searchable=True)),
        html.Div([
            _picker("维度筛选", _dropdown(A.FDIM, "不筛选", searchable=False, clearable=True)),
            _picker("成员", _dropdown(A.FMEM, "全部", searchable=True, clearable=True)),
        ], id=A.DIM_BOX, className="an-dim-box", style={"display": "none"}),
    ], className="an-controls")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the analysis page."""
    export = export_buttons(A.EXPORT_MSG, A.EXPORT_CSV, A.EXPORT_XLSX, A.DOWNLOAD)
    grid = data_table(A.GRID, [], [], page_size=50, height=520,
                      dashGridOptions={"overlayNoRowsTemplate": None, "tooltipShowDelay": 300},
                      getRowId="params.data.row_code")
    return html.Div([
        dcc.Store(id=A.READY, data=True),
        page_header("自助分析", html.Span(" ", id=A.SUBTITLE)),
        controls(),
        html.Div(id=A.HINT, className="an-hint"),
        html.Div(id=A.NOTICE),
        html.Div(id=A.PIVOT_NOTICE),
        section("透视表", dcc.Loading(grid, type="dot"), actions=html.Div(
            [html.Span(id=A.GRID_TITLE, className="section-hint"), export], className="an-actions"),
            className="an-grid-section"),
        html.Div([
            section("明细", html.Div(html.Div("点击表格或热力图中的单元格：期间 × 机构的单元格进入指标分析，"
                                             "含维度成员的单元格在此显示该成员的下级分布", className="an-panel-hint"),
                                    id=A.PANEL), className="span-4 an-panel"),
            section("热力图", dcc.Loading(dcc.Graph(id=A.HEATMAP, figure={"data": [], "layout": {}},
                                                   config=GRAPH_CONFIG, className="an-heatmap"), type="dot"),
                    className="span-8"),
        ], className="grid-12"),
    ], className="page page-analysis")
