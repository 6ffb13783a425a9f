"""What every county map view stands on: the URL state, the cached engine calls, the institution points and
volumes, and the small helpers the three views and the panels share."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
import pandas as pd

from core import cache as core_cache
from dashboard.urlstate import ViewState, to_search
from dashboard.views import pagekit as kit
from geo.classify import METHODS, Classification, classify
from geo.store import institution_overrides
from layouts import map_parts as P
from layouts.formatting import fmt_period_zh
from queries import maps as qmaps
from queries import periods as qperiods

NO_GEOMETRY = "尚无县域地理数据：请先运行 python app.py demo 生成演示数据，或用 python app.py geo import 导入乡镇边界。"
LAST_TIMINGS: dict[str, float] = {}      # page -> server seconds of the last render (read by bench/maps.py)
CACHE_SECONDS = 600

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
    overrides = institution_overrides(geo_dir())
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


def county_flows(state: MapState) -> pd.DataFrame:
    """Referral flows between institutions in the view's period, for every institution (callers keep what the
    user may see, :func:`visible_flows`)."""
    return cached("flows", lambda: qmaps.referral_flows(kit.mart_url(), state.first, state.last),
                  state.first, state.last, scoped=False)


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


def geo_dir():  # noqa: ANN201 — pathlib.Path
    """The folder of the county geometry (DATA_DIR/geo)."""
    from dashboard.app import get_config
    return get_config().geo_dir


def indicator_entry(indicator_id: str | None):  # noqa: ANN201 — a catalogue entry or None
    """The catalogue entry of an indicator (None for none)."""
    return kit.indicator(indicator_id) if indicator_id else None


def indicator_label(entry: Any, indicator_id: str) -> tuple[str, str, int]:
    """(Chinese name, unit, decimals) of an indicator."""
    return (kit.attr(entry, "zh", indicator_id), kit.attr(entry, "unit", "") or "", int(kit.attr(entry, "decimals", 1)))


def _latest(df: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator and org: the last period (a clipped period range yields exactly one anyway)."""
    if df.empty or "period_start" not in df.columns:
        return df
    return df.sort_values("period_start").groupby(["indicator_id", "org_code"], as_index=False).tail(1)


def view_subtitle(state: MapState, *parts: str) -> str:
    """The period in Chinese followed by the non-empty ``parts``, joined by middle dots."""
    return " · ".join([fmt_period_zh(state.view.grain, state.view.period), *[p for p in parts if p]])


def has_target(entry: Any) -> bool:
    """True when the catalogue gives the indicator a target, so that the engine judges 达标/预警/未达标."""
    return (kit.attr(entry, "target_low") is not None or kit.attr(entry, "target_high") is not None
            or bool(kit.attr(entry, "target_by_inst_level", ())))


def focus_on(option: dict, disp, org: str | None, points: pd.DataFrame | None = None,  # noqa: ANN001
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


def optional_notice(text: str | None) -> Any:
    """A notice box for ``text``, None when there is nothing to say."""
    return kit.notice(text) if text else None


def unit_suffix(unit: str) -> str:
    """The unit in full-width brackets for a legend title; nothing for a plain ratio."""
    return f"（{unit}）" if unit and unit != "1" else ""


def visible_flows(flows: pd.DataFrame, scope) -> pd.DataFrame:  # noqa: ANN001
    """A manager sees the flows that touch the institutions in the scope."""
    if scope.all_institutions or flows.empty:
        return flows
    keep = flows["from_inst_code"].map(scope.may_see_institution) | flows["to_inst_code"].map(scope.may_see_institution)
    return flows[keep]


def township_values(indicator_id: str, state: MapState) -> pd.DataFrame:
    """Engine values of one indicator for every township (area_code, value, numerator, denominator, status)."""
    df = engine([indicator_id], "township", state)
    return df.rename(columns={"org_code": "area_code"})[["area_code", "value", "numerator", "denominator",
                                                          "status"]]




def classified_townships(disp, ind: str,  # noqa: ANN001
                         state: MapState) -> tuple[pd.DataFrame, Classification, str, str, int]:
    """Township values in the geometry's order, and their classes."""
    entry = indicator_entry(ind)
    zh, unit, dec = indicator_label(entry, ind)
    vals = township_values(ind, state)
    frame = pd.DataFrame({"area_code": list(disp.code_to_name)}).merge(vals, on="area_code", how="left")
    direction = kit.attr(entry, "direction", "band")
    classes = classify(frame["value"].tolist(), state.method, state.classes, direction=direction, decimals=dec)
    return frame, classes, zh, unit, dec
