"""Login, sessions, lockout, redirects, password policy, cross-site requests, audit rows, masking."""
from __future__ import annotations

import datetime as dt
import os
import re
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core.masking import has_unmasked, mask_text
from dashboard.accounts import clock
from dashboard.accounts.models import AuditLog, LoginLog, UserSession
from dashboard.accounts.service import (
    AccountError,
    authenticate,
    create_user,
    get_user_view,
    password_problems,
    purge_logs,
    read_demo_accounts,
)
from dashboard.accounts.web import LOGIN_REFUSED
from dashboard.appdb import session_factory
from tests.fixtures_web import login_client
from tests.http_text import body_text

PAGE_CALL = {"output": ".._pages_content.children..._pages_store.data..",
             "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
             "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                        {"id": "_pages_location", "property": "search", "value": ""}],
             "changedPropIds": ["_pages_location.pathname"], "state": []}


def page_call(path: str) -> dict:
    body = {**PAGE_CALL, "inputs": [dict(PAGE_CALL["inputs"][0], value=path), PAGE_CALL["inputs"][1]]}
    return body


def rows(cfg, model, **where):
    with session_factory(cfg.app_db_url)() as s:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return list(s.scalars(q))


@pytest.fixture
def frozen_clock():
    """Freeze the accounts clock; ``frozen_clock.advance(minutes=…)`` moves it."""
    class Frozen:
        t = dt.datetime(2026, 1, 5, 9, 0, 0)

        def advance(self, **kw) -> None:
            self.t += dt.timedelta(**kw)
    f = Frozen()
    clock.set_clock(lambda: f.t)
    yield f
    clock.set_clock(None)


def _message(resp) -> str:
    """The login page's error message."""
    import html
    found = re.search(r'class="[^"]*(?:error|message|alert)[^"]*"[^>]*>([^<]*)<', resp.get_data(as_text=True))
    return html.unescape(found.group(1).strip()) if found else ""


def _new_user(cfg, name: str, role: str = "leader", insts=(), demo=True) -> str:
    pw = "Qx7!" + name[::-1] + "-pw"
    create_user(cfg, name, role, pw, list(insts), is_demo=demo)
    return pw


# ---------------------------------------------------------------- login and demo accounts

def test_demo_accounts_file(app_cfg):
    path = app_cfg.demo_accounts_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    accounts = read_demo_accounts(app_cfg)
    assert set(accounts) == {"leader", "manager", "operator", "admin", "auditor", "screen"}
    for role, (username, password) in accounts.items():
        assert password_problems(password, username) == []
        view = get_user_view(app_cfg, username)
        assert view.role == role and view.is_demo and not view.must_change_password


def test_anonymous_page_redirects_and_callback_401(flask_app):
    c = flask_app.server.test_client()
    r = c.get("/indicator/x?grain=month")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    assert "%2Findicator%2Fx%3Fgrain%3Dmonth" in r.headers["Location"]
    assert c.post("/_dash-update-component", json=page_call("/")).status_code == 401
    assert c.get("/_dash-layout").status_code == 401


def test_anonymous_resources_as_documented(flask_app):
    """docs/security.md: Dash's endpoints answer 401; assets and /vendor redirect to the login page like pages."""
    c = flask_app.server.test_client()
    for path in ("/assets/app.css", "/assets/session_expiry.js", "/vendor/echarts.min.js"):
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path
        assert b"--c-primary" not in r.data and b"fetch" not in r.data      # nothing of the resource itself
    for path in ("/_dash-layout", "/_dash-dependencies", "/_dash-component-suites/dash/deps/react@18.min.js"):
        r = c.get(path)
        assert r.status_code == 401 and r.is_json, path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text(encoding="utf-8")
    assert "`/assets/*` and `/vendor/*` — → 302" in doc and "component suites) and JSON requests → 401" in doc


def test_login_each_role_lands_on_allowed_page(flask_app, app_cfg):
    from layouts._nav import home_path
    for role, (user, pw) in read_demo_accounts(app_cfg).items():
        c, r = login_client(flask_app, user, pw)
        assert r.status_code == 302 and r.headers["Location"] == home_path(role)
        assert c.get(home_path(role)).status_code == 200


def test_login_requires_csrf_token(flask_app, app_cfg):
    user, pw = read_demo_accounts(app_cfg)["leader"]
    c = flask_app.server.test_client()
    r = c.post("/login", data={"username": user, "password": pw})
    assert r.status_code == 400
    assert c.get("/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", "/%0d%0aSet-Cookie:x", "\\\\evil.example", " //evil.example"])
