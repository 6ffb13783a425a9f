"""Callbacks of 系统管理 (/admin/users, administrator) and 审计日志 (/admin/logs, auditor).

Every callback checks the role itself (on top of the request gate); changes also require a same-site JSON request.
"""
from __future__ import annotations

import dash
from dash import Input, Output, State, ctx, no_update

from core.roles import ADMIN, AUDITOR
from dashboard.accounts import logs as logs_service
from dashboard.accounts import service
from dashboard.accounts.access import require_roles, require_state_change
from dashboard.accounts.institutions import check_institutions, describe_institutions, institution_names
from dashboard.county_clock import from_utc
from layouts._forms import form_error, form_ok


def _cfg():
    from dashboard.app import get_config
    return get_config()


def _check_insts(cfg, role: str | None, insts: list[str] | None) -> list[str]:
    """The scope to store: the same check as ``python app.py users create --inst`` (codes the mart knows)."""
    return check_institutions(cfg, role, insts)


def _state(u: service.UserView) -> str:
    if not u.is_active:
        return "停用"
    if u.locked:
        return "锁定"
    return "须修改密码" if u.must_change_password else "正常"




def register(app: dash.Dash) -> None:
    """Register the admin and logs callbacks."""

    @app.callback(Output("admin-users-table", "rowData"), Output("admin-edit-username", "options"),
                  Output("admin-new-insts", "options"), Output("admin-edit-insts", "options"),
                  Input("admin-users-refresh", "data"))
    def load_users(_refresh):
        require_roles(ADMIN)
        cfg = _cfg()
        users = service.list_users(cfg)
        names = institution_names(cfg)
        rows = [{"username": u.username, "display_name": u.display_name, "role_zh": u.role_zh,
                 "inst_codes": describe_institutions(u.inst_codes, names),
                 "state": _state(u) + ("（演示）" if u.is_demo else ""),
                 "last_login_at": f"{from_utc(u.last_login_at):%Y-%m-%d %H:%M}" if u.last_login_at else "—"}
                for u in users]
        options = [{"label": f"{u.username}（{u.role_zh}）", "value": u.username} for u in users]
        insts = [{"label": f"{name}（{code}）", "value": code} for code, name in (names or {}).items()]
        return rows, options, insts, insts

    @app.callback(Output("admin-create-result", "children"), Output("admin-users-refresh", "data"),
                  Input("admin-create", "n_clicks"),
                  State("admin-new-username", "value"), State("admin-new-display", "value"),
                  State("admin-new-role", "value"), State("admin-new-insts", "value"),
                  State("admin-users-refresh", "data"), prevent_initial_call=True)
    def create(n_clicks, username, display, role, insts, refresh):
        require_state_change(ADMIN)
        if not n_clicks:
            return no_update, no_update
        cfg = _cfg()
        password = service.generate_password()
        try:
            user = service.create_user(cfg, (username or "").strip(), role or "", password,
                                       _check_insts(cfg, role, insts), display or "")
        except service.AccountError as exc:
            return form_error(str(exc)), no_update
        return (form_ok(f"已创建 {user.username}（{user.role_zh}）。初始密码：{password} —— 仅显示一次，"
                    "请当面交给本人，首次登录须修改。"), (refresh or 0) + 1)

    @app.callback(Output("admin-edit-role", "value"), Output("admin-edit-insts", "value"),
                  Input("admin-edit-username", "value"), prevent_initial_call=True)
    def fill_edit(username):
        require_roles(ADMIN)
        user = service.get_user_view(_cfg(), username) if username else None
        if user is None:
            return None, []
        return user.role, list(user.inst_codes)

    @app.callback(Output("admin-reset-confirm", "displayed"), Output("admin-reset-confirm", "message"),
                  Output("admin-toggle-confirm", "displayed"), Output("admin-toggle-confirm", "message"),
                  Output("admin-edit-result", "children", allow_duplicate=True),
                  Input("admin-reset", "n_clicks"), Input("admin-toggle", "n_clicks"),
                  State("admin-edit-username", "value"), prevent_initial_call=True)
    def confirm(_reset, _toggle, username):
        """Ask before a destructive action (reset a password, disable an account)."""
        require_roles(ADMIN)
        if not username:
            return False, no_update, False, no_update, form_error("请先选择账号")
        if ctx.triggered_id == "admin-reset":
            return (True, f"确定重置账号 {username} 的密码吗？\n原密码立即失效，新密码只显示一次。",
                    False, no_update, no_update)
        from flask_login import current_user
        if username == current_user.username:
            return False, no_update, False, no_update, form_error("不能停用自己的账号")
        current = service.get_user_view(_cfg(), username)
        if current is None:
            return False, no_update, False, no_update, form_error(f"用户不存在：{username}")
        text = (f"确定停用账号 {username} 吗？\n停用后该账号立即退出登录、不能再登录。" if current.is_active
                else f"确定启用账号 {username} 吗？")
        return False, no_update, True, text, no_update

    @app.callback(Output("admin-edit-result", "children"), Output("admin-users-refresh", "data",
                                                                   allow_duplicate=True),
                  Input("admin-save", "n_clicks"), Input("admin-reset-confirm", "submit_n_clicks"),
                  Input("admin-unlock", "n_clicks"), Input("admin-toggle-confirm", "submit_n_clicks"),
                  State("admin-edit-username", "value"), State("admin-edit-role", "value"),
                  State("admin-edit-insts", "value"), State("admin-users-refresh", "data"),
                  prevent_initial_call=True)
    def edit(_save, _reset, _unlock, _toggle, username, role, insts, refresh):
        require_state_change(ADMIN)
        action = {"admin-reset-confirm": "admin-reset", "admin-toggle-confirm": "admin-toggle"}.get(
            ctx.triggered_id, ctx.triggered_id)
        if action not in ("admin-save", "admin-reset", "admin-unlock", "admin-toggle"):
            return no_update, no_update
        if not username:
            return form_error("请先选择账号"), no_update
        cfg = _cfg()
        from flask_login import current_user
        try:
            if action == "admin-save":
                user = service.update_user(cfg, username, role=role, inst_codes=_check_insts(cfg, role, insts))
                message = (f"已保存 {user.username}：{user.role_zh} "
                           f"{describe_institutions(user.inst_codes, institution_names(cfg))}").rstrip()
            elif action == "admin-reset":
                password = service.generate_password()
                service.reset_password(cfg, username, password)
                message = f"已重置 {username} 的密码：{password} —— 仅显示一次，下次登录须修改。"
            elif action == "admin-unlock":
                service.unlock_user(cfg, username)
                message = f"已解除 {username} 的锁定"
            else:
                if username == current_user.username:
                    raise service.AccountError("不能停用自己的账号")
                current = service.get_user_view(cfg, username)
                if current is None:
                    raise service.AccountError(f"用户不存在：{username}")
                user = service.update_user(cfg, username, is_active=not current.is_active)
                message = f"已{'启用' if user.is_active else '停用'} {username}"
        except service.AccountError as exc:
            return form_error(str(exc)), no_update
        return form_ok(message), (refresh or 0) + 1

    @app.callback(Output("logs-body", "children"), Input("logs-tab", "value"), Input("logs-days", "value"),
                  Input("logs-user", "value"))
    def show_logs(tab, days, username):
        require_roles(AUDITOR)
        from layouts._admin_parts import audit_table, login_table, service_tables
        cfg = _cfg()
        days = int(days or 7)
        username = (username or "").strip()[:64]
        if tab == "service":
            return service_tables(logs_service.service_calls_by_module(cfg, days).to_dict("records"),
                                  logs_service.service_log(cfg, days, username).to_dict("records"))
        if tab == "audit":
            return audit_table(logs_service.audit_log(cfg, days, username).to_dict("records"))
        return login_table(logs_service.login_log(cfg, days, username).to_dict("records"))

    @app.callback(Output("logs-audit-detail", "children"), Input("logs-audit-table", "selectedRows"),
                  prevent_initial_call=True)
    def show_audit_detail(selected):
        """The clicked audit row in full (its before/after JSON field by field); the row comes from the grid,
        whose data this auditor was just sent, so nothing new is read."""
        require_roles(AUDITOR)
        from core.masking import mask_value
        from dashboard.accounts.log_names import change_rows
        from layouts._admin_parts import audit_detail
        row = selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], dict) else None
        if row is None:
            return audit_detail(None)
        row = mask_value({k: v for k, v in row.items() if isinstance(v, (str, int, float, type(None)))})
        return audit_detail(row, change_rows(row.get("before_json"), row.get("after_json")))
