"""Re-run of a failed job from /exchange (operators only: the web gate maps this module to the operator role,
and the callback checks role and same-origin again before acting).

One act = at most one command and one audit row: the service returns the open command when one exists (no new
row, no new audit), and the audit row is written in the same transaction as the command.
"""
from __future__ import annotations

import logging
from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.exchange import service as svc
from layouts import _exchange_parts as P

log = logging.getLogger(__name__)


def rerun_action(key: Any) -> tuple[Any, bool]:
    """Ask for a re-run of the run ``key`` (``<node code>/<run id>``, see ``svc.run_key``; a bare run id used by
    one node only is accepted too) as the logged-in operator: (message, whether a command was created).

    Raises AccessDenied (403) for any other role or a cross-site request.
    """
    from core.roles import OPERATOR
    from dashboard.accounts.access import current_user_info, require_state_change
    from dashboard.accounts.audit import add_audit_row
    from dashboard.app import get_config
    require_state_change(OPERATOR)
    node, run_id = svc.split_run_key(key) if isinstance(key, str) else (None, "")
    if not run_id or len(run_id) > 64 or (node is not None and len(node) > 32):
        return html.Span("请先选择一次失败的运行", className="ex-msg-bad"), False
    user = current_user_info() or {}
    offline = svc.offline_node_of_run(get_config(), run_id, node_code=node)
    if offline is not None:
        return html.Span(svc.offline_note(offline) + "，重跑命令无法送达，未发送；请待其恢复在线后再试。",
                         className="ex-msg-bad"), False

    def audit(session, info: svc.CommandInfo) -> None:
        add_audit_row(session, "job.rerun", run_id, before={"status": "failed"},
                      after={"command_id": info.id, "node": info.node_code, "job": info.job_code,
                             "state": info.state})
    try:
        info = svc.request_rerun(get_config(), run_id, user.get("username", ""), on_created=audit, node_code=node)
    except svc.RerunRefused as exc:
        return html.Span(str(exc), className="ex-msg-bad"), False
    if info.created:
        return html.Span(f"已向 {info.node_code} 发送重跑命令 #{info.id}，等待前置机执行…",
                         className="ex-msg-ok"), True
    return html.Span(f"该运行已有待执行的重跑命令 #{info.id}（{info.requester} 发起），未重复创建",
                     className="ex-msg-warn"), False


def register(app: dash.Dash) -> None:
    """Register the re-run callback (fired by the confirmation dialog's OK)."""
    @app.callback(Output(P.EX_RERUN_MSG, "children"), Output(P.EX_TICK, "data", allow_duplicate=True),
                  Input(P.EX_RERUN_CONFIRM, "submit_n_clicks"), State(P.EX_RUN, "data"), State(P.EX_TICK, "data"),
                  prevent_initial_call=True)
    def _rerun(n, key, tick):
        if not n:
            raise PreventUpdate
        msg, created = rerun_action(key)
        return msg, ((tick or 0) + 1) if created else no_update
