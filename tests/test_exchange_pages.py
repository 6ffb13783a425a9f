"""/exchange and /quality callbacks called through the real Dash endpoint, logged in as each role.

Real SQLite app DB with seeded exchange history, real tiny DuckDB mart, real login: the operator can re-run (one
command and one audit row however often asked, even concurrently), other roles get 403; the administrator can
save node settings (one audit row per change), the operator cannot; every view answers for the roles allowed.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.exchange_fixtures import build_tiny_mart, make_cfg
from tests.fixtures_web import login_client
from tests.http_text import body_text

ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """(cfg, app, {role: client}) on a tiny mart with 2 days of seeded exchange history."""
    from dashboard.accounts.service import ensure_demo_accounts, read_demo_accounts
    from dashboard.app import create_app
    from dashboard.appdb import init_app_db
    from dashboard.exchange.seed import seed_demo_history
    from mart.connection import dispose_engines
    cfg = make_cfg(Path(tmp_path_factory.mktemp("expages")))
    build_tiny_mart(cfg)
    dispose_engines()
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    seed_demo_history(cfg, days=2)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    accounts = read_demo_accounts(cfg)
    clients = {}
    for role, (user, password) in accounts.items():
        client, resp = login_client(app, user, password)
        assert resp.status_code == 302, role
        clients[role] = client
    return cfg, app, clients


def _key(app, module: str, first_output: str) -> str:
    keys = [k for k, v in app.callback_map.items() if "callback" in v
            and getattr(getattr(v["callback"], "__wrapped__", v["callback"]), "__module__", "").endswith(module)
            and k.lstrip(".").startswith(first_output)]
    assert len(keys) == 1, (module, first_output, keys)
    return keys[0]


def call(app, client, module: str, first_output: str, inputs: dict, state: dict | None = None):
    """POST one callback as the browser does; inputs/state: {"id.prop": value}. Returns the response."""
    key = _key(app, module, first_output)
    entry = app.callback_map[key]
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})

    def deps(items: list[dict], values: dict) -> list[dict]:
        out = []
        for item in items:
            ident = item["id"]
            name = f"{ident}.{item['property']}"
            out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": item["property"],
                        "value": values.get(name)})
        return out
    ins = deps(entry["inputs"], inputs)
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": ins,
            "state": deps(entry["state"], state or {}), "changedPropIds": list(inputs)[:1]}
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


def _failed_run(cfg) -> str:
    from dashboard.exchange.service import job_runs
    runs, total = job_runs(cfg, status="failed", page_size=50)
    open_ = _commands(cfg)
    for run_id in runs["run_id"]:
        if run_id not in open_:
            return run_id
    pytest.fail("no failed run without a command in the seeded history")


def _commands(cfg, run_id: str | None = None) -> list[str]:
    from dashboard.appdb import session_factory
    from dashboard.exchange.models import ExchangeCommand
    with session_factory(cfg.app_db_url)() as s:
        q = select(ExchangeCommand.run_id)
        if run_id:
            q = q.where(ExchangeCommand.run_id == run_id)
        return list(s.scalars(q))


def _audits(cfg, action: str, target: str) -> int:
    from dashboard.accounts.models import AuditLog
    from dashboard.appdb import session_factory
    with session_factory(cfg.app_db_url)() as s:
        return s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.action == action, AuditLog.target == target))


def _rerun(env, role: str, run_id: str):
    cfg, app, clients = env
    return call(app, clients[role], "exchange_rerun", "ex-rerun-msg.children",
                {"ex-rerun-confirm.submit_n_clicks": 1}, {"ex-run.data": run_id, "ex-tick.data": 0})


def test_operator_rerun_creates_one_command_and_one_audit_row(env) -> None:
    cfg, app, clients = env
    run_id = _failed_run(cfg)
    first = _rerun(env, "operator", run_id)
    assert first.status_code == 200, body_text(first)
    assert "发送重跑命令" in body_text(first)
    second = _rerun(env, "operator", run_id)
    assert second.status_code == 200
    assert "未重复创建" in body_text(second)
    assert len(_commands(cfg, run_id)) == 1
    assert _audits(cfg, "job.rerun", run_id) == 1


def test_concurrent_reruns_still_one_command(env) -> None:
    cfg, app, clients = env
    run_id = _failed_run(cfg)
    from dashboard.accounts.service import read_demo_accounts
    user, password = read_demo_accounts(cfg)["operator"]
    extra = [login_client(app, user, password)[0] for _ in range(4)]
    statuses = []

    def go(client) -> None:
        statuses.append(call(app, client, "exchange_rerun", "ex-rerun-msg.children",
                             {"ex-rerun-confirm.submit_n_clicks": 1},
                             {"ex-run.data": run_id, "ex-tick.data": 0}).status_code)
    threads = [threading.Thread(target=go, args=(c,)) for c in extra]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    assert len(_commands(cfg, run_id)) == 1
    assert _audits(cfg, "job.rerun", run_id) == 1


@pytest.mark.parametrize("role", ["leader", "manager", "admin", "auditor"])
def test_rerun_refused_for_other_roles(env, role: str) -> None:
    cfg, app, clients = env
    run_id = _failed_run(cfg)
    assert _rerun(env, role, run_id).status_code == 403
    assert _commands(cfg, run_id) == []
    assert _audits(cfg, "job.rerun", run_id) == 0


def test_rerun_of_a_successful_run_is_refused_with_a_message(env) -> None:
    cfg, app, clients = env
    from dashboard.exchange.service import job_runs
    run_id = job_runs(cfg, status="success", page_size=1)[0]["run_id"].iloc[0]
    resp = _rerun(env, "operator", run_id)
    assert resp.status_code == 200 and "只能重跑失败的任务" in body_text(resp)
    assert _commands(cfg, run_id) == [] and _audits(cfg, "job.rerun", run_id) == 0


def _save(env, role: str, code: str, lon, lat, zoom=None, city="", addr=""):
    cfg, app, clients = env
    return call(app, clients[role], "exchange_settings", "ex-set-msg.children", {"ex-set-save.n_clicks": 1},
                {"ex-node.data": code, "ex-set-lon.value": lon, "ex-set-lat.value": lat, "ex-set-zoom.value": zoom,
                 "ex-set-city.value": city, "ex-set-addr.value": addr, "ex-tick.data": 0})


def _node(cfg, code: str):
    from dashboard.exchange.service import node_states
    return node_states(cfg, codes=[code]).iloc[0]


def test_admin_saves_settings_with_one_audit_row_operator_cannot(env) -> None:
    cfg, app, clients = env
    code = "EX-T002"
    before = _node(cfg, code)
    assert _save(env, "operator", code, 119.7, 29.2).status_code == 403
    assert _node(cfg, code)["lon"] == before["lon"] and _audits(cfg, "node.settings", code) == 0
    resp = _save(env, "admin", code, 119.7, 29.2, 12, "示范市", "城关镇卫生路 1 号")
    assert resp.status_code == 200 and "已保存" in body_text(resp)
    after = _node(cfg, code)
    assert (after["lon"], after["lat"], after["zoom"], after["city"]) == (119.7, 29.2, 12, "示范市")
    assert _audits(cfg, "node.settings", code) == 1
    # the same values again change nothing and write no audit row
    assert "没有修改" in body_text(_save(env, "admin", code, 119.7, 29.2, 12, "示范市", "城关镇卫生路 1 号"))
    assert _audits(cfg, "node.settings", code) == 1


def test_invalid_settings_store_nothing(env) -> None:
    cfg, app, clients = env
    code = "EX-T003"
    before = _node(cfg, code)
    resp = _save(env, "admin", code, 500, 29.2)
    assert resp.status_code == 200 and "未保存" in body_text(resp)
    assert _node(cfg, code)["lon"] == before["lon"] and _audits(cfg, "node.settings", code) == 0


def _log_view(env, role: str, run_id: str) -> tuple[int, str]:
    cfg, app, clients = env
    resp = call(app, clients[role], "callbacks.exchange", "ex-log-head.children",
                {"ex-run.data": run_id, "ex-interval.n_intervals": 0, "ex-tick.data": 0})
    return resp.status_code, body_text(resp)


def test_log_view_has_rerun_button_only_for_operators(env) -> None:
    cfg, app, clients = env
    run_id = _failed_run(cfg)
    status, text = _log_view(env, "operator", run_id)
    assert status == 200 and "ex-rerun-btn" in text and "ERROR" in text
    status, text = _log_view(env, "admin", run_id)
    assert status == 200 and "ex-rerun-btn" not in text and "仅运维人员可重跑" in text
    for role in ("leader", "manager", "auditor"):
        assert _log_view(env, role, run_id)[0] == 403


def test_overview_lists_every_node_with_its_state(env) -> None:
    cfg, app, clients = env
    from dashboard.exchange.service import node_states
    resp = call(app, clients["operator"], "callbacks.exchange", '{"id":"exchange-map","type":"echarts-option"}.data',
                {"ex-ready.data": True, "ex-interval.n_intervals": 0, "ex-tick.data": 0})
    assert resp.status_code == 200
    out = resp.json["response"]
    rows = out["ex-nodes"]["rowData"]
    states = node_states(cfg)
    assert {r["code"] for r in rows} == set(states["code"])
    assert {r["code"]: r["state"] for r in rows} == dict(zip(states["code"], states["state"]))
    failed = call(app, clients["operator"], "callbacks.exchange", '{"id":"exchange-map","type":"echarts-option"}.data',
                  {"ex-ready.data": True, "ex-interval.n_intervals": 0, "ex-tick.data": 0,
                   "ex-f-state.value": ["failed"]}).json["response"]["ex-nodes"]["rowData"]
    assert {r["code"] for r in failed} == set(states.loc[states["state"] == "failed", "code"])


def test_quality_views_by_role_and_scope(env) -> None:
    cfg, app, clients = env
    from dashboard.accounts.service import read_demo_accounts  # noqa: F401
    for role in ("leader", "operator"):
        resp = call(app, clients[role], "callbacks.quality", "q-inst.children",
                    {"q-ready.data": True, "q-days.value": 7})
        assert resp.status_code == 200, role
        text = body_text(resp)
        assert "T001" in text and "H001" in text
    for role in ("admin", "auditor"):
        assert call(app, clients[role], "callbacks.quality", "q-inst.children",
                    {"q-ready.data": True, "q-days.value": 7}).status_code == 403
    kpis = call(app, clients["leader"], "callbacks.quality", "q-kpis.children",
                {"q-ready.data": True, "q-days.value": 7})
    assert kpis.status_code == 200 and "数据上传及时率" in body_text(kpis)


def _inst_rows(env, role: str) -> list[dict]:
    cfg, app, clients = env
    resp = call(app, clients[role], "callbacks.quality", "q-inst.children", {"q-ready.data": True, "q-days.value": 7})
    assert resp.status_code == 200
    grid = resp.json["response"]["q-inst"]["children"]["props"]
    return grid["rowData"]


def test_quality_table_agrees_with_the_service_and_manager_sees_own_institutions(env) -> None:
    cfg, app, clients = env
    import datetime as dt

    from dashboard.accounts.service import get_user_view, read_demo_accounts
    from dashboard.exchange.quality import quality_daily
    from dashboard.exchange.service import now_local
    rows = {r["inst_code"]: r for r in _inst_rows(env, "leader")}
    now = now_local().replace(second=0)
    ref = quality_daily(cfg, now.date() - dt.timedelta(days=6), now.date(), now=now, by=["inst_code"])
    assert set(rows) == set(ref["inst_code"])
    for r in ref.itertuples(index=False):
        page = rows[r.inst_code]
        # the page may be a minute apart from this call: numerators within one slot/hour of the service's
        assert abs(page["upload_timeliness"] - round(r.upload_timeliness * 100, 1)) < 1.5
        assert page["job_success_rate_parts"] == f"{r.success_runs:,} / {r.finished_runs:,}"
    manager = get_user_view(cfg, read_demo_accounts(cfg)["manager"][0])
    mine = {r["inst_code"] for r in _inst_rows(env, "manager")}
    assert mine and mine <= set(manager.inst_codes)
    assert mine == set(manager.inst_codes) & set(rows)


# ------------------------------------------------------------------------------------------- audit fixes (issue 7)
def test_settings_messages_are_chinese_and_out_of_range_zoom_is_refused(env) -> None:
    cfg, app, clients = env
    code = "EX-T004"
    before = _node(cfg, code)
    cases = [((500, 29.2, None), "经度：须在 -180 到 180 之间"),
             ((119.7, -95, None), "纬度：须在 -90 到 90 之间"),
             ((119.7, 29.2, 40), "缩放级别：须在 1 到 20 之间"),
             ((119.7, 29.2, 2.5), "缩放级别：须为整数"),
             ((None, 29.2, 12), "经度：必填")]
    for (lon, lat, zoom), message in cases:
        text = body_text(_save(env, "admin", code, lon, lat, zoom, "示范市", "卫生路 2 号"))
        assert "未保存" in text and message in text, (lon, lat, zoom, text)
        assert "Input should" not in text and "Field required" not in text
    after = _node(cfg, code)
    assert (after["lon"], after["lat"]) == (before["lon"], before["lat"])
    assert after["city"] in (None, "") and _audits(cfg, "node.settings", code) == 0
    # a valid zoom at the model's upper bound is saved
    assert "已保存" in body_text(_save(env, "admin", code, 119.7, 29.2, 20))
    assert _node(cfg, code)["zoom"] == 20


def test_detail_panel_shows_city_and_address(env) -> None:
    cfg, app, clients = env
    code = "EX-T005"
    assert "已保存" in body_text(_save(env, "admin", code, 119.61, 29.05, 13, "丰安县", "桃源镇卫生路 8 号"))
    resp = call(app, clients["operator"], "callbacks.exchange", "ex-detail.children",
                {"ex-node.data": code, "ex-interval.n_intervals": 0, "ex-tick.data": 0})
    assert resp.status_code == 200
    text = body_text(resp)
    assert "城市" in text and "丰安县" in text and "地址" in text and "桃源镇卫生路 8 号" in text


def test_selecting_a_node_with_a_zoom_focuses_the_map_without_one_leaves_it(env) -> None:
    cfg, app, clients = env
    code = "EX-T006"
    assert "已保存" in body_text(_save(env, "admin", code, 119.68, 29.06, 14))
    out = call(app, clients["operator"], "callbacks.exchange", "ex-node.data",
               {"ex-nodes.cellClicked": {"rowId": code, "colId": "name"}}).json["response"]
    assert out["ex-node"]["data"] == code
    assert out["ex-focus"]["data"] == {"code": code, "lon": 119.68, "lat": 29.06, "zoom": 14}
    plain = "EX-T007"                                 # no saved zoom: the map is not moved
    out = call(app, clients["operator"], "callbacks.exchange", "ex-node.data",
               {"ex-nodes.cellClicked": {"rowId": plain, "colId": "name"}}).json["response"]
    assert out["ex-node"]["data"] == plain and "ex-focus" not in out


def _node_api(env, code: str, method: str, path: str, body):
    cfg, app, clients = env
    from dashboard.exchange.service import issue_token
    client = app.server.test_client()
    return client.open("/api/exchange" + path, method=method, json=body,
                       headers={"Authorization": f"Bearer {issue_token(cfg, code)}"})


@pytest.mark.parametrize("outcome, shown", [("success", "成功"), ("failed", "失败"), ("running", "运行中")])
def test_rerun_box_shows_the_new_runs_status(env, outcome: str, shown: str) -> None:
    """The node runs the re-run (real node API: new run, acks); the box names the new run and its status."""
    import datetime as dt

    from dashboard.exchange.service import job_runs, request_rerun
    cfg, app, clients = env
    run_id = _failed_run(cfg)
    old = job_runs(cfg, run_id=run_id, page_size=1)[0].iloc[0]
    cmd = request_rerun(cfg, run_id, "operator")
    node = old["node_code"]
    now = dt.datetime.now().replace(microsecond=0)
    new_id = f"{run_id}-R{outcome[:2]}"
    run = {"run_id": new_id, "job_code": old["job_code"], "started_at": now.isoformat(), "status": outcome}
    if outcome != "running":
        run |= {"finished_at": now.isoformat(), "rows_extracted": 10, "rows_loaded": 10 if outcome == "success" else 0,
                "rows_rejected": 0, "error": None if outcome == "success" else "ORA-12541: TNS:no listener (HIS 门诊库)"}
    assert _node_api(env, node, "POST", "/runs", run).status_code == 201
    assert _node_api(env, node, "POST", f"/commands/{cmd.id}/ack", {"state": "picked"}).status_code == 200
    assert _node_api(env, node, "POST", f"/commands/{cmd.id}/ack",
                     {"state": "done", "run_id": new_id}).status_code == 200
    status, text = _log_view(env, "operator", run_id)
    assert status == 200 and "新运行 " in text and new_id in text
    assert f"ex-run-pill-{outcome}" in text and shown in text.split(new_id, 1)[1]


def test_trend_reject_axis_has_a_floor(env) -> None:
    from dashboard.callbacks.quality import nice_step, reject_axis_top
    cfg, app, clients = env
    resp = call(app, clients["leader"], "callbacks.quality", "q-trend.children",
                {"q-ready.data": True, "q-days.value": 7})
    assert resp.status_code == 200
    layout = resp.json["response"]["q-trend"]["children"]["props"]["figure"]["layout"]
    low, high = layout["yaxis2"]["range"]
    assert low == 0 and high >= 1.0                  # the 0.5 % target sits mid-axis, not a 0–0.02 % zoom
    assert reject_axis_top([0.01, 0.02], 0.5) == 1.0
    assert reject_axis_top([0.01, 0.02], None) == 1.0
    assert reject_axis_top([0.01, 3.0], 0.5) == pytest.approx(3.6)
    assert [nice_step(x) for x in (0.2, 0.21, 0.72, 0.03)] == [0.2, 0.25, 1.0, 0.05]
    # the right axis' ticks fall on the left axis' 20 % gridlines
    assert layout["yaxis2"]["dtick"] * 5 <= high and layout["yaxis"]["dtick"] == 20


def test_every_running_job_line_has_length_and_the_platform_is_clear(demo_cfg) -> None:
    """On the demo county's geometry with every node uploading, no line collapses onto its node and the
    platform's star keeps its clearance from every node (it used to sit on the lead hospital)."""
    import math

    from dashboard.exchange.mapview import CLEARANCE, PLATFORM_NAME, STAR_RADIUS, exchange_option
    from dashboard.exchange.service import node_states
    from geo.store import display_geometry
    disp = display_geometry(demo_cfg.geo_dir)
    nodes = node_states(demo_cfg)
    assert len(nodes) > 5
    nodes["running_jobs"] = [["HIS_OP", "LIS"] for _ in range(len(nodes))]
    option = exchange_option(disp, nodes)
    series = {s["name"]: s for s in option["series"]}
    lines = series["运行中任务"]["data"]
    assert len(lines) == 2 * len(nodes.dropna(subset=["lon", "lat"]))
    for line in lines:
        start, end = line["coords"]
        assert start != end, line["name"]
    platform = series[PLATFORM_NAME]["data"][0]["value"]
    minx, miny, maxx, maxy = disp.bbox
    kx = math.cos(math.radians((miny + maxy) / 2))
    diag = math.hypot((maxx - minx) * kx, maxy - miny)
    for row in nodes.dropna(subset=["lon", "lat"]).itertuples():
        gap = math.hypot((row.lon - platform[0]) * kx, row.lat - platform[1])
        assert gap >= (STAR_RADIUS + CLEARANCE) * diag * 0.99, row.code
    # a fixed point is used as given
    fixed = exchange_option(disp, nodes, platform_at=(minx + 0.01, miny + 0.01))
    assert {s["name"]: s for s in fixed["series"]}[PLATFORM_NAME]["data"][0]["value"] == [minx + 0.01, miny + 0.01]


