"""The command-centre wall: the ``screen`` role's reach (403 everywhere but /screen), its revocable device
session, and the wall's view models against the engine. Real app, real app DB, real tiny demo mart."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.roles import SCREEN, may_open, roles_for_callback_module
from dashboard.accounts import clock
from dashboard.accounts.devices import DEVICE_LIFETIME, DeviceError, list_devices, revoke_device
from dashboard.accounts.models import AuditLog, DeviceSession, UserSession
from dashboard.accounts.service import IDLE_TIMEOUT, create_user
from dashboard.appdb import session_factory
from layouts._nav import nav_items
from tests.fixtures_web import login_client
from tests.test_security import page_call
from tests.test_security_matrix import _module, callback_body, server_callbacks

PW = "Wall-Scr33n!x"


def _screen_client(flask_app, app_cfg, name: str):
    create_user(app_cfg, name, SCREEN, PW, is_demo=True)
    client, resp = login_client(flask_app, name, PW)
    assert resp.status_code == 302 and resp.headers["Location"] == "/screen"
    return client


def _refresh_body(flask_app) -> dict:
    """A real /screen refresh tick (the header panel's callback), as the browser sends it."""
    key = next(k for k, v in server_callbacks(flask_app) if _module(v).endswith("callbacks.screen")
               and "screen-kpis" in k)
    body = callback_body(key, flask_app.callback_map[key])
    body["changedPropIds"] = ["screen-refresh.n_intervals"]
    return body


@pytest.fixture
def frozen():
    class Frozen:
        t = clock.now()

        def advance(self, **kw) -> None:
            self.t += dt.timedelta(**kw)
    f = Frozen()
    clock.set_clock(lambda: f.t)
    yield f
    clock.set_clock(None)


def test_screen_role_opens_only_the_wall(flask_app, app_cfg):
    c = _screen_client(flask_app, app_cfg, "wall-pages")
    assert c.get("/screen").status_code == 200
    assert c.post("/_dash-update-component", json=page_call("/screen")).status_code == 200
    for path in [i.href for i in nav_items()] + ["/indicator/op_visits", "/map/reform", "/exchange"]:
        if path == "/screen":
            continue
        assert c.get(path).status_code == 403, path
        assert c.post("/_dash-update-component", json=page_call(path)).status_code == 403, path
    assert may_open("leader", "/screen") and not may_open("manager", "/screen")


def test_screen_role_calls_no_other_callback(flask_app, app_cfg):
    c = _screen_client(flask_app, app_cfg, "wall-calls")
    reached, refused = [], 0
    for key, entry in server_callbacks(flask_app):
        module = _module(entry).rsplit(".", 1)[-1]
        status = c.post("/_dash-update-component", json=callback_body(key, entry),
                        headers={"Origin": "http://localhost"}).status_code
        if module in ("screen", "shell"):
            assert status != 403, key
        elif status != 403:
            reached.append((key, status))
        else:
            refused += 1
    assert not reached, reached
    assert refused > 30
    # no export route either
    for rule in flask_app.server.url_map.iter_rules():
        if "export" in rule.rule and "GET" in rule.methods and "<" not in rule.rule:
            assert c.get(rule.rule).status_code in (403, 404), rule.rule
    assert SCREEN in roles_for_callback_module("dashboard.callbacks.screen")
    assert SCREEN not in roles_for_callback_module("dashboard.callbacks.admin_devices")


def test_wall_refresh_answers_with_county_figures(flask_app, app_cfg, client_as):
    """The wall's panels for the screen account and for a leader; the tiles are the engine's county rows."""
    from dashboard.screen_views import SCREEN_HEADLINE_IDS
    from dashboard.views import pagekit as kit
    from layouts.formatting import fmt_value
    from metrics import engine
    from metrics.scope import FULL_SCOPE
    body = _refresh_body(flask_app)
    answers = []
    for client in (_screen_client(flask_app, app_cfg, "wall-data"), client_as("leader")):
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 200
        text = r.get_data(as_text=True)
        assert "sc-kpi" in text and "数据截至" in text and "error-card" not in text
        answers.append(r.get_json()["response"])
    tiles = answers[0]["screen-kpis"]["children"]
    assert tiles == answers[1]["screen-kpis"]["children"]
    with flask_app.server.test_request_context():
        state = kit.view_state("?grain=month")
        start, end = kit.bounds(state)
        ids_ = [i for i in SCREEN_HEADLINE_IDS if i in kit.catalogue()]
        df = engine.compute(ids_, "county", "month", start, end, org=None, scope=FULL_SCOPE,
                            mart_url=app_cfg.mart_url)
    assert len(tiles) == len(ids_)
    statuses = 0
    for i, tile in zip(ids_, tiles):
        name, value = tile["props"]["children"][0]["props"]["children"], tile["props"]["children"][1]["props"]["children"]
        entry = kit.indicator(i)
        rows = df[df["indicator_id"] == i]
        expected, status = (rows.iloc[-1]["value"], rows.iloc[-1]["status"]) if len(rows) else (None, None)
        assert name == kit.attr(entry, "zh", i)
        assert value == fmt_value(kit.clean(expected), kit.attr(entry, "unit") or "",
                                  int(kit.attr(entry, "decimals", 1) or 0)), i
        want = {"达标": "st-ok", "预警": "st-warn", "未达标": "st-bad"}.get(status, "st-none")
        assert tile["props"]["className"].split()[-1] == want, i
        statuses += want != "st-none"
    assert statuses >= 4


def test_device_session_outlives_idle_and_lifetime_while_refreshing(flask_app, app_cfg, frozen):
    c = _screen_client(flask_app, app_cfg, "wall-long")
    body = _refresh_body(flask_app)
    # a day of refresh ticks every 10 minutes: longer than the 12 h lifetime, each gap under the idle limit
    for _ in range(6 * 24):
        frozen.advance(minutes=10)
        assert c.post("/_dash-update-component", json=body).status_code == 200
    # switched off longer than the idle limit: the device session ends
    frozen.advance(minutes=IDLE_TIMEOUT.total_seconds() / 60 + 1)
    assert c.post("/_dash-update-component", json=body).status_code == 401
    # a leader's session showing /screen keeps the ordinary rules: interval ticks are not activity
    create_user(app_cfg, "wall-leader", "leader", PW, is_demo=True)
    leader, _ = login_client(flask_app, "wall-leader", PW)
    for _ in range(4):
        frozen.advance(minutes=10)
        status = leader.post("/_dash-update-component", json=body).status_code
    assert status == 401
    assert DEVICE_LIFETIME > dt.timedelta(hours=12)


def test_device_session_ends_after_its_lifetime(flask_app, app_cfg, frozen):
    c = _screen_client(flask_app, app_cfg, "wall-month")
    body = _refresh_body(flask_app)
    t_end = frozen.t + DEVICE_LIFETIME
    while frozen.t < t_end - dt.timedelta(minutes=20):
        frozen.advance(minutes=20)
        with session_factory(app_cfg.app_db_url)() as s, s.begin():   # ticks cost time: touch rows directly
            for row in s.scalars(select(DeviceSession)):
                row.last_seen = frozen.t
    assert c.post("/_dash-update-component", json=body).status_code == 200
    frozen.advance(minutes=25)
    assert c.post("/_dash-update-component", json=body).status_code == 401


def test_admin_lists_and_revokes_a_device_session(flask_app, app_cfg, client_as):
    wall = _screen_client(flask_app, app_cfg, "wall-revoke")
    body = _refresh_body(flask_app)
    assert wall.post("/_dash-update-component", json=body).status_code == 200
    mine = [d for d in list_devices(app_cfg) if d.username == "wall-revoke"]
    assert len(mine) == 1 and mine[0].state == "active" and mine[0].ip == "127.0.0.1"
    admin = client_as("admin")
    table = next((k, v) for k, v in server_callbacks(flask_app) if "admin-devices-table.rowData" in k)
    rows = admin.post("/_dash-update-component", json=callback_body(*table)).get_json()
    assert any(r["id"] == mine[0].id and r["state"] == "在用"
               for r in rows["response"]["admin-devices-table"]["rowData"])
    # the revoke button: admin only, same-origin JSON
    key = next(k for k, _v in server_callbacks(flask_app) if "admin-device-result" in k)
    revoke = {"output": key, "outputs": [{"id": "admin-device-result", "property": "children"},
                                         {"id": "admin-devices-refresh", "property": "data"}],
              "inputs": [{"id": "admin-device-revoke", "property": "n_clicks", "value": 1}],
              "state": [{"id": "admin-devices-table", "property": "selectedRows", "value": [{"id": mine[0].id}]},
                        {"id": "admin-devices-refresh", "property": "data", "value": 0}],
              "changedPropIds": ["admin-device-revoke.n_clicks"]}
    assert client_as("leader").post("/_dash-update-component", json=revoke,
                                    headers={"Origin": "http://localhost"}).status_code == 403
    r = admin.post("/_dash-update-component", json=revoke, headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and "已吊销" in r.get_data(as_text=True)
    # the wall's very next refresh is refused: the browser goes back to the login page
    assert wall.post("/_dash-update-component", json=body).status_code == 401
    assert [d.state for d in list_devices(app_cfg, include_ended=True) if d.id == mine[0].id] == ["revoked"]
    with session_factory(app_cfg.app_db_url)() as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "device.revoke",
                                                     AuditLog.target.like("wall-revoke#%"))) == "admin"
        row = s.scalar(select(UserSession).join(DeviceSession, DeviceSession.sid_hash == UserSession.sid_hash)
                       .where(DeviceSession.id == mine[0].id))
        assert row.end_reason == "revoked"
    with pytest.raises(DeviceError):
        revoke_device(app_cfg, mine[0].id)
    with pytest.raises(DeviceError):
        revoke_device(app_cfg, 10 ** 9)
    # a new login of the wall gets a new device session
    c2, resp = login_client(flask_app, "wall-revoke", PW)
    assert resp.status_code == 302 and c2.post("/_dash-update-component", json=body).status_code == 200


