"""预警中心 in a real headless Chromium: a leader goes from the header badge to an alert and on to its drill page;
a manager acknowledges, handles and closes an alert of their institution; the audit log has each step once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=30000)


@pytest.fixture(scope="module")
def alerts_ready(app_cfg):
    """The rules evaluated on the tiny demo (sample floors lowered by the admin, as test_alerts does), plus an
    upload-gap alert of the demo manager's first institution."""
    from dashboard.accounts.service import demo_manager_institutions
    from dashboard.alerts.admin import save_rule
    from dashboard.alerts.run import run_alerts
    from dashboard.alerts.store import sync_findings
    from dashboard.appdb import session_factory
    from metrics.alert_rules import Finding
    assert not (app_cfg.mart_path is None or not app_cfg.mart_path.exists()), "the tiny demo mart was not built"
    save_rule(app_cfg, "R02", {"params": '{"min_denominator": 20}'})
    res = run_alerts(app_cfg, send=False)
    inst = demo_manager_institutions(app_cfg)[0]
    with session_factory(app_cfg.app_db_url)() as s, s.begin():
        ids = sync_findings(s, [Finding("TST", "upload_gap", "", "institution", inst, "演示机构", res.month, "high",
                                        50.0, 90.0, f"演示机构 {inst} 数据上传不完整（测试）")], ["TST"], res.month)
    return {"month": res.month, "manager_alert": ids["opened"][0]}


@pytest.mark.browser
def test_leader_badge_to_alert_to_drill(page_as, alerts_ready) -> None:
    page = page_as("leader")
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/")[2] + "/")
    _settle(page)
    badge = page.locator("#alerts-badge")
    assert int(badge.inner_text()) > 0
    badge.click()
    page.wait_for_url("**/alerts")
    _settle(page)
    item = page.locator(".alert-item").filter(has_text="石门镇卫生院 门诊抗菌药物使用率").filter(
        has_text="高于目标上限").first
    item.wait_for(timeout=30000)
    assert "高于目标上限" in item.inner_text()
    # review 7: the messages start at one left edge whatever the number's digits and the kind's length
    # (目标未达, 数据上传缺失, 全年预计未达标 moved them by up to 11 px)
    kinds = set(page.locator("div.alert-item .alert-kind").all_inner_texts())
    lefts = page.eval_on_selector_all("div.alert-item > .alert-text",
                                      "els => els.map(e => Math.round(e.getBoundingClientRect().left))")
    assert len(kinds) > 1 and len(set(lefts)) == 1, (kinds, sorted(set(lefts)))
    item.locator(".alert-link").click()
    page.wait_for_url("**/indicator/op_antibiotic_rate?**")
    assert "org=T007" in page.url and f"period={alerts_ready['month']}" in page.url
    _settle(page)


@pytest.mark.browser
def test_manager_acknowledges_handles_and_closes(page_as, app_cfg, alerts_ready) -> None:
    from dashboard.accounts.models import AuditLog
    from dashboard.appdb import session_factory
    alert_id = alerts_ready["manager_alert"]
    page = page_as("manager")
    base = page.url.split("/")[0] + "//" + page.url.split("/")[2]
    page.goto(f"{base}/alerts")
    _settle(page)
    page.locator(f"#alert-{alert_id}").wait_for(timeout=30000)
    texts = page.locator(".alert-item").all_inner_texts()
    assert texts and not any("石门镇卫生院" in t for t in texts)      # T007 is not the manager's
    assert any(f"#{alert_id}" in t for t in texts)
    for button, status, done in (("#al-ack", "已确认", "已确认"), ("#al-handle", "处置中", "已转为处置中"),
                                 ("#al-close", None, "已关闭")):
        page.click("#al-pick")
        page.locator(".Select-option, .VirtualizedSelectOption, [role=option]", has_text=f"#{alert_id}").first.click()
        if status is None:
            page.fill("#al-note", "已联系信息科补传数据")
        page.click(button)
        page.locator(".alert-msg .form-ok", has_text=f"预警 #{alert_id} {done}").wait_for(timeout=30000)
        _settle(page)
        if status:      # the list is drawn anew after the act: wait for the item to say it (CI once read it empty)
            page.locator(f"#alert-{alert_id}", has_text=status).wait_for(timeout=15000)
            assert status in page.locator(f"#alert-{alert_id}").inner_text()
        page.wait_for_timeout(200)
    assert page.locator(f"#alert-{alert_id}").count() == 0          # closed: off the open list
    with session_factory(app_cfg.app_db_url)() as s:
        actions = [(a.action, a.actor) for a in s.scalars(select(AuditLog).where(
            AuditLog.target.like(f"alert:{alert_id} %")).order_by(AuditLog.id))]
    assert actions == [("alert.new", "system"), ("alert.acknowledged", "manager"),
                       ("alert.in_progress", "manager"), ("alert.closed", "manager")]
