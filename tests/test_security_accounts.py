"""Account changes an administrator may not make: their own role or account, or one that leaves no active admin.

The admin form through the real Dash callback endpoint (Flask test client, real app DB); the service rule on a
fresh app DB of its own.
"""
from __future__ import annotations

import pytest

from dashboard.accounts.models import UserSession
from dashboard.accounts.service import AccountError, create_user, get_user_view, update_user
from tests.fixtures_web import login_client
from tests.http_text import body_text
from tests.test_security import rows
from tests.test_security_matrix import callback_body

SAME_SITE = {"Origin": "http://localhost"}


def _admin_client(flask_app, app_cfg, username: str):
    """A logged-in client of a fresh administrator (not the shared demo admin, whose state other tests need)."""
    password = "Qx7!" + username[::-1] + "-pw"
    create_user(app_cfg, username, "admin", password, is_demo=True)
    client, resp = login_client(flask_app, username, password)
    assert resp.status_code == 302
    return client


def _edit_body(app, action: str, username: str, role: str | None = None, insts=None) -> dict:
    key = next(k for k in app.callback_map if "admin-edit-result" in k and "admin-users-refresh" in k)
    body = callback_body(key, app.callback_map[key])
    for dep in body["inputs"]:
        dep["value"] = 1 if dep["id"] == action else 0
    values = {"admin-edit-username": username, "admin-edit-role": role, "admin-edit-insts": insts or [],
              "admin-users-refresh": 0}
    for dep in body["state"]:
        dep["value"] = values.get(dep["id"])
    body["changedPropIds"] = [f"{action}.n_clicks"]
    return body


def test_admin_cannot_change_own_role_or_disable_self(flask_app, app_cfg):
    c = _admin_client(flask_app, app_cfg, "selfadmin")
    r = c.post("/_dash-update-component", json=_edit_body(flask_app, "admin-save", "selfadmin", "auditor"),
               headers=SAME_SITE)
    assert r.status_code == 200 and "不能修改自己的角色" in body_text(r)
    r = c.post("/_dash-update-component", json=_edit_body(flask_app, "admin-toggle", "selfadmin"),
               headers=SAME_SITE)
    assert r.status_code == 200 and "不能停用自己的账号" in body_text(r)
    view = get_user_view(app_cfg, "selfadmin")
    assert view.role == "admin" and view.is_active
    assert not rows(app_cfg, UserSession, user_id=view.id, end_reason="role")
    # the session is still the admin's: the page and the form keep working
    assert c.get("/admin/users").status_code == 200
    # saving the own account unchanged is not a role change and is accepted
    r = c.post("/_dash-update-component", json=_edit_body(flask_app, "admin-save", "selfadmin", "admin"),
               headers=SAME_SITE)
    assert "已保存 selfadmin" in body_text(r)


def test_admin_may_change_another_admin(flask_app, app_cfg):
    c = _admin_client(flask_app, app_cfg, "admin-a")
    create_user(app_cfg, "admin-b", "admin", "Qx7!b-nimda-pw", is_demo=True)
    r = c.post("/_dash-update-component", json=_edit_body(flask_app, "admin-save", "admin-b", "auditor"),
               headers=SAME_SITE)
    assert "已保存 admin-b" in body_text(r)
    assert get_user_view(app_cfg, "admin-b").role == "auditor"


def test_admin_form_refuses_unknown_institution(flask_app, app_cfg):
    from mart.db import mart_exists
    assert mart_exists(app_cfg), "the tiny demo mart was not built"
    c = _admin_client(flask_app, app_cfg, "admin-inst")
    create_user(app_cfg, "scoped", "leader", "Qx7!depocs-pw", is_demo=True)
    r = c.post("/_dash-update-component",
               json=_edit_body(flask_app, "admin-save", "scoped", "manager", ["ZZZ999"]), headers=SAME_SITE)
    assert "机构代码不存在：ZZZ999" in body_text(r)
    assert get_user_view(app_cfg, "scoped").role == "leader"


@pytest.fixture
def fresh_cfg(tmp_path):
    """An app DB of its own with exactly one administrator (the shared one has several)."""
    from core.config import Config
    from dashboard.appdb import init_app_db
    cfg = Config(data_dir=tmp_path, mart_url=f"duckdb:///{tmp_path / 'mart.duckdb'}",
                 app_db_url=f"sqlite:///{tmp_path / 'app.db'}", cache_url="")
    init_app_db(cfg.app_db_url)
    create_user(cfg, "only-admin", "admin", "Sole-Root-1")
    create_user(cfg, "boss", "leader", "Chief-Pass-1")
    return cfg


def test_last_active_admin_is_kept(fresh_cfg):
    someone = ("another", "admin", "")
    for change in ({"role": "auditor"}, {"role": "leader"}, {"is_active": False}):
        with pytest.raises(AccountError, match="至少须保留一个启用的系统管理员"):
            update_user(fresh_cfg, "only-admin", actor=someone, **change)
    assert get_user_view(fresh_cfg, "only-admin").role == "admin"
    # a second admin makes the change possible; a disabled admin does not count
    update_user(fresh_cfg, "boss", role="admin", actor=someone)
    update_user(fresh_cfg, "boss", is_active=False, actor=someone)
    with pytest.raises(AccountError, match="至少须保留"):
        update_user(fresh_cfg, "only-admin", role="auditor", actor=someone)
    update_user(fresh_cfg, "boss", is_active=True, actor=someone)
    assert update_user(fresh_cfg, "only-admin", role="auditor", actor=someone).role == "auditor"
    # a refused change leaves no audit row
    from dashboard.accounts.models import AuditLog
    assert [a.action for a in rows(fresh_cfg, AuditLog, target="only-admin")] == ["user.create", "user.role"]


def test_own_role_refused_by_the_service_whoever_calls_it(fresh_cfg):
    me = ("only-admin", "admin", "10.0.0.1")
    update_user(fresh_cfg, "boss", role="admin", actor=me)
    with pytest.raises(AccountError, match="不能修改自己的角色"):
        update_user(fresh_cfg, "only-admin", role="auditor", actor=me)
    with pytest.raises(AccountError, match="不能停用自己的账号"):
        update_user(fresh_cfg, "only-admin", is_active=False, actor=me)
    update_user(fresh_cfg, "only-admin", display_name="唯一管理员", actor=me)   # other own fields are fine
    assert get_user_view(fresh_cfg, "only-admin").display_name == "唯一管理员"
