"""Callbacks of 预警规则 (/admin/alerts, system administrator only): list and edit warning rules and notification
channels through the CLI's own service (``dashboard.alerts.admin``), each change audited once; disabling a rule
and deleting a channel ask first. Every callback checks the role itself; changes also need a same-site JSON call.
"""
from __future__ import annotations

import dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from core.roles import ADMIN
from dashboard.accounts.access import require_roles, require_state_change
from dashboard.alerts import admin as svc
from dashboard.views import alert_admin as vm
from layouts._alerts_parts import PARAM_KEYS, param_id
from layouts._forms import form_error, form_hint, form_ok


def _cfg():
    from dashboard.app import get_config
    return get_config()




def _bump(refresh: int | None) -> int:
    return (refresh or 0) + 1


def register(app: dash.Dash) -> None:
    """Register the rule and channel admin callbacks."""

    @app.callback(Output("alert-admin-rules", "rowData"), Output("alert-admin-channels", "rowData"),
                  Output("alert-admin-rule", "options"), Output("alert-admin-channel", "options"),
                  Output("alert-admin-notify", "options"), Output("alert-admin-severity", "options"),
                  Output("alert-admin-levels", "options"), Output("alert-admin-indicators", "options"),
                  Output("alert-admin-ch-kind", "options"), Input("alert-admin-refresh", "data"))
    def load(_refresh):
        require_roles(ADMIN)
        cfg = _cfg()
        channels = vm.channel_options(cfg)
        notify = [{"label": o["label"], "value": o["value"]} for o in channels]
        return (vm.rule_rows(cfg), vm.channel_rows(cfg), vm.rule_options(cfg), channels, notify,
                vm.SEVERITY_OPTIONS, vm.LEVEL_OPTIONS, vm.indicator_options(), vm.KIND_OPTIONS)

    param_outputs = [o for k in PARAM_KEYS for o in (Output(f"{param_id(k)}-field", "hidden"),
                                                     Output(f"{param_id(k)}-label", "children"),
                                                     Output(param_id(k), "value"))]

    @app.callback(Output("alert-admin-kind", "children"), Output("alert-admin-name", "value"),
                  Output("alert-admin-severity", "value"), Output("alert-admin-levels", "value"),
                  Output("alert-admin-indicators", "value"), Output("alert-admin-notify", "value"),
                  *param_outputs, Input("alert-admin-rule", "value"), Input("alert-admin-refresh", "data"))
    def fill_rule(code, _refresh):
        require_roles(ADMIN)
        form = vm.rule_form(_cfg(), code) if code else None
        if form is None:
            return ("请选择一条规则", "", None, [], [], [],
                    *[x for _k in PARAM_KEYS for x in (True, "", "")])
        params = []
        for k in PARAM_KEYS:
            params += [k not in form["shown"], svc.PARAM_SPECS[k][0], form["params"][k]]
        state = "启用" if form["enabled"] else "已停用"
        return (f"规则类型：{form['kind']}（{state}）", form["name"], form["severity"], form["levels"],
                form["indicators"], form["notify"], *params)

    @app.callback(Output("alert-admin-rule-result", "children"),
                  Output("alert-admin-refresh", "data", allow_duplicate=True),
                  Input("alert-admin-save", "n_clicks"), State("alert-admin-rule", "value"),
                  State("alert-admin-name", "value"), State("alert-admin-severity", "value"),
                  State("alert-admin-levels", "value"), State("alert-admin-indicators", "value"),
                  State("alert-admin-notify", "value"), *[State(param_id(k), "value") for k in PARAM_KEYS],
                  State("alert-admin-refresh", "data"), prevent_initial_call=True)
    def save(n_clicks, code, name, severity, levels, indicators, notify, *rest):
        require_state_change(ADMIN)
        if not n_clicks:
            raise PreventUpdate
        *values, refresh = rest
        if not code:
            return form_error("请先选择一条规则"), no_update
        cfg = _cfg()
        try:
            changes = vm.rule_changes(cfg, code, name, severity, levels, indicators, notify,
                                      dict(zip(PARAM_KEYS, values)))
            changed = svc.save_rule(cfg, code, changes)
        except svc.RuleError as exc:
            return form_error(f"未保存：{exc}"), no_update
        if not changed:
            return form_hint("没有修改"), no_update
        return form_ok(f"规则 {code} 已保存"), _bump(refresh)

    @app.callback(Output("alert-admin-toggle-confirm", "message"), Output("alert-admin-toggle-confirm", "displayed"),
                  Output("alert-admin-rule-result", "children", allow_duplicate=True),
                  Output("alert-admin-refresh", "data", allow_duplicate=True),
                  Input("alert-admin-toggle", "n_clicks"), State("alert-admin-rule", "value"),
                  State("alert-admin-refresh", "data"), prevent_initial_call=True)
    def toggle_ask(n_clicks, code, refresh):
        require_state_change(ADMIN)
        if not n_clicks:
            raise PreventUpdate
        cfg = _cfg()
        rule = vm.find_rule(cfg, code) if code else None
        if rule is None:
            return no_update, False, form_error("请先选择一条规则"), no_update
        if rule.enabled:     # disabling asks first; the change happens on the dialog's OK
            return (f"确定停用规则 {rule.code}「{rule.name}」吗？停用后它不再产生新的预警，已有预警不受影响。",
                    True, no_update, no_update)
        svc.save_rule(cfg, code, {"enable": True})
        return no_update, False, form_ok(f"规则 {code} 已启用"), _bump(refresh)

    @app.callback(Output("alert-admin-rule-result", "children", allow_duplicate=True),
                  Output("alert-admin-refresh", "data", allow_duplicate=True),
                  Input("alert-admin-toggle-confirm", "submit_n_clicks"), State("alert-admin-rule", "value"),
                  State("alert-admin-refresh", "data"), prevent_initial_call=True)
    def toggle_confirmed(submitted, code, refresh):
        require_state_change(ADMIN)
        if not submitted or not code:
            raise PreventUpdate
        try:
            changed = svc.save_rule(_cfg(), code, {"enable": False})
        except svc.RuleError as exc:
            return form_error(f"未停用：{exc}"), no_update
        return (form_ok(f"规则 {code} 已停用") if changed else form_hint("该规则已是停用状态"),
                _bump(refresh))

    @app.callback(Output("alert-admin-ch-name", "value"), Output("alert-admin-ch-kind", "value"),
                  Output("alert-admin-ch-target", "value"), Output("alert-admin-ch-enabled", "value"),
                  Input("alert-admin-channel", "value"), prevent_initial_call=True)
    def fill_channel(name):
        require_roles(ADMIN)
        form = vm.channel_form(_cfg(), name) if name else None
        if form is None:
            return "", None, "", ["on"]
        return form["name"], form["kind"], form["target"], ["on"] if form["enabled"] else []

    @app.callback(Output("alert-admin-ch-result", "children"),
                  Output("alert-admin-refresh", "data", allow_duplicate=True),
                  Input("alert-admin-ch-save", "n_clicks"), State("alert-admin-ch-name", "value"),
                  State("alert-admin-ch-kind", "value"), State("alert-admin-ch-target", "value"),
                  State("alert-admin-ch-enabled", "value"), State("alert-admin-refresh", "data"),
                  prevent_initial_call=True)
    def save_channel(n_clicks, name, kind, target, enabled, refresh):
        require_state_change(ADMIN)
        if not n_clicks:
            raise PreventUpdate
        try:
            changed = svc.save_channel(_cfg(), name or "", kind or "", target or "", "on" in (enabled or []))
        except svc.RuleError as exc:
            return form_error(f"未保存：{exc}"), no_update
        if not changed:
            return form_hint("没有修改"), no_update
        return form_ok(f"通知渠道 {name.strip()} 已保存"), _bump(refresh)

    @app.callback(Output("alert-admin-ch-result", "children", allow_duplicate=True),
                  Input("alert-admin-ch-test", "n_clicks"), State("alert-admin-ch-name", "value"),
                  prevent_initial_call=True)
    def send_test(n_clicks, name):
        require_state_change(ADMIN)
        if not n_clicks:
            raise PreventUpdate
        ok, text = vm.send_test(_cfg(), (name or "").strip())
        return form_ok(text) if ok else form_error(text)

    @app.callback(Output("alert-admin-ch-delete-confirm", "message"),
                  Output("alert-admin-ch-delete-confirm", "displayed"),
                  Output("alert-admin-ch-result", "children", allow_duplicate=True),
                  Input("alert-admin-ch-delete", "n_clicks"), State("alert-admin-ch-name", "value"),
                  prevent_initial_call=True)
    def delete_ask(n_clicks, name):
        require_state_change(ADMIN)
        if not n_clicks:
            raise PreventUpdate
        if vm.channel_form(_cfg(), (name or "").strip()) is None:
            return no_update, False, form_error("请先选择一个已保存的渠道")
        return (f"确定删除通知渠道「{name.strip()}」吗？引用它的规则将不再向它发送预警。", True, no_update)

    @app.callback(Output("alert-admin-ch-result", "children", allow_duplicate=True),
                  Output("alert-admin-refresh", "data", allow_duplicate=True),
                  Output("alert-admin-channel", "value"),
                  Input("alert-admin-ch-delete-confirm", "submit_n_clicks"), State("alert-admin-ch-name", "value"),
                  State("alert-admin-refresh", "data"), prevent_initial_call=True)
    def delete_confirmed(submitted, name, refresh):
        require_state_change(ADMIN)
        if not submitted:
            raise PreventUpdate
        try:
            svc.delete_channel(_cfg(), (name or "").strip())
        except svc.RuleError as exc:
            return form_error(str(exc)), no_update, no_update
        return form_ok(f"通知渠道 {name.strip()} 已删除"), _bump(refresh), None
