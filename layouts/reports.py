"""报表中心 /reports: the monthly report (Word / PDF / HTML) generated in the background with progress, the list of
generated reports with download links, and custom reports (自定义报表) previewed as a grid and exported to Excel from
selections that can be saved as named templates.

Skeleton only: ``dashboard.callbacks.reports`` fills it (leaders: the county, townships and every institution;
managers: their own institutions).
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import DROPDOWN_LABELS_ZH, page_header, section
from layouts._report_parts import (
    C_DOWNLOAD,
    C_END,
    C_EXPORT,
    C_GRAIN,
    C_GRID,
    C_INDICATORS,
    C_LEVEL,
    C_MESSAGE,
    C_ORGS,
    C_PREVIEW,
    C_START,
    FORMAT,
    FORMAT_OPTIONS,
    GENERATE,
    GRAIN_OPTIONS,
    JOB,
    LEVEL_OPTIONS,
    LIST,
    MONTH,
    ORG,
    POLL,
    PROGRESS,
    READY,
    T_MESSAGE,
    T_NAME,
    T_PICK,
    T_SAVE,
)

dash.register_page(__name__, path="/reports", title="报表中心 · 医共体运营监测平台", name="报表中心",
                   toolbar=False, order=70, nav_icon="▦")

def _dropdown(dd_id: str, options: list | None = None, value: Any = None, multi: bool = False,
              placeholder: str = "", width: str = "12rem") -> dcc.Dropdown:
    return dcc.Dropdown(id=dd_id, options=options or [], value=value, multi=multi, clearable=multi,
                        placeholder=placeholder, labels=DROPDOWN_LABELS_ZH, className="ex-filter",
                        style={"minWidth": width})


def _field(label: str, control: Any) -> html.Label:
    return html.Label([html.Span(label, className="rep-label"), control], className="rep-field")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the report centre."""
    return html.Div([
        dcc.Store(id=READY, data=True), dcc.Store(id=JOB), dcc.Download(id=C_DOWNLOAD),
        dcc.Interval(id=POLL, interval=1000, disabled=True),
        page_header("报表中心", "医共体运行监测月报与自定义报表"),
        section("生成月报", html.Div([
            html.Div([
                _field("月份", _dropdown(MONTH, width="9rem")),
                _field("范围", _dropdown(ORG, width="16rem")),
                _field("格式", dcc.RadioItems(id=FORMAT, options=FORMAT_OPTIONS, value="docx", inline=True,
                                              className="rep-radio")),
                html.Button("生成", id=GENERATE, className="btn btn-primary", n_clicks=0),
            ], className="rep-row"),
            html.Div(id=PROGRESS, className="rep-progress"),
        ])),
        section("已生成的报表", dcc.Loading(html.Div(id=LIST), type="dot")),
        section("自定义报表", html.Div([
            html.Div([
                _field("指标", _dropdown(C_INDICATORS, multi=True, placeholder="选择指标", width="28rem")),
                _field("层级", _dropdown(C_LEVEL, LEVEL_OPTIONS, "township", width="7rem")),
                _field("粒度", _dropdown(C_GRAIN, GRAIN_OPTIONS, "month", width="6rem")),
                _field("起", _dropdown(C_START, width="8rem")),
                _field("止", _dropdown(C_END, width="8rem")),
                _field("机构/乡镇（可选）", _dropdown(C_ORGS, multi=True, placeholder="全部", width="18rem")),
            ], className="rep-row rep-wrap"),
            html.Div([
                html.Button("预览", id=C_PREVIEW, className="btn btn-primary", n_clicks=0),
                html.Button("导出 Excel", id=C_EXPORT, className="btn", n_clicks=0),
                dcc.Input(id=T_NAME, placeholder="模板名称", maxLength=100, className="rep-input"),
                html.Button("保存为模板", id=T_SAVE, className="btn", n_clicks=0),
                _field("我的模板", _dropdown(T_PICK, placeholder="载入模板", width="14rem")),
                html.Span(id=T_MESSAGE, className="ex-muted"),
            ], className="rep-row rep-wrap"),
            html.Div(id=C_MESSAGE),
            dcc.Loading(html.Div(id=C_GRID), type="dot"),
        ])),
    ], className="page page-reports")
