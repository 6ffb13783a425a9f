"""审计日志 /admin/logs: login, service and audit logs, read-only (auditor only)."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._admin_parts import DAYS_OPTIONS
from layouts._components import page_header

dash.register_page(__name__, path="/admin/logs", title="审计日志 · 医共体运营监测平台", name="审计日志",
                   toolbar=False, order=91, nav_icon="☰")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the logs page."""
    return html.Div([
        page_header("审计日志", "登录日志、服务日志、变更审计日志（只读，保留不少于 184 天）"),
        html.Div([
            html.Label([html.Span("时间范围", className="form-label"),
                        dcc.Dropdown(id="logs-days", options=DAYS_OPTIONS, value=7, clearable=False)],
                       className="form-field"),
            html.Label([html.Span("用户", className="form-label"),
                        dcc.Input(id="logs-user", type="text", debounce=True, placeholder="全部用户")],
                       className="form-field"),
        ], className="form-row"),
        dcc.Tabs(id="logs-tab", value="login", children=[
            dcc.Tab(label="登录日志", value="login"), dcc.Tab(label="服务日志", value="service"),
            dcc.Tab(label="审计日志", value="audit"),
        ]),
        html.Div(id="logs-body"),
    ], className="page page-admin")

