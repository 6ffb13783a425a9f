"""My cockpit in headless Chromium: a leader chooses two cards in an order, logs out and in, and sees exactly
those cards in that order; 恢复默认 brings the default set back. The choice is in the app database and audited."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metrics.catalogue import INDICATORS
from tests.fixtures_web import login_page, read_accounts_file

pytestmark = pytest.mark.browser

FIRST, SECOND = "alos", "op_antibiotic_rate"      # chosen in this order (the reverse of the default order)


def _titles(page) -> list[str]:
    page.wait_for_selector("#home-cards .kpi-card .kpi-title", timeout=60000)
    return [t.strip() for t in page.locator("#home-cards .kpi-card .kpi-title").all_inner_texts()]


def _pick(page, indicator_id: str) -> None:
    page.click("#home-cards-pick")
    page.locator(".dash-dropdown-option", has_text=INDICATORS[indicator_id].zh).first.click()
    page.keyboard.press("Escape")


def test_my_cards_survive_logout_and_reset(browser, live_server, app_cfg):
    from dashboard.accounts.cockpit_cards import chosen_cards
    from dashboard.accounts.logs import audit_log
    from layouts._pageparts import HEADLINE_IDS
    username, password = read_accounts_file(app_cfg.demo_accounts_path)["leader"]
    context, page, problems = login_page(browser, live_server, username, password)
    try:
        page.goto(live_server + "/")
        defaults = _titles(page)
        assert defaults[:2] == [INDICATORS[i].zh for i in HEADLINE_IDS if i in INDICATORS][:2]
        page.click("#home-cards-edit")
        page.wait_for_selector("#home-cards-pick .dash-dropdown-clear", timeout=20000)
        page.click("#home-cards-pick .dash-dropdown-clear")
        _pick(page, FIRST)
        _pick(page, SECOND)
        page.click("#home-cards-save")
        expect(page.locator("#home-cards-msg")).to_contain_text("已保存", timeout=20000)
        expect(page.locator("#home-cards .kpi-card")).to_have_count(2, timeout=60000)
        assert _titles(page) == [INDICATORS[FIRST].zh, INDICATORS[SECOND].zh]
        assert chosen_cards(app_cfg, username) == [FIRST, SECOND]
    finally:
        context.close()
    problems.check()
    # a new login (the old session is gone with its context): the same cards, in the same order
    context, page, problems = login_page(browser, live_server, username, password)
    try:
        page.goto(live_server + "/")
        assert _titles(page) == [INDICATORS[FIRST].zh, INDICATORS[SECOND].zh]
        page.click("#home-cards-edit")
        page.click("#home-cards-reset")
        expect(page.locator("#home-cards-msg")).to_contain_text("恢复默认", timeout=20000)
        expect(page.locator("#home-cards .kpi-card")).to_have_count(len(defaults), timeout=60000)
        assert _titles(page) == defaults
        assert chosen_cards(app_cfg, username) is None
    finally:
        context.close()
    problems.check()
    log = audit_log(app_cfg, days=1, username=username)
    assert {"cockpit.cards", "cockpit.reset"} <= set(log["action"]) or \
        {"自定义驾驶舱卡片", "驾驶舱卡片恢复默认"} <= set(log.astype(str).stack())
