"""The command-centre wall and the phone layout in real headless Chromium (issue 17).

Screenshots of /screen (1366×768, 1920×1080, 3840×2160) and of the phone pages (390×844) are kept as test
artefacts in ``<pytest basetemp>/screen-shots`` (the path is printed; set SCREEN_SHOTS_DIR to keep them
elsewhere).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard.accounts.service import create_user
from tests.fixtures_web import BrowserProblems, read_accounts_file

pytestmark = pytest.mark.browser

PW = "Wall-Scr33n!x"
CHARTS_DRAWN = """() => [...document.querySelectorAll('.screen-root .echarts-box[data-rendered]')]
    .filter(b => { const c = b.querySelector('canvas'); return c && c.width > 0 && c.height > 0; }).length"""
LAYOUT_FACTS = """() => {
    const doc = document.documentElement;
    let smallest = 1e9, where = '';
    for (const el of document.querySelectorAll('.screen-root *')) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        const r = el.getBoundingClientRect();
        if (!own || r.width === 0 || r.height === 0) continue;
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (size < smallest) { smallest = size; where = el.className + ': ' + el.textContent.slice(0, 20); }
    }
    const root = document.querySelector('.screen-root').getBoundingClientRect();
    const header = document.querySelector('.app-header');
    return {sw: doc.scrollWidth, sh: doc.scrollHeight, iw: innerWidth, ih: innerHeight, smallest, where,
            root: [root.width, root.height], chrome: header ? header.getBoundingClientRect().height : 0};
}"""


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(os.environ.get("SCREEN_SHOTS_DIR") or tmp_path_factory.getbasetemp() / "screen-shots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


def _open(browser, live_server: str, username: str, password: str, path: str, **context):
    ctx = browser.new_context(locale="zh-CN", **context)
    page = ctx.new_page()
    problems = BrowserProblems()
    problems.watch(page)
    page.goto(f"{live_server}/login?next={path.replace('?', '%3F').replace('&', '%26')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_url(f"**{path.split('?')[0]}*")
    return ctx, page, problems


def _screen_account(app_cfg, name: str) -> tuple[str, str]:
    create_user(app_cfg, name, "screen", PW, is_demo=True)
    return name, PW


@pytest.mark.parametrize("width,height,min_font", [(1920, 1080, 12), (3840, 2160, 24), (1366, 768, 10)])
def test_wall_fills_the_screen(browser, live_server, app_cfg, shots_dir, width, height, min_font):
    user, pw = read_accounts_file(app_cfg.demo_accounts_path)["screen"]
    ctx, page, problems = _open(browser, live_server, user, pw, "/screen", viewport={"width": width, "height": height})
    try:
        page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=60_000)
        page.wait_for_function("() => document.querySelectorAll('.sc-kpi').length >= 4", timeout=30_000)
        page.wait_for_timeout(1500)       # let the entry animations settle for the screenshot
        facts = page.evaluate(LAYOUT_FACTS)
        page.screenshot(path=str(shots_dir / f"screen-{width}x{height}.png"))
        assert facts["sw"] <= width and facts["sh"] <= height, facts          # no scrollbar
        assert facts["root"] == [width, height], facts                        # the wall fills the viewport
        assert facts["chrome"] == 0, facts                                    # no navigation chrome
        assert facts["smallest"] >= min_font, facts
        assert page.evaluate(CHARTS_DRAWN) >= 4
        assert page.locator(".error-card").count() == 0
        # a line clamped away or an ellipsis (half a line of slack: glyphs overhang the line box by a pixel or two)
        cut = page.eval_on_selector_all(".sc-kpi-name, .sc-caption", """els => els.filter(e => e.scrollWidth > e.clientWidth + 1
            || e.scrollHeight > e.clientHeight + parseFloat(getComputedStyle(e).fontSize) / 2).map(e => e.innerText)""")
        assert cut == [], cut                                 # every tile's name and caption whole
        assert page.locator(".sc-clock").inner_text().strip()
        assert "数据截至" in page.locator(".sc-asof").inner_text()
        assert page.locator(".sc-alert").count() >= 1
    finally:
        ctx.close()
    problems.check()


def test_wall_rotates_and_pauses_on_click(browser, live_server, app_cfg):
    user, pw = read_accounts_file(app_cfg.demo_accounts_path)["screen"]
    ctx, page, problems = _open(browser, live_server, user, pw, "/screen?rotate=5&refresh=600",
                                viewport={"width": 1920, "height": 1080})
    try:
        title = page.locator(".sc-centre-title")
        page.wait_for_function("() => (document.querySelector('.sc-centre-title')?.textContent || '').length > 0", timeout=30_000)
        first = title.inner_text()
        page.wait_for_function(f"() => (document.querySelector('.sc-centre-title')?.textContent || '') !== {first!r}",
                               timeout=20_000)
        page.locator(".screen-root").click(position={"x": 960, "y": 500})
        page.wait_for_function("() => document.querySelector('.screen-root')?.classList.contains('is-paused')")
        assert page.locator(".sc-pause").is_visible()
        paused_on = title.inner_text()
        page.wait_for_timeout(7000)
        assert title.inner_text() == paused_on
        page.locator(".screen-root").click(position={"x": 960, "y": 500})
        page.wait_for_function(f"() => (document.querySelector('.sc-centre-title')?.textContent || '') !== {paused_on!r}",
                               timeout=20_000)
    finally:
        ctx.close()
    problems.check()


def test_lost_connection_shows_a_marker_not_an_error(browser, live_server, app_cfg):
    user, pw = read_accounts_file(app_cfg.demo_accounts_path)["screen"]
    ctx, page, _problems = _open(browser, live_server, user, pw, "/screen?refresh=2",
                                 viewport={"width": 1920, "height": 1080})
    try:
        page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=60_000)
        assert not page.locator(".sc-conn").is_visible()
        page.route("**/_dash-update-component*", lambda route: route.abort())
        page.wait_for_selector(".sc-conn", state="visible", timeout=15_000)
        assert page.locator(".error-card").count() == 0
        assert page.evaluate(CHARTS_DRAWN) >= 4            # the panels keep what they showed
        page.unroute("**/_dash-update-component*")
        page.wait_for_selector(".sc-conn", state="hidden", timeout=15_000)
    finally:
        ctx.close()


def test_revoking_the_device_ends_the_wall_within_one_refresh(browser, live_server, app_cfg):
    from dashboard.accounts.devices import list_devices, revoke_device
    user, pw = _screen_account(app_cfg, "wall-browser")
    ctx, page, problems = _open(browser, live_server, user, pw, "/screen?refresh=3",
                                viewport={"width": 1920, "height": 1080})
    try:
        page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=60_000)
        device = next(d for d in list_devices(app_cfg) if d.username == user)
        revoke_device(app_cfg, device.id, actor=("admin", "admin", "127.0.0.1"))
        page.wait_for_url("**/login**", timeout=8_000)      # one 3-second refresh (plus its round trip)
        assert "会话已过期" in page.content()
    finally:
        ctx.close()
    # the refused refresh itself is the only complaint the browser may log
    assert all("401" in e for e in problems.console_errors), problems.console_errors
    assert not problems.external_requests


def test_leader_opens_the_wall_from_the_navigation(page_as):
    page = page_as("leader")
    page.goto(page.base_url + "/")
    page.click("#shell-nav a[href='/screen']")
    page.wait_for_selector(".screen-root", timeout=30_000)
    page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=60_000)
    assert not page.locator(".app-header").is_visible() and not page.locator(".side-nav").is_visible()
    page.click(".sc-back")
    page.wait_for_selector(".kpi-grid", timeout=30_000)
    assert page.locator(".app-header").is_visible()


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("path,ready", [("/", ".kpi-card"), ("/indicator/op_antibiotic_rate", ".js-plotly-plot"),
                                        ("/map/reform", ".echarts-box[data-rendered]"),
                                        ("/alerts", ".page-alerts .alert-actions"),
                                        ("/reports", ".page-reports")])
def test_phone_pages_do_not_scroll_sideways(browser, live_server, app_cfg, shots_dir, path, ready):
    user, pw = read_accounts_file(app_cfg.demo_accounts_path)["leader"]
    ctx, page, problems = _open(browser, live_server, user, pw, path, **PHONE)
    try:
        page.wait_for_selector(ready, timeout=60_000)
        page.wait_for_timeout(1500)
        width = page.evaluate("document.documentElement.scrollWidth")
        name = path.strip("/").replace("/", "_") or "home"
        page.screenshot(path=str(shots_dir / f"phone-{name}.png"), full_page=True)
        assert page.evaluate("window.innerWidth") == 390
        assert width <= 390, f"{path}: the page is {width} px wide"
        logout = page.locator("#logout-button")
        box = logout.bounding_box()
        assert logout.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390
        title, user_box = page.locator(".brand-name").bounding_box(), page.locator(".user-box").bounding_box()
        assert title["x"] + title["width"] <= user_box["x"] + 1              # the title does not run into the name
        # the navigation is behind the menu button
        assert not page.locator(".side-nav").is_visible()
        page.click(".nav-burger")
        assert page.locator(".side-nav").is_visible()
        page.screenshot(path=str(shots_dir / f"phone-{name}-menu.png"))
        page.click(".side-nav a[href='/referrals']")
        page.wait_for_url("**/referrals**")
        assert not page.locator(".side-nav").is_visible()
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)    # its charts' scripts loaded before leaving
        page.wait_for_load_state("networkidle")
        problems.check()        # everything seen while logged in
        logout.click()
        page.wait_for_url("**/login**")
        # a request still in flight when the session ends is refused (401) by design; anything else counts
        problems.console_errors = [e for e in problems.console_errors if "status of 401" not in e]
    finally:
        ctx.close()
    problems.check()
