"""Map callbacks through the real Dash endpoint (/_dash-update-component) on the session's tiny demo mart.

The maps must agree with the engine (status colours, township classes), respect a manager's scope on the server,
stay under 1 MB, and survive hostile URL values.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from core.labels import STATUS_COLORS
from geo.classify import NO_DATA_COLOR, classify
from layouts import _ids as ids
from layouts import map_parts as P
from tests.http_text import body_text

PERIOD = "?grain=quarter&period=2026Q3"


def _sid(component_id) -> str:
    return json.dumps(component_id, sort_keys=True, separators=(",", ":")) if isinstance(component_id, dict) \
        else component_id


def _post(client, outputs: list[tuple], inputs: list[tuple], state: list[tuple] = (),
          changed: int = 0) -> dict:
    """One Dash callback request; ``changed`` is the index of the input that triggered it. A response with
    every output left unchanged (HTTP 204) is ``{}``."""
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = (".." + "...".join(f"{_sid(i)}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{_sid(outputs[0][0])}.{outputs[0][1]}"
    payload = {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
               "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
               "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
               "changedPropIds": [f"{_sid(inputs[changed][0])}.{inputs[changed][1]}"]}
    resp = client.post("/_dash-update-component", json=payload)
    if resp.status_code == 204:
        return {}
    assert resp.status_code == 200, body_text(resp)[:500]
    assert len(resp.get_data()) < 1_000_000
    return resp.get_json()["response"]


def render(client, page: str, search: str = PERIOD) -> dict:
    """The render callback's outputs of a map page: {'option', 'subtitle', 'legend', 'notice'}."""
    outputs = [(ids.echarts_option(P.chart_name(page)), "data"), (P.mid(page, "subtitle"), "children"),
               (P.mid(page, "legend"), "children"), (P.mid(page, "notice"), "children")]
    resp = _post(client, outputs, [("url", "search", search), (P.mid(page, "ready"), "data", page)])
    option_id = _sid(ids.echarts_option(P.chart_name(page)))
    return {"option": resp[option_id]["data"], "subtitle": resp[P.mid(page, "subtitle")]["children"],
            "legend": resp.get(P.mid(page, "legend"), {}).get("children"),
            "notice": resp.get(P.mid(page, "notice"), {}).get("children")}


def click(client, page: str, payload: dict, search: str = PERIOD) -> str:
    """The panel's content (as JSON text) after a click."""
    cid = ids.echarts_click(P.chart_name(page))
    resp = _post(client, [(P.mid(page, "panel"), "children")], [(cid, "data", payload)], [("url", "search", search)])
    return json.dumps(resp[P.mid(page, "panel")]["children"], ensure_ascii=False)


def click_and_selection(client, page: str, payload: dict, search: str = PERIOD) -> tuple[str, str | None]:
    """(panel content as JSON text, the selection value written for the URL) after a click."""
    cid = ids.echarts_click(P.chart_name(page))
    resp = _post(client, [(P.mid(page, "sel"), "data")], [(cid, "data", payload)])
    return click(client, page, payload, search), resp.get(P.mid(page, "sel"), {}).get("data")


def restored_panel(app, client, page: str, search: str) -> str | None:
    """The panel's content (JSON text) when the page is built from ``search`` (None: left unchanged)."""
    # the restore callback shares the panel with the click callback: Dash names its output with a suffix
    key = next(k for k in app.callback_map if k.startswith(f"{P.mid(page, 'panel')}.children@"))
    payload = {"output": key, "outputs": {"id": P.mid(page, "panel"), "property": key.split(".", 1)[1]},
               "inputs": [{"id": P.mid(page, "ready"), "property": "data", "value": page}],
               "state": [{"id": "url", "property": "search", "value": search}],
               "changedPropIds": [f"{P.mid(page, 'ready')}.data"]}
    resp = client.post("/_dash-update-component", json=payload)
    if resp.status_code == 204:
        return None
    assert resp.status_code == 200, body_text(resp)[:500]
    panel = resp.get_json()["response"].get(P.mid(page, "panel"))
    return None if panel is None else json.dumps(panel["children"], ensure_ascii=False)


def manager_codes(cfg) -> set[str]:
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


def _engine(cfg, ids_, level, scope=None):
    from metrics.engine import compute
    from metrics.scope import FULL_SCOPE
    return compute(ids_, level, "quarter", "2026-07", "2026-09", mart_url=cfg.mart_url,
                   scope=scope or FULL_SCOPE, comparisons=False)


def _no_target_indicators() -> list[str]:
    from metrics.catalogue import INDICATORS
    return [i for i in P.indicator_choices("inst")
            if INDICATORS[i].target_low is None and INDICATORS[i].target_high is None
            and not INDICATORS[i].target_by_inst_level]


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
    # review 7: the status counts say they are of the authorised institutions ("机构 218 家 · 达标 2 家…")
    judged = sum(int(n) for n in re.findall(r"(?:达标|预警|未达标) (\d+) 家", out["subtitle"]))
    assert f"其中授权 {len(allowed)} 家：" in out["subtitle"] and judged <= len(allowed), out["subtitle"]


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
    for (_code, name), cls in zip(disp.code_to_name.items(), expected.classes):
        colour = regions[name]["itemStyle"]["areaColor"]
        assert colour == (expected.colors[cls] if cls >= 0 else NO_DATA_COLOR), name
    legend = json.dumps(out["legend"], ensure_ascii=False)
    assert "等间距" in legend and all(label in legend for label in expected.labels)


