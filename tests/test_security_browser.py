"""Real headless Chromium: the login form works and pages load under the CSP with no console errors."""
from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def security_server(flask_app):
    from werkzeug.serving import make_server
    srv = make_server("127.0.0.1", 0, flask_app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture
def chromium(browser):
    """The session's shared headless Chromium (Playwright's sync API allows one instance per thread)."""
    return browser


@pytest.mark.parametrize("role, path", [("admin", "/admin/users"), ("auditor", "/admin/logs"), ("leader", "/")])
def test_login_and_page_without_csp_errors(security_server, chromium, app_cfg, role, path):
    from dashboard.accounts.service import read_demo_accounts
    user, pw = read_demo_accounts(app_cfg)[role]
    page = chromium.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(security_server + path)
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", pw)
    page.click("#login-submit")
    page.wait_for_url(security_server + path)
    page.wait_for_selector("._dash-loading", state="detached", timeout=15000)
    page.wait_for_timeout(1500)
    csp = [e for e in errors if "Content Security Policy" in e or "Refused to" in e]
    assert not csp, csp
    if path == "/admin/users":
        page.wait_for_selector("text=账号列表")
        page.wait_for_selector(f"text={user}", timeout=10000)
    if path == "/admin/logs":
        page.wait_for_selector("text=登录日志")
    page.close()


def test_security_headers(security_server):
    import requests
    r = requests.get(security_server + "/login", timeout=10)
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in r.headers["Content-Security-Policy"]
