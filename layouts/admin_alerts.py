"""预警规则 /admin/alerts: warning rules and notification channels, edited by the system administrator only
(三权分立: leaders read alerts, they do not change the rules).

The layout only builds components; ``dashboard.callbacks.admin_alerts`` fills and changes them after checking the
role. Parameters are text inputs checked on the server (a browser turns an out-of-range number input into an empty
value, which would be saved as "default" instead of refused).
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._alerts_parts import PARAM_KEYS, param_id
from layouts._components import DROPDOWN_LABELS_ZH, column_def, data_table, page_header, section
from layouts._forms import form_field

dash.register_page(__name__, path="/admin/alerts", title="预警规则 · 医共体运营监测平台", name="预警规则",
                   toolbar=False, order=90.5, nav_icon="⚑")

# seven rules, each read in full: cells wrap (rows grow) instead of "全年预…" / "乡镇、…", and the columns' minimum
# widths add up to less than the grid at 1366 px (the 通知渠道 column used to start past its right edge)
RULE_COLUMNS = [
    column_def("code", "编号", maxWidth=90), column_def("name", "名称", minWidth=130), column_def("kind", "类型", minWidth=100),
    column_def("severity", "级别"), column_def("levels", "层级", minWidth=100),
    column_def("indicators", "指标", tooltipField="indicators_all", minWidth=150),
    column_def("params", "参数", tooltipField="params", minWidth=150),
    column_def("notify", "通知渠道", tooltipField="notify", minWidth=150),
    column_def("enabled", "状态", maxWidth=90),
]
WRAPPED_CELLS = {"sortable": True, "filter": True, "resizable": True, "minWidth": 90, "floatingFilter": False,
                 "wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.5", "padding": "8px 12px"}}
CHANNEL_COLUMNS = [column_def("name", "名称"), column_def("kind", "类型"),
                   column_def("target", "地址", minWidth=280, tooltipField="target"), column_def("enabled", "状态")]


def layout(**_query: Any) -> html.Div:
    """Skeleton of the rule and channel admin page."""
    params = [form_field("", dcc.Input(id=param_id(k), type="text", inputMode="decimal", debounce=False),
                     field_id=param_id(k), hidden=True) for k in PARAM_KEYS]
    return html.Div([
        page_header("预警规则", "预警规则与通知渠道（仅系统管理员可修改；每次修改记入审计日志）"),
        dcc.Store(id="alert-admin-refresh", data=0),
        section("预警规则", data_table("alert-admin-rules", [], RULE_COLUMNS, page_size=10,
                                       defaultColDef=WRAPPED_CELLS, style={"width": "100%"},
                                       dashGridOptions={"tooltipShowDelay": 300, "domLayout": "autoHeight"})),
        html.Div([
            section("修改规则", html.Div([
                form_field("规则", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-rule", placeholder="请选择规则", clearable=False)),
                html.Div(id="alert-admin-kind", className="form-hint"),
                form_field("名称", dcc.Input(id="alert-admin-name", type="text", maxLength=128)),
                form_field("严重程度", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-severity", clearable=False)),
                form_field("适用层级", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-levels", multi=True)),
                form_field("指标（不选则为全部可判断的指标）", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-indicators", multi=True)),
                form_field("通知渠道", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-notify", multi=True, placeholder="不通知")),
                html.Div(params, className="alert-admin-params"),
                html.Div([
                    html.Button("保存规则", id="alert-admin-save", n_clicks=0, className="btn btn-primary"),
                    html.Button("停用 / 启用", id="alert-admin-toggle", n_clicks=0, className="btn btn-danger"),
                ], className="form-actions"),
                html.Div(id="alert-admin-rule-result", className="form-result", role="status"),
                dcc.ConfirmDialog(id="alert-admin-toggle-confirm", message=""),
            ], className="form-grid")),
            section("通知渠道", html.Div([
                data_table("alert-admin-channels", [], CHANNEL_COLUMNS, page_size=5,
                           dashGridOptions={"tooltipShowDelay": 300}),
                form_field("选择已有渠道（或直接填写新渠道）", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-channel",
                                                            placeholder="新建渠道")),
                form_field("名称", dcc.Input(id="alert-admin-ch-name", type="text", maxLength=64)),
                form_field("类型", dcc.Dropdown(labels=DROPDOWN_LABELS_ZH, id="alert-admin-ch-kind", clearable=False, placeholder="请选择类型")),
                form_field("地址（机器人 Webhook URL，或以逗号分隔的邮箱）",
                       dcc.Input(id="alert-admin-ch-target", type="text", maxLength=1000)),
                dcc.Checklist(id="alert-admin-ch-enabled", options=[{"label": "启用", "value": "on"}],
                              value=["on"]),
                html.Div([
                    html.Button("保存渠道", id="alert-admin-ch-save", n_clicks=0, className="btn btn-primary"),
                    html.Button("发送测试消息", id="alert-admin-ch-test", n_clicks=0, className="btn"),
                    html.Button("删除渠道", id="alert-admin-ch-delete", n_clicks=0, className="btn btn-danger"),
                ], className="form-actions"),
                html.Div(id="alert-admin-ch-result", className="form-result", role="status"),
                dcc.ConfirmDialog(id="alert-admin-ch-delete-confirm", message=""),
            ], className="form-grid")),
        ], className="admin-forms"),
    ], className="page page-admin")
