"""Access matrix: the URL map walked anonymously, every callback × every role, pages × roles, scope, masking."""
from __future__ import annotations

import json
import re

import pytest

from core.masking import has_unmasked
from core.roles import ADMIN, AUDITOR, ROLES, roles_for_callback_module, roles_for_path
from dashboard.accounts.service import read_demo_accounts
from layouts._nav import nav_items
from tests.http_text import body_text
from tests.test_security import page_call

ALLOWED_ANONYMOUS = {"/login", "/auth/static/login.css"}


def _concrete(rule) -> str:
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "login.css" if m.group(1) == "filename" else "x", rule.rule)
    return path


def test_url_map_anonymous_walk(flask_app):
    c = flask_app.server.test_client()
    seen = 0
    for rule in flask_app.server.url_map.iter_rules():
        path = _concrete(rule)
        if rule.endpoint == "accounts.static":
            path = "/auth/static/login.css"
        methods = rule.methods - {"OPTIONS", "HEAD"}
        for method in methods:
            resp = c.open(path, method=method, json={} if method == "POST" else None)
            seen += 1
            if path in ALLOWED_ANONYMOUS and method == "GET":
                assert resp.status_code == 200, path
            else:
                assert resp.status_code != 200 and resp.status_code < 500 or resp.status_code == 429, \
                    (method, path, resp.status_code)
                assert resp.status_code in (302, 400, 401, 403, 404, 405, 429), (method, path, resp.status_code)
    assert seen > 10
    # Resource paths that the catch-all would serve are closed too.
    for path in ("/assets/app.css", "/_dash-component-suites/dash/deps/react@18.min.js", "/vendor/echarts.min.js",
                 "/_dash-dependencies", "/_reload-hash", "/admin/users", "/anything/else"):
        assert c.get(path).status_code in (302, 401), path


def _outputs(key: str) -> list[dict]:
    key = key.strip(".") if key.startswith("..") else key
    parts = key.split("...") if "..." in key else [key]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        if ident.startswith("{"):
            ident = json.loads(ident)
        out.append({"id": ident, "property": prop.split("@")[0]})
    return out


def _deps(items: list[dict], value=None) -> list[dict]:
    out = []
    for item in items:
        ident = item["id"]
        if isinstance(ident, str) and ident.startswith("{"):
            ident = json.loads(ident)
        out.append({"id": ident, "property": item["property"], "value": value})
    return out


def callback_body(key: str, entry: dict, value=None) -> dict:
    outputs = _outputs(key)
    inputs = _deps(entry["inputs"], value)
    return {"output": key, "outputs": outputs if len(outputs) > 1 or key.startswith("..") else outputs[0],
            "inputs": inputs, "state": _deps(entry["state"], value),
            "changedPropIds": [f"{json.dumps(i['id']) if isinstance(i['id'], dict) else i['id']}.{i['property']}"
                               for i in inputs[:1]]}


def _module(entry: dict) -> str:
    fn = entry["callback"]
    return getattr(getattr(fn, "__wrapped__", fn), "__module__", "")


def expected_roles(key: str, entry: dict) -> frozenset[str]:
    module = _module(entry)
    roles = roles_for_callback_module(module)
    if module.endswith("callbacks.admin"):   # one module, two pages: each callback narrows further
        roles = frozenset({ADMIN}) if "admin-" in key else frozenset({AUDITOR}) if "logs-" in key else frozenset()
    return roles


def server_callbacks(app) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in app.callback_map.items()
            if "callback" in v and not _module(v).startswith("dash.")]   # clientside ones never reach the server


