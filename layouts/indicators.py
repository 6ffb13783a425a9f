"""指标目录 /indicators: every indicator by theme, searchable; ``dashboard.callbacks.catalogue`` fills it."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import page_header
from layouts._pageparts import CATALOG_LIST, CATALOG_SEARCH, CATALOG_SUBTITLE

dash.register_page(__name__, path="/indicators", title="指标目录 · 医共体运营监测平台", name="指标目录",
                   order=19, toolbar=False, nav_icon="▤", nav_match=("/indicators", "/indicator"))


def layout(**_query: Any) -> html.Div:
    """Skeleton: the search box and the list (filled by the callback)."""
    return html.Div([
        page_header("指标目录", html.Span(" ", id=CATALOG_SUBTITLE)),
        dcc.Input(id=CATALOG_SEARCH, type="search", placeholder="搜索指标名称、编码、主题或定义…", debounce=True,
                  value="", className="catalog-search", autoComplete="off"),
        dcc.Loading(html.Div(html.Div(className="chart-placeholder", style={"height": "420px"}),
                             id=CATALOG_LIST, className="catalog"), type="dot"),
    ], className="page page-catalog")
