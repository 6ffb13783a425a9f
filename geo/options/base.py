"""The shared pieces of the county map options: the geo component over the township map, the county outline,
tooltips as static HTML, number formatting and symbol sizes (used by every map and by the exchange-node map)."""
from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
from pyecharts import options as opts
from pyecharts.charts import Geo

from geo.store import DisplayGeometry

VALUE_MODE_NOTE = "无目标值，按数值分级着色"
BASE_AREA = "#e8eef5"
BORDER = "#ffffff"
OUTLINE = "#4a6fa5"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=False)


def tooltip_html(title: str, rows: Iterable[tuple[str, str]]) -> str:
    """A tooltip as static HTML (no ``{…}`` templates: ECharts would try to fill them)."""
    body = "".join(f"<div>{_esc(k)}：<b>{_esc(v)}</b></div>" for k, v in rows)
    text = f"<div style=\"font-weight:600;margin-bottom:4px\">{_esc(title)}</div>{body}"
    return text.replace("{", "(").replace("}", ")")


def fmt_value(value: Any, decimals: int = 1, unit: str = "") -> str:
    """A number for a tooltip or label; '—' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        text = f"{float(value):,.{decimals}f}"
    except (TypeError, ValueError):
        return str(value)
    return f"{text}{unit}" if unit and unit not in ("1",) else text


def aspect_scale(disp: DisplayGeometry) -> float:
    """Keep the map's shape true: one degree of longitude is cos(latitude) of one of latitude."""
    lat = (disp.bbox[1] + disp.bbox[3]) / 2
    return round(math.cos(math.radians(lat)), 4)


def base_option(disp: DisplayGeometry, regions: list[dict] | None = None, show_labels: bool = True,
                legend: list[str] | None = None) -> dict:
    """The geo component over the township map, with regions styled individually, as a dict."""
    chart = Geo(init_opts=opts.InitOpts(animation_opts=opts.AnimationOpts(animation=True)))
    chart.add_schema(
        maptype=disp.map_name, is_roam=True, aspect_scale=aspect_scale(disp), layout_center=["50%", "52%"],
        layout_size="92%",
        label_opts=opts.LabelOpts(is_show=show_labels, font_size=11, color="#3d4756"),
        itemstyle_opts={"areaColor": BASE_AREA, "borderColor": BORDER, "borderWidth": 1.2},
        emphasis_itemstyle_opts={"areaColor": "#ffe7a8", "borderColor": "#f0a202", "borderWidth": 1.5},
        emphasis_label_opts=opts.LabelOpts(is_show=True, color="#1f2933", font_weight="bold"),
    )
    chart.set_global_opts(
        tooltip_opts=opts.TooltipOpts(trigger="item", background_color="rgba(255,255,255,0.96)",
                                      border_color="#ccd3dc", textstyle_opts=opts.TextStyleOpts(color="#1f2933",
                                                                                                font_size=12)),
        legend_opts=opts.LegendOpts(is_show=bool(legend), pos_left="12", pos_top="10", orient="vertical",
                                    item_width=14, item_height=14),
    )
    option = json.loads(chart.dump_options_with_quotes())
    option.pop("title", None)
    option["legend"][0]["data"] = legend or []
    geo = option["geo"]
    geo["selectedMode"] = False
    geo["scaleLimit"] = {"min": 0.8, "max": 12}
    geo["regions"] = regions or []
    # township tooltips come from the regions; an empty default keeps the hover quiet where none is set
    geo["tooltip"] = {"show": True}
    option["_geo"] = {"name": disp.map_name, "geojson": disp.geojson}
    option["series"] = [outline_series(disp)]
    return option


def outline_series(disp: DisplayGeometry) -> dict:
    """The county border as a thick polyline over the townships (not clickable)."""
    return {
        "type": "lines", "name": "县界", "coordinateSystem": "geo", "polyline": True, "silent": True,
        "zlevel": 0, "z": 3, "tooltip": {"show": False},
        "lineStyle": {"color": OUTLINE, "width": 2.2, "opacity": 0.9},
        "data": [{"coords": ring} for ring in disp.outline],
    }


def scaled_sizes(volumes: pd.Series, lo: float, hi: float) -> pd.Series:
    """Symbol sizes by area: size grows with the square root of the volume, from lo to hi."""
    vol = pd.to_numeric(volumes, errors="coerce").fillna(0).clip(lower=0)
    top = float(vol.max()) if len(vol) else 0.0
    if top <= 0:
        return pd.Series([lo] * len(vol), index=vol.index)
    return (lo + (hi - lo) * (vol / top) ** 0.5).round(1)


def option_size(option: dict) -> int:
    """Bytes of the option as the browser receives it (JSON)."""
    return len(json.dumps(option, ensure_ascii=False, separators=(",", ":")).encode())
