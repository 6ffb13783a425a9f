"""View models of the three county maps (一张图): 医疗机构运行, 居民健康, 医改动态监测 (the callbacks are in
``dashboard/callbacks/maps.py``; the wall screen reuses the views).

Each page has three callbacks:

- controls → URL: the page's pickers write ``ind``/``cls``/``k``/``top`` into the query string (shareable links,
  back button), next to the toolbar's ``grain``/``period``/``org``;
- URL → map: parse the state, compute the numbers with ``metrics.engine.compute`` for the logged-in user's scope,
  build the ECharts option (``geo.options``) and the legend;
- click → panel: the bridge's click Store names a township (geo component) or an institution (scatter/lines
  item with its ``code``); the panel shows its figures, with drill links only where the scope allows.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
import pandas as pd
from dash import dcc, html, no_update

from core import cache as core_cache
from core.labels import INST_TYPE_ZH
from dashboard.urlstate import ViewState, to_search
from dashboard.views import pagekit as kit
from geo.classify import METHODS, classify
from geo.flows import township_flows
from geo.options import (
    VALUE_MODE_NOTE,
    health_option,
    institutions_option,
    reform_option,
    select_flows,
)
from geo.store import display_geometry, institution_overrides
from layouts import map_parts as P
from layouts._components import kpi_card, status_badge
from layouts.formatting import NO_TARGET, display_target, fmt_number, fmt_period_zh, fmt_value, target_phrase
from queries import maps as qmaps
from queries import periods as qperiods

log = logging.getLogger(__name__)

NO_GEOMETRY = "尚无县域地理数据：请先运行 python app.py demo 生成演示数据，或用 python app.py geo import 导入乡镇边界。"
LAST_TIMINGS: dict[str, float] = {}      # page -> server seconds of the last render (read by bench/maps.py)
CACHE_SECONDS = 600
INST_VALUE_METHOD, INST_VALUE_CLASSES = "natural_breaks", 5     # institution colours of an indicator without target

# Engine results and org lists per (mart data version, scope, arguments) in the one result cache (namespace
# ``maps``): a map view re-drawn for the same period (another classification, a click, a second user) must not
# recompute. Redis when CACHE_URL is set.
def init_cache(app: dash.Dash) -> None:
    """Nothing to bind any more: the maps use the app's one result cache (``core.cache``, set up by the factory)."""


def _scope_key(scope) -> str:  # noqa: ANN001
    return "all" if scope.all_institutions else f"{int(scope.aggregates)}:" + ",".join(sorted(scope.inst_codes))


def cached(name: str, build: Callable[[], Any], *key: Any, scoped: bool = True) -> Any:
    """``build()`` once per mart data version (and user scope when ``scoped``) and arguments."""
    url = kit.mart_url()
    try:
        version = qperiods.data_version(url)
    except Exception:  # noqa: BLE001 — a mart without meta: do not cache
        return build()
    parts = (name, url, version, _scope_key(kit.scope()) if scoped else "-", *map(str, key))
    return core_cache.get_or_compute("maps", parts, build, CACHE_SECONDS)


def engine(ids_: list[str], level: str, state: MapState, org: str | None = None,
           comparisons: bool = False) -> pd.DataFrame:
    """``metrics.engine.compute`` for the logged-in user's scope, cached, last period per org."""
    return cached("engine", lambda: _latest(kit.compute(ids_, level, state.view.grain, state.first, state.last, org,
                                                        comparisons=comparisons)),
                  tuple(ids_), level, state.view.grain, state.first, state.last, org, comparisons)


def points() -> pd.DataFrame:
    """Institutions with coordinates (the org tree is the same for every user); points of
    ``DATA_DIR/geo/institutions.geojson``, where present, replace the mart's lon/lat."""
    pts = cached("points", lambda: qmaps.institution_points(kit.mart_url()), scoped=False)
    overrides = institution_overrides(_geo_dir())
    if overrides:
        pts = pts.copy()
        hit = pts["inst_code"].isin(overrides)
        pts.loc[hit, "lon"] = [overrides[c][0] for c in pts.loc[hit, "inst_code"]]
        pts.loc[hit, "lat"] = [overrides[c][1] for c in pts.loc[hit, "inst_code"]]
    return pts


