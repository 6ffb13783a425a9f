"""综合评价 in headless Chromium: the leader opens /assessment, the ranking of township centres appears, a click on
an institution (bar or table row) shows its breakdown by indicator with links to the indicator pages; on a phone
nothing scrolls sideways. The admin's weights page shows the sum and refuses a weight ≤ 0 in Chinese."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metrics.assessment import DEFAULT_WEIGHTS

pytestmark = pytest.mark.browser


def _open(page, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(page.base_url + "/assessment")
    page.wait_for_selector("#assess-table .ag-row", timeout=60000)
    expect(page.locator("#assess-chart .bars path").first).to_be_visible(timeout=30000)


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_open_click_institution_breakdown(page_as, width, height):
    page = page_as("leader")
    _open(page, width, height)
    expect(page.locator("#assess-subtitle")).to_contain_text("乡镇卫生院")
    second = page.locator("#assess-table .ag-row[row-index='1'] .ag-cell[col-id='org_name']")
    second.click()
    expect(page.locator("#assess-detail-title")).to_contain_text("得分明细 · ", timeout=30000)
    name = page.locator("#assess-detail-title").inner_text().split("·")[-1].strip()
    assert name.endswith("卫生院")
    # the grid draws only the rows in view: its paging summary counts them all
    expect(page.locator("#assess-detail .ag-paging-row-summary-panel")).to_contain_text(
        f"共 {len(DEFAULT_WEIGHTS)}", timeout=30000)
    link = page.locator("#assess-detail a[href^='/indicator/']").first
    assert "org=" in (link.get_attribute("href") or "")
    # a click on a bar picks that institution too
    page.locator("#assess-chart .bars path").first.click(force=True)
    expect(page.locator("#assess-detail-title")).not_to_contain_text(name, timeout=30000)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_admin_weights_page_sum_and_refusal(page_as, app_cfg):
    from dashboard.assessment.store import current_weights
    page = page_as("admin")
    page.goto(page.base_url + "/admin/assessment")
    page.wait_for_selector("input[name='weight-alos']", timeout=60000)
    total = sum(DEFAULT_WEIGHTS.values())
    expect(page.locator("#aw-sum")).to_contain_text(f"权重合计 {total:g}")
    page.fill("input[name='weight-alos']", "0")
    page.keyboard.press("Tab")
    page.click("#aw-save")
    expect(page.locator("#aw-msg")).to_contain_text("权重必须大于 0", timeout=30000)
    assert current_weights(app_cfg) == DEFAULT_WEIGHTS
