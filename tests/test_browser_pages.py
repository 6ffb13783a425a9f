"""The indicator pages in a real headless Chromium against the real app (tiny demo mart, real HTTP server).

``page_as`` fails a test on any console error or request leaving the machine, so every test here also checks
that the pages it visits load cleanly.
"""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

from layouts import _pageparts as L

pytestmark = pytest.mark.browser

IND = "op_antibiotic_rate"
IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"


def _q(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=30000)


@pytest.fixture(scope="module")
def quarter(app_cfg) -> str:
    from dashboard.urlstate import month_to_period
    from queries.periods import last_complete_month
    assert app_cfg.mart_path is not None and app_cfg.mart_path.exists(), "the tiny demo mart was not built"
    return month_to_period(last_complete_month(app_cfg.mart_url), "quarter")


@pytest.mark.parametrize("role", ["leader", "manager"])
def test_every_page_loads_without_console_errors(page_as, app_cfg, quarter, role):
    from tests.test_pages_callbacks import manager_institutions
    manager_institutions(app_cfg)        # the demo manager has its demo scope
    page = page_as(role)
    expect = {"/": f"#{L.CARDS} .kpi-card", f"/indicator/{IND}": f"#{L.TREND_BOX} .js-plotly-plot",
              "/topic/quality": f"#{L.TOPIC_GRID} .kpi-card", "/referrals": f"#{L.REF_FLOW} .js-plotly-plot"}
    for path, selector in expect.items():
        page.goto(page.base_url + path + f"?grain=quarter&period={quarter}")
        page.wait_for_selector(selector, timeout=30000)
        _settle(page)
        assert page.locator(".error-card").count() == 0, path


def test_card_click_opens_its_indicator(page_as, quarter):
    page = page_as("leader")
    page.goto(page.base_url + f"/?grain=quarter&period={quarter}")
    card = page.locator(f"#{L.CARDS} a.kpi-card", has_text="门诊抗菌药物使用率")
    card.wait_for(timeout=30000)
    card.click()
    page.wait_for_url(f"**/indicator/{IND}?*")
    assert _q(page.url)["period"] == [quarter]
    page.wait_for_selector("h2.page-title:has-text('门诊抗菌药物使用率')")
    _settle(page)


def _click_top_bar(page, graph_id: str) -> None:
    """Click the bar drawn highest in a horizontal bar chart (the worst: the charts put it on top)."""
    page.wait_for_selector(f"#{graph_id} .bars .point path", state="attached", timeout=30000)
    bars = page.locator(f"#{graph_id} .bars .point path")
    boxes = [b for b in (bars.nth(i).bounding_box() for i in range(bars.count())) if b and b["width"] > 2]
    top = min(range(len(boxes)), key=lambda i: boxes[i]["y"])
    box = boxes[top]
    page.mouse.click(box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2)


