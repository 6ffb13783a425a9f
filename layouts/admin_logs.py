"""审计日志 /admin/logs: login, service and audit logs, read-only (auditor only)."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import column_def, data_table, page_header, section

dash.register_page(__name__, path="/admin/logs", title="审计日志 · 医共体运营监测平台", name="审计日志",
                   toolbar=False, order=91)

DAYS_OPTIONS = [{"label": "近 1 天", "value": 1}, {"label": "近 7 天", "value": 7},
                {"label": "近 30 天", "value": 30}, {"label": "近 184 天", "value": 184}]
LOGIN_COLUMNS = [column_def("ts", "时间"), column_def("username", "用户"), column_def("inst_code", "机构"),
                 column_def("ip", "IP"), column_def("result", "结果")]
SERVICE_COLUMNS = [column_def("ts", "时间"), column_def("username", "用户"), column_def("module", "模块"),
                   column_def("function", "功能"), column_def("status", "状态码", "int"),
                   column_def("success", "结果"), column_def("duration_ms", "耗时(毫秒)", "number", 1)]
MODULE_COLUMNS = [column_def("module", "模块"), column_def("calls", "调用次数", "int"),
                  column_def("failures", "失败次数", "int"), column_def("avg_ms", "平均耗时(毫秒)", "number", 1),
                  column_def("max_ms", "最大耗时(毫秒)", "number", 1)]
AUDIT_COLUMNS = [column_def("ts", "时间"), column_def("actor", "操作人"), column_def("actor_role", "角色"),
                 column_def("ip", "IP"), column_def("action", "操作"), column_def("target", "对象"),
                 column_def("before", "变更前"), column_def("after", "变更后")]


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


def login_table(rows: list[dict]) -> Any:
    return section("登录日志", data_table("logs-login-table", rows, LOGIN_COLUMNS, export_name="登录日志.csv"))


def service_tables(module_rows: list[dict], rows: list[dict]) -> Any:
    return html.Div([
        section("各模块调用次数", data_table("logs-module-table", module_rows, MODULE_COLUMNS, page_size=10)),
        section("服务调用明细", data_table("logs-service-table", rows, SERVICE_COLUMNS, export_name="服务日志.csv")),
    ])


def audit_table(rows: list[dict]) -> Any:
    return section("变更审计日志", data_table("logs-audit-table", rows, AUDIT_COLUMNS, export_name="审计日志.csv"))
