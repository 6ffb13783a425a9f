"""医改动态监测一张图 /map/reform: referral flows as animated lines, township colouring, headline reform figures."""
from __future__ import annotations

import dash
from dash import dcc, html

from layouts.map_parts import DEFAULT_TOP, TOP_OPTIONS, control, indicator_dropdown, map_page, mid

dash.register_page(__name__, path="/map/reform", title="医改动态监测一张图 · 医共体运营监测平台",
                   name="医改动态监测一张图", order=12, nav_group="一张图")


def layout(**_query: str) -> html.Div:
    """Skeleton only; ``dashboard.callbacks.maps`` fills the map, the flows and the headline figures."""
    return html.Div([
        map_page("reform", [
            control("乡镇着色", indicator_dropdown("reform")),
            control("转诊流向", dcc.Dropdown(id=mid("reform", "top"), options=TOP_OPTIONS, value=DEFAULT_TOP,
                                         clearable=False, searchable=False, className="map-dd-small")),
        ], "点击机构、流向或乡镇查看详情", side_top=html.Div(id=mid("reform", "cards"), className="map-cards"),
            panel_first=True),
    ])
