"""The three county maps in real headless Chromium against a real server on a small demo county.

Runs on the session's live server (tiny demo county from ``tests/fixtures_mart.py``). Each map draws a canvas with no console error and no request leaving the machine; a click on a township or an
institution (at the pixel ECharts itself reports for its coordinates) fills the side panel; a manager's click on
an institution outside the scope shows no figures. Screenshots of each map at 1440×900 go to
``screenshots/maps-*.png`` for a human to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures_web import VIEWPORT
from tests.test_maps_callbacks import manager_codes

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"


@pytest.fixture
def open_as(page_as):
    """``open_as(role)`` → a logged-in 1440×900 page on the live server (tiny demo county of the session);
    console errors and requests leaving the machine fail the test (checked by ``page_as``)."""
    return page_as


@pytest.fixture
def maps_server(app_cfg, live_server):
    """(cfg, base_url) of the live server: the session's tiny demo mart, its geometry and demo accounts."""
    return app_cfg, live_server


BOX = '.echarts-box[data-rendered]'


def _goto_map(page, path: str) -> None:
    page.goto(page.base_url + path)
    page.wait_for_selector(f"{BOX} canvas", timeout=20_000)
    # wait until the option has been drawn (the bridge stamps the box after setOption)
    page.wait_for_function(
        "() => { const el = document.querySelector('.echarts-box[data-rendered]');"
        " const c = el && window.echarts.getInstanceByDom(el);"
        " return !!(c && c.getOption() && c.getOption().geo && c.getOption().geo.length); }", timeout=20_000)
    page.wait_for_timeout(600)


