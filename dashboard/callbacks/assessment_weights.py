"""Callbacks of 评价权重 /admin/assessment (admin only: gated by module in ``core.roles``; the save and reset
acts check role and same origin again): form, live sum, confirm → save, confirm → reset."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard.views import assessment_weights as view
from layouts import _assessment_parts as A

WEIGHTS = {"type": A.W_WEIGHT, "id": ALL}
ENABLED = {"type": A.W_ENABLED, "id": ALL}


def register(app: dash.Dash) -> None:
    """Wire the weights page's callbacks."""

    @app.callback(Output(A.W_TABLE, "children"), Input(A.W_TICK, "data"))
    def _form(_tick):
        from core.roles import ADMIN
        from dashboard.accounts.access import require_roles
        require_roles(ADMIN)
        return view.form()

    @app.callback(Output(A.W_SUM, "children"), Input(WEIGHTS, "value"), Input(ENABLED, "value"))
    def _sum(weights, enabled):
        return view.sum_text(weights, enabled)

    @app.callback(Output(A.W_CONFIRM_SAVE, "message"), Output(A.W_CONFIRM_SAVE, "displayed"),
                  Output(A.W_MSG, "children", allow_duplicate=True),
                  Input(A.W_SAVE, "n_clicks"), State(WEIGHTS, "id"), State(WEIGHTS, "value"), State(ENABLED, "value"),
                  prevent_initial_call=True)
    def _ask_save(n, ids, weights, enabled):
        if not n:
            raise PreventUpdate
        _changes, errors = view.parse(ids, weights, enabled)
        if errors:
            return no_update, False, "未保存：" + "；".join(errors)
        text = view.confirm_text(ids, weights, enabled)
        if not text:
            return no_update, False, "权重未变化，未作修改"
        return text, True, ""

    @app.callback(Output(A.W_MSG, "children", allow_duplicate=True), Output(A.W_TICK, "data", allow_duplicate=True),
                  Input(A.W_CONFIRM_SAVE, "submit_n_clicks"), State(WEIGHTS, "id"), State(WEIGHTS, "value"),
                  State(ENABLED, "value"), State(A.W_TICK, "data"), prevent_initial_call=True)
    def _save(n, ids, weights, enabled, tick):
        if not n:
            raise PreventUpdate
        message, saved = view.save(ids, weights, enabled)
        return message, (tick or 0) + 1 if saved else no_update

    @app.callback(Output(A.W_CONFIRM_RESET, "displayed"), Input(A.W_RESET, "n_clicks"), prevent_initial_call=True)
    def _ask_reset(n):
        if not n:
            raise PreventUpdate
        return True

    @app.callback(Output(A.W_MSG, "children", allow_duplicate=True), Output(A.W_TICK, "data", allow_duplicate=True),
                  Input(A.W_CONFIRM_RESET, "submit_n_clicks"), State(A.W_TICK, "data"), prevent_initial_call=True)
    def _reset(n, tick):
        if not n:
            raise PreventUpdate
        return view.reset(), (tick or 0) + 1
