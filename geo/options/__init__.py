"""ECharts options of the three county maps, built with pyecharts and returned as JSON-able dicts.

The option carries ``_geo: {name, geojson}`` so that the clientside bridge registers the township map before
drawing. Townships are regions of the ``geo`` component (a click reports ``componentType == "geo"`` and the
township's name); institutions are scatter items and referral flows ``lines`` items on that geo. Every data item
carries its code (``code``) so that a click can be resolved on the server, and a ready-made Chinese tooltip
(ECharts formatter strings cannot hold functions in JSON, so the text is computed here).
"""
from __future__ import annotations

from core.labels import STATUS_COLORS
from geo.options.base import (
    BASE_AREA,
    BORDER,
    OUTLINE,
    VALUE_MODE_NOTE,
    aspect_scale,
    base_option,
    fmt_value,
    option_size,
    outline_series,
    scaled_sizes,
    tooltip_html,
)
from geo.options.health import choropleth_regions, health_option
from geo.options.institutions import SIZE_RANGE, STATUS_NONE_LABEL, SYMBOL_GROUPS, institutions_option
from geo.options.placement import (
    LABEL_FONT,
    LABEL_GAP_PX,
    NOMINAL_MAP_PX,
    label_points,
    px_per_degree,
    spread_colocated,
    with_label_points,
)
from geo.options.reform import (
    FLOW_COLORS,
    FLOW_ZH,
    FOCUS_COLOR,
    flow_width,
    reform_option,
    select_flows,
    township_label_series,
)

__all__ = [
    "BASE_AREA", "BORDER", "FLOW_COLORS", "FLOW_ZH", "FOCUS_COLOR", "LABEL_FONT", "LABEL_GAP_PX", "NOMINAL_MAP_PX",
    "OUTLINE", "SIZE_RANGE", "STATUS_COLORS", "STATUS_NONE_LABEL", "SYMBOL_GROUPS", "VALUE_MODE_NOTE",
    "aspect_scale", "base_option", "choropleth_regions", "flow_width", "fmt_value", "health_option",
    "institutions_option", "label_points", "option_size", "outline_series", "px_per_degree", "reform_option",
    "scaled_sizes", "select_flows", "spread_colocated", "tooltip_html", "township_label_series",
    "with_label_points",
]
