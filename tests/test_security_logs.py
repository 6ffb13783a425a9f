"""The auditor's logs page: readable Chinese names for service calls and audit rows, error cards logged as
failures, the audit row detail. Real app, real app DB, Dash callbacks through the Flask test client."""
from __future__ import annotations

import json
import re

import pytest

from dashboard.accounts.audit import flush_service_log
from dashboard.accounts.log_names import change_rows, service_call_names, strip_hash
from dashboard.accounts.models import ServiceLog
from dashboard.accounts.service import create_user, update_user
from tests.http_text import body_text
from tests.test_security import page_call, rows
from tests.test_security_matrix import callback_body, expected_roles, server_callbacks

SAME_SITE = {"Origin": "http://localhost"}
HASH_RE = re.compile(r"@[0-9a-f]{16,}")
ERROR_CARD_RE = re.compile(r'"className":\s*"error-card"')


def test_names_of_recorded_calls():
    edit = "..admin-edit-result.children...admin-users-refresh.data@368a450a881de6f30d81035c918c4b46e5f91a3d464954f4."
    assert service_call_names("admin", edit) == ("系统管理", "修改账号（保存/重置密码/解锁/停用）")
    assert service_call_names("admin", "logs-body.children") == ("审计日志", "查询日志")
    assert service_call_names("page:/admin/users", "_pages_content.children") == ("系统管理", "打开页面")
    assert service_call_names("page:/indicator/op_visits", "x") == ("指标分析", "打开页面")
    assert service_call_names("api:exchange", "POST /api/exchange/runs/<run_id>/logs") == ("前置机接口", "上报运行日志")
    assert service_call_names("exchange_rerun", "..ex-rerun-msg.children...ex-tick.data@385893a46120fdf0..") == (
        "数据交换监测", "重新执行失败任务")
    assert service_call_names("maps", '..{"id":"map-inst","type":"echarts-option"}.data...x.children..') == (
        "一张图", "医疗机构运行地图")
    # not named yet: the recorded id without Dash's hash, never hidden
    assert service_call_names("quality", "q-new-thing.children@0123456789abcdef0123") == ("数据质量",
                                                                                          "q-new-thing.children")
    assert strip_hash("..a.children...b.data@ffff0000ffff0000..") == "a.children...b.data"


def test_every_admin_and_shell_callback_has_a_name(flask_app):
    unnamed = []
    for key, entry in server_callbacks(flask_app):
        module = entry["callback"].__module__.rsplit(".", 1)[-1]
        if module in ("admin", "shell"):
            area, function = service_call_names(module, key)
            if function == strip_hash(key) or not re.search(r"[\u4e00-\u9fff]", area + function):
                unnamed.append(key)
    assert not unnamed, unnamed


