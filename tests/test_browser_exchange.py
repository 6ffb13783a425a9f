"""/exchange in real headless Chromium against a real server on a small demo county with seeded exchange history.

The operator sees the map canvas, opens a failed node, its failed run's log, and the re-run button; the
administrator sees the logs but no re-run button; a leader is refused the page. No console error, no request
leaving the machine. Screenshots at 1440×900 go to ``screenshots/exchange-*.png``.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.fixtures_web import grid_overflow, login_page, read_accounts_file

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"


@pytest.fixture(scope="module")
def ex_server(tmp_path_factory):
    """(cfg, base_url): demo county (mart + geometry), demo accounts, 2 days of exchange history, live server."""
    from werkzeug.serving import make_server

    from core.config import Config
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.app import create_app
    from dashboard.appdb import init_app_db
    from dashboard.exchange.seed import seed_demo_history
    from mart.demo import build_demo

    data = tmp_path_factory.mktemp("exbrowser")
    cfg = Config(data_dir=data, mart_url=f"duckdb:///{data / 'mart.duckdb'}",
                 app_db_url=f"sqlite:///{data / 'app.db'}", cache_url="")
    build_demo(cfg, scale=0.03, years=1, quiet=True)
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    seed_demo_history(cfg, days=2)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="exchange-server", daemon=True)
    thread.start()
    try:
        yield cfg, f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def open_as(browser, ex_server):
    cfg, base = ex_server
    accounts = read_accounts_file(cfg.demo_accounts_path)
    opened = []

    def _make(role: str):
        user, password = accounts[role]
        context, page, problems = login_page(browser, base, user, password)
        opened.append((context, problems))
        page.base_url = base
        return page
    yield _make
    for context, _ in opened:
        context.close()
    for _, problems in opened:
        problems.check()


def _open_failed_log(page, node: str | None = None) -> None:
    """Open /exchange and the log of a failed run: of the first node listed with one, or of ``node`` (the list's
    order moves with the nodes' heartbeats, so a test coming back to the same run names its node)."""
    row = f'#ex-nodes .ag-row[row-id="{node}"]' if node else "#ex-nodes .ag-row"
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box[data-rendered] canvas", timeout=20_000)
    page.wait_for_selector(f"{row} .ex-cell-failed", timeout=15_000)
    page.click(f"{row} .ex-cell-failed >> nth=0")
    page.wait_for_selector("#ex-detail .ex-jobs", timeout=10_000)
    page.click("#ex-detail .ex-run-failed .ex-link >> nth=0")
    page.wait_for_function("() => (document.querySelector('#ex-log')?.innerText || '').includes('ERROR')",
                           timeout=10_000)


def test_operator_sees_map_failed_log_and_rerun(open_as) -> None:
    page = open_as("operator")
    _open_failed_log(page)
    canvas = page.locator(".echarts-box canvas").first.bounding_box()
    assert canvas and canvas["width"] > 400 and canvas["height"] > 400
    # the option drawn holds the four states' series, the running lines and the platform star
    names = page.evaluate("() => echarts.getInstanceByDom(document.querySelector('.echarts-box'))"
                          ".getOption().series.map(s => s.name)")
    assert {"正常", "运行中", "失败", "离线", "运行中任务", "数据中心平台"} <= set(names)
    assert "失败" in page.inner_text("#ex-log-head")
    assert page.locator("#ex-rerun-btn").is_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "exchange-operator.png"), full_page=True)
    # confirm → one command, its state shown
    page.on("dialog", lambda d: d.accept())
    page.click("#ex-rerun-btn")
    page.wait_for_selector(".ex-cmd-requested", timeout=10_000)
    assert "已请求" in page.inner_text(".ex-cmd")
    assert page.locator("#ex-rerun-btn").is_disabled()


def test_admin_sees_logs_without_rerun_and_can_edit_settings(open_as) -> None:
    page = open_as("admin")
    _open_failed_log(page)
    assert page.locator("#ex-rerun-btn").count() == 0
    assert "仅运维人员可重跑" in page.inner_text("#ex-rerun-box")
    assert page.locator("#ex-set-save").is_enabled()
    page.screenshot(path=str(SHOTS / "exchange-admin.png"))
    # review 7: at 1366 px the run grid's columns fit it (错误信息 started 94 px past its right edge)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(800)
    over = grid_overflow(page, "ex-runs")
    assert over is not None and over <= 0, over


def test_leader_is_refused_exchange(open_as) -> None:
    page = open_as("leader")
    # fetched with the page's session (a navigation to a 403 would log a console error by design)
    resp = page.request.get(page.base_url + "/exchange")
    assert resp.status == 403
    assert "ex-nodes" not in resp.text()
    assert page.locator("#ex-nodes").count() == 0


