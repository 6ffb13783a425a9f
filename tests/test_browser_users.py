"""What new users tripped on (issue 14), each in real headless Chromium on the session's live server (tiny demo
county): the manager's cockpit banner agrees with its cards, cards show 环比 beside 同比, the breakdown answers
"who drives it" by contribution, a click on the reform map narrows the flows, the Sankey names real places, the
audit log reads Chinese, and resetting a password asks first.
"""
from __future__ import annotations

import pytest

from tests.fixtures_web import answer_dialog
from tests.test_browser_maps import _goto_map, _pixel, _series_item

pytestmark = pytest.mark.browser

IND = "op_antibiotic_rate"


def _cockpit(page) -> tuple[str, list[str]]:
    page.goto(page.base_url + "/")
    page.wait_for_selector(".freshness-banner", timeout=30_000)
    page.wait_for_selector("#home-cards .kpi-card", timeout=30_000)
    banner = page.inner_text(".freshness-banner")
    cards = page.locator("#home-cards .kpi-card").all_inner_texts()
    return banner, cards


def test_manager_cockpit_banner_agrees_with_the_cards(page_as):
    banner, cards = _cockpit(page_as("manager"))
    incomplete = sum("数据不完整" in c for c in cards)
    if incomplete:
        assert "数据不完整" in banner and "数据完整" not in banner.replace("数据不完整", ""), banner
        assert f"{incomplete}项核心指标受影响" in banner, (incomplete, banner)
    else:
        assert "各机构数据完整" in banner or "不影响核心指标" in banner, banner


def test_cards_show_mom_beside_yoy(page_as):
    _banner, cards = _cockpit(page_as("leader"))
    with_yoy = [c for c in cards if "同比" in c]
    assert with_yoy, cards
    assert all("环比" in c for c in with_yoy), [c for c in with_yoy if "环比" not in c]


def _bars(page) -> list[str]:
    """Category labels of the breakdown's bars, top bar first."""
    return page.evaluate("() => { const g = document.querySelector('#ind-breakdown .js-plotly-plot');"
                         " return g && g.data && g.data.length ? [...g.data[0].y].reverse() : []; }")


def test_breakdown_ranks_by_contribution_by_default(page_as, app_cfg):
    from metrics.engine import compute
    from queries.maps import institution_points
    pts = institution_points(app_cfg.mart_url)
    lead = str(pts[pts["is_lead"] == 1].iloc[0]["inst_code"])
    depts = compute([IND], "department", "year", "2026-01", "2026-12", org=lead, mart_url=app_cfg.mart_url,
                    comparisons=False).dropna(subset=["value"])
    assert len(depts) >= 2
    by_share = str(depts.sort_values("numerator", ascending=False).iloc[0]["org_name"])
    by_rate = str(depts.sort_values("value", ascending=False).iloc[0]["org_name"])
    page = page_as("leader")
    page.goto(f"{page.base_url}/indicator/{IND}?grain=year&period=2026&org={lead}")
    page.wait_for_selector("#ind-breakdown .bars .point path", state="attached", timeout=30_000)
    assert page.is_checked("#ind-breakdown-mode input[value=share]")
    assert "占分子的比例" in page.inner_text("#ind-breakdown-title")
    assert _bars(page)[0].rstrip("*") == by_share, (_bars(page), by_share)
    page.click("#ind-breakdown-mode label:has-text('按比率')")
    page.wait_for_function("() => !document.querySelector('#ind-breakdown-title').innerText.includes('占分子')",
                           timeout=30_000)
    page.wait_for_selector("#ind-breakdown .bars .point path", state="attached", timeout=30_000)
    assert _bars(page)[0].rstrip("*") == by_rate, (_bars(page), by_rate)


def _flow_ends(page) -> list[list[str]]:
    return page.evaluate(
        """() => { const el = document.querySelector('.echarts-box[data-rendered]');
             const o = window.echarts.getInstanceByDom(el).getOption(); const out = [];
             for (const s of o.series) { if (s.type !== 'lines') continue;
               for (const d of s.data) if (d.code) out.push([d.code, d.to_code]); } return out; }""")


