"""居民健康一张图: the township choropleth (also the township colouring under the reform map's flows)."""
from __future__ import annotations

import pandas as pd

from geo.classify import NO_DATA_COLOR, Classification
from geo.options.base import base_option, fmt_value, tooltip_html
from geo.store import DisplayGeometry


def choropleth_regions(disp: DisplayGeometry, values: pd.DataFrame, classes: Classification, indicator_zh: str,
                       unit: str = "", decimals: int = 1, extra: dict[str, list[tuple[str, str]]] | None = None,
                       show_value_labels: bool = True) -> list[dict]:
    """geo.regions colouring each township by its class (no-data grey), with labels and tooltips.

    ``values`` columns: area_code, value, numerator, denominator (rows in the order ``classes`` was built).
    """
    by_code = {}
    for row, cls in zip(values.to_dict("records"), classes.classes):
        by_code[str(row["area_code"])] = (row, cls)
    regions = []
    for name, code in disp.name_to_code.items():
        row, cls = by_code.get(code, (None, -1))
        value = None if row is None else row.get("value")
        rows = [(indicator_zh, fmt_value(value, decimals, unit))]
        if row is not None:
            rows += [("分子", fmt_value(row.get("numerator"), 0)), ("分母", fmt_value(row.get("denominator"), 0))]
            if isinstance(row.get("status"), str):
                rows.append(("状态", row["status"]))
        rows += (extra or {}).get(code, [])
        # values on the map as precise as the legend, so that two townships in different classes never read alike
        label = name if not show_value_labels else f"{name}\n{fmt_value(value, max(decimals, classes.decimals))}"
        regions.append({
            "name": name,
            "itemStyle": {"areaColor": classes.color_of(cls) if cls >= 0 else NO_DATA_COLOR},
            "label": {"show": True, "formatter": label.replace("{", "(").replace("}", ")"), "fontSize": 11,
                      "color": "#ffffff" if cls >= max(classes.k - 2, 1) else "#1f2933"},
            "tooltip": {"formatter": tooltip_html(name, rows)},
        })
    return regions


def health_option(disp: DisplayGeometry, values: pd.DataFrame, classes: Classification, indicator_zh: str,
                  unit: str = "", decimals: int = 1) -> dict:
    """居民健康一张图: township choropleth of a residence-based indicator (legend rendered beside the map)."""
    regions = choropleth_regions(disp, values, classes, indicator_zh, unit, decimals)
    return base_option(disp, regions=regions)