# ------------------------------------------------------------------------------------------- audit fixes (issue 7)
def _set_hidden(page, hidden: bool) -> None:
    """Make the page believe its tab is hidden (or visible again) and tell it, as the browser would."""
    page.evaluate("""(hidden) => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        Object.defineProperty(document, "visibilityState", {configurable: true,
                                                            get: () => hidden ? "hidden" : "visible"});
        document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


def test_auto_refresh_pauses_while_hidden_and_resumes_at_once(open_as, monkeypatch) -> None:
    from layouts import _exchange_parts as P
    monkeypatch.setattr(P, "REFRESH_MS", 2000)       # the layout reads it per page load: 2 s ticks for the test
    page = open_as("operator")
    ticks: list[float] = []

    def on_request(req) -> None:
        if "/_dash-update-component" not in req.url or req.method != "POST":
            return
        body = req.post_data_json or {}
        if "ex-interval.n_intervals" in (body.get("changedPropIds") or []) and "exchange-map" in body.get("output", ""):
            ticks.append(time.monotonic())
    page.on("request", on_request)
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box[data-rendered] canvas", timeout=20_000)
    page.wait_for_timeout(4_500)
    assert len(ticks) >= 1, "the page does not refresh by itself at all"
    _set_hidden(page, True)
    page.wait_for_timeout(300)
    hidden_from = time.monotonic()
    page.wait_for_timeout(7_000)                     # three and a half intervals
    assert [t for t in ticks if t >= hidden_from] == [], "refreshed while the tab was hidden"
    shown_at = time.monotonic()
    _set_hidden(page, False)
    page.wait_for_timeout(1_200)                     # well inside one interval: only the immediate refresh
    assert len([t for t in ticks if t >= shown_at]) == 1, "no immediate refresh on return"
    page.wait_for_timeout(4_500)
    assert len([t for t in ticks if t >= shown_at]) >= 2, "the timer did not resume"


def _geo_view(page) -> dict:
    return page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('.echarts-box'));
        const g = chart.getOption().geo[0];
        return {center: g.center || null, zoom: g.zoom || 1};
    }""")


def test_selecting_a_node_uses_its_zoom_and_shows_city_and_address(open_as, ex_server) -> None:
    from dashboard.exchange.service import node_states, update_node_settings
    cfg, _base = ex_server
    nodes = node_states(cfg).dropna(subset=["lon", "lat"]).sort_values("code")
    focus, plain = nodes.iloc[0], nodes.iloc[1]
    update_node_settings(cfg, focus["code"], focus["lon"], focus["lat"], 13, "丰安县", "城关镇人民路 88 号")
    update_node_settings(cfg, plain["code"], plain["lon"], plain["lat"], None, None, None)
    page = open_as("operator")
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box[data-rendered] canvas", timeout=20_000)
    start = _geo_view(page)
    page.click(f'#ex-nodes .ag-row[row-id="{focus["code"]}"] .ag-cell >> nth=1')
    page.wait_for_function("() => (document.querySelector('#ex-detail')?.innerText || '').includes('城关镇人民路 88 号')",
                           timeout=10_000)
    assert "丰安县" in page.inner_text("#ex-detail")
    page.wait_for_function("() => (echarts.getInstanceByDom(document.querySelector('.echarts-box'))"
                           ".getOption().geo[0].zoom || 1) > 1.5", timeout=10_000)
    view = _geo_view(page)
    assert view["center"] == pytest.approx([focus["lon"], focus["lat"]], abs=1e-6)
    # level 13 of a web map is 256·2^13 px per 360° of longitude: the map now draws at that scale
    px = page.evaluate("""([lon, lat]) => {
        const chart = echarts.getInstanceByDom(document.querySelector('.echarts-box'));
        const a = chart.convertToPixel({geoIndex: 0}, [lon, lat]);
        const b = chart.convertToPixel({geoIndex: 0}, [lon + 0.01, lat]);
        return (b[0] - a[0]) / 0.01;
    }""", [float(focus["lon"]), float(focus["lat"])])
    assert px == pytest.approx(256 * 2 ** 13 / 360, rel=0.03)
    # a node without a saved zoom: the detail changes, the view stays
    page.click(f'#ex-nodes .ag-row[row-id="{plain["code"]}"] .ag-cell >> nth=1')
    page.wait_for_function(f"() => (document.querySelector('#ex-detail')?.innerText || '').includes('{plain['code']}')",
                           timeout=10_000)
    page.wait_for_timeout(800)
    assert _geo_view(page) == view and view != start


def test_admin_out_of_range_zoom_is_refused_in_chinese(open_as, ex_server) -> None:
    from dashboard.exchange.service import node_states
    cfg, _base = ex_server
    nodes = node_states(cfg).dropna(subset=["lon", "lat"]).sort_values("code")
    node = nodes.iloc[2]
    page = open_as("admin")
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(f'#ex-nodes .ag-row[row-id="{node["code"]}"]', timeout=20_000)
    page.click(f'#ex-nodes .ag-row[row-id="{node["code"]}"] .ag-cell >> nth=1')
    page.wait_for_function("() => document.querySelector('#ex-set-lon')?.value !== ''", timeout=10_000)
    page.fill("#ex-set-zoom", "40")
    page.press("#ex-set-zoom", "Tab")
    page.fill("#ex-set-city", "示范市")
    page.press("#ex-set-city", "Tab")
    page.click("#ex-set-save")
    page.wait_for_function("() => (document.querySelector('#ex-set-msg')?.innerText || '').includes('未保存')",
                           timeout=10_000)
    msg = page.inner_text("#ex-set-msg")
    assert "缩放级别：须在 1 到 20 之间" in msg and "Input should" not in msg
    after = node_states(cfg, codes=[node["code"]]).iloc[0]
    assert after["city"] in (None, "") and (after["zoom"] is None or after["zoom"] != after["zoom"])
    page.fill("#ex-set-zoom", "")
    page.press("#ex-set-zoom", "Tab")
    page.fill("#ex-set-lon", "500")
    page.press("#ex-set-lon", "Tab")
    page.click("#ex-set-save")
    page.wait_for_function("() => (document.querySelector('#ex-set-msg')?.innerText || '').includes('经度')",
                           timeout=10_000)
    assert "经度：须在 -180 到 180 之间" in page.inner_text("#ex-set-msg")


