"""Details a leader notices, in real headless Chromium at 1440×900 against the real app (tiny demo mart):
the indicator table shows its Chinese headers in full, and the exchange map keeps the user's zoom across the
periodic refresh."""
from __future__ import annotations

import pytest

from layouts import _pageparts as L

pytestmark = pytest.mark.browser

IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"


def test_indicator_table_headers_are_not_truncated(page_as):
    page = page_as("leader")
    page.goto(page.base_url + "/indicator/doctor_daily_visits?grain=quarter&period=2026Q3")
    page.wait_for_selector(f"#{L.TABLE} .ag-header-cell-text", timeout=30000)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=30000)
    headers = page.evaluate("""() => Array.from(document.querySelectorAll('.ag-header-cell-text')).map(e => (
        {text: e.textContent, scroll: e.scrollWidth, client: e.clientWidth}))""")
    assert any(h["text"].startswith("指标值（") for h in headers), headers
    cut = [h["text"] for h in headers if h["text"] and h["scroll"] > h["client"]]
    assert not cut, cut


ZOOM_JS = """() => {
    const box = document.querySelector('.echarts-box.echarts-ready');
    const chart = box && window.echarts.getInstanceByDom(box);
    const geo = chart && chart.getOption() && chart.getOption().geo;
    return geo ? {zoom: geo[0].zoom, center: geo[0].center, rendered: box.getAttribute('data-rendered')} : null;
}"""


def test_exchange_map_keeps_zoom_across_refresh(page_as):
    page = page_as("operator")
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box.echarts-ready canvas", timeout=30000)
    page.wait_for_function(f"() => ({ZOOM_JS})() !== null", timeout=30000)
    before = page.evaluate(ZOOM_JS)
    box = page.locator(".echarts-box.echarts-ready").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
    for _ in range(3):                       # the user zooms in with the wheel
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    zoomed = page.evaluate(ZOOM_JS)
    assert zoomed["zoom"] > (before["zoom"] or 1) * 1.2, (before, zoomed)
    # the 10 s refresh draws a new option; the user's zoom and centre survive it
    page.wait_for_function(f"() => ({ZOOM_JS})().rendered !== {zoomed['rendered']!r}", timeout=25000)
    after = page.evaluate(ZOOM_JS)
    assert after["zoom"] == pytest.approx(zoomed["zoom"])
    assert after["center"] == pytest.approx(zoomed["center"])