def volumes(state: MapState) -> pd.DataFrame:
    """Outpatient visits and discharges per institution in the view's period (inst_code, op_visits, discharges):
    the engine's volume indicators, for every institution (marker sizes are no one's detail)."""
    def build() -> pd.DataFrame:
        from metrics.engine import compute
        from metrics.scope import FULL_SCOPE
        df = compute(["op_er_visits", "discharges"], "institution", state.view.grain, state.first, state.last,
                     scope=FULL_SCOPE, mart_url=kit.mart_url(), comparisons=False)
        wide = df.pivot_table(index="org_code", columns="indicator_id", values="value", aggfunc="sum") \
            if not df.empty else pd.DataFrame(columns=["op_er_visits", "discharges"])
        wide = wide.reindex(columns=["op_er_visits", "discharges"]).fillna(0).astype("int64")
        return wide.rename(columns={"op_er_visits": "op_visits"}).rename_axis(None, axis=1) \
            .reset_index(names="inst_code")
    return cached("volumes", build, state.view.grain, state.first, state.last, scoped=False)


# ---------------------------------------------------------------------------------------------- state
@dataclass(frozen=True)
class MapState:
    """Everything a map view depends on, parsed from the URL (invalid values fall back to defaults)."""
    view: ViewState
    first: str
    last: str
    indicator: str | None
    method: str
    classes: int
    top: int


def map_state(page: str, search: str | None) -> MapState:
    """Parse the URL query string of a map page."""
    view = kit.view_state(search)
    first, last = kit.bounds(view)
    extra = dict(view.extra)
    ind = extra.get(P.URL_INDICATOR)
    if ind not in P.indicator_choices(page):
        ind = P.default_indicator(page)
    method = extra.get(P.URL_METHOD, "quantile")
    method = method if method in METHODS else "quantile"
    try:
        k = min(max(int(extra.get(P.URL_CLASSES, 5)), 3), 7)
    except ValueError:
        k = 5
    try:
        top = int(extra.get(P.URL_TOP, P.DEFAULT_TOP))
    except ValueError:
        top = P.DEFAULT_TOP
    top = top if top in {o["value"] for o in P.TOP_OPTIONS} else P.DEFAULT_TOP
    return MapState(view, first, last, ind, method, k, top)


def search_with(search: str | None, **extras: Any) -> str:
    """The query string with the map's extras changed (toolbar keys kept)."""
    view = kit.view_state(search)
    return to_search(view.with_(extra={k: (None if v is None else str(v)) for k, v in extras.items()}))


def _geo_dir():
    from dashboard.app import get_config
    return get_config().geo_dir


def _entry(indicator_id: str | None):
    return kit.indicator(indicator_id) if indicator_id else None


def _label(entry: Any, indicator_id: str) -> tuple[str, str, int]:
    """(Chinese name, unit, decimals) of an indicator."""
    return (kit.attr(entry, "zh", indicator_id), kit.attr(entry, "unit", "") or "", int(kit.attr(entry, "decimals", 1)))


