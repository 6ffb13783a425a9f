"""Callbacks of 指标分析 /indicator/<id>: breadcrumbs, trend, breakdown + table, ranking, drill, export.

Every callback reads the view state from the URL and the scope from the logged-in user, calls the engine once
per grain it needs, and guards its own errors (an error card for that section, the rest of the page renders).
"""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, no_update

from dashboard.views import output_cache
from dashboard.views import pagekit as kit
from dashboard.views.indicator import NotAtLevel
from dashboard.views.indicator_render import (
    export_or_message,
    render_breakdown,
    render_crumbs,
    render_ranking,
    render_trend,
)
from layouts import _ids as ids
from layouts import _pageparts as L


# ---------------------------------------------------------------------------------------------- wiring
def register(app: dash.Dash) -> None:
    """Wire the indicator page's callbacks (the layout re-renders on every URL change)."""

    @app.callback(Output(L.CRUMBS, "children"), Output(L.SUBTITLE, "children"), Output(L.NOTICE, "children"),
                  Input(L.ID, "data"), State(ids.URL, "search"))
    def _crumbs(indicator_id, search):
        try:
            return render_crumbs(indicator_id, search)
        except PermissionError as exc:
            return None, "", kit.notice(str(exc))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator crumbs failed")
            return None, "", kit.error_box("位置导航")

    @app.callback(Output(L.TREND_BOX, "children"), Input(L.ID, "data"), State(ids.URL, "search"))
    def _trend(indicator_id, search):
        return _permission_guard("趋势", lambda: _cached("indicator.trend", indicator_id, search, (),
                                                       lambda: render_trend(indicator_id, search)))

    @app.callback(Output(L.BREAKDOWN_BOX, "children"), Output(L.BREAKDOWN_TITLE, "children"),
                  Output(L.TABLE_BOX, "children"), Input(L.ID, "data"), Input(L.BREAKDOWN_MODE, "value"),
                  State(ids.URL, "search"))
    def _breakdown(indicator_id, mode, search):
        try:
            return _cached("indicator.breakdown", indicator_id, search, (mode or "share",),
                           lambda: render_breakdown(indicator_id, search, mode or "share"))
        except (PermissionError, NotAtLevel) as exc:
            return kit.empty_box(str(exc)), "", kit.empty_box(str(exc))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator breakdown failed")
            return kit.error_box("下级分布"), "", kit.error_box("明细表")

    @app.callback(Output(L.RANKING_BOX, "children"), Output(L.RANKING_TITLE, "children"),
                  Input(L.ID, "data"), State(ids.URL, "search"))
    def _ranking(indicator_id, search):
        try:
            return _cached("indicator.ranking", indicator_id, search, (),
                           lambda: render_ranking(indicator_id, search))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator ranking failed")
            return kit.error_box("同类机构排名"), ""

    # One drill callback per chart: a chart may be absent (empty state), and a callback whose inputs are only
    # partly on the page is an error in the browser.
    for graph in (L.BREAKDOWN, L.RANKING):
        _register_drill(app, graph)

    @app.callback(Output(L.DOWNLOAD, "data"), Output(L.EXPORT_MSG, "children"), Input(L.EXPORT_CSV, "n_clicks"),
                  Input(L.EXPORT_XLSX, "n_clicks"), State(L.ID, "data"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _export(_csv, _xlsx, indicator_id, search):
        if not dash.ctx.triggered_id or not (_csv or _xlsx):
            return no_update, no_update
        return export_or_message(indicator_id, search,
                                 "xlsx" if dash.ctx.triggered_id == L.EXPORT_XLSX else "csv")


def _cached(name: str, indicator_id: str, search: str | None, extra: tuple, build) -> Any:
    """A whole output of this page, cached per indicator, normalised view, scope and data version."""
    state = kit.view_state(search)
    return output_cache.cached(name, output_cache.mart_version([str(indicator_id)]),
                               (indicator_id, *output_cache.view_parts(state), *extra), build)


def _register_drill(app: dash.Dash, graph: str) -> None:
    # Clientside: the server already wrote each bar's drill query string into its customdata, so a click costs
    # no server round trip (and the chart's insertion does not fire a server callback). The new search makes
    # the page router render the page once for the drilled org; Back undoes it.
    app.clientside_callback(
        """function(click) {
            const p = click && click.points && click.points[0];
            const cd = p && p.customdata;
            if (Array.isArray(cd) && typeof cd[1] === "string" && cd[1].startsWith("?")) { return cd[1]; }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.URL, "search", allow_duplicate=True), Input(graph, "clickData"), prevent_initial_call=True)


def _permission_guard(title: str, build) -> Any:
    try:
        return build()
    except (PermissionError, NotAtLevel) as exc:
        return kit.empty_box(str(exc))
    except Exception:  # noqa: BLE001
        kit.log.exception("indicator %s failed", title)
        return kit.error_box(title)
