"""预警中心 /alerts: open alerts worst-first with filters, each linking to its indicator drill; acknowledge, handle
and close with a note. Skeleton only: ``dashboard.callbacks.alerts`` fills it within the user's scope."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._alerts_parts import (
    A_ACK,
    A_CLOSE,
    A_HANDLE,
    A_INST,
    A_KIND,
    A_LIST,
    A_MSG,
    A_NOTE,
    A_PICK,
    A_READY,
    A_SEVERITY,
    A_STATUS,
    A_SUBTITLE,
    A_THEME,
    A_TICK,
    A_TOWNSHIP,
    KIND_OPTIONS,
    SEVERITY_OPTIONS,
    STATUS_OPTIONS,
)
from layouts._components import DROPDOWN_LABELS_ZH, page_header, section

dash.register_page(__name__, path="/alerts", title="预警中心 · 医共体运营监测平台", name="预警中心",
                   toolbar=False, order=5, nav_icon="⚑")



def _dd(dd_id: str, options: list, placeholder: str, value: Any = None, clearable: bool = True) -> dcc.Dropdown:
    return dcc.Dropdown(id=dd_id, options=options, value=value, placeholder=placeholder, clearable=clearable,
                        labels=DROPDOWN_LABELS_ZH, className="ex-filter")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the early-warning centre."""
    return html.Div([
        dcc.Store(id=A_READY, data=True),
        dcc.Store(id=A_TICK, data=0),
        page_header("预警中心", html.Span("加载中…", id=A_SUBTITLE)),
        html.Div([
            _dd(A_STATUS, STATUS_OPTIONS, "状态", "open", clearable=False),
            _dd(A_SEVERITY, SEVERITY_OPTIONS, "全部级别"),
            _dd(A_KIND, KIND_OPTIONS, "全部类型"),
            _dd(A_THEME, [], "全部主题"),
            _dd(A_TOWNSHIP, [], "全部乡镇"),
            _dd(A_INST, [], "全部机构"),
        ], className="ex-filters alert-filters"),
        section("预警清单（严重在前）", dcc.Loading(html.Div(id=A_LIST), type="dot")),
        section("处置", html.Div([
            _dd(A_PICK, [], "选择预警"),
            dcc.Input(id=A_NOTE, type="text", placeholder="处置说明（关闭时必填）", className="alert-note",
                      debounce=False),
            html.Button("确认", id=A_ACK, className="btn"),
            html.Button("处置中", id=A_HANDLE, className="btn"),
            html.Button("关闭", id=A_CLOSE, className="btn btn-primary"),
            html.Div(id=A_MSG, className="alert-msg"),
        ], className="alert-actions")),
    ], className="page page-alerts")
