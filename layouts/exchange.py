"""数据交换监测 /exchange: live map of the exchange nodes, node list and detail, job runs, logs, re-run, settings.

Skeleton only: ``dashboard.callbacks.exchange`` fills it (every 10 s while the tab is visible) after checking the
role on the server. The node-settings form is editable for administrators only; operators see it read-only.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from core.labels import JOB_NAMES_ZH
from layouts import _exchange_parts as P
from layouts import request_context
from layouts._components import DROPDOWN_LABELS_ZH, column_def, data_table, echarts, page_header, section

dash.register_page(__name__, path="/exchange", title="数据交换监测 · 医共体运营监测平台", name="数据交换监测",
                   toolbar=False, order=60, nav_icon="⇄")

NODE_COLUMNS = [
    column_def("state_zh", "状态", maxWidth=100,
               cellClassRules={"ex-cell-normal": "params.data.state == 'normal'",
                               "ex-cell-running": "params.data.state == 'running'",
                               "ex-cell-failed": "params.data.state == 'failed'",
                               "ex-cell-offline": "params.data.state == 'offline'"}),
    column_def("name", "前置机", minWidth=200), column_def("code", "编号"),
    column_def("host", "主机"), column_def("version", "版本", maxWidth=100),
    column_def("last_heartbeat", "最近心跳"), column_def("jobs_note", "任务情况", minWidth=160),
]
RUN_COLUMNS = [
    # minimum widths within the grid at 1366 px (错误信息 started 94 px past its edge)
    column_def("started", "开始时间", minWidth=140), column_def("node_name", "前置机", minWidth=150),
    column_def("job_name", "任务"),
    column_def("status_zh", "状态", maxWidth=100,
               cellClassRules={"ex-cell-running": "params.data.status == 'running'",
                               "ex-cell-failed": "params.data.status == 'failed'",
                               "ex-cell-normal": "params.data.status == 'success'"}),
    column_def("duration_s", "耗时(秒)", "int"), column_def("rows_extracted", "抽取行数", "int"),
    column_def("rows_loaded", "入库行数", "int"), column_def("rows_rejected", "拒收行数", "int"),
    column_def("error", "错误信息", minWidth=150, tooltipField="error"),
]


def _role() -> str | None:
    return request_context.current_role()


def _settings_form(editable: bool) -> Any:
    """Map position of the selected node; inputs disabled unless the user is an administrator."""
    dis = not editable
    return html.Div([
        html.Div(id=P.EX_SET_NODE, className="ex-set-node"),
        html.Div([
            P.field("经度", dcc.Input(id=P.EX_SET_LON, type="number", step="any", disabled=dis, debounce=True)),
            P.field("纬度", dcc.Input(id=P.EX_SET_LAT, type="number", step="any", disabled=dis, debounce=True)),
            # no min/max on the inputs: the browser would turn an out-of-range number into an empty value, which
            # would be saved as "no zoom"; the callback refuses it with a message instead
            P.field("缩放级别", dcc.Input(id=P.EX_SET_ZOOM, type="number", step="any", disabled=dis, debounce=True),
                    hint="1–20（网络地图级别）；选中该前置机时地图以它为中心按此级别放大，留空则不移动地图"),
            P.field("城市", dcc.Input(id=P.EX_SET_CITY, type="text", maxLength=100, disabled=dis, debounce=True)),
            P.field("地址", dcc.Input(id=P.EX_SET_ADDR, type="text", maxLength=300, disabled=dis, debounce=True)),
        ], className="ex-form"),
        html.Div([
            html.Button("保存设置", id=P.EX_SET_SAVE, className="btn btn-primary", disabled=dis, n_clicks=0)
            if editable else html.Span("仅系统管理员可修改节点地图设置", className="ex-muted"),
            html.Span(id=P.EX_SET_MSG, className="ex-msg"),
        ], className="ex-form-actions"),
    ], className="ex-settings")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the exchange monitor."""
    role = _role()
    job_options = [{"label": zh, "value": code} for code, zh in JOB_NAMES_ZH.items()]
    return html.Div([
        dcc.Store(id=P.EX_READY, data=True),
        dcc.Store(id=P.EX_TICK, data=0),
        dcc.Store(id=P.EX_NODE),
        dcc.Store(id=P.EX_FOCUS),
        dcc.Store(id=P.EX_FOCUSED),
        dcc.Store(id=P.EX_RUN),
        dcc.Store(id=P.EX_PAGE, data=1),
        dcc.Interval(id=P.EX_INTERVAL, interval=P.REFRESH_MS, n_intervals=0),
        dcc.ConfirmDialog(id=P.EX_RERUN_CONFIRM, message=""),
        page_header("数据交换监测", html.Span("加载中…", id=P.EX_SUBTITLE),
                    actions=html.Span(f"每 {P.REFRESH_MS // 1000} 秒自动刷新（页面隐藏时暂停）",
                                      className="ex-muted")),
        html.Div(id=P.EX_SUMMARY, className="ex-summary"),
        html.Div([
            html.Div(echarts(P.EX_MAP, height=560), className="map-canvas section"),
            html.Div([
                html.Div(P.state_legend(), className="section map-legend-box"),
                html.Div(html.Div("点击地图上的前置机或列表中的一行查看节点详情", className="ex-muted"),
                         id=P.EX_DETAIL, className="section map-panel ex-detail"),
            ], className="map-side"),
        ], className="map-layout"),
        section("前置机列表", [
            html.Div([
                dcc.Dropdown(id=P.EX_F_STATE, options=P.STATE_OPTIONS, multi=True, placeholder="全部状态",
                             labels=DROPDOWN_LABELS_ZH, className="ex-filter"),
                dcc.Dropdown(id=P.EX_F_TYPE, options=P.INST_TYPE_OPTIONS, placeholder="全部机构层级",
                             labels=DROPDOWN_LABELS_ZH, className="ex-filter"),
                dcc.Input(id=P.EX_F_TEXT, type="search", placeholder="搜索名称、编号或主机", debounce=True,
                          className="ex-search"),
            ], className="ex-filters"),
            data_table(P.EX_NODES, [], NODE_COLUMNS, page_size=10,
                       getRowId="params.data.code"),
        ]),
        section("任务运行记录", [
            html.Div([
                dcc.Dropdown(id=P.EX_R_STATUS, options=P.RUN_STATUS_OPTIONS, placeholder="全部状态",
                             labels=DROPDOWN_LABELS_ZH, className="ex-filter"),
                dcc.Dropdown(id=P.EX_R_NODE, options=[], placeholder="全部前置机", labels=DROPDOWN_LABELS_ZH,
                             className="ex-filter ex-filter-wide"),
                dcc.Dropdown(id=P.EX_R_JOB, options=job_options, placeholder="全部源系统",
                             labels=DROPDOWN_LABELS_ZH, className="ex-filter"),
                dcc.DatePickerRange(id=P.EX_R_DATES, start_date_placeholder_text="开始日期",
                                    end_date_placeholder_text="结束日期", display_format="YYYY-MM-DD",
                                    month_format="YYYY年M月", first_day_of_week=1, clearable=True,
                                    className="ex-dates"),
            ], className="ex-filters"),
            data_table(P.EX_RUNS, [], RUN_COLUMNS, page_size=P.RUN_PAGE_SIZE, height=440,
                       getRowId="params.data.run_key",        # <node>/<run id>: run ids are per node
                       dashGridOptions={"pagination": False, "tooltipShowDelay": 300}),
            html.Div([
                html.Button("上一页", id=P.EX_R_PREV, n_clicks=0, className="btn"),
                html.Span(id=P.EX_R_PAGER, className="ex-pager-label"),
                html.Button("下一页", id=P.EX_R_NEXT, n_clicks=0, className="btn"),
            ], className="ex-pager"),
        ], actions=html.Span("点击一行查看日志", className="ex-muted")),
        section("运行日志", [
            html.Div(id=P.EX_LOG_HEAD, children=html.Div("在上方表格中点击一次运行查看其日志", className="ex-muted")),
            html.Div(id=P.EX_RERUN_BOX, className="ex-rerun"),
            html.Div(id=P.EX_RERUN_MSG, className="ex-msg"),
            html.Pre(id=P.EX_LOG, className="ex-log"),
        ]),
        section("节点地图设置", _settings_form(role == "admin"),
                actions=html.Span("经纬度、缩放级别、城市、地址（修改会记入审计日志）", className="ex-muted")),
    ], className="page page-exchange")
