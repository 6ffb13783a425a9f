"""居民健康一张图 /map/health: township choropleth of a residence-based indicator with a classed legend."""
from __future__ import annotations

import dash
from dash import dcc, html

from layouts.map_parts import METHOD_OPTIONS, control, indicator_dropdown, map_page, mid

dash.register_page(__name__, path="/map/health", title="居民健康一张图 · 医共体运营监测平台",
                   name="居民健康一张图", order=11, nav_group="一张图")


def layout(**_query: str) -> html.Div:
    """Skeleton only; ``dashboard.callbacks.maps`` fills the map from the URL state."""
    return map_page("health", [
        control("居民指标", indicator_dropdown("health")),
        control("分级方法", dcc.RadioItems(id=mid("health", "method"), options=METHOD_OPTIONS, value="quantile",
                                         inline=True, className="map-radio")),
        control("分级数", dcc.Dropdown(id=mid("health", "classes"), options=[{"label": f"{k} 级", "value": k}
                                                                          for k in range(3, 8)],
                                     value=5, clearable=False, searchable=False, className="map-dd-small")),
    ], "点击乡镇查看辖区机构与指标")
