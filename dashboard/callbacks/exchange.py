"""Callbacks of 数据交换监测 /exchange (operators and administrators; the web gate checks the role per module).

Read-only views here; the two acts live in their own modules so that the gate narrows them further:
``exchange_rerun`` (operators) and ``exchange_settings`` (administrators).

Refresh: ``dcc.Interval`` ticks every 10 s. A ``visibilitychange`` listener sets the Interval's ``disabled``
through the renderer (``dash_clientside.set_props``: the Interval renders no DOM node to find) while the tab is
hidden, and on return re-enables it with one tick at once (``n_intervals + 1``, so the session still sees an
automatic refresh, not user activity). Each tick refreshes the map + node list, the selected node's detail, the
run table and the open log (four callbacks, each one service call).

Selecting a node with a saved 缩放级别 centres the map on it at that zoom (``FOCUS_JS``): the level is the tile
zoom of common web maps (256-px tiles, level z = 256·2^z px per 360° of longitude), converted to the ECharts
geo zoom from the scale the map is drawn at, within the map's zoom limits. Without a saved level the view stays.
"""
from __future__ import annotations

import json
import logging

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard.accounts.access import current_role
from dashboard.views.exchange_page import (
    RUN_LINK,
    command_waiting,
    detail_panel,
    log_view,
    node_focus,
    refresh_overview,
    runs_view,
    shared_view,
)
from layouts import _exchange_parts as P
from layouts import _ids as ids
from layouts._components import error_card

log = logging.getLogger(__name__)
LAST_TIMINGS: dict[str, float] = {}      # callback -> server ms of its last call (read by the bench)


VISIBILITY_JS = """
function(ready) {
    // Pause the auto-refresh while the tab is hidden. dcc.Interval renders no DOM node, so its props are set
    // through the renderer; the listener (one per page load) outlives a page change, so it acts only while a
    // node of this page is there.
    if (!window.__exVisibility) {
        window.__exVisibility = true;
        document.addEventListener("visibilitychange", function () {
            var dc = window.dash_clientside;
            if (!document.getElementById("%(page)s") || !dc || !dc.set_props) { return; }
            if (document.hidden) {
                dc.set_props("%(interval)s", {disabled: true});
            } else {
                // resume, with one tick now instead of a full interval later
                dc.set_props("%(interval)s", {disabled: false, n_intervals: new dc.Patch().add([], 1).build()});
            }
        });
    }
    return document.hidden;
}
""" % {"interval": P.EX_INTERVAL, "page": P.EX_SUMMARY}

FOCUS_JS = """
function(focus) {
    // Centre the map on the selected node at its saved zoom level (web-map tile level → ECharts geo zoom).
    var nu = window.dash_clientside.no_update;
    if (!focus || focus.lon == null || focus.lat == null || !focus.zoom || !window.echarts) { return nu; }
    var el = document.getElementById(%(box)s);
    var chart = el && window.echarts.getInstanceByDom(el);
    if (!chart) { return nu; }
    var geo = (chart.getOption().geo || [])[0] || {};
    var current = geo.zoom || 1;
    var a = chart.convertToPixel({geoIndex: 0}, [focus.lon, focus.lat]);
    var b = chart.convertToPixel({geoIndex: 0}, [focus.lon + 0.01, focus.lat]);
    if (!a || !b || a[0] === b[0]) { return nu; }
    var pxPerDegreeAt1 = Math.abs(b[0] - a[0]) / 0.01 / current;
    var wanted = 256 * Math.pow(2, focus.zoom) / 360;
    var lim = geo.scaleLimit || {};
    var zoom = Math.min(lim.max || 12, Math.max(lim.min || 0.8, wanted / pxPerDegreeAt1));
    chart.setOption({geo: {center: [focus.lon, focus.lat], zoom: zoom}});
    return {code: focus.code, center: [focus.lon, focus.lat], zoom: zoom};
}
""" % {"box": json.dumps(json.dumps(ids.echarts_box(P.EX_MAP), sort_keys=True, separators=(",", ":")))}