def test_open_redirect_rejected(flask_app, app_cfg, target):
    user, pw = read_demo_accounts(app_cfg)["leader"]
    _c, r = login_client(flask_app, user, pw, next_path=target)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert loc.startswith("/") and not loc.startswith("//") and "evil" not in loc


def test_next_same_site_path_kept(flask_app, app_cfg):
    user, pw = read_demo_accounts(app_cfg)["leader"]
    _c, r = login_client(flask_app, user, pw, next_path="/referrals?grain=month")
    assert r.headers["Location"] == "/referrals?grain=month"


def test_session_cookie_flags(flask_app, app_cfg):
    user, pw = read_demo_accounts(app_cfg)["leader"]
    _c, r = login_client(flask_app, user, pw)
    cookie = [h for h in r.headers.get_all("Set-Cookie") if h.startswith("ygt_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # Over HTTPS the same cookie is Secure.
    c = flask_app.server.test_client()
    page = c.get("/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([^"]+)"', body_text(page)).group(1)
    r = c.post("/login", base_url="https://localhost", data={"username": user, "password": pw, "csrf_token": token})
    cookie = [h for h in r.headers.get_all("Set-Cookie") if h.startswith("ygt_session=")][0]
    assert "Secure" in cookie


# ---------------------------------------------------------------- lockout

def test_lockout_after_five_failures_audited_once(flask_app, app_cfg, frozen_clock):
    pw = _new_user(app_cfg, "lockme")
    for _i in range(4):
        _c, r = login_client(flask_app, "lockme", "wrong-Pass1!")
        assert r.status_code == 401
    assert not get_user_view(app_cfg, "lockme").locked
    _c, r = login_client(flask_app, "lockme", "wrong-Pass1!")
    assert r.status_code == 401 and LOGIN_REFUSED in body_text(r)
    assert get_user_view(app_cfg, "lockme").locked
    # Right password while locked: refused with the very message an unknown user gets (no account probing).
    _c, r = login_client(flask_app, "lockme", pw)
    assert r.status_code == 401
    _c, unknown = login_client(flask_app, "nobody-at-all", pw)
    assert _message(r) == _message(unknown) == LOGIN_REFUSED
    assert len(rows(app_cfg, AuditLog, action="user.lock", target="lockme")) == 1
    results = [x.result for x in rows(app_cfg, LoginLog, username="lockme")]
    assert results == ["bad_password"] * 4 + ["bad_password_locked", "locked"]
    # 30 minutes later the account opens again.
    frozen_clock.advance(minutes=31)
    _c, r = login_client(flask_app, "lockme", pw)
    assert r.status_code == 302


def test_failures_reset_on_success(app_cfg):
    pw = _new_user(app_cfg, "resetme")
    for _ in range(4):
        authenticate(app_cfg, "resetme", "nope")
    assert authenticate(app_cfg, "resetme", pw)[1] == "success"
    for _ in range(4):
        authenticate(app_cfg, "resetme", "nope")
    assert not get_user_view(app_cfg, "resetme").locked


def test_login_rate_limit_per_ip(flask_app, app_cfg):
    flask_app.server.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [login_client(flask_app, "nobody-here", "x", next_path="")[1].status_code for _ in range(5)]
    finally:
        flask_app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_rate_limited_login_is_a_chinese_429_page_and_logged(flask_app, app_cfg):
    flask_app.server.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    try:
        answers = [login_client(flask_app, "flooder", "x")[1] for _ in range(4)]
    finally:
        flask_app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert [r.status_code for r in answers] == [401, 401, 429, 429]
    limited = answers[-1]
    page = body_text(limited)
    assert "登录尝试过于频繁" in page and "后再试" in page and 'lang="zh-CN"' in page
    assert "Too Many Requests" not in page and "per 1 minute" not in page
    assert "login.css" in page                              # the login page's style
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    results = [x.result for x in rows(app_cfg, LoginLog, username="flooder")]
    assert results == ["unknown_user", "unknown_user", "rate_limited", "rate_limited"]
    from dashboard.accounts.logs import login_log
    shown = login_log(app_cfg, 1, "flooder")["result"].tolist()
    assert shown[0] == "尝试过于频繁（已限流）"


def test_login_rate_limit_env_is_checked(monkeypatch):
    from dashboard.accounts.web import DEFAULT_LOGIN_RATE_LIMIT, login_rate_limit_from_env
    monkeypatch.delenv("LOGIN_RATE_LIMIT", raising=False)
    assert login_rate_limit_from_env() == DEFAULT_LOGIN_RATE_LIMIT
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "60 per minute;600 per hour")
    assert login_rate_limit_from_env() == "60 per minute;600 per hour"
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "lots")
    with pytest.raises(ValueError, match="LOGIN_RATE_LIMIT"):
        login_rate_limit_from_env()


