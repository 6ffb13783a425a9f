"""Node map settings from /exchange (administrators only: the web gate maps this module to the admin role, and
the callbacks check role and same-origin again). A save that changes something writes one ``node.settings``
audit row in the same transaction as the change; a save that changes nothing writes nothing.

The form's values are checked here first, with Chinese messages and the bounds of the service's own model
(``schemas.NodeSettingsIn``), so that no English validator text reaches the page; the number inputs carry no
min/max of their own, because a browser turns an out-of-range number into an empty value, which would then be
saved as "no zoom" instead of being refused.
"""
from __future__ import annotations

import math
import re
from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.exchange import service as svc
from dashboard.views.exchange_settings import settings_values  # noqa: F401 — the form's values, shared
from layouts import _exchange_parts as P

FIELD_ZH = {"lon": "经度", "lat": "纬度", "zoom": "缩放级别", "city": "城市", "address": "地址"}
REQUIRED = ("lon", "lat")
INTEGER = ("zoom",)


def field_limits() -> dict[str, dict[str, Any]]:
    """{field: {ge, le, max_length}} from the settings model's constraints (one source of the bounds)."""
    from dashboard.exchange.schemas import NodeSettingsIn
    out: dict[str, dict[str, Any]] = {}
    for name, info in NodeSettingsIn.model_fields.items():
        lim: dict[str, Any] = {}
        for m in info.metadata:
            for key in ("ge", "le", "max_length"):
                if getattr(m, key, None) is not None:
                    lim[key] = getattr(m, key)
        out[name] = lim
    return out


def _num(v: float) -> str:
    return f"{v:g}"


def settings_errors(lon: Any, lat: Any, zoom: Any, city: Any, address: Any) -> list[str]:
    """Chinese messages for the form's invalid fields ('经度：须在 -180 到 180 之间'); empty when valid."""
    limits = field_limits()
    values = {"lon": lon, "lat": lat, "zoom": zoom, "city": city, "address": address}
    errors = []
    for name, value in values.items():
        label, lim = FIELD_ZH[name], limits.get(name, {})
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED:
                errors.append(f"{label}：必填")
            continue
        if "max_length" in lim:
            if not isinstance(value, str):
                errors.append(f"{label}：须为文字")
            elif len(value.strip()) > lim["max_length"]:
                errors.append(f"{label}：最多 {lim['max_length']} 个字符")
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors.append(f"{label}：须为数字")
            continue
        if isinstance(value, bool) or math.isnan(number) or math.isinf(number):
            errors.append(f"{label}：须为数字")
            continue
        ge, le = lim.get("ge"), lim.get("le")
        bounds = f"须在 {_num(ge)} 到 {_num(le)} 之间" if ge is not None and le is not None else None
        if name in INTEGER and number != int(number):
            errors.append(f"{label}：须为整数" + (f"，{bounds}" if bounds else ""))
        elif (ge is not None and number < ge) or (le is not None and number > le):
            errors.append(f"{label}：{bounds or ('须不小于 ' + _num(ge) if ge is not None else '须不大于 ' + _num(le))}")
    return errors


# pydantic's English messages, for anything the page check above did not catch (Chinese all the same)
_PYDANTIC_ZH = [
    (re.compile(r"greater than or equal to (\S+)"), "须不小于 {0}"),
    (re.compile(r"less than or equal to (\S+)"), "须不大于 {0}"),
    (re.compile(r"at most (\d+) characters?"), "最多 {0} 个字符"),
    (re.compile(r"valid integer"), "须为整数"),
    (re.compile(r"valid number|finite number"), "须为数字"),
    (re.compile(r"[Ff]ield required"), "必填"),
]


def message_zh(message: str) -> str:
    """A validator's message in Chinese ('格式不正确' when unknown)."""
    for pattern, text in _PYDANTIC_ZH:
        m = pattern.search(message or "")
        if m:
            return text.format(*m.groups())
    return "格式不正确"


def save_settings(code: Any, lon: Any, lat: Any, zoom: Any, city: Any, address: Any) -> tuple[Any, bool]:
    """Validate and save as the logged-in administrator: (message, whether something changed).

    Raises AccessDenied (403) for any other role or a cross-site request.
    """
    from core.roles import ADMIN
    from dashboard.accounts.access import current_user_info, require_state_change
    from dashboard.accounts.audit import add_audit_row
    require_state_change(ADMIN)
    if not isinstance(code, str) or not code:
        return html.Span("请先选择一台前置机", className="ex-msg-bad"), False
    problems = settings_errors(lon, lat, zoom, city, address)
    if problems:
        return html.Span("未保存：" + "；".join(problems), className="ex-msg-bad"), False
    user = current_user_info() or {}

    def audit(session, changes: dict) -> None:
        add_audit_row(session, "node.settings", code, before={f: o for f, (o, _n) in changes.items()},
                      after={f: n for f, (_o, n) in changes.items()})
    try:
        changes = svc.update_node_settings(_cfg(), code, lon, lat, zoom, city, address,
                                           actor=user.get("username", ""), on_change=audit)
    except svc.SettingsInvalid as exc:
        text = "；".join(f"{FIELD_ZH.get(e['field'], e['field'])}：{message_zh(e['message'])}" for e in exc.errors)
        return html.Span(f"未保存：{text}", className="ex-msg-bad"), False
    except LookupError:
        return html.Span("该前置机不存在", className="ex-msg-bad"), False
    if not changes:
        return html.Span("没有修改", className="ex-muted"), False
    return html.Span("已保存：" + "、".join(FIELD_ZH[f] for f in changes), className="ex-msg-ok"), True


def _cfg():
    from dashboard.app import get_config
    return get_config()


def register(app: dash.Dash) -> None:
    """Register the save callback (the form is filled by ``callbacks.exchange``: operators see it read-only)."""
    @app.callback(Output(P.EX_SET_MSG, "children"), Output(P.EX_TICK, "data", allow_duplicate=True),
                  Input(P.EX_SET_SAVE, "n_clicks"), State(P.EX_NODE, "data"), State(P.EX_SET_LON, "value"),
                  State(P.EX_SET_LAT, "value"), State(P.EX_SET_ZOOM, "value"), State(P.EX_SET_CITY, "value"),
                  State(P.EX_SET_ADDR, "value"), State(P.EX_TICK, "data"), prevent_initial_call=True)
    def _save(n, code, lon, lat, zoom, city, address, tick):
        if not n:
            raise PreventUpdate
        msg, changed = save_settings(code, lon, lat, zoom, city, address)
        return msg, ((tick or 0) + 1) if changed else no_update
