"""Callback of the 指标目录 /indicators: the text filter → the catalogue view."""
from __future__ import annotations

import dash
from dash import Input, Output

from dashboard.views import catalogue as view
from layouts import _pageparts as L


def register(app: dash.Dash) -> None:
    """Wire the catalogue page's callback."""

    @app.callback(Output(L.CATALOG_LIST, "children"), Output(L.CATALOG_SUBTITLE, "children"),
                  Input(L.CATALOG_SEARCH, "value"))
    def _catalogue(query):
        return view.render(query)