def _pixel(page, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of a lon/lat on the drawn map (ECharts converts; we add the box offset)."""
    xy = page.evaluate(
        """([lon, lat]) => { const el = document.querySelector('.echarts-box[data-rendered]');
             const c = window.echarts.getInstanceByDom(el); const p = c.convertToPixel({geoIndex: 0}, [lon, lat]);
             const r = el.getBoundingClientRect(); return [r.left + p[0], r.top + p[1]]; }""", [lon, lat])
    return float(xy[0]), float(xy[1])


def _series_item(page, series_name: str | None = None, code: str | None = None) -> dict:
    """First scatter item (of a series, or with a code) of the drawn option: {code, name, lon, lat}."""
    return page.evaluate(
        """([seriesName, code]) => { const el = document.querySelector('.echarts-box[data-rendered]');
             const o = window.echarts.getInstanceByDom(el).getOption();
             for (const s of o.series) { if (s.type !== 'scatter') continue;
               if (seriesName && s.name !== seriesName) continue;
               for (const d of s.data) { if (!code || d.code === code)
                 return {code: d.code, name: d.name, lon: d.value[0], lat: d.value[1]}; } }
             return null; }""", [series_name, code])


def _all_points(page) -> list[tuple[float, float]]:
    """lon/lat of every scatter item drawn (institutions)."""
    return [tuple(p) for p in page.evaluate(
        """() => { const el = document.querySelector('.echarts-box[data-rendered]');
             const o = window.echarts.getInstanceByDom(el).getOption(); const out = [];
             for (const s of o.series) { if (s.type !== 'scatter') continue;
               for (const d of s.data) out.push([d.value[0], d.value[1]]); } return out; }""")]


def _township_spots(cfg, symbols: list[tuple[float, float]]) -> tuple[str, str, list[tuple[float, float]]]:
    """A township and points inside it, farthest from any institution symbol first."""
    import numpy as np
    from shapely.geometry import Point, shape

    from geo.store import display_geometry
    disp = display_geometry(cfg.geo_dir)
    code = sorted(disp.code_to_name)[-1]
    feature = next(f for f in disp.geojson["features"] if f["properties"]["area_code"] == code)
    poly = shape(feature["geometry"])
    inner = poly.buffer(-0.1 * (poly.area ** 0.5))
    inner = inner if not inner.is_empty else poly
    minx, miny, maxx, maxy = inner.bounds
    grid = [(x, y) for x in np.linspace(minx, maxx, 12) for y in np.linspace(miny, maxy, 12)
            if inner.contains(Point(x, y))]
    sym = np.array(symbols) if symbols else np.zeros((0, 2))

    def clearance(pt):
        return float(np.min(np.hypot(sym[:, 0] - pt[0], sym[:, 1] - pt[1]))) if len(sym) else 1.0
    grid.sort(key=clearance, reverse=True)
    return code, disp.code_to_name[code], grid[:6]


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"maps-{name}.png"))


@pytest.mark.parametrize("path,name", [("/map/institutions", "institutions"), ("/map/health", "health"),
                                       ("/map/reform", "reform")])
def test_map_renders_offline_and_township_click_fills_panel(open_as, maps_server, path, name):
    cfg, _ = maps_server
    page = open_as("leader")
    _goto_map(page, path)
    assert page.viewport_size == VIEWPORT
    # the canvas is really painted: the ECharts option holds the registered township map and its regions
    geo_map = page.evaluate("() => window.echarts.getInstanceByDom("
                            "document.querySelector('.echarts-box[data-rendered]')).getOption().geo[0].map")
    assert geo_map.startswith("county-")
    assert page.evaluate(f"() => !!window.echarts.getMap('{geo_map}')")
    assert page.locator(".page-subtitle").inner_text().strip() != ""
    _shot(page, name)

    code, tname, spots = _township_spots(cfg, _all_points(page))
    panel = page.locator(f"#map-{'inst' if name == 'institutions' else name}-panel")
    before = panel.inner_text()
    hit = False
    for lon, lat in spots:             # a flow line may still lie on a spot: then try the next one
        x, y = _pixel(page, lon, lat)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(f"() => document.querySelector('[data-code=\"{code}\"]') !== null",
                                   timeout=6_000)
            hit = True
            break
        except Exception:  # noqa: BLE001
            continue
    assert hit, f"no click on township {code} reached the panel"
    text = panel.inner_text()
    assert text != before and tname.split("(")[0] in text
    assert "辖区机构" in text


def test_institution_click_opens_profile_with_drill_link(open_as):
    page = open_as("leader")
    _goto_map(page, "/map/institutions")
    item = _series_item(page, "县级医院")
    assert item is not None
    x, y = _pixel(page, item["lon"], item["lat"])
    page.mouse.click(x, y - 8)                         # a pin's body sits above its point
    page.wait_for_selector("#map-inst-panel .map-panel-body[data-code]", timeout=15_000)
    panel = page.locator("#map-inst-panel")
    assert panel.locator(".map-panel-title").inner_text().strip() != ""
    code = page.get_attribute("#map-inst-panel .map-panel-body", "data-code")
    link = panel.locator("a.map-drill").get_attribute("href")
    assert link.startswith("/indicator/") and f"org={code}" in link
    assert "门急诊人次" in panel.inner_text()
    # the drill link leads to the indicator page of that institution
    panel.locator("a.map-drill").click()
    page.wait_for_url(f"**/indicator/**org={code}**", timeout=15_000)
    _shot(page, "drill")


def test_controls_write_the_url_and_redraw(open_as):
    page = open_as("leader")
    _goto_map(page, "/map/health")
    page.locator("#map-health-method label", has_text="自然断点").click()
    page.wait_for_url("**cls=natural_breaks**", timeout=15_000)
    page.wait_for_function("() => (document.querySelector('#map-health-legend')?.innerText || '').includes('自然断点')",
                           timeout=15_000)
    # a shared link restores the pickers
    page.goto(page.base_url + "/map/health?cls=equal_interval&k=3")
    page.wait_for_function("() => (document.querySelector('#map-health-legend')?.innerText || '').includes('等间距')",
                           timeout=20_000)
    assert page.locator("#map-health-legend .map-legend-row").count() >= 2


def test_manager_click_outside_scope_shows_no_figures(open_as, maps_server):
    cfg, _ = maps_server
    allowed = manager_codes(cfg)
    assert allowed, "the demo manager has no institutions"
    page = open_as("manager")
    _goto_map(page, "/map/institutions")
    items = page.evaluate(
        """() => { const el = document.querySelector('.echarts-box[data-rendered]');
             const o = window.echarts.getInstanceByDom(el).getOption(); const out = [];
             for (const s of o.series) { if (s.type !== 'scatter') continue;
               for (const d of s.data) out.push({series: s.name, code: d.code, lon: d.value[0], lat: d.value[1]}); }
             return out; }""")

    def clearance(it):
        return min(((o["lon"] - it["lon"]) ** 2 + (o["lat"] - it["lat"]) ** 2) ** 0.5
                   for o in items if o is not it)
    # a township centre outside the scope, the one standing farthest from any other symbol
    candidates = [it for it in items if it["series"] == "乡镇卫生院/社区中心" and it["code"] not in allowed]
    outside = max(candidates, key=clearance) if candidates else None
    assert outside is not None
    x, y = _pixel(page, outside["lon"], outside["lat"])
    page.mouse.click(x, y)
    page.wait_for_selector("#map-inst-panel [data-code], #map-inst-panel .page-notice", timeout=15_000)
    text = page.locator("#map-inst-panel").inner_text()
    assert "无权查看" in text
    assert page.locator("#map-inst-panel a.map-drill").count() == 0


def _click_township(page, cfg, panel_id: str) -> str:
    """Click inside a township (away from symbols) until its panel shows; returns the township code."""
    code, _tname, spots = _township_spots(cfg, _all_points(page))
    for lon, lat in spots:
        x, y = _pixel(page, lon, lat)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(f"() => document.querySelector('#{panel_id} [data-code=\"{code}\"]') !== null",
                                   timeout=6_000)
            return code
        except Exception:  # noqa: BLE001
            continue
    raise AssertionError(f"no click on township {code} reached the panel")


def test_reform_click_answer_is_seen_without_scrolling_and_kept_in_the_url(open_as, maps_server):
    """At 1440×900 the reform panel sat below eight cards and the legend (top ≈ 1020): a click changed nothing
    visible. The clicked township also goes into the URL, so that a shared link opens with the same panel."""
    cfg, _ = maps_server
    page = open_as("leader")
    _goto_map(page, "/map/reform")
    code = _click_township(page, cfg, "map-reform-panel")
    box = page.locator("#map-reform-panel").bounding_box()
    title = page.locator("#map-reform-panel .map-panel-title").bounding_box()
    assert box is not None and box["y"] <= VIEWPORT["height"], box
    assert title is not None and title["y"] + title["height"] <= VIEWPORT["height"], title
    assert page.evaluate("() => window.scrollY") == 0
    _shot(page, "reform-panel")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('sel') === 'town:{code}'",
                           timeout=10_000)
    # (a full load: leaving the reform map inside the app trips a bridge error on its animated flows)
    page.goto(page.url)
    page.wait_for_selector(f"#map-reform-panel [data-code=\"{code}\"]", timeout=20_000)


def test_back_button_restores_the_clicked_institution(open_as):
    page = open_as("leader")
    _goto_map(page, "/map/institutions")
    item = _series_item(page, "县级医院")
    x, y = _pixel(page, item["lon"], item["lat"])
    page.mouse.click(x, y - 8)                         # a pin's body sits above its point
    page.wait_for_selector("#map-inst-panel .map-panel-body[data-code]", timeout=15_000)
    code = page.get_attribute("#map-inst-panel .map-panel-body", "data-code")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('sel') === 'inst:{code}'",
                           timeout=10_000)
    # the map is not redrawn for a click (the URL changed outside Dash's router)
    stamp = page.get_attribute(BOX, "data-rendered")
    page.wait_for_timeout(800)
    assert page.get_attribute(BOX, "data-rendered") == stamp
    page.locator("#map-inst-panel a.map-drill").click()
    page.wait_for_url(f"**/indicator/**org={code}**", timeout=15_000)
    page.go_back()
    page.wait_for_selector(f"#map-inst-panel .map-panel-body[data-code=\"{code}\"]", timeout=20_000)
    # choosing another indicator keeps the selection in the URL and the panel
    page.locator("#map-inst-indicator").click()
    page.locator(".dash-options-list-option", has_text=re.compile(r"^\s*门诊次均费用\s*$")).first.click()
    page.wait_for_function("() => location.search.includes('ind=op_cost_per_visit')", timeout=15_000)
    assert f"sel=inst%3A{code}" in page.url
    page.wait_for_selector(f"#map-inst-panel .map-panel-body[data-code=\"{code}\"]", timeout=20_000)
    page.wait_for_function("() => (document.querySelector('#map-inst-legend')?.innerText || '').includes('无目标值')",
                           timeout=20_000)


def test_reform_map_of_one_institution_draws_only_its_flows(open_as, maps_server):
    cfg, _ = maps_server
    from queries.maps import institution_points
    pts = institution_points(cfg.mart_url)
    lead = pts[pts["is_lead"] == 1].iloc[0]
    page = open_as("leader")
    _goto_map(page, f"/map/reform?org={lead['inst_code']}&top=80")
    ends = page.evaluate(
        """() => { const el = document.querySelector('.echarts-box[data-rendered]');
             const o = window.echarts.getInstanceByDom(el).getOption(); const out = [];
             for (const s of o.series) { if (s.type !== 'lines' || !(s.effect && s.effect.show)) continue;
               for (const d of s.data) out.push([d.code, d.to_code]); } return out; }""")
    assert ends and all(lead["inst_code"] in pair for pair in ends)
    assert f"仅显示{lead['name']}的转诊流向" in page.locator(".page-subtitle").inner_text()
    assert "全县核心指标" in page.locator("#map-reform-cards").inner_text()
    _shot(page, "reform-one-institution")
