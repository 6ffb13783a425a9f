"""The auditor's logs page in real headless Chromium: whole timestamps, Chinese names, the audit row detail."""
from __future__ import annotations

import re

import pytest

from dashboard.accounts.log_names import ACTION_ZH
from dashboard.accounts.service import create_user, update_user

pytestmark = pytest.mark.browser

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _cells_fit(page, grid: str, col: str) -> list[tuple[str, bool]]:
    """(text, fits) of the visible cells of one column: fits = the text is not cut off."""
    return page.eval_on_selector_all(
        f"#{grid} .ag-center-cols-container .ag-cell[col-id='{col}']",
        "cells => cells.map(c => { const v = c.querySelector('.ag-cell-value') || c;"
        " return [c.innerText.trim(), v.scrollWidth <= v.clientWidth + 1]; })")


def test_audit_log_page_readable_with_row_detail(page_as, app_cfg):
    create_user(app_cfg, "browser-audited", "leader", "Qx7!detidua-pw", is_demo=True)
    update_user(app_cfg, "browser-audited", role="auditor")
    page = page_as("auditor")
    page.goto(page.base_url + "/admin/logs")
    page.click("#logs-tab >> text=审计日志")
    page.wait_for_selector("#logs-audit-table .ag-cell[col-id='action']")
    ts = _cells_fit(page, "logs-audit-table", "ts")
    assert ts and all(TS_RE.match(text) and fits for text, fits in ts), ts
    actions = [t for t, _ in _cells_fit(page, "logs-audit-table", "action")]
    assert "修改角色" in actions and not set(actions) & set(ACTION_ZH), actions     # no known action as a code
    roles = [t for t, _ in _cells_fit(page, "logs-audit-table", "actor_role")]
    assert not ({"admin", "auditor", "leader"} & set(roles)), roles
    assert "点击上表中的一行" in page.inner_text("#logs-audit-detail")
    row = page.locator("#logs-audit-table .ag-row", has_text="browser-audited").filter(has_text="修改角色").first
    row.locator(".ag-cell[col-id='target']").click()
    page.wait_for_selector("#logs-audit-detail table")
    detail = page.inner_text("#logs-audit-detail")
    assert "变更详情" in detail and "修改角色（user.role）" in detail and "browser-audited" in detail
    changed = page.inner_text("#logs-audit-detail tr.audit-changed")
    assert "角色" in changed and "卫健局领导" in changed and "审计员" in changed


def test_service_log_page_has_chinese_function_names(page_as):
    page = page_as("auditor")
    page.goto(page.base_url + "/admin/logs")
    page.click("#logs-tab >> text=服务日志")
    page.wait_for_selector("#logs-service-table .ag-cell[col-id='function']")
    functions = [t for t, _ in _cells_fit(page, "logs-service-table", "function")]
    modules = [t for t, _ in _cells_fit(page, "logs-service-table", "module")]
    assert "打开页面" in functions and "查询日志" in functions, functions
    assert not any("@" in f or f.startswith("..") for f in functions), functions
    assert not any(m.startswith(("page:", "api:")) for m in modules), modules
    ts = _cells_fit(page, "logs-service-table", "ts")
    assert ts and all(TS_RE.match(text) and fits for text, fits in ts), ts


def test_login_log_names_institutions_not_codes(page_as, app_cfg):
    """Issue 14: the 机构 column of the login log showed the manager's scope as codes (H001,T001)."""
    from dashboard.accounts.institutions import institution_names
    from dashboard.accounts.service import get_user_view, read_demo_accounts
    manager = read_demo_accounts(app_cfg)["manager"][0]
    page_as("manager").close()              # a login row whose institution is the manager's scope
    codes = get_user_view(app_cfg, manager).inst_codes
    names = institution_names(app_cfg)
    assert codes and all(c in names for c in codes)
    page = page_as("auditor")
    page.goto(page.base_url + "/admin/logs")
    page.wait_for_selector("#logs-login-table .ag-cell[col-id='institution']")
    page.fill("#logs-user", manager)
    page.press("#logs-user", "Enter")           # the box is debounced: Enter applies it
    page.wait_for_function("u => [...document.querySelectorAll(\"#logs-login-table .ag-cell[col-id='username']\")]"
                           ".every(c => c.innerText.trim() === u)", arg=manager, timeout=20_000)
    shown = {t for t, _ in _cells_fit(page, "logs-login-table", "institution")}
    assert shown == {"、".join(names[c] for c in codes)}, shown
    for code in codes:
        assert code not in page.inner_text("#logs-login-table .ag-center-cols-container")