def _latest(df: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator and org: the last period (a clipped period range yields exactly one anyway)."""
    if df.empty or "period_start" not in df.columns:
        return df
    return df.sort_values("period_start").groupby(["indicator_id", "org_code"], as_index=False).tail(1)


def _subtitle(state: MapState, *parts: str) -> str:
    return " · ".join([fmt_period_zh(state.view.grain, state.view.period), *[p for p in parts if p]])


def _has_target(entry: Any) -> bool:
    """True when the catalogue gives the indicator a target, so that the engine judges 达标/预警/未达标."""
    return (kit.attr(entry, "target_low") is not None or kit.attr(entry, "target_high") is not None
            or bool(kit.attr(entry, "target_by_inst_level", ())))


def _focus(option: dict, disp, org: str | None, points: pd.DataFrame | None = None,  # noqa: ANN001
           zoom_in: bool = True) -> None:
    """Outline the toolbar's township, and (``zoom_in``) zoom onto it or onto the chosen institution."""
    if not org:
        return
    center = disp.centroids.get(org)
    zoom = 1.6
    name = disp.code_to_name.get(org)
    if name is not None:
        # outline the chosen township (its fill keeps the class colour)
        regions = option["geo"].setdefault("regions", [])
        region = next((r for r in regions if r.get("name") == name), None)
        if region is None:
            region = {"name": name}
            regions.append(region)
        region.setdefault("itemStyle", {}).update({"borderColor": "#f0a202", "borderWidth": 3})
    if center is None and points is not None:
        hit = points[points["inst_code"] == org].dropna(subset=["lon", "lat"])
        if not hit.empty:
            center, zoom = (float(hit.iloc[0]["lon"]), float(hit.iloc[0]["lat"])), 3.0
    if center is not None and zoom_in:
        option["geo"]["center"] = list(center)
        option["geo"]["zoom"] = zoom


def _notice(text: str | None) -> Any:
    return kit.notice(text) if text else None


# ---------------------------------------------------------------------------------------------- views
def institutions_view(search: str | None) -> tuple[dict | None, str, Any, Any]:
    """(option, subtitle, legend, notice) of 医疗机构运行一张图."""
    state = map_state("inst", search)
    disp = display_geometry(_geo_dir())
    scope = kit.scope()
    pts = points()
    vols = volumes(state)
    ind = state.indicator
    entry = _entry(ind)
    zh, unit, dec = _label(entry, ind or "")
    note = None
    vals = pd.DataFrame(columns=["org_code", "value", "status"])
    if ind:
        try:
            vals = engine([ind], "institution", state)
        except Exception as exc:  # noqa: BLE001 — an indicator the engine refuses: draw the map without colours
            log.info("institution map: %s refused: %s", ind, exc)
            note = f"{zh}：{exc}"
    df = pts.merge(vols, on="inst_code", how="left")
    df[["op_visits", "discharges"]] = df[["op_visits", "discharges"]].fillna(0).astype(int)
    df["volume"] = df["op_visits"] + df["discharges"]
    df = df.merge(vals[["org_code", "value", "status"]].rename(columns={"org_code": "inst_code"}),
                  on="inst_code", how="left")
    df["target"] = display_target(kit.attr(entry, "target_text", "")) or NO_TARGET
    if not scope.all_institutions:
        # rows of institutions outside a manager's scope are not shown (the engine leaves them out too)
        hidden = ~df["inst_code"].map(scope.may_see_institution)
        df.loc[hidden, ["value", "status"]] = None
        df.loc[hidden, "target"] = "无权查看"
        note = note or "仅显示授权机构的指标值；其他机构只显示位置与业务量。"
    if _has_target(entry):
        option = institutions_option(disp, df, zh, unit, dec)
        counts = df["status"].value_counts()
        parts = [f"{k} {counts.get(k, 0)} 家" for k in ("达标", "预警", "未达标")]
        subtitle = _subtitle(state, f"着色：{zh}（{target_phrase(kit.attr(entry, 'target_text', ''))}）",
                             f"机构 {len(df)} 家", "，".join(parts))
        legend = P.status_legend()
    else:
        # No target, so no status to colour by: classes of the value itself. Natural breaks, not quantiles:
        # values cluster by institution level (a village clinic's visit costs a fifth of a county hospital's),
        # and quantiles would spend every class on the village clinics and put all hospitals and centres in one.
        values = pd.to_numeric(df["value"], errors="coerce")
        # pure-Python Fisher-Jenks costs ~0.1 s for a county's institutions: once per data version, scope and view
        classes = cached("inst-classes", lambda: classify(
            values.tolist(), INST_VALUE_METHOD, INST_VALUE_CLASSES, direction=kit.attr(entry, "direction", "band"),
            decimals=dec, lightest=3), ind, state.view.grain, state.first, state.last, len(values))
        option = institutions_option(disp, df, zh, unit, dec, classes=classes)
        subtitle = _subtitle(state, f"着色：{zh}（{VALUE_MODE_NOTE}）", f"机构 {len(df)} 家",
                             f"有数据 {int(values.notna().sum())} 家")
        legend = P.value_legend(classes.legend(), f"颜色：{zh}{_unit_suffix(unit)} · {METHODS[INST_VALUE_METHOD]}")
    _focus(option, disp, state.view.org, pts)
    return option, subtitle, legend, _notice(note)


def _unit_suffix(unit: str) -> str:
    return f"（{unit}）" if unit and unit != "1" else ""


def township_values(indicator_id: str, state: MapState) -> pd.DataFrame:
    """Engine values of one indicator for every township (area_code, value, numerator, denominator, status)."""
    df = engine([indicator_id], "township", state)
    return df.rename(columns={"org_code": "area_code"})[["area_code", "value", "numerator", "denominator",
                                                          "status"]]


def _classified(disp, ind: str, state: MapState):  # noqa: ANN001
    """Township values in the geometry's order, and their classes."""
    entry = _entry(ind)
    zh, unit, dec = _label(entry, ind)
    vals = township_values(ind, state)
    frame = pd.DataFrame({"area_code": list(disp.code_to_name)}).merge(vals, on="area_code", how="left")
    direction = kit.attr(entry, "direction", "band")
    classes = classify(frame["value"].tolist(), state.method, state.classes, direction=direction, decimals=dec)
    return frame, classes, zh, unit, dec


def health_view(search: str | None) -> tuple[dict | None, str, Any, Any]:
    """(option, subtitle, legend, notice) of 居民健康一张图."""
    state = map_state("health", search)
    disp = display_geometry(_geo_dir())
    ind = state.indicator
    if not ind:
        return None, _subtitle(state), None, _notice("指标目录中没有可按居住乡镇计算的指标")
    frame, classes, zh, unit, dec = _classified(disp, ind, state)
    option = health_option(disp, frame, classes, zh, unit, dec)
    _focus(option, disp, state.view.org)
    entry = _entry(ind)
    legend = P.class_legend(classes.legend(), f"{zh}{_unit_suffix(unit)} · {METHODS[state.method]}")
    covered = int(frame["value"].notna().sum())
    subtitle = _subtitle(state, f"{zh}（居民口径，按居住乡镇）", target_phrase(kit.attr(entry, "target_text", "")),
                         f"有数据乡镇 {covered}/{len(frame)}")
    return option, subtitle, legend, None


def _visible_flows(flows: pd.DataFrame, scope) -> pd.DataFrame:  # noqa: ANN001
    """A manager sees the flows that touch the institutions in the scope."""
    if scope.all_institutions or flows.empty:
        return flows
    keep = flows["from_inst_code"].map(scope.may_see_institution) | flows["to_inst_code"].map(scope.may_see_institution)
    return flows[keep]


def reform_cards(state: MapState) -> Any:
    """Headline reform indicators of the county beside the map."""
    ids_ = [i for i in P.REFORM_HEADLINE if kit.indicator(i) is not None]
    try:
        df = engine(ids_, "county", state, comparisons=True)
    except Exception as exc:  # noqa: BLE001
        log.info("reform headline refused: %s", exc)
        return kit.empty_box("无权查看全县指标或本期无数据")
    cards = []
    # the toolbar's org narrows the flows, never these figures: say whose figures they are
    title = html.Div("全县核心指标" + ("（不随所选机构变化）" if state.view.org else ""), className="map-cards-title")
    for ind in ids_:
        row = df[df["indicator_id"] == ind]
        if row.empty:
            continue
        r = row.iloc[0]
        entry = kit.indicator(ind)
        cards.append(kpi_card(
            kit.attr(entry, "zh", ind), kit.clean(r["value"]), kit.attr(entry, "unit", ""),
            decimals=int(kit.attr(entry, "decimals", 1)), target_text=display_target(kit.attr(entry, "target_text")),
            status=r["status"] if isinstance(r["status"], str) else None,
            # the same change as the cockpit's cards: percentage points for a % indicator, else relative
            yoy=kit.card_change(r.get("value"), r.get("yoy_value"), kit.attr(entry, "unit", "")),
            points=kit.in_points(kit.attr(entry, "unit", "")),
            note="样本量小" if bool(r.get("small_sample")) else None,
            direction=kit.attr(entry, "direction"), href=kit.href(f"/indicator/{ind}", state.view, org=None)))
    return html.Div([title, html.Div(cards, className="map-kpis")])


def reform_view(search: str | None) -> tuple[dict | None, str, Any, Any]:
    """(option, subtitle, legend, notice) of 医改动态监测一张图 (the headline cards are a callback of their own)."""
    state = map_state("reform", search)
    disp = display_geometry(_geo_dir())
    url, scope = kit.mart_url(), kit.scope()
    ind = state.indicator
    if ind:
        frame, classes, zh, unit, dec = _classified(disp, ind, state)
    else:
        frame, classes = pd.DataFrame({"area_code": list(disp.code_to_name), "value": None}), classify([None], "quantile", 3)
        zh, unit, dec = "—", "", 1
    all_pts = points()
    pts = all_pts.dropna(subset=["lon", "lat"])
    positions = {c: (round(float(x), 5), round(float(y), 5)) for c, x, y in
                 zip(pts["inst_code"], pts["lon"], pts["lat"])}
    names = dict(zip(all_pts["inst_code"], all_pts["name"]))
    # the pairs between institutions stay a query: the engine has no (from, to) pair dimension; every total the
    # page prints comes from the engine (``_referral_totals``)
    flows = _visible_flows(cached("flows", lambda: qmaps.referral_flows(url, state.first, state.last),
                                  state.first, state.last, scoped=False), scope)
    focus_org = state.view.org or _selected_org(state)
    focus_name, focus_codes = _flow_focus(focus_org, disp, all_pts)
    if focus_codes is not None:
        # a chosen institution (or township) shows only its own flows: the county's top flows would hide them
        if not flows.empty:
            flows = flows[flows["from_inst_code"].isin(focus_codes) | flows["to_inst_code"].isin(focus_codes)]
    highlight = focus_org if focus_org in positions else None
    if focus_codes is None:
        # the whole county: one line per township pair (all county hospitals stand in the seat, and 20–40
        # institution lines converging there hid its name and the hospitals); a click brings the institutions'
        # lines back
        town_of = dict(zip(all_pts["inst_code"], all_pts["area_code"]))
        drawable = township_flows(flows, town_of)
        shown = select_flows(drawable, top_n=state.top, min_share=0.05)
        option = reform_option(disp, frame, classes, zh, shown, positions, names, unit, dec, highlight=highlight,
                               towns=town_of, inst_flows=flows,
                               hubs=set(all_pts.loc[all_pts["level"] != "village", "inst_code"]))
    else:
        drawable = flows
        shown = select_flows(flows, top_n=state.top, min_share=0.05)
        option = reform_option(disp, frame, classes, zh, shown, positions, names, unit, dec, highlight=highlight)
    # the flows of a township or institution reach across the county: outline it, do not zoom away the other ends
    _focus(option, disp, state.view.org, pts, zoom_in=False)
    total = drawable.groupby("direction")["referrals"].count().to_dict() if not drawable.empty else {}
    n_shown = shown.groupby("direction")["referrals"].count().to_dict() if not shown.empty else {}
    # a map click narrowed the flows: one click back to the whole county
    # (a plain link: the selection reached the address bar without Dash knowing, so a dcc.Link to the same
    # search would not count as a change)
    reset = (html.A("显示全县流向 ›", href="/map/reform" + search_with(search, **{P.URL_SELECTION: None}),
                    className="map-drill map-flow-reset")
             if focus_name and not state.view.org else None)
    legend = html.Div([
        P.flow_legend(n_shown, total, focus_name or None, by_town=focus_codes is None), reset,
        P.class_legend(classes.legend(), f"乡镇着色：{zh} · {METHODS[state.method]}"),
    ])
    volume = _referral_totals(state, focus_org if focus_name else None, disp)
    # totals by sending org (the engine's up_referrals = 县内上转 + 转县外); the focus's drawn flows also show
    # what it received, so its totals say 转出
    sender = f"{focus_name}转出：" if focus_name else ""
    figures = [f"{sender}县内上转 {fmt_number(volume['up'] - volume['outside'])} 人次",
               f"转县外 {fmt_number(volume['outside'])} 人次", f"下转 {fmt_number(volume['down'])} 人次"]
    if focus_name:
        figures = [f"仅显示{focus_name}的转诊流向（转出或转入）", *figures]
    subtitle = _subtitle(state, *figures, f"乡镇着色：{zh}")
    note = None if scope.all_institutions else "仅显示与授权机构相关的转诊流向。"
    return option, subtitle, legend, _notice(note)


def _referral_totals(state: MapState, org: str | None, disp) -> dict[str, int]:  # noqa: ANN001
    """Up (all), up out of the county and down referrals sent by the county, a township or an institution: the
    engine's ``up_referrals``, ``up_referrals_outside`` and ``down_referrals`` (the numbers of /referrals)."""
    level = "county" if not org else "township" if org in disp.code_to_name else "institution"
    df = engine(["up_referrals", "up_referrals_outside", "down_referrals"], level, state, org)
    value = {} if df.empty else dict(zip(df["indicator_id"], pd.to_numeric(df["value"], errors="coerce")))

    def count(ind: str) -> int:
        v = value.get(ind)
        return 0 if v is None or pd.isna(v) else int(v)
    return {"up": count("up_referrals"), "outside": count("up_referrals_outside"), "down": count("down_referrals")}


def _selected_org(state: MapState) -> str | None:
    """The institution or township clicked on the map (kept in the URL), whose flows the map narrows to."""
    sel = parse_selection(state.view.extra.get(P.URL_SELECTION))
    return sel[1] if sel is not None and sel[0] in ("inst", "town") else None


def _flow_focus(org: str | None, disp, pts: pd.DataFrame) -> tuple[str | None, set[str] | None]:  # noqa: ANN001
    """(name, institution codes) whose flows the reform map shows for the toolbar's org; (None, None) = 全县."""
    if not org:
        return None, None
    if org in disp.code_to_name:
        return disp.code_to_name[org], set(pts.loc[pts["area_code"] == org, "inst_code"])
    hit = pts[pts["inst_code"] == org]
    if hit.empty:
        return None, None
    return str(hit.iloc[0]["name"]), {org}


# ---------------------------------------------------------------------------------------------- panels
def _clicked(click: dict | None, disp) -> tuple[str | None, str | None, dict]:  # noqa: ANN001
    """(kind, code, data) of a click: kind 'township', 'inst' or 'flow'."""
    if not isinstance(click, dict):
        return None, None, {}
    data = click.get("data") if isinstance(click.get("data"), dict) else {}
    if click.get("componentType") == "geo" or (click.get("componentType") == "series" and not data
                                               and click.get("name") in disp.name_to_code):
        code = disp.name_to_code.get(str(click.get("name")))
        return ("township", code, {}) if code else (None, None, {})
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return None, None, {}
    if data.get("to_code"):
        return "flow", code, data
    return "inst", code, data


def _rows(items: list[tuple[str, Any]]) -> html.Dl:
    out: list[Any] = []
    for k, v in items:
        out += [html.Dt(k), html.Dd(v)]
    return html.Dl(out, className="map-facts")


def _indicator_row(entry: Any, ind: str, r: pd.Series | None, link: str | None) -> html.Tr:
    zh, unit, dec = _label(entry, ind)
    value = fmt_value(None if r is None else kit.clean(r["value"]), unit if unit != "1" else "", dec)
    status = None if r is None or not isinstance(r["status"], str) else r["status"]
    name = dcc.Link(zh, href=link) if link else zh
    small = r is not None and bool(r.get("small_sample"))
    return html.Tr([html.Td(name), html.Td(value + (" *" if small else ""), className="num"),
                    html.Td(status_badge(status) if status else html.Span("—", className="muted"))])


def institution_panel(code: str, state: MapState, page: str) -> Any:
    """Profile of one institution: type, township, volumes, headline indicators and drill links (scope-checked)."""
    scope = kit.scope()
    pts = points()
    hit = pts[pts["inst_code"] == code]
    if hit.empty:
        return kit.empty_box("未找到该机构")
    inst = hit.iloc[0]
    head = [html.H4(inst["name"], className="map-panel-title"),
            html.Div(f"{INST_TYPE_ZH.get(inst['inst_type'], inst['inst_type'])} · {inst['township_name'] or '—'}",
                     className="map-panel-sub")]
    if not scope.may_see_institution(code):
        return html.Div(head + [kit.notice(kit.NO_ACCESS)], className="map-panel-body")
    vols = volumes(state)
    v = vols[vols["inst_code"] == code]
    op, ip = (int(v.iloc[0]["op_visits"]), int(v.iloc[0]["discharges"])) if not v.empty else (0, 0)
    facts = _rows([("门急诊人次", fmt_number(op)), ("出院人次", fmt_number(ip)),
                   ("编制床位", fmt_number(inst["approved_beds"]))])
    wanted = list(dict.fromkeys(([state.indicator] if page == "inst" and state.indicator else [])
                                + [i for i in P.INST_PROFILE if kit.indicator(i) is not None]))
    try:
        df = engine(wanted, "institution", state, org=code)
        df = df[df["org_code"] == code]
    except Exception as exc:  # noqa: BLE001 — e.g. every indicator refused for a village clinic
        log.info("institution panel %s: %s", code, exc)
        df = pd.DataFrame(columns=["indicator_id"])
    rows = []
    for ind in wanted:
        hit_row = df[df["indicator_id"] == ind]
        if hit_row.empty:
            continue
        rows.append(_indicator_row(kit.indicator(ind), ind, hit_row.iloc[0],
                                   kit.href(f"/indicator/{ind}", state.view, org=code)))
    table = (html.Table([html.Thead(html.Tr([html.Th("指标"), html.Th("本期"), html.Th("状态")])), html.Tbody(rows)],
                        className="map-ind-table") if rows else kit.empty_box("本期无可计算的指标"))
    drill = dcc.Link("进入机构指标分析 ›", href=kit.href(f"/indicator/{wanted[0] if wanted else P.INST_DEFAULT}",
                                                     state.view, org=code), className="map-drill")
    return html.Div(head + [facts, table, drill], className="map-panel-body", **{"data-code": code})


def township_panel(code: str, state: MapState, page: str) -> Any:
    """A township: its value of the page's indicator, population, and its institutions (links where allowed)."""
    url, scope = kit.mart_url(), kit.scope()
    towns = cached("townships", lambda: qmaps.township_areas(url), scoped=False)
    hit = towns[towns["area_code"] == code]
    name = hit.iloc[0]["name"] if not hit.empty else code
    head = [html.H4(name, className="map-panel-title"),
            html.Div(f"常住人口 {fmt_number(hit.iloc[0]['population']) if not hit.empty else '—'} 人",
                     className="map-panel-sub")]
    body: list[Any] = []
    ind = state.indicator
    if ind and (scope.aggregates or scope.all_institutions):
        try:
            vals = engine([ind], "township", state)
            vals = vals[vals["org_code"] == code]
            r = vals.iloc[0] if not vals.empty else None
        except Exception as exc:  # noqa: BLE001
            log.info("township panel %s: %s", code, exc)
            r = None
        zh, unit, dec = _label(_entry(ind), ind)
        body.append(_rows([
            (zh, fmt_value(None if r is None else kit.clean(r["value"]), unit if unit != "1" else "", dec)),
            ("分子 / 分母", "—" if r is None else f"{fmt_number(r['numerator'])} / {fmt_number(r['denominator'])}"),
            ("状态", status_badge(r["status"]) if r is not None and isinstance(r["status"], str) else "—"),
        ]))
        body.append(dcc.Link("查看该乡镇指标分析 ›", href=kit.href(f"/indicator/{ind}", state.view, org=code),
                             className="map-drill"))
    pts = points()
    insts = pts[pts["area_code"] == code]
    vols = volumes(state)
    insts = insts.merge(vols, on="inst_code", how="left").fillna({"op_visits": 0, "discharges": 0})
    order = {"general_hospital": 0, "county_hospital": 0, "tcm_hospital": 0, "maternal_child": 0,
             "community_center": 1, "township_center": 1, "village_clinic": 2}
    insts = insts.assign(_o=insts["inst_type"].map(order).fillna(3)).sort_values(["_o", "op_visits"],
                                                                               ascending=[True, False])
    items = []
    for r in insts.itertuples():
        label = dcc.Link(r.name, href=kit.href(f"/indicator/{state.indicator if page == 'inst' and state.indicator else P.INST_DEFAULT}",
                                               state.view, org=r.inst_code)) \
            if scope.may_see_institution(r.inst_code) else html.Span(r.name)
        items.append(html.Tr([html.Td(label), html.Td(INST_TYPE_ZH.get(r.inst_type, r.inst_type), className="muted"),
                              html.Td(fmt_number(r.op_visits + r.discharges), className="num")]))
    body.append(html.Div(f"辖区机构 {len(insts)} 家", className="map-panel-section"))
    body.append(html.Div(html.Table([html.Thead(html.Tr([html.Th("机构"), html.Th("类型"), html.Th("诊疗+出院")])),
                                     html.Tbody(items)], className="map-ind-table"), className="map-scroll"))
    return html.Div(head + body, className="map-panel-body", **{"data-code": code})


def flow_panel(data: dict, state: MapState) -> Any:
    """One referral flow: from, to, volume; links to the two institutions where allowed."""
    scope = kit.scope()
    src, dst = data.get("code"), data.get("to_code")
    name = str(data.get("name") or f"{src} → {dst}")
    links = [dcc.Link(f"{lbl} ›", href=kit.href("/referrals", state.view, org=c), className="map-drill")
             for lbl, c in (("转出机构转诊分析", src), ("转入机构转诊分析", dst)) if c and scope.may_see_institution(c)]
    return html.Div([html.H4(name, className="map-panel-title"),
                     _rows([("转诊人次", fmt_number(data.get("value")))]), *links],
                    className="map-panel-body", **{"data-code": f"{src}>{dst}"})


def panel_for_click(page: str, click: dict | None, search: str | None) -> Any:
    """The side panel's content for a click on the map (scope checked on the server)."""
    disp = display_geometry(_geo_dir())
    kind, code, data = _clicked(click, disp)
    if kind is None:
        return no_update
    state = map_state(page, search)
    if kind == "township":
        return township_panel(code, state, page)
    if kind == "flow":
        return flow_panel(data, state)
    return institution_panel(code, state, page)


def selection_for_click(click: dict | None) -> str | None:
    """The URL value naming a click's item (``inst:CODE``, ``town:CODE``, ``flow:up:FROM>TO``); None for none."""
    kind, code, data = _clicked(click, display_geometry(_geo_dir()))
    if kind == "township" and _CODE_RE.match(code):
        return f"town:{code}"
    if kind == "inst" and _CODE_RE.match(code):
        return f"inst:{code}"
    if kind == "flow" and data.get("direction") in ("up", "down") and _CODE_RE.match(code) \
            and _CODE_RE.match(str(data.get("to_code"))):
        return f"flow:{data['direction']}:{code}>{data['to_code']}"
    return None


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def parse_selection(value: str | None) -> tuple[str, str, str | None, str | None] | None:
    """``inst:CODE`` / ``town:CODE`` / ``flow:up|down:FROM>TO`` → (kind, code, to_code, direction); None if malformed."""
    if not isinstance(value, str):
        return None
    kind, _, rest = value.partition(":")
    if kind in ("inst", "town") and _CODE_RE.match(rest):
        return kind, rest, None, None
    if kind == "flow":
        direction, _, pair = rest.partition(":")
        src, _, dst = pair.partition(">")
        if direction in ("up", "down") and _CODE_RE.match(src) and _CODE_RE.match(dst):
            return kind, src, dst, direction
    return None


def panel_for_selection(page: str, search: str | None) -> Any:
    """The panel of the selection kept in the URL (a shared link, the back button), or ``no_update``."""
    state = map_state(page, search)
    sel = parse_selection(state.view.extra.get(P.URL_SELECTION))
    if sel is None:
        return no_update
    kind, code, to_code, direction = sel
    if kind == "town":
        disp = display_geometry(_geo_dir())
        return township_panel(code, state, page) if code in disp.code_to_name else no_update
    if kind == "inst":
        return institution_panel(code, state, page)
    # a flow: its volume comes from the mart (scope-checked), not from the link
    flows = _visible_flows(cached("flows", lambda: qmaps.referral_flows(kit.mart_url(), state.first, state.last),
                                  state.first, state.last, scoped=False), kit.scope())
    names = dict(zip(points()["inst_code"], points()["name"]))
    towns = display_geometry(_geo_dir()).code_to_name
    if code in towns and to_code in towns:
        # a line of the county view: the two townships' institution flows summed
        flows = township_flows(flows, dict(zip(points()["inst_code"], points()["area_code"])))
        names = towns
    hit = flows[(flows["direction"] == direction) & (flows["from_inst_code"] == code)
                & (flows["to_inst_code"] == to_code)] if not flows.empty else flows
    if hit.empty:
        return kit.empty_box("本期无此转诊流向")
    return flow_panel({"code": code, "to_code": to_code, "value": int(hit["referrals"].sum()),
                       "name": f"{names.get(code, code)} → {names.get(to_code, to_code)}"}, state)
