"""What a leader reads, page by page, in real headless Chromium against the real app (issue 14):

- an indicator without a target value reads 无目标值 everywhere (cards, boards, referrals, indicator page, maps,
  the phone and the wall) — no "目标 监测" beside "无目标值" on another card;
- the menu and the page's title name the page the same way (menu 分级诊疗, title 转诊与分级诊疗 before).
"""
from __future__ import annotations

import re

import pytest

from metrics.catalogue import INDICATORS

pytestmark = pytest.mark.browser

IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"
# "目标 参考: 每月 ≥ 2.5 次" names a value and stays; "目标 参考" / "目标 监测" alone do not
OTHER_WORDINGS = re.compile(r"目标 (?:监测|参考)(?![:：])|无（监测）|目标 无(?!目标)|无目标（参考指标）")
MONITORED = next(i for i, ind in INDICATORS.items() if (ind.target_text or "").strip() == "监测")


def _text(page, path: str) -> str:
    page.goto(page.base_url + path)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=60_000)
    page.wait_for_timeout(300)
    return page.inner_text("body")


def test_no_target_reads_one_way_on_every_page(page_as, browser, live_server, app_cfg):
    page = page_as("leader")
    seen = {}
    for path in ("/", "/topic/resources", "/topic/referrals", "/referrals", f"/indicator/{MONITORED}",
                 "/map/reform", "/alerts"):
        seen[path] = _text(page, path)
    for path, text in seen.items():
        assert not OTHER_WORDINGS.search(text), (path, OTHER_WORDINGS.findall(text))
    # the volumes board and the monitored indicator's own page do show it
    assert "无目标值" in seen["/topic/resources"] and "无目标值" in seen[f"/indicator/{MONITORED}"]
    # the phone
    from tests.fixtures_web import login_page, read_accounts_file
    user, password = read_accounts_file(app_cfg.demo_accounts_path)["leader"]
    context, phone, problems = login_page(browser, live_server, user, password)
    try:
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.base_url = live_server
        text = _text(phone, "/topic/resources")
        assert "无目标值" in text and not OTHER_WORDINGS.search(text)
    finally:
        context.close()
    problems.check()


def test_wall_tiles_read_the_same_way(page_as):
    page = page_as("screen")
    page.goto(page.base_url + "/screen")
    page.wait_for_selector(".sc-kpi-target", timeout=60_000)
    targets = page.eval_on_selector_all(".sc-kpi-target", "els => els.map(e => e.innerText)")
    assert targets and not [t for t in targets if OTHER_WORDINGS.search(t)], targets
    assert all(t.startswith("目标 ") or t.startswith("无目标值") for t in targets), targets


def test_menu_and_page_titles_name_pages_alike(page_as):
    page = page_as("leader")
    _text(page, "/")
    links = page.eval_on_selector_all(
        "a.nav-link", "els => els.map(a => [a.getAttribute('href'), a.querySelector('span:not(.nav-icon):not(.nav-badge)')"
                      "?.innerText.trim() || a.innerText.trim()])")
    assert len(links) > 8, links
    differ = []
    for href, label in links:
        if href in ("/screen",):   # the wall has no title bar
            continue
        _text(page, href)
        titles = page.eval_on_selector_all(".page-title", "els => els.map(e => e.innerText.trim())")
        if not any(label in t for t in titles):
            differ.append((href, label, titles))
    assert not differ, differ
