"""系统管理 /admin/users, 大屏设备会话: list the wall screens' device sessions and revoke one (administrator only;
the web gate allows this module to ADMIN, each callback checks again)."""
from __future__ import annotations

import dash
from dash import Input, Output, State, no_update

from core.roles import ADMIN
from dashboard.accounts import devices
from dashboard.accounts.access import require_roles, require_state_change
from dashboard.county_clock import from_utc
from layouts._forms import form_error, form_ok


def _cfg():
    from dashboard.app import get_config
    return get_config()


def device_rows() -> list[dict]:
    """Rows of the device table: sessions in use first, then the last ended or revoked ones."""
    rows = []
    for d in devices.list_devices(_cfg(), include_ended=True)[:200]:
        rows.append({"id": d.id, "username": f"{d.username}（{d.display_name}）", "ip": d.ip or "—",
                     "created_at": f"{from_utc(d.created_at):%Y-%m-%d %H:%M}",
                     "last_seen": f"{from_utc(d.last_seen):%Y-%m-%d %H:%M}",
                     "state": d.state_zh + (f"（{d.revoked_by}）" if d.revoked_by else ""),
                     "user_agent": d.user_agent[:80]})
    return sorted(rows, key=lambda r: (not r["state"].startswith(devices.STATE_ZH["active"]), -r["id"]))


def register(app: dash.Dash) -> None:
    """Wire the device-session table and the revoke button."""

    @app.callback(Output("admin-devices-table", "rowData"), Input("admin-devices-refresh", "data"))
    def _load(_refresh):
        require_roles(ADMIN)
        return device_rows()

    @app.callback(Output("admin-device-result", "children"), Output("admin-devices-refresh", "data"),
                  Input("admin-device-revoke", "n_clicks"), State("admin-devices-table", "selectedRows"),
                  State("admin-devices-refresh", "data"), prevent_initial_call=True)
    def _revoke(n_clicks, selected, refresh):
        require_state_change(ADMIN)
        if not n_clicks:
            return no_update, no_update
        if not selected:
            return form_error("请先在表中选择一个设备会话"), no_update
        try:
            d = devices.revoke_device(_cfg(), int(selected[0]["id"]))
        except (devices.DeviceError, KeyError, TypeError, ValueError) as exc:
            return form_error(str(exc) if isinstance(exc, devices.DeviceError) else "所选行无效"), no_update
        return form_ok(f"已吊销 {d.username} 的设备会话 {d.id}"), (refresh or 0) + 1