CONFIRM_JS = """
function(n, runId) {
    if (!n || !runId) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
    return [true, "确认请求前置机重跑失败的运行 " + runId + " 吗？\\n同一运行只会有一个待执行的重跑命令。"];
}
"""


def _timed(name: str, fn, *args):
    import time
    t = time.perf_counter()
    try:
        return fn(*args)
    finally:
        LAST_TIMINGS[name] = (time.perf_counter() - t) * 1000


def register(app: dash.Dash) -> None:
    """Register the /exchange view callbacks."""
    app.clientside_callback(VISIBILITY_JS, Output(P.EX_INTERVAL, "disabled"), Input(P.EX_READY, "data"))
    app.clientside_callback(FOCUS_JS, Output(P.EX_FOCUSED, "data"), Input(P.EX_FOCUS, "data"),
                            prevent_initial_call=True)
    app.clientside_callback(CONFIRM_JS, Output(P.EX_RERUN_CONFIRM, "displayed"),
                            Output(P.EX_RERUN_CONFIRM, "message"),
                            Input(P.EX_RERUN_BTN, "n_clicks"), State(P.EX_RUN, "data"), prevent_initial_call=True)

    @app.callback(Output(ids.echarts_option(P.EX_MAP), "data"), Output(P.EX_SUMMARY, "children"),
                  Output(P.EX_SUBTITLE, "children"), Output(P.EX_NODES, "rowData"),
                  Output(P.EX_R_NODE, "options"),
                  Input(P.EX_READY, "data"), Input(P.EX_INTERVAL, "n_intervals"), Input(P.EX_TICK, "data"),
                  Input(P.EX_F_STATE, "value"), Input(P.EX_F_TYPE, "value"), Input(P.EX_F_TEXT, "value"))
    def _overview(_ready, _n, _tick, states, level, text):
        # the GeoJSON goes only with the page's first option (the browser keeps the registered map)
        first = ctx.triggered_id in (None, P.EX_READY)
        try:
            option, summ, sub, rows, opts = _timed(
                "overview", shared_view, "overview", (first, tuple(states or ()), level, text),
                lambda: refresh_overview(first, states, level, text))
        except Exception:
            log.exception("exchange overview failed")
            return no_update, error_card("前置机状态加载失败", "请稍后重试"), "加载失败", no_update, no_update
        filtering = ctx.triggered_id in (P.EX_F_STATE, P.EX_F_TYPE, P.EX_F_TEXT)
        return (no_update if filtering else option), summ, sub, rows, opts

    @app.callback(Output(P.EX_NODE, "data"), Output(P.EX_R_NODE, "value"), Output(P.EX_FOCUS, "data"),
                  Input(ids.echarts_click(P.EX_MAP), "data"), Input(P.EX_NODES, "cellClicked"),
                  prevent_initial_call=True)
    def _select_node(click, cell):
        code = None
        if ctx.triggered_id == P.EX_NODES:
            code = (cell or {}).get("rowId")
        elif isinstance(click, dict):
            code = (click.get("data") or {}).get("code") if isinstance(click.get("data"), dict) else None
        if not code or not isinstance(code, str):
            raise PreventUpdate
        try:
            focus = node_focus(code)
        except Exception:
            log.exception("exchange node focus failed")
            focus = None
        return code, code, focus if focus is not None else no_update

    @app.callback(Output(P.EX_DETAIL, "children"), Input(P.EX_NODE, "data"), Input(P.EX_INTERVAL, "n_intervals"),
                  Input(P.EX_TICK, "data"))
    def _detail(code, _n, _tick):
        try:
            code = code if isinstance(code, str) else None
            return _timed("detail", shared_view, "detail", (code,), lambda: detail_panel(code))
        except Exception:
            log.exception("exchange node detail failed")
            return error_card("节点详情加载失败", "请稍后重试")

    @app.callback(Output(P.EX_PAGE, "data"),
                  Input(P.EX_R_PREV, "n_clicks"), Input(P.EX_R_NEXT, "n_clicks"), Input(P.EX_R_STATUS, "value"),
                  Input(P.EX_R_NODE, "value"), Input(P.EX_R_JOB, "value"), Input(P.EX_R_DATES, "start_date"),
                  Input(P.EX_R_DATES, "end_date"), State(P.EX_PAGE, "data"), prevent_initial_call=True)
    def _page(_p, _n, *rest):
        page = rest[-1] if isinstance(rest[-1], int) else 1
        if ctx.triggered_id == P.EX_R_PREV:
            return max(1, page - 1)
        if ctx.triggered_id == P.EX_R_NEXT:
            return page + 1
        return 1                                     # a filter changed: back to the first page

    @app.callback(Output(P.EX_RUNS, "rowData"), Output(P.EX_R_PAGER, "children"),
                  Output(P.EX_R_PREV, "disabled"), Output(P.EX_R_NEXT, "disabled"),
                  Input(P.EX_PAGE, "data"), Input(P.EX_INTERVAL, "n_intervals"), Input(P.EX_TICK, "data"),
                  State(P.EX_R_STATUS, "value"), State(P.EX_R_NODE, "value"), State(P.EX_R_JOB, "value"),
                  State(P.EX_R_DATES, "start_date"), State(P.EX_R_DATES, "end_date"))
    def _runs(page, _n, _tick, status, node, job, start, end):
        try:
            parts = (status, node, job, start, end, page)
            return _timed("runs", shared_view, "runs", tuple(map(repr, parts)), lambda: runs_view(*parts))
        except Exception:
            log.exception("exchange runs failed")
            return [], "运行记录加载失败，请稍后重试", True, True

    @app.callback(Output(P.EX_RUN, "data"), Input(P.EX_RUNS, "cellClicked"),
                  Input({"type": RUN_LINK, "run": ALL}, "n_clicks"), prevent_initial_call=True)
    def _select_run(cell, _links):
        trig = ctx.triggered_id
        if trig == P.EX_RUNS:
            run_id = (cell or {}).get("rowId")
        elif isinstance(trig, dict) and trig.get("type") == RUN_LINK:
            if not any(t.get("value") for t in ctx.triggered):       # a link (re)appeared: not a click
                raise PreventUpdate
            run_id = trig.get("run")
        else:
            raise PreventUpdate
        if not run_id or not isinstance(run_id, str):
            raise PreventUpdate
        return run_id

    @app.callback(Output(P.EX_SET_NODE, "children"), Output(P.EX_SET_LON, "value"), Output(P.EX_SET_LAT, "value"),
                  Output(P.EX_SET_ZOOM, "value"), Output(P.EX_SET_CITY, "value"), Output(P.EX_SET_ADDR, "value"),
                  Input(P.EX_NODE, "data"), Input(P.EX_TICK, "data"))
    def _fill(code, _tick):
        from dashboard.views.exchange_settings import settings_values
        return settings_values(code)

    @app.callback(Output(P.EX_LOG_HEAD, "children"), Output(P.EX_RERUN_BOX, "children"),
                  Output(P.EX_LOG, "children"), Output(P.EX_RERUN_MSG, "children", allow_duplicate=True),
                  Input(P.EX_RUN, "data"), Input(P.EX_INTERVAL, "n_intervals"), Input(P.EX_TICK, "data"),
                  prevent_initial_call="initial_duplicate")
    def _log(run_id, _n, _tick):
        run_id = run_id if isinstance(run_id, str) else None
        try:
            role = current_role()
            head, box, text = _timed("log", shared_view, "log", (run_id,), lambda: log_view(run_id, role))
        except Exception:
            log.exception("exchange log view failed")
            return error_card("日志加载失败", "请稍后重试"), None, "", no_update
        # The one-off "已发送… 等待前置机执行" line goes once the box shows the command's state, and when
        # another run is picked; the box itself keeps saying where the command is.
        settled = ctx.triggered_id == P.EX_RUN or (run_id is not None and not command_waiting(run_id))
        return head, box, text, "" if settled else no_update
