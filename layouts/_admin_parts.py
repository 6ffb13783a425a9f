"""Components of the logs page shared by its layout and its callbacks (not a page: importable anywhere)."""
from __future__ import annotations

from typing import Any

from dash import html

from layouts._components import column_def, data_table, section

DAYS_OPTIONS = [{"label": "近 1 天", "value": 1}, {"label": "近 7 天", "value": 7},
                {"label": "近 30 天", "value": 30}, {"label": "近 184 天", "value": 184}]
AUDIT_DETAIL = "logs-audit-detail"
# "2026-01-05 09:00:00" shown whole (the grid's sizing would otherwise squeeze it)
_TS = {"minWidth": 165, "maxWidth": 190}
LOGIN_COLUMNS = [column_def("ts", "时间", **_TS), column_def("username", "用户"), column_def("institution", "机构", tooltipField="inst_code", minWidth=160),
                 column_def("ip", "IP"), column_def("result", "结果")]
SERVICE_COLUMNS = [column_def("ts", "时间", **_TS), column_def("username", "用户"),
                   column_def("module", "模块", tooltipField="raw"),
                   column_def("function", "功能", tooltipField="raw", minWidth=200),
                   column_def("status", "状态码", "int"), column_def("success", "结果"),
                   column_def("duration_ms", "耗时(毫秒)", "number", 1)]
MODULE_COLUMNS = [column_def("module", "模块"), column_def("calls", "调用次数", "int"),
                  column_def("failures", "失败次数", "int"), column_def("avg_ms", "平均耗时(毫秒)", "number", 1),
                  column_def("max_ms", "最大耗时(毫秒)", "number", 1)]
AUDIT_COLUMNS = [column_def("ts", "时间", **_TS), column_def("actor", "操作人"), column_def("actor_role", "角色"),
                 column_def("ip", "IP"), column_def("action", "操作", tooltipField="action_code", minWidth=120),
                 column_def("target", "对象", minWidth=140),
                 column_def("before", "变更前", tooltipField="before", minWidth=200),
                 column_def("after", "变更后", tooltipField="after", minWidth=200)]
_TOOLTIPS = {"tooltipShowDelay": 300, "tooltipInteraction": True}


def login_table(rows: list[dict]) -> Any:
    return section("登录日志", data_table("logs-login-table", rows, LOGIN_COLUMNS, export_name="登录日志.csv"))


def service_tables(module_rows: list[dict], rows: list[dict]) -> Any:
    return html.Div([
        section("各模块调用次数", data_table("logs-module-table", module_rows, MODULE_COLUMNS, page_size=10)),
        section("服务调用明细（鼠标停在模块或功能上可见记录的原始标识）",
                data_table("logs-service-table", rows, SERVICE_COLUMNS, export_name="服务日志.csv",
                           dashGridOptions=_TOOLTIPS)),
    ])


def audit_table(rows: list[dict]) -> Any:
    """The audit rows; clicking a row shows every field before and after the change below the table."""
    grid = data_table("logs-audit-table", rows, AUDIT_COLUMNS, export_name="审计日志.csv",
                      dashGridOptions={**_TOOLTIPS, "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                                     "enableClickSelection": True}})
    return section("变更审计日志（点击一行查看变更详情）",
                   html.Div([grid, html.Div(audit_detail(None), id=AUDIT_DETAIL, className="audit-detail")]))


def audit_detail(row: dict | None, changes: list[dict] | None = None) -> Any:
    """Detail of one audit row: who, when, what, and a field-by-field table of the state before and after."""
    if not row:
        return html.Div("点击上表中的一行，查看该次变更的全部内容。", className="audit-detail-hint")
    facts = [("时间", row.get("ts")), ("操作人", row.get("actor")), ("角色", row.get("actor_role")),
             ("IP", row.get("ip")), ("操作", f"{row.get('action')}（{row.get('action_code')}）"),
             ("对象", row.get("target"))]
    head = html.Dl([part for label, value in facts
                    for part in (html.Dt(label), html.Dd(value if value not in (None, "") else "—"))],
                   className="audit-detail-facts")
    if not changes:
        body: Any = html.Div("本次操作未记录变更前后的内容。", className="audit-detail-hint")
    else:
        body = html.Table([
            html.Thead(html.Tr([html.Th("字段"), html.Th("变更前"), html.Th("变更后")])),
            html.Tbody([html.Tr([html.Td(c["field"]), html.Td(c["before"]), html.Td(c["after"])],
                                className="audit-changed" if c["changed"] else None) for c in changes]),
        ], className="audit-detail-table")
    return html.Div([html.H4("变更详情"), head, body])