def test_every_callback_as_every_role(flask_app, client_as):
    callbacks = server_callbacks(flask_app)
    assert any(_module(v).endswith("callbacks.admin") for _k, v in callbacks)
    clients = {role: client_as(role) for role in ROLES}
    anonymous = flask_app.server.test_client()
    failures = []
    for key, entry in callbacks:
        body = callback_body(key, entry)
        allowed = expected_roles(key, entry)
        assert anonymous.post("/_dash-update-component", json=body).status_code == 401
        for role, client in clients.items():
            status = client.post("/_dash-update-component", json=body,
                                 headers={"Origin": "http://localhost"}).status_code
            if role in allowed and status in (401, 403):
                failures.append(f"{role} refused {key} ({status})")
            if role not in allowed and status != 403:
                failures.append(f"{role} reached {key} ({status})")
    assert not failures, "\n".join(failures)


def test_unknown_callback_denied(client_as):
    c = client_as("leader")
    body = {"output": "made-up.children", "outputs": {"id": "made-up", "property": "children"},
            "inputs": [], "state": [], "changedPropIds": []}
    assert c.post("/_dash-update-component", json=body).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(flask_app, client_as, role):
    c = client_as(role)
    for path in [i.href for i in nav_items()] + ["/admin/users", "/admin/logs", "/indicator/op_visits"]:
        allowed = role in (roles_for_path(path) or frozenset())
        page = c.get(path).status_code
        call = c.post("/_dash-update-component", json=page_call(path)).status_code
        assert (page == 200) is allowed and (page == 403) is (not allowed), (role, path, page)
        assert (call != 403) is allowed, (role, path, call)


def test_admin_and_auditor_separated(flask_app, app_cfg, client_as):
    """三权分立: the admin cannot read the logs; the auditor cannot change users."""
    logs = next(k for k in flask_app.callback_map if "logs-body" in k)
    create = next(k for k in flask_app.callback_map if "admin-create-result" in k)
    admin, auditor = client_as("admin"), client_as("auditor")
    logs_body = callback_body(logs, flask_app.callback_map[logs])
    logs_body["inputs"][0]["value"] = "audit"
    assert admin.post("/_dash-update-component", json=logs_body).status_code == 403
    r = auditor.post("/_dash-update-component", json=logs_body)
    assert r.status_code == 200 and "user.create" in body_text(r)
    body = _create_body(flask_app, create, "mallory")
    assert auditor.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"}
                        ).status_code == 403


def _create_body(app, key: str, username: str, role: str = "leader") -> dict:
    body = callback_body(key, app.callback_map[key])
    body["inputs"][0]["value"] = 1
    values = {"admin-new-username": username, "admin-new-display": "测试", "admin-new-role": role,
              "admin-new-insts": [], "admin-users-refresh": 0}
    for st in body["state"]:
        st["value"] = values.get(st["id"])
    body["changedPropIds"] = ["admin-create.n_clicks"]
    return body


def test_admin_creates_user_once_audited_and_csrf_checked(flask_app, app_cfg, client_as):
    from dashboard.accounts.models import AuditLog
    from dashboard.accounts.service import get_user_view
    from tests.test_security import rows
    create = next(k for k in flask_app.callback_map if "admin-create-result" in k)
    admin = client_as("admin")
    body = _create_body(flask_app, create, "carol")
    # Without Origin/Referer, or from another site: refused, nothing stored.
    assert admin.post("/_dash-update-component", json=body).status_code == 403
    assert admin.post("/_dash-update-component", json=body,
                      headers={"Origin": "https://evil.example"}).status_code == 403
    assert get_user_view(app_cfg, "carol") is None
    r = admin.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and "初始密码" in body_text(r)
    view = get_user_view(app_cfg, "carol")
    assert view.role == "leader" and view.must_change_password
    audits = rows(app_cfg, AuditLog, action="user.create", target="carol")
    assert len(audits) == 1 and audits[0].actor == read_demo_accounts(app_cfg)["admin"][0]
    # Creating it again is refused with a message and no second row.
    r = admin.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
    assert "已存在" in body_text(r)
    assert len(rows(app_cfg, AuditLog, action="user.create", target="carol")) == 1