def test_same_run_id_on_two_nodes_shows_two_runs_with_their_own_logs_and_rerun(env) -> None:
    """Issue 13 item 8: two nodes both report run "DUP-1"; /exchange lists both, each row opens its own run's
    log (rows are keyed <node>/<run id>), and the operator's re-run goes to the chosen node only."""
    from dashboard.exchange.models import ExchangeCommand, ExchangeNode
    from dashboard.exchange.service import issue_token, now_local
    cfg, app, clients = env
    now = now_local().replace(microsecond=0)
    node_api = app.server.test_client()
    for code, text in (("EX-T001", "甲节点的错误"), ("EX-T002", "乙节点的错误")):
        headers = {"Authorization": f"Bearer {issue_token(cfg, code)}"}
        body = {"run_id": "DUP-1", "job_code": "HIS_OP", "started_at": now.isoformat(), "status": "failed",
                "finished_at": now.isoformat(), "error": text}
        assert node_api.post("/api/exchange/runs", json=body, headers=headers).status_code == 201
        assert node_api.post("/api/exchange/runs/DUP-1/logs", headers=headers,
                             json=[{"ts": now.isoformat(), "level": "ERROR", "message": text, "seq": 0}]
                             ).status_code == 201
    resp = call(app, clients["operator"], "callbacks.exchange", "ex-runs.rowData",
                {"ex-page.data": 1, "ex-interval.n_intervals": 0, "ex-tick.data": 0},
                {"ex-r-status.value": "failed", "ex-r-node.value": None, "ex-r-job.value": None,
                 "ex-r-dates.start_date": None, "ex-r-dates.end_date": None})
    assert resp.status_code == 200, body_text(resp)
    rows = resp.json["response"]["ex-runs"]["rowData"]
    dup = sorted((r["run_key"], r["error"]) for r in rows if r["run_id"] == "DUP-1")
    assert dup == [("EX-T001/DUP-1", "甲节点的错误"), ("EX-T002/DUP-1", "乙节点的错误")]
    status, text = _log_view(env, "operator", "EX-T002/DUP-1")
    assert status == 200 and "乙节点的错误" in text and "甲节点的错误" not in text
    status, text = _log_view(env, "operator", "EX-T001/DUP-1")
    assert status == 200 and "甲节点的错误" in text and "乙节点的错误" not in text
    status, text = _log_view(env, "operator", "DUP-1")              # a bare id used twice: refused, not mixed
    assert status == 200 and not ("甲节点的错误" in text and "乙节点的错误" in text)
    assert "多台前置机" in body_text(_rerun(env, "operator", "DUP-1"))
    resp = _rerun(env, "operator", "EX-T002/DUP-1")
    assert resp.status_code == 200 and "发送重跑命令" in body_text(resp)
    from dashboard.appdb import session_factory
    with session_factory(cfg.app_db_url)() as s:
        nodes = s.scalars(select(ExchangeNode.code).join(ExchangeCommand, ExchangeCommand.node_id == ExchangeNode.id)
                          .where(ExchangeCommand.run_id == "DUP-1")).all()
    assert nodes == ["EX-T002"]


