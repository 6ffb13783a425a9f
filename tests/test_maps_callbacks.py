"""Map callbacks through the real Dash endpoint (/_dash-update-component) on the session's tiny demo mart.

The maps must agree with the engine (status colours, township classes), respect a manager's scope on the server,
stay under 1 MB, and survive hostile URL values.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from geo.classify import NO_DATA_COLOR, classify
from geo.options import STATUS_COLORS
from layouts import _ids as ids
from layouts import map_parts as P

PERIOD = "?grain=quarter&period=2026Q3"


def _sid(component_id) -> str:  # noqa: ANN001
    return json.dumps(component_id, sort_keys=True, separators=(",", ":")) if isinstance(component_id, dict) \
        else component_id


def _post(client, outputs: list[tuple], inputs: list[tuple], state: list[tuple] = ()) -> dict:  # noqa: ANN001
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = (".." + "...".join(f"{_sid(i)}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{_sid(outputs[0][0])}.{outputs[0][1]}"
    payload = {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
               "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
               "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
               "changedPropIds": [f"{_sid(inputs[0][0])}.{inputs[0][1]}"]}
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert len(resp.get_data()) < 1_000_000
    return resp.get_json()["response"]


def render(client, page: str, search: str = PERIOD) -> dict:  # noqa: ANN001
    """The render callback's outputs of a map page: {'option', 'subtitle', 'legend', 'notice'}."""
    outputs = [(ids.echarts_option(P.chart_name(page)), "data"), (P.mid(page, "subtitle"), "children"),
               (P.mid(page, "legend"), "children"), (P.mid(page, "notice"), "children")]
    resp = _post(client, outputs, [("url", "search", search), (P.mid(page, "ready"), "data", page)])
    option_id = _sid(ids.echarts_option(P.chart_name(page)))
    return {"option": resp[option_id]["data"], "subtitle": resp[P.mid(page, "subtitle")]["children"],
            "legend": resp.get(P.mid(page, "legend"), {}).get("children"),
            "notice": resp.get(P.mid(page, "notice"), {}).get("children")}


def click(client, page: str, payload: dict, search: str = PERIOD) -> str:  # noqa: ANN001
    """The panel's content (as JSON text) after a click."""
    cid = ids.echarts_click(P.chart_name(page))
    resp = _post(client, [(P.mid(page, "panel"), "children")], [(cid, "data", payload)], [("url", "search", search)])
    return json.dumps(resp[P.mid(page, "panel")]["children"], ensure_ascii=False)


def manager_codes(cfg) -> set[str]:  # noqa: ANN001
    """The demo manager's institutions; when the shared fixture left them empty, give it the intended demo scope
    (the lead hospital plus the first township centre, as ``demo_manager_institutions`` would)."""
    from dashboard.accounts.service import get_user_view, update_user
    from queries.maps import institution_points
    codes = set(get_user_view(cfg, "manager").inst_codes)
    if not codes:
        pts = institution_points(cfg.mart_url)
        wanted = (pts[pts["is_lead"] == 1]["inst_code"].tolist()[:1]
                  + pts[pts["inst_type"] == "township_center"]["inst_code"].tolist()[:1])
        update_user(cfg, "manager", inst_codes=wanted, actor=("test:maps", "", ""))
        codes = set(wanted)
    return codes


def _scatter(option: dict) -> list[dict]:
    return [d for s in option["series"] if s["type"] == "scatter" for d in s["data"]]


def _engine(cfg, ids_, level, scope=None):  # noqa: ANN001, ANN202
    from metrics.engine import compute
    from metrics.scope import FULL_SCOPE
    return compute(ids_, level, "quarter", "2026-07", "2026-09", mart_url=cfg.mart_url,
                   scope=scope or FULL_SCOPE, comparisons=False)


def test_institution_map_colours_agree_with_the_engine(client_as, app_cfg):
    out = render(client_as("leader"), "inst")
    option = out["option"]
    assert option["_geo"]["geojson"]["features"] and option["geo"]["map"] == option["_geo"]["name"]
    items = _scatter(option)
    from queries.maps import institution_points
    placed = institution_points(app_cfg.mart_url).dropna(subset=["lon", "lat"])
    assert sorted(d["code"] for d in items) == sorted(placed["inst_code"])
    eng = _engine(app_cfg, [P.INST_DEFAULT], "institution").set_index("org_code")
    checked = 0
    for d in items:
        status = eng["status"].get(d["code"]) if d["code"] in eng.index else None
        status = status if isinstance(status, str) else None
        assert d["itemStyle"]["color"] == STATUS_COLORS[status], d["code"]
        checked += status is not None
    assert checked > 0
    # the subtitle counts agree too
    n_bad = sum(1 for v in eng["status"] if v == "未达标")
    assert f"未达标 {n_bad} 家" in out["subtitle"]