def _grid_rows(response, grid_id: str) -> list[dict]:
    """rowData of one AG Grid in a callback's JSON answer."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "AgGrid" and node.get("props", {}).get("id") == grid_id:
                found.append(node["props"]["rowData"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(response.get_json())
    assert found, f"no grid {grid_id}"
    return found[0]


def _logs_body(app, tab: str, days: int = 1, user: str = "") -> dict:
    key = next(k for k in app.callback_map if "logs-body" in k)
    body = callback_body(key, app.callback_map[key])
    values = {"logs-tab": tab, "logs-days": days, "logs-user": user}
    for dep in body["inputs"]:
        dep["value"] = values[dep["id"]]
    return body


def test_service_log_shows_chinese_names_raw_in_tooltip(flask_app, app_cfg, client_as):
    admin, auditor = client_as("admin"), client_as("auditor")
    admin.post("/_dash-update-component", json=page_call("/admin/users"))
    key = next(k for k in flask_app.callback_map if "admin-users-table" in k)
    admin.post("/_dash-update-component", json=callback_body(key, flask_app.callback_map[key]))
    r = auditor.post("/_dash-update-component", json=_logs_body(flask_app, "service"))
    assert r.status_code == 200
    shown = _grid_rows(r, "logs-service-table")
    pairs = {(x["module"], x["function"]) for x in shown}
    assert ("系统管理", "打开页面") in pairs and ("系统管理", "加载账号列表") in pairs
    for x in shown:
        assert not HASH_RE.search(x["function"]) and not x["module"].startswith(("page:", "api:")), x
        assert x["raw"]                                   # what was recorded, for the tooltip
    assert any(x["raw"].startswith("page:/admin/users") for x in shown)
    modules = _grid_rows(r, "logs-module-table")
    assert all(not m["module"].startswith(("page:", "api:")) for m in modules)
    assert sum(m["calls"] for m in modules) >= len({(x["ts"], x["raw"]) for x in shown}) > 0


def test_callback_drawing_an_error_card_is_logged_as_failure(flask_app, app_cfg, client_as):
    """A callback that catches its error and answers 200 with an error card failed all the same."""
    leader = client_as("leader")
    failing, fine = None, None
    for key, entry in server_callbacks(flask_app):
        if "leader" not in expected_roles(key, entry):
            continue
        r = leader.post("/_dash-update-component", json=callback_body(key, entry), headers=SAME_SITE)
        if r.status_code != 200:
            continue
        has_card = bool(ERROR_CARD_RE.search(body_text(r)))
        if has_card and failing is None:
            failing = key
        if not has_card and fine is None:
            fine = key
        if failing and fine:
            break
    assert failing and fine, "need one callback with and one without an error card (empty inputs)"
    flush_service_log(app_cfg)
    n0 = len(rows(app_cfg, ServiceLog))
    for key in (failing, fine):
        leader.post("/_dash-update-component", json=callback_body(key, flask_app.callback_map[key]),
                    headers=SAME_SITE)
    flush_service_log(app_cfg)
    new = {r.function: (r.status, r.success) for r in rows(app_cfg, ServiceLog)[n0:]}
    assert new[failing] == (200, False) and new[fine] == (200, True)


def test_audit_log_readable_and_row_detail(flask_app, app_cfg, client_as):
    create_user(app_cfg, "audited-detail", "leader", "Qx7!liated-pw", is_demo=True)
    update_user(app_cfg, "audited-detail", role="auditor")
    auditor = client_as("auditor")
    r = auditor.post("/_dash-update-component", json=_logs_body(flask_app, "audit"))
    shown = [x for x in _grid_rows(r, "logs-audit-table") if x["target"] == "audited-detail"]
    assert [x["action"] for x in shown] == ["修改角色", "创建账号"]
    role_row = shown[0]
    assert role_row["action_code"] == "user.role" and role_row["actor_role"] == "命令行"
    assert role_row["before"] == "角色：卫健局领导" and role_row["after"] == "角色：审计员"
    assert "用户名：audited-detail" in shown[1]["after"] and shown[1]["before"] == "—"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", role_row["ts"])
    # clicking the row: every field before and after, the changed one marked
    detail = next(k for k in flask_app.callback_map if "logs-audit-detail" in k)
    body = callback_body(detail, flask_app.callback_map[detail])
    body["inputs"][0]["value"] = [role_row]
    r = auditor.post("/_dash-update-component", json=body)
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert r.status_code == 200 and "变更详情" in text and "修改角色（user.role）" in text
    changes = change_rows(role_row["before_json"], role_row["after_json"])
    assert [c["field"] for c in changes if c["changed"]] == ["角色"]
    assert {"field": "启用", "before": "是", "after": "是", "changed": False} in changes
    assert "audit-changed" in text and "审计员" in text
    # the admin may not read it (三权分立)
    admin = client_as("admin")
    assert admin.post("/_dash-update-component", json=body, headers=SAME_SITE).status_code == 403


@pytest.mark.parametrize("before, after, expected", [
    (None, None, []),
    ('{"lon": 1}', '{"lon": 2}', [{"field": "经度", "before": "1", "after": "2", "changed": True}]),
    ("not json", None, [{"field": "内容", "before": "not json", "after": "—", "changed": True}]),
])
def test_change_rows(before, after, expected):
    assert change_rows(before, after) == expected