def test_running_run_of_an_offline_node_does_not_read_running(env) -> None:
    """Issue 14 review: the run table said 运行中 under a node list saying 离线 for the same node. A run still
    'running' on a node whose heartbeats stopped reads 节点离线; after a heartbeat, 运行中 again."""
    import datetime as dt

    from dashboard.exchange.service import node_states
    from dashboard.views.exchange_page import runs_view
    cfg, app, clients = env
    node = node_states(cfg).iloc[-1]["code"]
    now = dt.datetime.now().replace(microsecond=0)
    run_id = "U14-SILENT-1"
    assert _node_api(env, node, "POST", "/runs", {"run_id": run_id, "job_code": "HIS_OP",
                                                  "started_at": now.isoformat(), "status": "running"}).status_code == 201

    def shown() -> str:
        with app.server.test_request_context():
            rows, *_ = runs_view("running", node, None, None, None, 1)
        return next(r["status_zh"] for r in rows if r["run_id"] == run_id)

    # the node fell silent three hours ago
    from sqlalchemy import update

    from dashboard.appdb import session_factory
    from dashboard.exchange.models import ExchangeNode
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(update(ExchangeNode).where(ExchangeNode.code == node)
                  .values(last_heartbeat_at=now - dt.timedelta(hours=3)))
    assert node_states(cfg, codes=[node]).iloc[0]["state"] == "offline"
    assert shown() == "节点离线"
    assert _node_api(env, node, "POST", "/heartbeat", {"ts": now.isoformat()}).status_code == 204
    assert node_states(cfg, codes=[node]).iloc[0]["state"] != "offline"
    assert shown() == "运行中"
