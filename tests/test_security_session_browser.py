"""Real headless Chromium on the live server: a session that ends while a page is open sends the user to the
login page (next= kept, back after logging in); the header's 退出 logs out by POST."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import delete, select

from dashboard.accounts.models import User, UserSession
from dashboard.accounts.service import create_user
from dashboard.appdb import session_factory
from layouts import _ids as ids
from tests.fixtures_web import login_page
from tests.shell_bridge_page import SHELL_PATH

pytestmark = pytest.mark.browser


def _user(app_cfg, name: str) -> str:
    password = "Qx7!" + name[::-1] + "-pw"
    create_user(app_cfg, name, "leader", password, is_demo=True)
    return password


def _sessions(app_cfg, name: str) -> list[UserSession]:
    with session_factory(app_cfg.app_db_url)() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
        return list(s.scalars(select(UserSession).where(UserSession.user_id == uid)))


def _drop_sessions(app_cfg, name: str) -> None:
    """End the user's sessions server-side, as an expiry or an administrator would (the cookie stays)."""
    with session_factory(app_cfg.app_db_url)() as s, s.begin():
        uid = s.scalar(select(User.id).where(User.username == name))
        s.execute(delete(UserSession).where(UserSession.user_id == uid))


def _wait_toolbar_ready(page) -> None:
    page.wait_for_function(
        "() => { const el = document.querySelector('#shell-period'); "
        "return el && /\\d{4}年/.test(el.innerText); }", timeout=15000)


def test_expired_session_sends_the_open_page_to_login_with_next(browser, live_server, app_cfg):
    password = _user(app_cfg, "expiring")
    context, page, problems = login_page(browser, live_server, "expiring", password)
    try:
        start = SHELL_PATH + "?grain=month&period=2024-06"
        page.goto(live_server + start)
        _wait_toolbar_ready(page)
        page.wait_for_load_state("networkidle")                # every start-up callback has answered
        page.wait_for_timeout(500)
        assert urlparse(page.url).path == SHELL_PATH and _sessions(app_cfg, "expiring")
        _drop_sessions(app_cfg, "expiring")
        page.click(f"#{ids.GRAIN} label:has-text('季')")      # fires the toolbar callback → 401
        page.wait_for_url("**/login?**", timeout=15000)
        url = urlparse(page.url)
        assert url.path == "/login"
        nxt = parse_qs(url.query)["next"][0]
        assert nxt == start, nxt                               # the page as it was, query included
        page.wait_for_selector("text=会话已过期，请重新登录")
        assert page.input_value("input[name=next]") == start
        # logging in again brings the user back to that page
        page.fill("input[name=username]", "expiring")
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert urlparse(page.url).path == SHELL_PATH and "period=2024-06" in page.url
        _wait_toolbar_ready(page)
    finally:
        context.close()
    # the refused callback's 401 shows in the console as a failed resource; nothing else may
    others = [e for e in problems.console_errors if "401" not in e]
    assert not others and not problems.external_requests, others + problems.external_requests


def test_header_logout_button_posts_and_ends_the_session(browser, live_server, app_cfg):
    password = _user(app_cfg, "leaving-by-button")
    context, page, problems = login_page(browser, live_server, "leaving-by-button", password)
    try:
        page.goto(live_server + SHELL_PATH)
        page.wait_for_selector("form.logout-form button.logout-link")
        style = page.eval_on_selector("button.logout-link", "b => [getComputedStyle(b).cursor, "
                                      "getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
        assert style == ["pointer", "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"]   # looks like the old link
        with page.expect_navigation():
            page.click("button.logout-link")
        assert urlparse(page.url).path == "/login"
        assert [s.end_reason for s in _sessions(app_cfg, "leaving-by-button")] == ["logout"]
        page.goto(live_server + SHELL_PATH)
        assert urlparse(page.url).path == "/login"
    finally:
        context.close()
    problems.check()
