"""Callbacks of the three county maps (一张图): parse the inputs, call the view models of ``dashboard.views.maps``,
return what they built (controls → URL, URL → map, click → panel)."""
from __future__ import annotations

import logging
import time

import dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard.views import output_cache
from dashboard.views import pagekit as kit
from dashboard.views.maps import (
    LAST_TIMINGS,
    NO_GEOMETRY,
    health_view,
    init_cache,
    institutions_view,
    map_state,
    panel_for_click,
    panel_for_selection,
    reform_cards,
    reform_view,
    search_with,
    selection_for_click,
)
from geo.store import GeometryMissing
from layouts import _ids as ids
from layouts import map_parts as P
from layouts._components import error_card

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- register
def _timed(page: str, build, *args):
    """``build(*args)`` (the search string first) as a whole output cached per page, search, scope, data version
    and geometry; the server time of the call kept for bench/maps.py."""
    t0 = time.perf_counter()
    try:
        return output_cache.cached(f"maps.{page}", output_cache.mart_version() + output_cache.geometry_stamp(),
                                   tuple(map(str, args)), lambda: build(*args))
    finally:
        LAST_TIMINGS[page] = time.perf_counter() - t0


def _reform_cards_of(search: str | None) -> object:
    return _timed("reform.cards", lambda s: reform_cards(map_state("reform", s)), search)


MAP_VIEWS = (("inst", institutions_view), ("health", health_view), ("reform", reform_view))


def warm_default_views() -> None:
    """The three maps and the reform cards as first opened (no query), into the cache (``dashboard.warmup`` calls
    this for each scope after a load and at start). County-wide scopes only: the one map is the leaders' and the
    wall's view; a manager's maps are computed on their first click (one scope per institution would multiply the
    background work of every load). Without county geometry there is nothing to warm."""
    if not kit.scope().all_institutions:
        return
    try:
        for page, view in MAP_VIEWS:
            _timed(page, view, "")
    except GeometryMissing:
        return
    _reform_cards_of("")


def _failure(exc: Exception, n_extra: int) -> tuple:
    if isinstance(exc, GeometryMissing):
        box = error_card("地图无法显示", NO_GEOMETRY)
    else:
        log.exception("map render failed")
        box = kit.error_box("地图")
    return (None, "", None, box) + (None,) * n_extra


def register(app: dash.Dash) -> None:
    """Register the callbacks of the three map pages."""
    init_cache(app)
    output_cache.register_warmer("maps", warm_default_views)
    for page, controls in (("inst", [("indicator", P.URL_INDICATOR)]),
                           ("health", [("indicator", P.URL_INDICATOR), ("method", P.URL_METHOD),
                                       ("classes", P.URL_CLASSES)]),
                           ("reform", [("indicator", P.URL_INDICATOR), ("top", P.URL_TOP)])):
        _register_controls(app, page, controls)
        _register_panel(app, page)

    for page, view in MAP_VIEWS:
        _register_render(app, page, view)

    # a click on an institution or township narrows the flows to its own (the URL keeps the selection)
    @app.callback(Output(ids.echarts_option(P.chart_name("reform")), "data", allow_duplicate=True),
                  Output(P.mid("reform", "subtitle"), "children", allow_duplicate=True),
                  Output(P.mid("reform", "legend"), "children", allow_duplicate=True),
                  Output(P.mid("reform", "notice"), "children", allow_duplicate=True),
                  Input(P.mid("reform", "sel"), "data"), State(ids.URL, "search"), prevent_initial_call=True)
    def _reform_focus(sel, search):
        if not isinstance(sel, str) or not sel.startswith(("inst:", "town:")):
            raise PreventUpdate
        try:
            return _timed("reform", reform_view, search_with(search, **{P.URL_SELECTION: sel}))
        except Exception as exc:  # noqa: BLE001
            return _failure(exc, 0)

    # the headline figures load beside the map in parallel (their YoY comparisons cost as much as the map)
    @app.callback(Output(P.mid("reform", "cards"), "children"),
                  Input(ids.URL, "search"), Input(P.mid("reform", "ready"), "data"))
    def _reform_cards(search, _ready):
        try:
            return _reform_cards_of(search)
        except Exception:
            log.exception("reform cards failed")
            return kit.error_box("医改核心指标")