def test_reform_flows_are_thresholded_and_scaled(client_as, app_cfg):
    """The county view draws one line per township pair and direction (issue 14: 20–40 institution lines
    converged on the county seat and hid its name and hospitals), its volume the sum of the institution flows."""
    out = render(client_as("leader"), "reform", PERIOD + "&top=10")
    lines = {s["name"]: s for s in out["option"]["series"] if s["type"] == "lines" and s.get("effect")}
    assert set(lines) == {"上转", "下转"}
    from geo.store import display_geometry
    from queries.maps import institution_points, referral_flows
    pts = institution_points(app_cfg.mart_url)
    town_of = dict(zip(pts["inst_code"], pts["area_code"]))
    raw = referral_flows(app_cfg.mart_url, "2026-07", "2026-09")
    raw = raw.assign(a=raw["from_inst_code"].map(town_of), b=raw["to_inst_code"].map(town_of))
    flows = (raw[raw["a"] != raw["b"]].groupby(["direction", "a", "b"], as_index=False)["referrals"].sum())
    sums = {(r.direction, r.a, r.b): int(r.referrals) for r in flows.itertuples()}
    towns = display_geometry(app_cfg.geo_dir).code_to_name
    for direction, name in (("up", "上转"), ("down", "下转")):
        for d in lines[name]["data"]:
            assert d["code"] in towns and d["to_code"] in towns, d
            assert d["value"] == sums[(direction, d["code"], d["to_code"])], d
            assert d["name"] == f"{towns[d['code']]} → {towns[d['to_code']]}"
    # the names ride above the lines, and the institutions (the seat's hospitals) above the lines too
    z = {s["name"]: s.get("zlevel", 0) for s in out["option"]["series"]}
    assert z["乡镇名称"] > z["上转"] and z["机构"] > z["上转"]
    dots = {d["code"] for s in out["option"]["series"] if s["name"] == "机构" for d in s["data"]}
    lead = pts[pts["is_lead"] == 1].iloc[0]["inst_code"]
    assert lead in dots and all(town_of[c] in towns for c in dots)
    flows = flows.rename(columns={"a": "from_inst_code", "b": "to_inst_code"})
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


# ---------------------------------------------------------------------------------------------- issue 6 audit
def test_indicator_without_target_colours_institutions_by_value(client_as, app_cfg):
    """门诊次均费用 has no target: before, every institution was grey and the subtitle read 达标 0 家."""
    ind = "op_cost_per_visit"
    assert ind in _no_target_indicators()
    out = render(client_as("leader"), "inst", PERIOD + f"&ind={ind}")
    assert "无目标值，按数值分级着色" in out["subtitle"] and "达标 0 家" not in out["subtitle"]
    legend = json.dumps(out["legend"], ensure_ascii=False)
    assert "门诊次均费用（元）" in legend and "家" in legend and "达标" not in legend
    eng = _engine(app_cfg, [ind], "institution").set_index("org_code")["value"]
    items = _scatter(out["option"])
    palette = [c for c in __import__("re").findall(r"#[0-9a-fA-F]{6}", legend) if c.lower() != NO_DATA_COLOR]
    ranked = []
    for d in items:
        value = eng.get(d["code"])
        if value is None or pd.isna(value):
            assert d["itemStyle"]["color"] == NO_DATA_COLOR, d["code"]
        else:
            assert d["itemStyle"]["color"] in palette, d["code"]
            ranked.append((float(value), palette.index(d["itemStyle"]["color"])))
    assert len({cls for _, cls in ranked}) >= 3
    # a larger value never has a lighter colour
    ranked.sort()
    assert [cls for _, cls in ranked] == sorted(cls for _, cls in ranked)


@pytest.mark.parametrize("ind", _no_target_indicators())
def test_every_indicator_without_target_gets_colours(client_as, app_cfg, ind):
    out = render(client_as("leader"), "inst", PERIOD + f"&ind={ind}")
    eng = _engine(app_cfg, [ind], "institution")
    grey = {STATUS_COLORS[None], NO_DATA_COLOR}
    coloured = [d for d in _scatter(out["option"]) if d["itemStyle"]["color"] not in grey]
    assert "无目标值" in out["subtitle"]
    if eng["value"].notna().any():
        assert coloured, f"{ind}: every institution grey"


def test_indicator_with_target_keeps_status_legend(client_as):
    out = render(client_as("leader"), "inst", PERIOD + "&ind=op_antibiotic_rate")
    legend = json.dumps(out["legend"], ensure_ascii=False)
    assert "颜色：所选指标状态" in legend and "未达标" in legend
    assert "无目标值" not in out["subtitle"]


