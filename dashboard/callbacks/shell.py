"""Shell callbacks: URL ⇄ toolbar sync, active navigation, toolbar visibility and the ECharts bridge.

The query string is the single source of the view state. A picker change writes a new query string (a new
browser-history entry, so Back undoes it); a URL change (link, Back, Forward) re-fills the pickers without
writing the URL again.
"""
from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, ctx, no_update

from core.periods import add_months
from dashboard import urlstate
from layouts import _ids as ids
from layouts._nav import nav_items
from layouts._shell import shows_toolbar
from layouts.formatting import fmt_period_zh

log = logging.getLogger(__name__)

CARRIED_KEYS = ("grain", "period", "org")   # what navigation links carry to the next page


# ---------------------------------------------------------------------------------------------- data adapters
def _records(obj: Any) -> list[dict[str, Any]]:
    """Rows of a DataFrame / list of dicts / single dict as a list of dicts."""
    if obj is None:
        return []
    if hasattr(obj, "to_dict"):
        return obj.to_dict("records")
    if isinstance(obj, dict):
        return [obj]
    return [dict(r) if not isinstance(r, dict) else r for r in obj]


def _first(rec: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if rec.get(key) not in (None, ""):
            return rec[key]
    return None


def org_choices(mart_url: str) -> dict[str, Any]:
    """County, townships and institutions for the org picker (from ``queries.org``).

    Returns ``{"county": {code, name} | None, "townships": [{code, name}], "institutions": [{code, name,
    area_code}]}``; empty lists when the mart or the queries module is not available yet.
    """
    out: dict[str, Any] = {"county": None, "townships": [], "institutions": [], "error": None}
    try:
        from queries import org as qorg
    except ImportError:
        log.warning("queries.org is missing: the org picker shows 全县 only")
        out["error"] = "机构列表暂不可用"
        return out
    try:
        _fill_orgs(out, qorg, mart_url)
    except Exception as exc:  # noqa: BLE001 — a missing or unreadable mart must not break the shell
        log.warning("org picker data failed: %s", exc)
        out.update(county=None, townships=[], institutions=[], error="机构列表暂不可用（数据集市无法读取）")
    return out


def _fill_orgs(out: dict[str, Any], qorg: Any, mart_url: str) -> None:
    county = _records(qorg.county(mart_url))
    if county:
        out["county"] = {"code": str(_first(county[0], "area_code", "code")),
                         "name": str(_first(county[0], "name") or "全县")}
    out["townships"] = [{"code": str(_first(r, "area_code", "code")), "name": str(_first(r, "name"))}
                        for r in _records(qorg.townships(mart_url))]
    insts = []
    for rec in _records(qorg.org_tree(mart_url)):
        code = _first(rec, "inst_code")
        if code is None:
            continue
        insts.append({"code": str(code), "name": str(_first(rec, "name", "inst_name") or code),
                      "area_code": str(_first(rec, "area_code", "township_code") or "")})
    out["institutions"] = insts


def month_range_of_mart(mart_url: str, default_month: str) -> tuple[str, str]:
    """(first, last) month with data (``queries.periods.data_range``); 36 months up to default when unknown."""
    try:
        from queries.periods import data_range
        first, last = data_range(mart_url)
        if urlstate.is_valid_period("month", str(first)) and urlstate.is_valid_period("month", str(last)):
            return str(first), str(last)
    except Exception as exc:  # noqa: BLE001 — an empty mart still shows a usable picker
        log.warning("data_range failed (%s); offering the last 36 months", exc)
    return add_months(default_month, -35), default_month


def period_options(grain: str, first: str, last: str, last_complete: str, current: str) -> list[dict[str, Any]]:
    """Dropdown options of every period in the data range, newest first; incomplete periods are marked."""
    options = []
    for p in urlstate.periods_between(grain, first, last):
        label = fmt_period_zh(grain, p)
        # a period is unfinished when it ends after the last complete month (the current quarter and year too)
        if urlstate.period_bounds(grain, p)[1] > last_complete:
            label += "（未结束）"
        options.append({"label": label, "value": p})
    if current not in {o["value"] for o in options}:
        options.insert(0, {"label": fmt_period_zh(grain, current) + "（无数据）", "value": current})
    return options


def _scope_filter(insts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only institutions the logged-in user may see in detail (computed on the server)."""
    from dashboard.accounts.access import current_scope
    scope = current_scope()
    return [i for i in insts if scope.may_see_institution(i["code"])]


def institution_of(mart_url: str, org: str) -> tuple[str | None, str | None]:
    """(institution, township) an org code belongs to — a department's or doctor's institution; (None, None)
    for an unknown code or an unreadable mart."""
    try:
        from queries import org as qorg
        path = qorg.org_path(mart_url, org)
    except Exception as exc:  # noqa: BLE001 — the pickers stay usable without it
        log.warning("org path of %s failed: %s", org, exc)
        return None, None
    by_level = {str(step[0]): str(step[1]) for step in path}
    return by_level.get("institution"), by_level.get("township")


# ---------------------------------------------------------------------------------------------- callbacks
def sync_toolbar(search: str | None, grain: str | None, period: str | None, township: str | None,
                 inst: str | None, trigger: Any) -> tuple:
    """Compute (search, grain, period options, period, township options, township, inst options, inst, note)."""
    from dashboard.app import get_config
    mart_url = get_config().mart_url
    default_month = urlstate.default_period(mart_url)
    first_month = urlstate.first_month(mart_url)
    state = urlstate.parse_state(search, default_month, first_month)
    orgs = org_choices(mart_url)
    insts = _scope_filter(orgs["institutions"])
    township_codes = {t["code"] for t in orgs["townships"]}
    inst_by_code = {i["code"]: i for i in insts}

    new_state = state
    if trigger == ids.GRAIN and grain in urlstate.GRAINS:
        # no period chosen yet: the new grain's default (its last complete period); else the chosen one converted
        chosen = "period" in urlstate.parse_qs_keys(search)
        period = (urlstate.convert_period(state.period, grain, default_month) if chosen
                  else urlstate.last_complete_period(grain, default_month, first_month))
        new_state = state.with_(grain=grain, period=period or state.period)
    elif trigger == ids.PERIOD and period and urlstate.is_valid_period(state.grain, period):
        new_state = state.with_(period=period)
    elif trigger == ids.TOWNSHIP:
        new_state = state.with_(org=township if township in township_codes else None)
    elif trigger == ids.INST:
        new_state = state.with_(org=inst if inst in inst_by_code else (township or None))
    search_out = no_update
    if new_state != state:
        search_out = urlstate.to_search(new_state)

    first, last = month_range_of_mart(mart_url, default_month)
    p_options = period_options(new_state.grain, first, last, default_month, new_state.period)

    note = orgs["error"] or ""
    org = new_state.org
    sel_township: str | None = None
    sel_inst: str | None = None
    if org in township_codes:
        sel_township = org
    elif org in inst_by_code:
        sel_inst = org
        sel_township = inst_by_code[org]["area_code"] or None
    elif org and not note and not (orgs["county"] and org == orgs["county"]["code"]):
        # a department or doctor (a drill below an institution) shows its institution and township in the
        # pickers; only an org outside the user's institutions gets the note
        inst_code, town_code = institution_of(mart_url, org)
        if inst_code in inst_by_code:
            sel_inst = inst_code
            sel_township = inst_by_code[inst_code]["area_code"] or town_code
        else:
            sel_township = town_code if town_code in township_codes else None
            note = "所选机构不在可选范围内（无权查看明细时仅显示汇总值与排名）"
    t_options = [{"label": t["name"], "value": t["code"]} for t in orgs["townships"]]
    i_options = [{"label": i["name"], "value": i["code"]} for i in insts
                 if sel_township is None or i["area_code"] == sel_township]
    return (search_out, new_state.grain, p_options, new_state.period, t_options, sel_township, i_options,
            sel_inst, note)


def nav_state(pathname: str | None, search: str | None, link_ids: list[dict[str, str]]) -> tuple:
    """(classNames, hrefs) of the nav links and the toolbar's className for the current URL."""
    state = urlstate.parse_state(search)
    carried = ""
    if search and any(k in (search or "") for k in CARRIED_KEYS):
        carried = urlstate.to_search(urlstate.ViewState(state.grain, state.period, state.org))
    by_href = {item.href: item for item in nav_items()}
    classes, hrefs = [], []
    for link_id in link_ids or []:     # a forged request may send none
        item = by_href.get(link_id["path"])
        active = bool(item and item.is_active(pathname))
        sub = " nav-sub" if item and item.group else ""
        classes.append(f"nav-link{sub}{' active' if active else ''}")
        hrefs.append(link_id["path"] + carried)
    toolbar_cls = "toolbar" if shows_toolbar(pathname) else "toolbar toolbar-hidden"
    return classes, hrefs, toolbar_cls


def register(app: dash.Dash) -> None:
    """Register the shell callbacks and the ECharts bridge (pattern-matching, once for every chart)."""

    @app.callback(
        Output(ids.URL, "search"),
        Output(ids.GRAIN, "value"), Output(ids.PERIOD, "options"), Output(ids.PERIOD, "value"),
        Output(ids.TOWNSHIP, "options"), Output(ids.TOWNSHIP, "value"),
        Output(ids.INST, "options"), Output(ids.INST, "value"), Output(ids.ORG_LABEL, "children"),
        Input(ids.URL, "search"), Input(ids.GRAIN, "value"), Input(ids.PERIOD, "value"),
        Input(ids.TOWNSHIP, "value"), Input(ids.INST, "value"),
    )
    def _toolbar(search, grain, period, township, inst):
        return sync_toolbar(search, grain, period, township, inst, ctx.triggered_id)

    @app.callback(
        Output(ids.nav_link(ALL), "className"), Output(ids.nav_link(ALL), "href"),
        Output(ids.TOOLBAR, "className"),
        Input(ids.URL, "pathname"), Input(ids.URL, "search"), State(ids.nav_link(ALL), "id"),
    )
    def _nav(pathname, search, link_ids):
        return nav_state(pathname, search, link_ids)

    # ECharts bridge: draw the option of every chart into its Div; clicks go to the click Store (set_props).
    app.clientside_callback(
        ClientsideFunction(namespace="echarts", function_name="render"),
        Output(ids.echarts_box(MATCH), "className"),
        Input(ids.echarts_option(MATCH), "data"),
        State(ids.echarts_box(MATCH), "id"),
        State(ids.echarts_click(MATCH), "id"),
    )