def test_scope_computed_on_server(flask_app, app_cfg):
    from dashboard.accounts.access import current_scope
    from tests.fixtures_web import login_client
    accounts = read_demo_accounts(app_cfg)
    for role, (user, pw) in accounts.items():
        c, _ = login_client(flask_app, user, pw)
        with c:
            c.get("/login")
            scope = current_scope()
        if role == "leader":
            assert scope.all_institutions
        elif role == "manager":
            from dashboard.accounts.service import get_user_view
            assert not scope.all_institutions and scope.inst_codes == frozenset(get_user_view(app_cfg, user).inst_codes)
        elif role == "screen":
            # the wall shows county figures and institutions on its map; the gate lets it call /screen's
            # callbacks only (no drill, rows or export: tests/test_screen.py)
            assert scope.aggregates
        else:
            assert not scope.sees_anything


def _mart_or_skip(app_cfg):
    from mart.db import mart_exists
    assert mart_exists(app_cfg), "the tiny demo mart was not built"
    from mart.connection import read_df
    return read_df


def test_manager_cannot_pull_other_institution_detail(flask_app, app_cfg, client_as):
    read_df = _mart_or_skip(app_cfg)
    from dashboard.accounts.service import get_user_view
    mine = set(get_user_view(app_cfg, read_demo_accounts(app_cfg)["manager"][0]).inst_codes)
    assert mine, "demo manager has no institutions"
    insts = read_df(app_cfg.mart_url, "SELECT inst_code FROM institution WHERE level <> 'village' ORDER BY inst_code")
    other = next(c for c in insts["inst_code"] if c not in mine)
    secret = read_df(app_cfg.mart_url, "SELECT dept_code AS code FROM department WHERE inst_code = :i UNION "
                     "SELECT staff_code FROM staff WHERE inst_code = :i", {"i": other})["code"].tolist()
    assert secret
    pat = re.compile("|".join(re.escape(s) for s in secret))
    c = client_as("manager")
    search = f"?org={other}&level=department&grain=month"
    leaks = []
    for path in ("/", "/indicator/op_visits", "/topic/resources", "/referrals", "/map/institutions"):
        body = page_call(path)
        body["inputs"][1]["value"] = search
        r = c.post("/_dash-update-component", json=body)
        if pat.search(body_text(r)):
            leaks.append(f"page {path}")
    for key, entry in server_callbacks(flask_app):
        if "manager" not in expected_roles(key, entry):
            continue
        body = callback_body(key, entry)
        for dep in body["inputs"] + body["state"]:
            if dep["property"] == "search":
                dep["value"] = search
            elif dep["property"] == "pathname":
                dep["value"] = "/"
            elif "org" in json.dumps(dep["id"]) and dep["property"] in ("value", "data"):
                dep["value"] = other
        r = c.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
        assert r.status_code in (200, 204, 403, 500), (key, r.status_code)
        if r.status_code == 200 and pat.search(body_text(r)):
            leaks.append(key)
    assert not leaks, leaks


def test_no_unmasked_identifiers_in_pages_logs_and_exports(flask_app, app_cfg, client_as):
    leaks = []
    for role in ROLES:
        c = client_as(role)
        for path in [i.href for i in nav_items()]:
            r = c.post("/_dash-update-component", json=page_call(path))
            if has_unmasked(body_text(r)):
                leaks.append((role, path))
        for key, entry in server_callbacks(flask_app):
            if role in expected_roles(key, entry) and not any(w in key for w in ("create", "edit-result")):
                r = c.post("/_dash-update-component", json=callback_body(key, entry))
                if has_unmasked(body_text(r)):
                    leaks.append((role, key))
    leader = client_as("leader")
    for rule in flask_app.server.url_map.iter_rules():
        if "export" in rule.rule and "GET" in rule.methods:
            r = leader.get(_concrete(rule))
            if has_unmasked(body_text(r)):
                leaks.append(("export", rule.rule))
    assert not leaks, leaks
