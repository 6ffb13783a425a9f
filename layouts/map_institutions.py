"""医疗机构运行一张图 /map/institutions: institutions on the township map, by type, volume and indicator status."""
from __future__ import annotations

import dash
from dash import html

from layouts.map_parts import control, indicator_dropdown, map_page

dash.register_page(__name__, path="/map/institutions", title="医疗机构运行一张图 · 医共体运营监测平台",
                   name="医疗机构运行一张图", order=10, nav_group="一张图")


def layout(**_query: str) -> html.Div:
    """Skeleton only; ``dashboard.callbacks.maps`` fills the map from the URL state and the user's scope."""
    # the colour legend depends on the indicator (status, or value classes without a target): the callback fills it
    return map_page("inst", [control("着色指标", indicator_dropdown("inst"))],
                    "点击地图上的机构查看运行概况；点击乡镇查看辖区机构")