def test_login_log_has_ip_and_institution(flask_app, app_cfg):
    user, pw = read_demo_accounts(app_cfg)["manager"]
    login_client(flask_app, user, pw)
    last = rows(app_cfg, LoginLog, username=user)[-1]
    assert last.result == "success" and last.ip == "127.0.0.1"
    assert last.inst_code == ",".join(get_user_view(app_cfg, user).inst_codes)


# ---------------------------------------------------------------- sessions

def test_idle_timeout_and_interval_is_not_activity(flask_app, app_cfg, frozen_clock):
    pw = _new_user(app_cfg, "idler")
    c, _ = login_client(flask_app, "idler", pw)
    tick = {"output": "whatever.children", "inputs": [{"id": "refresh", "property": "n_intervals", "value": 3}],
            "changedPropIds": ["refresh.n_intervals"], "state": []}
    for _ in range(4):   # 4 × 10 minutes of auto-refresh only
        frozen_clock.advance(minutes=10)
        c.post("/_dash-update-component", json=tick)
    assert c.post("/_dash-update-component", json=page_call("/")).status_code == 401
    assert c.get("/").status_code == 302


def test_activity_keeps_session_alive_until_absolute_lifetime(flask_app, app_cfg, frozen_clock):
    pw = _new_user(app_cfg, "worker")
    c, _ = login_client(flask_app, "worker", pw)
    for _ in range(11 * 3):   # 11 h of clicks every 20 minutes
        frozen_clock.advance(minutes=20)
        assert c.post("/_dash-update-component", json=page_call("/")).status_code == 200
    frozen_clock.advance(minutes=61)   # past 12 h since login, though active 20 minutes ago? no: 61 > 30 idle
    assert c.get("/").status_code == 302
    c, _ = login_client(flask_app, "worker", pw)
    frozen_clock.advance(hours=11, minutes=50)
    with session_factory(app_cfg.app_db_url)() as s, s.begin():   # simulate continuous activity
        for row in s.scalars(select(UserSession).where(UserSession.ended_at.is_(None))):
            row.last_seen = frozen_clock.t
    assert c.get("/").status_code == 200
    frozen_clock.advance(minutes=11)
    assert c.get("/").status_code == 302
    ended = rows(app_cfg, UserSession, end_reason="expired")
    assert ended


def test_logout_replay_rejected(flask_app, app_cfg):
    pw = _new_user(app_cfg, "leaver")
    c, _ = login_client(flask_app, "leaver", pw)
    cookie = c.get_cookie("ygt_session").value
    assert c.get("/").status_code == 200
    logout(c)
    replay = flask_app.server.test_client()
    replay.set_cookie("ygt_session", cookie)
    assert replay.get("/").status_code == 302
    assert replay.post("/_dash-update-component", json=page_call("/")).status_code == 401