def test_cli_lists_and_revokes_devices(flask_app, app_cfg, monkeypatch):
    from click.testing import CliRunner

    from dashboard.accounts.cli import users_group
    _screen_client(flask_app, app_cfg, "wall-cli")
    for key, value in (("DATA_DIR", str(app_cfg.data_dir)), ("APP_DB_URL", app_cfg.app_db_url),
                       ("MART_URL", app_cfg.mart_url)):
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    listed = runner.invoke(users_group, ["devices"])
    assert listed.exit_code == 0 and "wall-cli" in listed.output
    device = next(d for d in list_devices(app_cfg) if d.username == "wall-cli")
    out = runner.invoke(users_group, ["revoke-device", str(device.id)])
    assert out.exit_code == 0 and "已吊销" in out.output
    again = runner.invoke(users_group, ["revoke-device", str(device.id)])
    assert again.exit_code != 0 and "已被吊销" in again.output


def test_wall_node_counts_add_up():
    """Review: the wall read "21/25 在线 · 4 任务失败 · 0 离线" — the nodes whose last job failed were left out of
    在线 though they heartbeat (数据质量's 交换节点在线率 counts them), so 在线 and 离线 did not add up to 25."""
    import pandas as pd

    from dashboard.screen_views import node_counts
    nodes = pd.DataFrame({"state": ["normal", "normal", "running", "failed", "failed", "offline"]})
    c = node_counts(nodes)
    assert c == {"total": 6, "online": 5, "running": 1, "failed": 2, "offline": 1}
    assert c["online"] + c["offline"] == c["total"]
    assert node_counts(pd.DataFrame({"state": []}))["total"] == 0