def test_reform_map_click_narrows_to_the_institution(page_as, app_cfg):
    from queries.maps import institution_points
    pts = institution_points(app_cfg.mart_url)
    lead = pts[pts["is_lead"] == 1].iloc[0]
    page = page_as("leader")
    _goto_map(page, "/map/reform?grain=year&period=2026&top=80")
    before = _flow_ends(page)
    assert any(lead["inst_code"] not in pair for pair in before), "the county view shows other flows too"
    item = _series_item(page, "机构", str(lead["inst_code"]))
    assert item is not None
    x, y = _pixel(page, item["lon"], item["lat"])
    page.mouse.click(x, y)
    page.wait_for_function(f"() => document.querySelector('.page-subtitle').innerText.includes("
                           f"'仅显示{lead['name']}的转诊流向')", timeout=20_000)
    page.wait_for_timeout(800)
    after = _flow_ends(page)
    assert after and all(lead["inst_code"] in pair for pair in after), after
    assert "sel=inst" in page.url
    # one click back to the county
    page.click("a.map-flow-reset")
    page.wait_for_url(lambda u: "sel=" not in u, timeout=20_000)
    page.wait_for_function("() => { const t = document.querySelector('.page-subtitle')?.innerText || '';"
                           " return t.includes('县内上转') && !t.includes('仅显示'); }", timeout=30_000)


def test_referral_sankey_names_real_places(page_as):
    page = page_as("leader")
    page.goto(page.base_url + "/referrals?grain=year&period=2026")
    page.wait_for_selector("#ref-flow .sankey", state="attached", timeout=30_000)
    names = page.evaluate("() => { const g = document.querySelector('#ref-flow .js-plotly-plot');"
                          " return g.data[0].node.customdata; }")
    assert names and "其他机构" not in names, names


def test_audit_log_shows_codes_in_chinese(page_as, app_cfg):
    from dashboard.accounts.audit import add_audit_row
    from dashboard.appdb import session_factory
    with session_factory(app_cfg.app_db_url)() as s, s.begin():
        add_audit_row(s, "job.rerun", "run-issue14", before={"status": "failed"},
                      after={"command_id": 7, "node": "EX-T007", "job": "LIS", "state": "requested"},
                      actor=("operator", "operator", "127.0.0.1"))
    page = page_as("auditor")
    page.goto(page.base_url + "/admin/logs")
    page.click("#logs-tab >> text=审计日志")
    page.wait_for_selector("#logs-audit-table .ag-row", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#logs-audit-table').innerText.includes('run-issue14')",
                           timeout=30_000)
    row = next(t for t in page.locator("#logs-audit-table .ag-row").all_inner_texts() if "run-issue14" in t)
    for english in ("failed", "requested", "job：", "node：", "state："):
        assert english not in row, row
    assert "失败" in row and "已请求" in row and "检验LIS" in row, row


def test_reset_password_and_disable_ask_first(page_as, app_cfg):
    from dashboard.accounts.service import create_user, get_user_view
    create_user(app_cfg, "issue14user", "leader", "Qx7!issue14-pw", is_demo=True)
    page = page_as("admin")
    page.goto(page.base_url + "/admin/users")
    page.click("#admin-edit-username")
    page.keyboard.type("issue14user")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#admin-edit-username').innerText.includes('issue14user')",
                           timeout=20_000)

    def answer(button: str, accept: bool) -> str:
        return answer_dialog(page, button, accept)

    message = answer("#admin-reset", accept=False)
    assert "issue14user" in message and "重置" in message, message
    page.wait_for_timeout(1000)
    assert "已重置" not in page.inner_text("#admin-edit-result")
    answer("#admin-reset", accept=True)
    page.wait_for_function("() => document.querySelector('#admin-edit-result').innerText.includes('已重置')",
                           timeout=30_000)
    message = answer("#admin-toggle", accept=False)
    page.wait_for_timeout(1000)
    assert "停用" in message and get_user_view(app_cfg, "issue14user").is_active
