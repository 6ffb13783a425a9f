"""Components of the logs page shared by its layout and its callbacks (not a page: importable anywhere)."""
from __future__ import annotations

from typing import Any

from dash import html

from layouts._components import column_def, data_table, section

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


def login_table(rows: list[dict]) -> Any:
    return section("登录日志", data_table("logs-login-table", rows, LOGIN_COLUMNS, export_name="登录日志.csv"))


def service_tables(module_rows: list[dict], rows: list[dict]) -> Any:
    return html.Div([
        section("各模块调用次数", data_table("logs-module-table", module_rows, MODULE_COLUMNS, page_size=10)),
        section("服务调用明细", data_table("logs-service-table", rows, SERVICE_COLUMNS, export_name="服务日志.csv")),
    ])


def audit_table(rows: list[dict]) -> Any:
    return section("变更审计日志", data_table("logs-audit-table", rows, AUDIT_COLUMNS, export_name="审计日志.csv"))
