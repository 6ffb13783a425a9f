"""医改动态监测一张图: referral flows over the township colouring, and the county's headline reform cards."""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from dash import html

from dashboard.views import pagekit as kit
from dashboard.views.maps.selection import parse_selection
from dashboard.views.maps.state import (
    MapState,
    classified_townships,
    county_flows,
    engine,
    focus_on,
    geo_dir,
    map_state,
    optional_notice,
    points,
    search_with,
    view_subtitle,
    visible_flows,
)
from geo.classify import METHODS, classify
from geo.flows import township_flows
from geo.options import reform_option, select_flows
from geo.store import display_geometry
from layouts import map_parts as P
from layouts._components import kpi_card
from layouts.formatting import display_target, fmt_number

log = logging.getLogger(__name__)


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
    disp = display_geometry(geo_dir())
    scope = kit.scope()
    ind = state.indicator
    if ind:
        frame, classes, zh, unit, dec = classified_townships(disp, ind, state)
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
    flows = visible_flows(county_flows(state), scope)
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
    focus_on(option, disp, state.view.org, pts, zoom_in=False)
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
    subtitle = view_subtitle(state, *figures, f"乡镇着色：{zh}")
    note = None if scope.all_institutions else "仅显示与授权机构相关的转诊流向。"
    return option, subtitle, legend, optional_notice(note)


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
