"""报表中心 in headless Chromium: a leader generates the county report (progress, then a download link and a row in
the list), previews a custom report in the grid; a manager is offered only their own institutions."""
from __future__ import annotations

import pytest

from layouts import _report_parts as R

pytestmark = pytest.mark.browser
IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"


def _open(page) -> None:
    page.goto(page.base_url + "/reports")
    page.wait_for_selector(f"#{R.MONTH} .Select-value, #{R.MONTH} [class*=singleValue], #{R.MONTH}", timeout=30000)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=30000)


def test_leader_generates_report_and_previews_custom(page_as, app_cfg) -> None:
    assert app_cfg.mart_path is not None and app_cfg.mart_path.exists(), "the tiny demo mart was not built"
    page = page_as("leader")
    _open(page)
    page.get_by_text("网页", exact=True).click()
    page.click(f"#{R.GENERATE}")
    page.wait_for_selector(f"#{R.PROGRESS} .rep-bar", timeout=30000)
    page.wait_for_selector(f"#{R.PROGRESS} a[href$='/download']", timeout=240000)
    assert "已生成" in page.inner_text(f"#{R.PROGRESS}")
    page.wait_for_selector(f"#{R.LIST} .ag-row", timeout=30000)
    assert "已生成" in page.inner_text(f"#{R.LIST}")
    href = page.get_attribute(f"#{R.PROGRESS} a[href$='/download']", "href")
    body = page.request.get(page.base_url + href)
    assert body.status == 200 and "运行监测月报" in body.text()
    # custom report: one indicator by township, preview grid shows rows
    page.click(f"#{R.C_INDICATORS}")
    page.keyboard.type("门诊次均费用")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")       # close the multi-select's open list, which covers the buttons below it
    page.wait_for_selector(".dash-dropdown-option", state="hidden", timeout=10000)
    page.click(f"#{R.C_PREVIEW}")
    page.wait_for_selector(f"#{R.C_GRID} .ag-row", timeout=60000)
    assert "门诊次均费用" in page.inner_text(f"#{R.C_GRID}")
    page.screenshot(path=str(app_cfg.data_dir / "reports-page.png"), full_page=True)


def test_manager_is_offered_only_own_institutions(page_as, app_cfg) -> None:
    assert app_cfg.mart_path is not None and app_cfg.mart_path.exists(), "the tiny demo mart was not built"
    from dashboard.accounts.service import get_user_view, read_demo_accounts
    from queries import org as qorg
    mine = set(get_user_view(app_cfg, read_demo_accounts(app_cfg)["manager"][0]).inst_codes)
    names = {r.name for r in qorg.org_tree(app_cfg.mart_url).itertuples() if r.inst_code in mine}
    page = page_as("manager")
    _open(page)
    page.click(f"#{R.ORG}")
    page.wait_for_selector(".dash-dropdown-option", timeout=10000)
    offered = {t.strip() for t in page.locator(".dash-dropdown-option").all_inner_texts()}
    assert offered and offered <= names, offered - names
    assert "全县" not in offered