def test_manager_sees_indicator_values_only_in_scope(client_as, app_cfg):
    allowed = manager_codes(app_cfg)
    assert allowed
    out = render(client_as("manager"), "inst")
    items = _scatter(out["option"])
    outside = [d for d in items if d["code"] not in allowed]
    assert outside and all(d["itemStyle"]["color"] == STATUS_COLORS[None] for d in outside)
    assert all("无权查看" in d["tooltip"]["formatter"] for d in outside)
    assert "仅显示授权机构" in json.dumps(out["notice"], ensure_ascii=False)


def test_health_map_classes_follow_the_engine_values(client_as, app_cfg):
    from geo.store import display_geometry
    search = PERIOD + "&ind=htn_standard_rate&cls=equal_interval&k=4"
    out = render(client_as("leader"), "health", search)
    disp = display_geometry(app_cfg.geo_dir)
    eng = _engine(app_cfg, ["htn_standard_rate"], "township").set_index("org_code")["value"]
    values = [eng.get(code) for code in disp.code_to_name]
    expected = classify([None if v is None or pd.isna(v) else float(v) for v in values], "equal_interval", 4,
                        direction="up", decimals=1)
    regions = {r["name"]: r for r in out["option"]["geo"]["regions"]}
    for (code, name), cls in zip(disp.code_to_name.items(), expected.classes):
        colour = regions[name]["itemStyle"]["areaColor"]
        assert colour == (expected.colors[cls] if cls >= 0 else NO_DATA_COLOR), name
    legend = json.dumps(out["legend"], ensure_ascii=False)
    assert "等间距" in legend and all(label in legend for label in expected.labels)


def test_reform_flows_are_thresholded_and_scaled(client_as, app_cfg):
    out = render(client_as("leader"), "reform", PERIOD + "&top=10")
    lines = {s["name"]: s for s in out["option"]["series"] if s["type"] == "lines" and s.get("effect")}
    assert set(lines) == {"上转", "下转"}
    from queries.maps import referral_flows
    flows = referral_flows(app_cfg.mart_url, "2026-07", "2026-09")
    for direction, name in (("up", "上转"), ("down", "下转")):
        data = lines[name]["data"]
        assert len(data) <= 10
        top = flows[flows.direction == direction]["referrals"].max()
        if data:
            assert max(d["value"] for d in data) == top
            widths = [d["lineStyle"]["width"] for d in sorted(data, key=lambda d: d["value"])]
            assert widths == sorted(widths)


def test_panels_respect_the_scope(client_as, app_cfg):
    from queries.maps import institution_points
    allowed = sorted(manager_codes(app_cfg))
    others = [c for c in institution_points(app_cfg.mart_url)["inst_code"] if c not in allowed]
    manager = client_as("manager")
    inside = click(manager, "inst", {"componentType": "series", "name": "x", "data": {"code": allowed[0]}})
    assert "/indicator/" in inside and f"org={allowed[0]}" in inside
    outside = click(manager, "inst", {"componentType": "series", "name": "x", "data": {"code": others[0]}})
    assert "无权查看" in outside and "/indicator/" not in outside
    # a forged code never reaches the engine's detail
    forged = click(manager, "inst", {"componentType": "series", "name": "x", "data": {"code": "'; DROP TABLE x"}})
    assert "未找到该机构" in forged


def test_township_click_lists_its_institutions(client_as, app_cfg):
    from geo.store import display_geometry
    from queries.maps import institution_points
    disp = display_geometry(app_cfg.geo_dir)
    code, name = next(iter(disp.code_to_name.items()))
    text = click(client_as("leader"), "health", {"componentType": "geo", "name": name, "data": None})
    n = int((institution_points(app_cfg.mart_url)["area_code"] == code).sum())
    assert f"辖区机构 {n} 家" in text and name in text


def test_hostile_url_values_fall_back_to_defaults(client_as):
    search = "?grain=month&period=2026-09&ind=%27%3BDROP&cls=%3Cscript%3E&k=999&top=-5"
    out = render(client_as("leader"), "health", search)
    assert out["option"]["geo"]["regions"]
    legend = json.dumps(out["legend"], ensure_ascii=False)
    assert "分位数" in legend and "<script>" not in legend


@pytest.mark.parametrize("role", ["operator", "auditor"])
def test_roles_without_mart_access_get_no_figures(client_as, role):
    client = client_as(role)
    outputs = [(ids.echarts_option(P.chart_name("inst")), "data"), (P.mid("inst", "subtitle"), "children"),
               (P.mid("inst", "legend"), "children"), (P.mid("inst", "notice"), "children")]
    payload = {"output": ".." + "...".join(f"{_sid(i)}.{p}" for i, p in outputs) + "..",
               "outputs": [{"id": i, "property": p} for i, p in outputs],
               "inputs": [{"id": "url", "property": "search", "value": PERIOD},
                          {"id": P.mid("inst", "ready"), "property": "data", "value": "inst"}],
               "state": [], "changedPropIds": ["url.search"]}
    resp = client.post("/_dash-update-component", json=payload)
    if resp.status_code == 403:          # the role may not call the map at all
        return
    items = _scatter(resp.get_json()["response"][_sid(ids.echarts_option(P.chart_name("inst")))]["data"] or
                     {"series": []})
    assert all(d["itemStyle"]["color"] == STATUS_COLORS[None] for d in items)
