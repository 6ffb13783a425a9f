"""The side panel of a map click or of the selection kept in the URL: an institution, a township or a flow."""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from dash import dcc, html, no_update

from core.labels import INST_TYPE_ZH
from dashboard.views import pagekit as kit
from dashboard.views.maps.selection import clicked_item, parse_selection
from dashboard.views.maps.state import (
    MapState,
    cached,
    county_flows,
    engine,
    geo_dir,
    indicator_entry,
    indicator_label,
    map_state,
    points,
    visible_flows,
    volumes,
)
from geo.flows import township_flows
from geo.store import display_geometry
from layouts import map_parts as P
from layouts._components import status_badge
from layouts.formatting import fmt_number, fmt_value
from queries import maps as qmaps

log = logging.getLogger(__name__)


def _rows(items: list[tuple[str, Any]]) -> html.Dl:
    out: list[Any] = []
    for k, v in items:
        out += [html.Dt(k), html.Dd(v)]
    return html.Dl(out, className="map-facts")


def _indicator_row(entry: Any, ind: str, r: pd.Series | None, link: str | None) -> html.Tr:
    zh, unit, dec = indicator_label(entry, ind)
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
        zh, unit, dec = indicator_label(indicator_entry(ind), ind)
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
    disp = display_geometry(geo_dir())
    kind, code, data = clicked_item(click, disp)
    if kind is None:
        return no_update
    state = map_state(page, search)
    if kind == "flow":
        return flow_panel(data, state)      # its volume comes with the click: not cached
    # a township's or an institution's panel depends on the place, the view, the user's scope (in the key) and the
    # data: cached like the map itself (a repeated click, or another user of the same scope, costs a cache hit)
    from dashboard.views import output_cache

    def build() -> Any:
        return township_panel(code, state, page) if kind == "township" else institution_panel(code, state, page)
    return output_cache.cached(f"maps.panel.{page}", output_cache.mart_version() + output_cache.geometry_stamp(),
                               (kind, str(code), search or ""), build)



def panel_for_selection(page: str, search: str | None) -> Any:
    """The panel of the selection kept in the URL (a shared link, the back button), or ``no_update``."""
    state = map_state(page, search)
    sel = parse_selection(state.view.extra.get(P.URL_SELECTION))
    if sel is None:
        return no_update
    kind, code, to_code, direction = sel
    if kind == "town":
        disp = display_geometry(geo_dir())
        return township_panel(code, state, page) if code in disp.code_to_name else no_update
    if kind == "inst":
        return institution_panel(code, state, page)
    # a flow: its volume comes from the mart (scope-checked), not from the link
    flows = visible_flows(county_flows(state), kit.scope())
    names = dict(zip(points()["inst_code"], points()["name"]))
    towns = display_geometry(geo_dir()).code_to_name
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