def test_newcomer_worst_township_centre_and_its_department_in_four_clicks(page_as, app_cfg):
    """"Which township centre has the worst outpatient antibiotic rate this quarter, and which of its
    departments drives it?" — from the cockpit, as the demo leader: card → 季 → worst bar → departments."""
    from dashboard.urlstate import period_bounds
    from metrics.engine import ranking
    from metrics.scope import FULL_SCOPE
    page = page_as("leader")
    page.goto(page.base_url + "/")
    clicks = 0
    card = page.locator(f"#{L.CARDS} a.kpi-card", has_text="门诊抗菌药物使用率")
    card.wait_for(timeout=30000)
    card.click(); clicks += 1                                                   # 1: the card
    page.wait_for_url(f"**/indicator/{IND}*")
    page.wait_for_selector("#shell-grain label:has-text('季')")
    _settle(page)
    page.click("#shell-grain label:has-text('季')"); clicks += 1                # 2: this quarter
    page.wait_for_function("() => location.search.includes('grain=quarter')")
    page.wait_for_selector(f"#{L.RANKING} .bars .point path", state="attached", timeout=30000)
    _settle(page)
    period = _q(page.url)["period"][0]
    assert "乡镇卫生院" in page.inner_text(f"#{L.RANKING_TITLE}")
    _click_top_bar(page, L.RANKING); clicks += 1                                # 3: the worst centre
    page.wait_for_function("() => location.search.includes('org=')")
    worst_code = _q(page.url)["org"][0]
    start, end = period_bounds("quarter", period)
    peers = ranking(IND, "quarter", start, end, inst_type="township_center", scope=FULL_SCOPE,
                    mart_url=app_cfg.mart_url).dropna(subset=["value"])
    worst = peers.sort_values("value", ascending=False).iloc[0]
    assert worst_code == worst["org_code"]
    # breadcrumb follows: 全县 › township › the centre; the breakdown now lists its departments
    page.wait_for_function(f"() => document.querySelector('#{L.CRUMBS}').innerText.includes({worst['org_name']!r})")
    crumbs = page.inner_text(f"#{L.CRUMBS}")
    assert crumbs.startswith("全县") and crumbs.count("›") == 2
    page.wait_for_function(f"() => document.querySelector('#{L.BREAKDOWN_TITLE}').innerText.includes('按科室')",
                           timeout=30000)
    page.wait_for_selector(f"#{L.BREAKDOWN} .bars .point path", state="attached", timeout=30000)
    _settle(page)
    assert clicks <= 4
    labels = page.locator(f"#{L.BREAKDOWN} .yaxislayer-above text").all_inner_texts()
    assert labels, "departments listed"
    # 4th click (optional for the answer): the driving department; the URL and breadcrumb follow again
    _click_top_bar(page, L.BREAKDOWN); clicks += 1
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('org') !== {worst_code!r}")
    page.wait_for_function(f"() => document.querySelector('#{L.CRUMBS}').innerText.split('›').length === 4")
    assert clicks == 4
    # the toolbar keeps the department's institution and township, with no "not in scope" note
    page.wait_for_function(f"() => document.querySelector('#shell-inst').innerText.includes({worst['org_name']!r})")
    _settle(page)
    assert page.inner_text("#shell-org-label").strip() == ""
    # Back returns to the centre, then to the county
    page.go_back()
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('org') === {worst_code!r}")
    page.wait_for_function(f"() => document.querySelector('#{L.CRUMBS}').innerText.split('›').length === 3")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('org=')")
    _settle(page)


