"""Callbacks of 综合评价 /assessment: pickers → ranking (chart, table); a click → the breakdown; export."""
from __future__ import annotations

import dash
from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard.views import assessment as view
from layouts import _assessment_parts as A


def register(app: dash.Dash) -> None:
    """Wire the assessment page's callbacks."""

    @app.callback(Output(A.PERIOD, "options"), Output(A.PERIOD, "value"), Output(A.TYPE, "options"),
                  Output(A.TYPE, "value"), Input(A.GRAIN, "value"), State(A.TYPE, "value"))
    def _pickers(grain, inst_type):
        options, default = view.periods(grain)
        types = view.type_options()
        codes = [t["value"] for t in types]
        keep = inst_type if inst_type in codes else (view.DEFAULT_TYPE if view.DEFAULT_TYPE in codes else
                                                     (codes[0] if codes else None))
        return options, default, types, keep

    @app.callback(Output(A.CHART_BOX, "children"), Output(A.TABLE_BOX, "children"), Output(A.SUBTITLE, "children"),
                  Input(A.PERIOD, "value"), Input(A.TYPE, "value"), State(A.GRAIN, "value"),
                  State(A.SELECTED, "data"))
    def _ranking(period, inst_type, grain, selected):
        return view.ranking_view(grain, period, inst_type, selected)

    @app.callback(Output(A.SELECTED, "data"), Input(A.CHART, "clickData"), Input(A.TABLE, "cellClicked"),
                  prevent_initial_call=True)
    def _select(click, cell):
        if ctx.triggered_id == A.CHART and click:
            return click["points"][0]["customdata"][0]
        if ctx.triggered_id == A.TABLE and cell:
            return cell.get("rowId")
        raise PreventUpdate

    @app.callback(Output(A.DETAIL_TITLE, "children"), Output(A.DETAIL_BOX, "children"),
                  Input(A.SELECTED, "data"), Input(A.PERIOD, "value"), State(A.GRAIN, "value"))
    def _detail(org, period, grain):
        return view.breakdown_view(grain, period, org)

    @app.callback(Output(A.DOWNLOAD, "data"), Output(A.EXPORT_MSG, "children"),
                  Input(A.EXPORT_CSV, "n_clicks"), Input(A.EXPORT_XLSX, "n_clicks"),
                  State(A.GRAIN, "value"), State(A.PERIOD, "value"), State(A.TYPE, "value"),
                  prevent_initial_call=True)
    def _export(_csv, _xlsx, grain, period, inst_type):
        try:
            return view.export_file(grain, period, inst_type, "xlsx" if ctx.triggered_id == A.EXPORT_XLSX
                                    else "csv"), ""
        except ValueError as exc:
            return no_update, str(exc)
