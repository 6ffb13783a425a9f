"""The shell in a real headless Chromium against the real app on a real HTTP server."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest

from layouts import _ids as ids
from tests.shell_bridge_page import SHELL_PATH

pytestmark = pytest.mark.browser

PERIOD_SEL = f"#{ids.PERIOD}"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def _wait_toolbar_ready(page) -> None:
    """Wait until the toolbar callback has filled the period picker (its value shows in the dropdown)."""
    page.wait_for_function(
        "() => { const el = document.querySelector('#shell-period'); "
        "return el && /\\d{4}年/.test(el.innerText); }", timeout=15000)


def test_shell_loads_with_user_nav_and_no_console_errors(page_as):
    page = page_as("leader")
    page.goto(page.base_url + SHELL_PATH)
    page.wait_for_selector(".app-header")
    assert "医共体运营监测平台" in page.inner_text(".app-header")
    assert "退出" in page.inner_text(".user-box")
    # 退出 is a POST form with the session's CSRF token (a GET /logout only asks for confirmation)
    assert page.get_attribute("form.logout-form", "action") == "/logout"
    assert page.get_attribute("form.logout-form", "method") == "post"
    nav = page.inner_text(f"#{ids.NAV}")
    for label in ("驾驶舱", "一张图", "居民健康", "指标目录", "专题", "双向转诊", "数据质量"):
        assert label in nav, label
    assert "系统管理" not in nav and "审计日志" not in nav     # not the leader's pages
    # links are real anchors to the pages; none is active on a page outside the nav
    assert page.get_attribute(f"#{ids.NAV} a:has-text('居民健康')", "href").startswith("/map/health")
    assert page.locator(".nav-link.active").count() == 0
    _wait_toolbar_ready(page)
    assert page.is_visible(f"#{ids.TOOLBAR}")


def test_admin_sees_only_admin_pages_and_no_toolbar(page_as):
    page = page_as("admin")
    page.goto(page.base_url + "/admin/users")
    page.wait_for_selector(f"#{ids.NAV}")
    nav = page.inner_text(f"#{ids.NAV}")
    assert "系统管理" in nav and "驾驶舱" not in nav
    page.wait_for_function(f"() => document.querySelector('#{ids.TOOLBAR}').classList.contains('toolbar-hidden')")
    assert not page.is_visible(f"#{ids.TOOLBAR}")


def test_period_picker_writes_url_and_back_restores(page_as):
    page = page_as("leader")
    page.goto(page.base_url + SHELL_PATH + "?grain=month&period=2024-06")
    _wait_toolbar_ready(page)
    assert "2024年6月" in page.inner_text(PERIOD_SEL)

    # grain 季 → URL gets the quarter containing the month, picker shows it
    page.click(f"#{ids.GRAIN} label:has-text('季')")
    page.wait_for_function("() => location.search.includes('grain=quarter')")
    q = _query(page.url)
    assert q["grain"] == ["quarter"] and q["period"] == ["2024Q2"]
    page.wait_for_function("() => document.querySelector('#shell-period').innerText.includes('2024年第2季度')")

    # nav links carry the state to the next page
    page.wait_for_function("() => document.querySelector(\"a[href^='/map/health']\").getAttribute('href')"
                           ".includes('grain=quarter')")
    href = page.get_attribute("a[href^='/map/health']", "href")
    assert href == "/map/health?grain=quarter&period=2024Q2"

    # Back returns to the month view and the picker follows the URL
    page.go_back()
    page.wait_for_function("() => location.search.includes('grain=month')")
    assert _query(page.url)["period"] == ["2024-06"]
    page.wait_for_function("() => document.querySelector('#shell-period').innerText.includes('2024年6月')")
    assert page.is_checked(f"#{ids.GRAIN} input[value=month]")


def test_bad_query_string_falls_back_to_defaults(page_as):
    page = page_as("leader")
    page.goto(page.base_url + SHELL_PATH + "?grain=decade&period=abc&org=%3Cscript%3E")
    _wait_toolbar_ready(page)
    assert page.is_checked(f"#{ids.GRAIN} input[value=month]")


def test_echarts_bridge_renders_canvas_and_click_reaches_store(page_as):
    from tests.shell_bridge_page import CLICK_OUT, PATH
    page = page_as("leader")
    page.goto(page.base_url + PATH)
    box = "div.echarts-box"
    page.wait_for_selector(f"{box} canvas", timeout=15000)
    page.wait_for_selector(f"{box}.echarts-ready")
    assert page.evaluate("() => window.dash_clientside.echarts.count()") == 1
    page.wait_for_selector(f"{box}[data-rendered]")
    canvas = page.locator(f"{box} canvas").first
    bbox = canvas.bounding_box()
    assert bbox["width"] > 300 and bbox["height"] > 200
    # Click the middle of the first bar (城关镇, 120). Its position comes from ECharts itself, read again on each
    # try, because the toolbar and fonts settling can still move or resize the chart after the first paint.
    locate_bar = (f"() => {{ const el = document.querySelector('{box}'); const r = el.getBoundingClientRect();"
                  " const p = echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, [0, 60]);"
                  " return [r.left + p[0], r.top + p[1]]; }")
    for _attempt in range(3):
        x, y = page.evaluate(locate_bar)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(f"() => document.getElementById('{CLICK_OUT}').innerText.length > 0",
                                   timeout=4000)
            break
        except Exception:  # noqa: BLE001 - the chart moved between locating and clicking: locate again
            continue
    payload = json.loads(page.inner_text(f"#{CLICK_OUT}"))
    assert payload["name"] == "城关镇" and payload["seriesName"] == "门急诊人次"
    assert payload["dataIndex"] == 0 and payload["componentType"] == "series" and payload["ts"] > 0
    # Leaving the page (client-side navigation, as a nav link does) disposes the chart
    page.evaluate(f"() => {{ history.pushState({{}}, '', '{SHELL_PATH}'); "
                  "window.dispatchEvent(new PopStateEvent('popstate')); }")
    page.wait_for_selector("text=外壳测试")
    page.wait_for_timeout(600)
    assert page.evaluate("() => window.dash_clientside.echarts.count()") == 0


def test_org_picker_cascades_and_back_undoes_the_drill(page_as, app_cfg):
    assert app_cfg.mart_path is not None and app_cfg.mart_path.exists(), "the tiny demo mart was not built"
    from queries.org import org_tree, townships
    towns = townships(app_cfg.mart_url)
    insts = org_tree(app_cfg.mart_url)
    town = towns.iloc[0]
    inst = insts[insts["township_code"] == town["area_code"]].iloc[0]

    page = page_as("leader")
    page.goto(page.base_url + SHELL_PATH + "?grain=month")
    _wait_toolbar_ready(page)
    page.click(f"#{ids.TOWNSHIP}")
    page.get_by_role("option", name=town["name"], exact=True).click()
    page.wait_for_function(f"() => location.search.includes('org={town['area_code']}')")
    page.click(f"#{ids.INST}")
    page.get_by_role("option", name=inst["name"], exact=True).click()
    page.wait_for_function(f"() => location.search.includes('org={inst['inst_code']}')")
    assert town["name"] in page.inner_text(f"#{ids.TOWNSHIP}")
    page.go_back()
    page.wait_for_function(f"() => location.search.includes('org={town['area_code']}')")
    page.wait_for_function(f"() => !document.querySelector('#{ids.INST}').innerText.includes({inst['name']!r})")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('org=')")
    page.wait_for_function(f"() => document.querySelector('#{ids.TOWNSHIP}').innerText.includes('全县')")


def test_grain_switch_without_a_period_lands_on_the_last_complete_quarter(page_as, app_cfg):
    """No period in the URL: 季 goes to the last complete quarter (the running one only when chosen)."""
    from dashboard.urlstate import default_period, first_month, last_complete_period, period_bounds
    month = default_period(app_cfg.mart_url)
    quarter = last_complete_period("quarter", month, first_month(app_cfg.mart_url))
    assert period_bounds("quarter", quarter)[1] <= month
    page = page_as("leader")
    page.goto(page.base_url + SHELL_PATH + "?grain=month")
    _wait_toolbar_ready(page)
    page.click(f"#{ids.GRAIN} label:has-text('季')")
    page.wait_for_function("() => location.search.includes('grain=quarter')")
    assert _query(page.url)["period"] == [quarter]
    label = f"{quarter[:4]}年第{quarter[-1]}季度"
    page.wait_for_function(f"() => document.querySelector('#shell-period').innerText.includes({label!r})")
    assert "未结束" not in page.inner_text(PERIOD_SEL)