def _lead(app_cfg) -> tuple[str, str]:
    from queries.maps import institution_points
    pts = institution_points(app_cfg.mart_url)
    row = pts[pts["is_lead"] == 1].iloc[0]
    return row["inst_code"], row["name"]


def test_reform_map_of_one_institution_shows_only_its_flows(client_as, app_cfg):
    code, name = _lead(app_cfg)
    client = client_as("leader")
    county = render(client, "reform", PERIOD + "&top=80")
    out = render(client, "reform", PERIOD + f"&top=80&org={code}")
    lines = [d for s in out["option"]["series"] if s["type"] == "lines" and s.get("effect") for d in s["data"]]
    assert lines and all(code in (d["code"], d["to_code"]) for d in lines)
    county_lines = [d for s in county["option"]["series"] if s["type"] == "lines" and s.get("effect")
                    for d in s["data"]]
    assert any(code not in (d["code"], d["to_code"]) for d in county_lines)      # the filter is real
    assert f"仅显示{name}的转诊流向" in out["subtitle"]
    from metrics.engine import compute
    eng = compute(["up_referrals", "up_referrals_outside", "down_referrals"], "institution", "quarter", "2026-07",
                  "2026-09", org=code, mart_url=app_cfg.mart_url, comparisons=False)
    val = dict(zip(eng["indicator_id"], eng["value"].astype(int)))
    up = val["up_referrals"] - val["up_referrals_outside"]
    assert f"{name}转出：县内上转 {up:,} 人次" in out["subtitle"]
    assert f"转县外 {val['up_referrals_outside']:,} 人次" in out["subtitle"]
    assert f"下转 {val['down_referrals']:,} 人次" in out["subtitle"]
    assert f"仅{name}" in json.dumps(out["legend"], ensure_ascii=False)
    # the chosen institution is marked, and the map is not zoomed away from the other ends of its flows
    dots = [d for s in out["option"]["series"] if s["name"] == "机构" for d in s["data"]]
    assert any(d["code"] == code and d.get("itemStyle") for d in dots)
    assert "zoom" not in out["option"]["geo"]


def test_reform_cards_say_they_are_county_wide(client_as, app_cfg):
    code, _ = _lead(app_cfg)
    resp = _post(client_as("leader"), [(P.mid("reform", "cards"), "children")],
                 [("url", "search", PERIOD + f"&org={code}"), (P.mid("reform", "ready"), "data", "reform")])
    text = json.dumps(resp[P.mid("reform", "cards")]["children"], ensure_ascii=False)
    assert "全县核心指标" in text and "不随所选机构变化" in text


def test_selection_goes_to_the_url_and_comes_back(client_as, app_cfg, flask_app):
    from geo.store import display_geometry
    client = client_as("leader")
    code, name = _lead(app_cfg)
    # a click names the selection for the address bar ...
    text, sel = click_and_selection(client, "inst", {"componentType": "series", "name": "x", "data": {"code": code}})
    assert sel == f"inst:{code}" and name in text
    # ... and a page built from a URL with it (shared link, back button) shows the same panel
    restored = restored_panel(flask_app, client, "inst", PERIOD + f"&sel=inst%3A{code}")
    assert restored is not None and f'"data-code": "{code}"' in restored and name in restored
    disp = display_geometry(app_cfg.geo_dir)
    tcode, tname = next(iter(disp.code_to_name.items()))
    _, tsel = click_and_selection(client, "health", {"componentType": "geo", "name": tname, "data": None})
    assert tsel == f"town:{tcode}"
    assert "辖区机构" in restored_panel(flask_app, client, "health", PERIOD + f"&sel=town%3A{tcode}")
    # a flow: the volume of a restored flow comes from the mart, not from the link
    out = render(client, "reform", PERIOD)
    flow = next(d for s in out["option"]["series"] if s["type"] == "lines" and s.get("effect") for d in s["data"])
    _, fsel = click_and_selection(client, "reform", {"componentType": "series", "name": flow["name"], "data": flow})
    assert fsel == f"flow:{flow['direction']}:{flow['code']}>{flow['to_code']}"
    restored = restored_panel(flask_app, client, "reform", PERIOD + "&sel=" + fsel.replace(":", "%3A").replace(">", "%3E"))
    assert f"{flow['value']:,}" in restored and f"{flow['code']}>{flow['to_code']}" in restored
    # no selection, or a malformed one: the placeholder stays
    assert restored_panel(flask_app, client, "inst", PERIOD) is None
    assert restored_panel(flask_app, client, "inst", PERIOD + "&sel=inst%3A%27%3BDROP") is None
    assert restored_panel(flask_app, client, "health", PERIOD + "&sel=town%3ANOPE") is None


def test_restored_selection_respects_the_scope(client_as, app_cfg, flask_app):
    from queries.maps import institution_points
    allowed = manager_codes(app_cfg)
    other = next(c for c in institution_points(app_cfg.mart_url)["inst_code"] if c not in allowed)
    text = restored_panel(flask_app, client_as("manager"), "inst", PERIOD + f"&sel=inst%3A{other}")
    assert text is not None and "无权查看" in text and "/indicator/" not in text