GRID_CHECK_JS = """(id) => {
    const g = document.getElementById(id);
    if (!g) { return null; }
    const box = g.getBoundingClientRect();
    const texts = [...g.querySelectorAll('.ag-header-cell-text, .ag-header-group-text')];
    const cols = [...g.querySelectorAll('.ag-header-row-column .ag-header-cell')];
    const body = g.querySelector('.ag-body-viewport') || g;
    return {
        cut: texts.filter(t => t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1)
                  .map(t => t.textContent),
        outside: texts.filter(t => t.getBoundingClientRect().right > box.right + 1).map(t => t.textContent),
        filled: cols.reduce((s, c) => s + c.getBoundingClientRect().width, 0) / body.clientWidth,
        width: box.width,
    };
}"""


def test_quality_grids_show_whole_headers_and_fill_their_width(open_as) -> None:
    page = open_as("operator")
    page.goto(page.base_url + "/quality")
    page.wait_for_selector("#q-inst-table .ag-row", timeout=30_000)
    page.wait_for_selector("#q-last-table .ag-row", timeout=30_000)
    page.wait_for_selector("#q-behind-table .ag-row", timeout=30_000)   # the silent node is behind schedule
    page.wait_for_timeout(500)
    content = page.evaluate("() => document.querySelector('.page-quality').getBoundingClientRect().width")
    for grid in ("q-inst-table", "q-last-table", "q-behind-table"):
        info = page.evaluate(GRID_CHECK_JS, grid)
        assert info is not None, grid
        assert info["cut"] == [] and info["outside"] == [], (grid, info)
        assert info["filled"] > 0.97, (grid, info)          # the columns fill the grid, no empty half
        assert info["width"] > 0.9 * content, (grid, info)  # and the grid the page's width
    # review 7: at 1366 px the institution table fits its grid (未按计划, its last column, was cut at the edge)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(800)
    over = grid_overflow(page, "q-inst-table")
    info = page.evaluate(GRID_CHECK_JS, "q-inst-table")
    assert over is not None and over <= 0 and info["cut"] == [] and info["outside"] == [], (over, info)
    # the institution × day heat map shows whole names (a fixed 150 px margin cut 城西街道社区卫生服务中心's 城)
    page.wait_for_selector("#q-heat .ytick text", timeout=30_000)
    cut = page.evaluate("""() => {
        const left = document.querySelector('#q-heat .main-svg').getBoundingClientRect().left;
        return [...document.querySelectorAll('#q-heat .ytick text')]
            .filter(t => t.getBoundingClientRect().left < left - 0.5).map(t => t.textContent);
    }""")
    assert cut == [], cut
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "quality-operator.png"), full_page=True)


def test_a_refresh_answered_before_the_first_option_waits_for_its_map(open_as) -> None:
    """A timed refresh is sent without the GeoJSON; under load its answer can be drawn before the page's first
    option, which brings the map (CI once saw ECharts throw "reading 'regions'" so). The bridge waits for the map
    instead: no page error, and the chart is drawn once the map is registered."""
    page = open_as("operator")
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box[data-rendered] canvas", timeout=20_000)
    drawn = page.evaluate("""() => new Promise((resolve) => {
        const box = document.createElement('div');
        box.id = 'race-box'; box.style.width = '300px'; box.style.height = '200px';
        document.body.appendChild(box);
        const geo = {map: 'race-map', roam: true};
        const square = {type: 'FeatureCollection', features: [{type: 'Feature', properties: {name: '甲'},
            geometry: {type: 'Polygon', coordinates: [[[119, 29], [120, 29], [120, 30], [119, 30], [119, 29]]]}}]};
        const render = window.dash_clientside.echarts.render;
        render({geo: geo, series: [], _keepView: true}, 'race-box', null);      // the refresh, first
        const early = box.getAttribute('data-rendered');
        setTimeout(() => {
            render({_geo: {name: 'race-map', geojson: square}, geo: geo, series: []}, 'race-box', null);
            setTimeout(() => resolve({early: early, late: box.getAttribute('data-rendered'),
                                      map: !!echarts.getMap('race-map')}), 600);
        }, 400);
    })""")
    assert drawn["early"] is None and drawn["late"] and drawn["map"], drawn
