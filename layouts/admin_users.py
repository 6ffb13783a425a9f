"""系统管理 /admin/users: accounts, roles and data scopes (administrator only).

The layout only builds components; ``dashboard.callbacks.admin`` fills and changes them after checking the role.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from core.roles import ROLE_ZH
from layouts._components import column_def, data_table, page_header, section
from layouts._forms import form_field

dash.register_page(__name__, path="/admin/users", title="系统管理 · 医共体运营监测平台", name="系统管理",
                   toolbar=False, order=90, nav_icon="⚙")

ROLE_OPTIONS = [{"label": f"{zh}（{code}）", "value": code} for code, zh in ROLE_ZH.items()]
USER_COLUMNS = [
    column_def("username", "用户名"), column_def("display_name", "显示名"), column_def("role_zh", "角色"),
    column_def("inst_codes", "机构范围"), column_def("state", "状态"), column_def("last_login_at", "最近登录"),
]

DEVICE_COLUMNS = [
    column_def("id", "编号"), column_def("username", "账号"), column_def("ip", "登录地址"),
    column_def("created_at", "登录时间"), column_def("last_seen", "最近刷新"), column_def("state", "状态"),
    column_def("user_agent", "浏览器"),
]


def layout(**_query: Any) -> html.Div:
    """Skeleton of the user admin page."""
    return html.Div([
        page_header("系统管理", "账号、角色与机构范围（系统管理员与审计员分设，一个账号只有一个角色）"),
        dcc.Store(id="admin-users-refresh", data=0),
        section("账号列表", data_table("admin-users-table", [], USER_COLUMNS, page_size=10,
                                       dashGridOptions={"rowSelection": {"mode": "singleRow"}})),
        html.Div([
            section("新建账号", html.Div([
                form_field("用户名", dcc.Input(id="admin-new-username", type="text", maxLength=64)),
                form_field("显示名", dcc.Input(id="admin-new-display", type="text", maxLength=64)),
                form_field("角色", dcc.Dropdown(id="admin-new-role", options=ROLE_OPTIONS, clearable=False,
                                          placeholder="请选择角色")),
                form_field("机构范围（医院管理者）", dcc.Dropdown(id="admin-new-insts", multi=True,
                                                     placeholder="请选择机构")),
                html.Button("创建账号", id="admin-create", n_clicks=0, className="btn btn-primary"),
                html.Div(id="admin-create-result", className="form-result", role="status"),
            ], className="form-grid")),
            section("修改账号", html.Div([
                form_field("账号", dcc.Dropdown(id="admin-edit-username", placeholder="请选择账号")),
                form_field("角色", dcc.Dropdown(id="admin-edit-role", options=ROLE_OPTIONS, clearable=False,
                                          placeholder="请选择角色")),
                form_field("机构范围（医院管理者）", dcc.Dropdown(id="admin-edit-insts", multi=True,
                                                     placeholder="请选择机构")),
                html.Div([
                    html.Button("保存角色与范围", id="admin-save", n_clicks=0, className="btn btn-primary"),
                    html.Button("重置密码", id="admin-reset", n_clicks=0, className="btn"),
                    html.Button("解除锁定", id="admin-unlock", n_clicks=0, className="btn"),
                    html.Button("停用 / 启用", id="admin-toggle", n_clicks=0, className="btn btn-danger"),
                ], className="form-actions"),
                html.Div(id="admin-edit-result", className="form-result", role="status"),
                # destructive actions ask first: the callbacks act on the dialog's OK, not on the button
                dcc.ConfirmDialog(id="admin-reset-confirm", message=""),
                dcc.ConfirmDialog(id="admin-toggle-confirm", message=""),
            ], className="form-grid")),
        ], className="admin-forms"),
        section("大屏设备会话", html.Div([
            html.P("指挥中心大屏账号（角色“指挥中心大屏”）每次登录生成一个长期设备会话：大屏显示期间不因空闲超时退出，"
                   "30 天后须重新登录。吊销后大屏在下一次刷新时回到登录页。", className="form-hint"),
            dcc.Store(id="admin-devices-refresh", data=0),
            data_table("admin-devices-table", [], DEVICE_COLUMNS, page_size=10,
                       dashGridOptions={"rowSelection": {"mode": "singleRow"}}),
            html.Div([
                html.Button("吊销所选设备会话", id="admin-device-revoke", n_clicks=0, className="btn btn-danger"),
                html.Div(id="admin-device-result", className="form-result", role="status"),
            ], className="form-actions"),
        ])),
    ], className="page page-admin")