def logout(client) -> None:
    """Log out as the browser does: the confirm page's form (POST with the CSRF token)."""
    page = body_text(client.get("/logout"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://localhost"})
    assert r.status_code == 302 and r.headers["Location"] == "/login"


def test_get_logout_only_asks_and_post_needs_the_csrf_token(flask_app, app_cfg):
    """A foreign page's <img src=/logout> or a plain form post cannot end the session."""
    pw = _new_user(app_cfg, "stayer")
    c, _ = login_client(flask_app, "stayer", pw)
    r = c.get("/logout")
    page = body_text(r)
    assert r.status_code == 200 and "确定要退出登录吗" in page and 'method="post"' in page
    assert c.get("/").status_code == 200                     # still logged in after the GET
    assert c.post("/logout").status_code == 400               # no token
    assert c.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c.post("/logout", data={"csrf_token": token},        # the right token from another site
                  headers={"Origin": "https://evil.example"}).status_code == 400
    assert c.get("/").status_code == 200 and not rows(app_cfg, UserSession, end_reason="logout",
                                                      user_id=get_user_view(app_cfg, "stayer").id)
    logout(c)
    assert c.get("/").status_code == 302
    assert rows(app_cfg, UserSession, end_reason="logout", user_id=get_user_view(app_cfg, "stayer").id)
    # anonymous: /logout goes to the login page, never to login?next=/logout
    r = flask_app.server.test_client().get("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"


def test_shell_logout_is_a_post_form_with_the_session_token(flask_app, app_cfg):
    pw = _new_user(app_cfg, "header")
    c, _ = login_client(flask_app, "header", pw)
    layout = c.get("/_dash-layout").get_json()

    def walk(node):
        if isinstance(node, dict):
            yield node
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)
    forms = [n for n in walk(layout) if n.get("type") == "Form" and n.get("props", {}).get("action") == "/logout"]
    assert len(forms) == 1 and forms[0]["props"]["method"] == "post", "no POST /logout form in the shell"
    inputs = [n["props"] for n in walk(forms[0]) if n.get("props", {}).get("name") == "csrf_token"]
    button = [n["props"] for n in walk(forms[0]) if n.get("type") == "Button"]
    assert len(inputs) == 1 and button and button[0]["children"] == "退出" and button[0]["type"] == "submit"
    sent = inputs[0]["value"]
    r = c.post("/logout", data={"csrf_token": sent}, headers={"Origin": "http://localhost"})
    assert r.status_code == 302 and c.get("/").status_code == 302


# ---------------------------------------------------------------- password policy and forced change

@pytest.mark.parametrize("pw, ok", [("Kvbdmf1!", True), ("abcdef12", False), ("Ab1!", False), ("ABCDEFG1", False),
                                    ("kvbDMF12", True), ("xx-Alice-9", False), ("Rivers7!", True),
                                    # common passwords with digits/symbols appended or look-alikes: refused
                                    ("Abcdef1!", False), ("abcDEF12", False), ("Passw0rd", False),
                                    ("Password1!", False)])
def test_password_policy(pw, ok):
    assert (password_problems(pw, "alice") == []) is ok


def test_admin_created_account_must_change_password(flask_app, app_cfg):
    create_user(app_cfg, "newbie", "leader", "First-Pass1")
    c, r = login_client(flask_app, "newbie", "First-Pass1")
    assert r.headers["Location"].startswith("/password")
    assert c.get("/").status_code == 302
    assert c.post("/_dash-update-component", json=page_call("/")).status_code == 403
    page = body_text(c.get("/password"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = c.post("/password", data={"csrf_token": token, "old_password": "First-Pass1", "new_password": "weak",
                                    "confirm_password": "weak"})
    assert bad.status_code == 400 and "至少 8 位" in body_text(bad)
    ok = c.post("/password", data={"csrf_token": token, "old_password": "First-Pass1",
                                   "new_password": "Second-Pass2", "confirm_password": "Second-Pass2"})
    assert ok.status_code == 302
    assert c.get("/").status_code == 200
    assert len(rows(app_cfg, AuditLog, action="user.change_password", target="newbie")) == 1


def test_password_expires_after_90_days(flask_app, app_cfg, frozen_clock):
    create_user(app_cfg, "aging", "leader", "Old-Pass1")
    from dashboard.accounts.service import change_own_password
    change_own_password(app_cfg, get_user_view(app_cfg, "aging").id, "Old-Pass1", "Old-Pass2")
    _c, r = login_client(flask_app, "aging", "Old-Pass2")
    assert r.headers["Location"] == "/"
    frozen_clock.advance(days=91)
    _c, r = login_client(flask_app, "aging", "Old-Pass2")
    assert r.headers["Location"].startswith("/password")


# ---------------------------------------------------------------- cross-site requests

def test_cross_origin_callback_rejected(client_as):
    c = client_as("leader")
    assert c.post("/_dash-update-component", json=page_call("/")).status_code == 200
    assert c.post("/_dash-update-component", json=page_call("/"),
                  headers={"Origin": "http://localhost"}).status_code == 200
    r = c.post("/_dash-update-component", json=page_call("/"), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # A form post (what a cross-site page can send without CORS) is refused.
    r = c.post("/_dash-update-component", data={"output": "x"}, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 403


def test_require_state_change_checks_origin(flask_app, client_as):
    from werkzeug.exceptions import Forbidden

    from dashboard.accounts.access import require_state_change
    server = flask_app.server
    with server.test_request_context("/x", method="POST", json={}, headers={"Origin": "http://localhost"}):
        with pytest.raises(Forbidden):   # anonymous
            require_state_change("admin")


# ---------------------------------------------------------------- logs

def test_audit_rows_once_per_act_and_append_only(app_cfg):
    from dashboard.accounts.audit import record_audit
    from dashboard.accounts.service import reset_password, unlock_user, update_user
    create_user(app_cfg, "audited", "manager", "Audit-Pass1", ["H001"])
    update_user(app_cfg, "audited", inst_codes=["H001", "T002"])
    update_user(app_cfg, "audited", role="leader")
    reset_password(app_cfg, "audited", "Audit-Pass2")
    unlock_user(app_cfg, "audited")
    record_audit("node.settings", "N001", {"lon": 1}, {"lon": 2}, cfg=app_cfg, actor="tester")
    acts = [(a.action, a.target) for a in rows(app_cfg, AuditLog) if a.target in ("audited", "N001")]
    assert acts == [("user.create", "audited"), ("user.scope", "audited"), ("user.role", "audited"),
                    ("user.reset_password", "audited"), ("user.unlock", "audited"), ("node.settings", "N001")]
    scope = rows(app_cfg, AuditLog, action="user.scope", target="audited")[0]
    assert '"H001"' in scope.before and '"T002"' in scope.after
    with session_factory(app_cfg.app_db_url)() as s:
        row = s.scalars(select(AuditLog)).first()
        row.action = "tampered"
        with pytest.raises(PermissionError):
            s.commit()
        s.rollback()
        s.delete(s.scalars(select(AuditLog)).first())
        with pytest.raises(PermissionError):
            s.commit()


def test_failed_change_leaves_no_row(app_cfg):
    before = len(rows(app_cfg, AuditLog))
    with pytest.raises(AccountError):
        create_user(app_cfg, "badpw", "leader", "short")
    with pytest.raises(AccountError):
        create_user(app_cfg, "noscope", "manager", "Good-Pass1", [])
    with pytest.raises(AccountError):
        create_user(app_cfg, "tworoles", "nosuchrole", "Good-Pass1")
    assert len(rows(app_cfg, AuditLog)) == before
    assert get_user_view(app_cfg, "badpw") is None and get_user_view(app_cfg, "noscope") is None


def test_service_log_records_callbacks(flask_app, app_cfg, client_as):
    from dashboard.accounts.audit import flush_service_log
    from dashboard.accounts.models import ServiceLog
    # other app instances of this test session (the live server of the browser tests) flush their buffered rows
    # on a 2-second timer: wait until the log stops growing, so that only this test's calls follow n0
    flush_service_log(app_cfg)
    n0 = len(rows(app_cfg, ServiceLog))
    for _ in range(10):
        time.sleep(2.5)
        flush_service_log(app_cfg)
        settled, n0 = n0, len(rows(app_cfg, ServiceLog))
        if settled == n0:
            break
    c = client_as("leader")
    c.post("/_dash-update-component", json=page_call("/"))
    c.post("/_dash-update-component", json=page_call("/admin/users"))
    flush_service_log(app_cfg)
    new = rows(app_cfg, ServiceLog)[n0:]
    mine = [(r.module, r.success, r.status) for r in new if r.username == "leader"]
    assert ("page:/", True, 200) in mine and ("page:/admin/users", False, 403) in mine
    assert len(mine) == 2


def test_purge_refuses_short_retention_and_deletes_old(app_cfg, frozen_clock):
    with pytest.raises(AccountError):
        purge_logs(app_cfg, days=30)
    authenticate(app_cfg, "ancient-user", "x")          # a login row at the frozen time
    frozen_clock.advance(days=185)
    authenticate(app_cfg, "recent-user", "x")
    counts = purge_logs(app_cfg)
    assert counts["login_log"] >= 1
    names = {r.username for r in rows(app_cfg, LoginLog)}
    assert "ancient-user" not in names and "recent-user" in names
    assert rows(app_cfg, AuditLog, action="logs.purge")


# ---------------------------------------------------------------- masking

def test_mask_text():
    assert mask_text("身份证110105199001011234，手机13812345678") == "身份证110105********1234，手机138****5678"
    assert mask_text("11010519900101123X") == "110105********123X"
    assert mask_text("订单号 1234567890123456789012") == "订单号 1234567890123456789012"
    assert not has_unmasked(mask_text("a 13912345678 b 32010219851212001x"))


def test_audit_log_masks_identifiers(app_cfg):
    from dashboard.accounts.audit import record_audit
    record_audit("test.mask", "patient 110105199001011234", {"phone": "13812345678"}, None, cfg=app_cfg)
    row = rows(app_cfg, AuditLog, action="test.mask")[-1]
    assert row.target == "patient 110105********1234" and "138****5678" in row.before
    assert not has_unmasked(row.target + row.before)


def test_secret_key_is_generated_once_when_workers_start_together(tmp_path) -> None:
    """Several processes (gunicorn workers) starting at once on a new DATA_DIR all get the same key, mode 600."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from core.config import load_config, secret_key\n"
            "print(secret_key(load_config()))\n" % str(root))
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MART_URL", "APP_DB_URL")}
    env["DATA_DIR"] = str(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(6)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _out, err in outs]
    keys = {out.strip() for out, _err in outs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]      # no temporary file left
