"""Callbacks of 自助分析 /analysis: URL → pickers, pickers → URL, URL → pivot, cell click → drill, export.

Each parses its inputs and calls the view (``dashboard.views.analysis_render``); the scope comes from the
logged-in user inside the view. The page re-renders on every URL change (the pages router), so the pickers and
the pivot start from the URL alone: a shared link restores the view.
"""
from __future__ import annotations

import dash
from dash import Input, Output, State, no_update

from dashboard.views import analysis_render as view
from dashboard.views import pagekit as kit
from layouts import _analysis_parts as A
from layouts import _ids as ids


def register(app: dash.Dash) -> None:
    """Wire the analysis page's callbacks."""

    @app.callback(*[Output(i, p) for i, p in view.CONTROL_OUTPUTS], Input(A.READY, "data"),
                  State(ids.URL, "search"))
    def _controls(_ready, search):
        return view.controls(search)

    @app.callback(Output(ids.URL, "search", allow_duplicate=True), *[Input(c, "value") for c in A.CONTROLS],
                  State(ids.URL, "search"), prevent_initial_call=True)
    def _to_url(*args):
        return view.search_for(list(args[:-1]), args[-1])

    @app.callback(*[Output(i, p) for i, p in view.PIVOT_OUTPUTS], Input(A.READY, "data"), State(ids.URL, "search"))
    def _pivot(_ready, search):
        try:
            return view.pivot_view(search)
        except Exception:  # noqa: BLE001 — the page stays usable; the error card says what failed
            kit.log.exception("analysis pivot failed")
            return [], [], no_update, no_update, no_update, "", kit.error_box("透视表")

    @app.callback(Output(ids.URL, "href", allow_duplicate=True), Output(A.PANEL, "children"),
                  Input(A.GRID, "cellClicked"), Input(A.HEATMAP, "clickData"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _drill(cell, click, search):
        try:
            return view.drill(search, *view.clicked_cell(dash.ctx.triggered_id, cell, click, search))
        except Exception:  # noqa: BLE001
            kit.log.exception("analysis drill failed")
            return no_update, kit.error_box("明细")

    @app.callback(Output(A.DOWNLOAD, "data"), Output(A.EXPORT_MSG, "children"), Input(A.EXPORT_CSV, "n_clicks"),
                  Input(A.EXPORT_XLSX, "n_clicks"), State(ids.URL, "search"), prevent_initial_call=True)
    def _export(csv_clicks, xlsx_clicks, search):
        if not (csv_clicks or xlsx_clicks):
            return no_update, no_update
        try:
            return view.export(search, "xlsx" if dash.ctx.triggered_id == A.EXPORT_XLSX else "csv")
        except Exception:  # noqa: BLE001
            kit.log.exception("analysis export failed")
            return no_update, "导出失败，请稍后重试；如持续出现请联系运维人员。"