def test_export_csv_download_equals_engine(page_as, app_cfg, quarter):
    from dashboard.urlstate import period_bounds
    from metrics.engine import compute
    from metrics.scope import FULL_SCOPE
    page = page_as("leader")
    page.goto(page.base_url + f"/indicator/{IND}?grain=quarter&period={quarter}")
    page.wait_for_selector(f"#{L.TABLE} .ag-row", timeout=30000)
    _settle(page)
    with page.expect_download() as info:
        page.click(f"#{L.EXPORT_CSV}")
    raw = open(info.value.path(), "rb").read()
    assert info.value.suggested_filename.endswith(".csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    start, end = period_bounds("quarter", quarter)
    eng = compute([IND], "township", "quarter", start, end, scope=FULL_SCOPE,
                  mart_url=app_cfg.mart_url).set_index("org_code")
    towns = [r for r in rows if r["层级"] == "乡镇"]
    assert {r["代码"] for r in towns} == set(eng.index)
    for r in towns:
        e = eng.loc[r["代码"]]
        assert float(r["分子"]) == pytest.approx(float(e["numerator"]))
        assert float(r["分母"]) == pytest.approx(float(e["denominator"]))


def test_total_row_stays_on_top_when_sorting(page_as, quarter):
    page = page_as("leader")
    page.goto(page.base_url + f"/indicator/{IND}?grain=quarter&period={quarter}")
    page.wait_for_selector(f"#{L.TABLE} .ag-row", timeout=30000)
    _settle(page)
    first = f"#{L.TABLE} .ag-floating-top .ag-row .ag-cell[col-id='org_name']"
    assert page.inner_text(first).endswith("（合计）")
    header = page.locator(f"#{L.TABLE} .ag-header-cell[col-id='value'] .ag-header-cell-label")
    for _ in range(2):               # ascending, then descending
        header.click()
        page.wait_for_timeout(300)
        assert page.inner_text(first).endswith("（合计）")
        body = page.locator(f"#{L.TABLE} .ag-center-cols-container .ag-row .ag-cell[col-id='org_name']")
        assert not any(t.endswith("（合计）") for t in body.all_inner_texts())


def test_sankey_names_do_not_cover_the_bands(page_as, quarter):
    page = page_as("leader")
    page.goto(page.base_url + f"/referrals?grain=quarter&period={quarter}")
    page.wait_for_selector(f"#{L.REF_FLOW} .sankey-node", state="attached", timeout=30000)
    _settle(page)
    boxes = page.evaluate("""(sel) => {
        const root = document.querySelector(sel);
        const r = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.right, b.top, b.bottom]; };
        return {nodes: [...root.querySelectorAll('.sankey-node rect')].map(r),
                links: [...root.querySelectorAll('.sankey-link')].map(r),
                names: [...root.querySelectorAll('.annotation-text')].map(
                    (el) => [el.textContent, ...r(el)])};
    }""", f"#{L.REF_FLOW}")
    inner_left = min(n[1] for n in boxes["nodes"])          # right edge of the left column's nodes
    inner_right = max(n[0] for n in boxes["nodes"])         # left edge of the right column's nodes
    band_left = min(b[0] for b in boxes["links"])
    band_right = max(b[1] for b in boxes["links"])
    names = [n for n in boxes["names"] if "蓝色" not in n[0]]
    assert names and all(n[2] <= band_left + 1 or n[1] >= band_right - 1 for n in names), (band_left, band_right)
    assert any(n[2] <= inner_left for n in names) and any(n[1] >= inner_right for n in names)


def test_manager_export_of_another_institution_explains_itself(page_as, app_cfg, quarter):
    from queries.org import org_tree
    from tests.test_pages_callbacks import manager_institutions
    mine = manager_institutions(app_cfg)
    tree = org_tree(app_cfg.mart_url)
    other = tree[(tree["inst_type"] == "township_center") & ~tree["inst_code"].isin(mine)].iloc[0]["inst_code"]
    page = page_as("manager")
    page.goto(page.base_url + f"/indicator/{IND}?grain=quarter&period={quarter}&org={other}")
    page.wait_for_selector(f"#{L.TABLE_BOX} .empty-state", timeout=30000)
    _settle(page)
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.click(f"#{L.EXPORT_CSV}")
    page.wait_for_function(f"() => document.querySelector('#{L.EXPORT_MSG}').innerText.includes('无权导出')")
    assert page.locator(f"#{L.EXPORT_MSG}").is_visible()
    page.wait_for_timeout(500)
    assert not downloads


def test_sankey_names_and_hover_read_as_before_the_payload_was_trimmed(page_as, quarter):
    """The flow payload sends each name once (links hover their ends' names from the nodes) and the names'
    shared annotation keys once (template defaults): in the browser every name still resolves to a paper-anchored,
    arrowless, 11 px dark label centred on its node, the legend line keeps its own look, and a band's hover
    still reads '上转：<from> → <to>' with its count."""
    page = page_as("leader")
    page.goto(page.base_url + f"/referrals?grain=quarter&period={quarter}")
    page.wait_for_selector(f"#{L.REF_FLOW} .sankey-link", state="attached", timeout=30000)
    _settle(page)
    got = page.evaluate("""(sel) => {
        const gd = document.querySelector(sel + ' .js-plotly-plot');
        const anns = gd._fullLayout.annotations.map((a) => ({text: a.text, xref: a.xref, yref: a.yref,
            showarrow: a.showarrow, yanchor: a.yanchor, size: a.font.size, color: a.font.color}));
        const trace = gd.data[0];
        const band = document.querySelector(sel + ' .sankey-link');
        band.scrollIntoView({block: 'center'});          // the diagram has a row of its own, below the fold
        const b = band.getBoundingClientRect();
        return {anns, names: trace.node.customdata, link: trace.link, at: [b.left + b.width / 2, b.top + b.height / 2]};
    }""", f"#{L.REF_FLOW}")
    names = [a for a in got["anns"] if a["text"] in got["names"]]
    assert len(names) == len(got["names"])
    for a in names:
        assert (a["xref"], a["yref"], a["showarrow"], a["yanchor"], a["size"], a["color"]) == \
            ("paper", "paper", False, "middle", 11, "#2c3e50"), a
    legend = next(a for a in got["anns"] if "蓝色" in a["text"])
    assert (legend["xref"], legend["yref"], legend["showarrow"], legend["yanchor"], legend["color"]) == \
        ("paper", "paper", False, "auto", "#6b7785")
    page.mouse.move(*got["at"])
    page.wait_for_selector(f"#{L.REF_FLOW} .hovertext", timeout=10000)
    hover = page.locator(f"#{L.REF_FLOW} .hovertext").first.text_content()
    link, names = got["link"], got["names"]
    bands = {f"{d}：{names[a]} → {names[b]}{v:,} 人次"
             for d, a, b, v in zip(link["customdata"], link["source"], link["target"], link["value"])}
    assert set(link["customdata"]) <= {"上转", "下转"} and hover in bands, (hover, sorted(bands)[:3])