def _register_render(app: dash.Dash, page: str, view) -> None:
    """URL → map: the option, subtitle, legend and notice of ``page`` built by ``view`` from the search string (a
    view without a legend leaves the one shown)."""
    @app.callback(Output(ids.echarts_option(P.chart_name(page)), "data"),
                  Output(P.mid(page, "subtitle"), "children"), Output(P.mid(page, "legend"), "children"),
                  Output(P.mid(page, "notice"), "children"),
                  Input(ids.URL, "search"), Input(P.mid(page, "ready"), "data"))
    def _render(search, _ready):
        try:
            option, subtitle, legend, notice = _timed(page, view, search)
            return option, subtitle, legend if legend is not None else no_update, notice
        except Exception as exc:  # noqa: BLE001
            return _failure(exc, 0)


def _register_controls(app: dash.Dash, page: str, controls: list[tuple[str, str]]) -> None:
    @app.callback(Output(ids.URL, "search", allow_duplicate=True),
                  *[Input(P.mid(page, part), "value") for part, _ in controls],
                  State(ids.URL, "search"), State(P.mid(page, "sel"), "data"), prevent_initial_call=True)
    def _to_url(*args):
        *values, search, selection = args
        state = map_state(page, search)
        current = {P.URL_INDICATOR: state.indicator, P.URL_METHOD: state.method, P.URL_CLASSES: state.classes,
                   P.URL_TOP: state.top}
        wanted = {key: value for (_, key), value in zip(controls, values)}
        if all(value is None or str(current[key]) == str(value) for key, value in wanted.items()):
            return no_update          # the pickers only mirror the URL (page load): no second render
        if selection:
            # a click's selection is only in the address bar (replaceState), not in ``search``: keep it
            wanted[P.URL_SELECTION] = selection
        return search_with(search, **wanted)

    @app.callback(*[Output(P.mid(page, part), "value") for part, _ in controls],
                  Input(P.mid(page, "ready"), "data"), State(ids.URL, "search"))
    def _from_url(_ready, search):
        # the page's pickers start from the URL (a shared link or the back button restores them)
        state = map_state(page, search)
        values = {P.URL_INDICATOR: state.indicator, P.URL_METHOD: state.method, P.URL_CLASSES: state.classes,
                  P.URL_TOP: state.top}
        out = [values[key] for _, key in controls]
        return out if len(out) > 1 else out[0]


def _register_panel(app: dash.Dash, page: str) -> None:
    click_id = ids.echarts_click(P.chart_name(page))

    @app.callback(Output(P.mid(page, "panel"), "children"),
                  Input(click_id, "data"), State(ids.URL, "search"), prevent_initial_call=True)
    def _panel(click, search):
        try:
            return panel_for_click(page, click, search)
        except Exception:
            log.exception("map panel failed")
            return kit.error_box("详情")

    @app.callback(Output(P.mid(page, "sel"), "data"), Input(click_id, "data"), prevent_initial_call=True)
    def _selection(click):
        return selection_for_click(click) or no_update

    @app.callback(Output(P.mid(page, "panel"), "children", allow_duplicate=True),
                  Input(P.mid(page, "ready"), "data"), State(ids.URL, "search"),
                  prevent_initial_call="initial_duplicate")
    def _restore(_ready, search):
        # the page was (re)built: a shared link or the back button may name a selection
        try:
            return panel_for_selection(page, search)
        except Exception:
            log.exception("map panel restore failed")
            return kit.error_box("详情")

    # the selection goes into the address bar without a Dash navigation: a shared link and the back button
    # restore the panel, while the map (which depends on the URL) is not redrawn for a click
    app.clientside_callback(
        """function (sel) {
            if (!sel) { return window.dash_clientside.no_update; }
            var url = new URL(window.location.href);
            url.searchParams.set("%s", sel);
            window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
            return window.dash_clientside.no_update;
        }""" % P.URL_SELECTION,
        Output(P.mid(page, "sel-sink"), "title"), Input(P.mid(page, "sel"), "data"), prevent_initial_call=True)
