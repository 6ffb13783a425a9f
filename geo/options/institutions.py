"""医疗机构运行一张图: institutions as symbols by type, sized by volume, coloured by status or value class."""
from __future__ import annotations

import pandas as pd

from core.labels import INST_TYPE_ZH, STATUS_COLORS
from geo.classify import NO_DATA_LABEL, Classification
from geo.options.base import base_option, fmt_value, scaled_sizes, tooltip_html
from geo.options.placement import label_points, spread_colocated, with_label_points
from geo.store import DisplayGeometry

STATUS_NONE_LABEL = "无目标/无数据"

# Symbol groups shown in the legend: county hospitals as pins, primary centres as circles, village clinics dots.
SYMBOL_GROUPS: list[tuple[str, tuple[str, ...], str]] = [
    ("县级医院", ("general_hospital", "county_hospital", "tcm_hospital", "maternal_child"), "pin"),
    ("乡镇卫生院/社区中心", ("township_center", "community_center"), "circle"),
    ("村卫生室", ("village_clinic",), "triangle"),
]
SIZE_RANGE = {"pin": (26, 46), "circle": (9, 22), "triangle": (5, 10)}


def institutions_option(disp: DisplayGeometry, insts: pd.DataFrame, indicator_zh: str, unit: str = "",
                        decimals: int = 1, classes: Classification | None = None) -> dict:
    """医疗机构运行一张图: institutions by type (symbol), volume (size) and colour.

    The colour is the indicator's status (达标/预警/未达标) — or, when ``classes`` is given (an indicator without
    a target), the value's class on a sequential scale, no-data grey for institutions without a value.
    ``classes`` must have been built from ``insts["value"]`` in the frame's row order.

    ``insts`` columns: inst_code, name, inst_type, township_name, lon, lat, volume, op_visits, discharges,
    value, status, target (text) — rows without lon/lat are left out. Institutions drawn on top of one another
    (the county hospitals of the county seat) are spread on a small ring; township labels avoid the symbols.
    """
    legend = [g[0] for g in SYMBOL_GROUPS]
    regions = [{"name": name, "tooltip": {"formatter": tooltip_html(name, [("类型", "乡镇"), ("提示", "点击查看辖区机构")])}}
               for name in disp.name_to_code]
    option = base_option(disp, regions=regions, legend=legend)
    frame = insts.assign(_cls=classes.classes if classes is not None else -1)
    placed = frame.dropna(subset=["lon", "lat"])
    groups: list[tuple[str, str, list[tuple[dict, float]]]] = []
    for label, types, symbol in SYMBOL_GROUPS:
        grp = placed[placed["inst_type"].isin(types)].sort_values("volume", ascending=False)
        lo, hi = SIZE_RANGE[symbol]
        sizes = scaled_sizes(grp["volume"], lo, hi) if len(grp) else pd.Series(dtype=float)
        # plain dicts: Series access per cell costs ~50× more for a county's few hundred institutions
        groups.append((label, symbol, list(zip(grp.to_dict("records"), map(float, sizes)))))
    where = spread_colocated([(row["inst_code"], float(row["lon"]), float(row["lat"]), size)
                              for _, _, rows in groups for row, size in rows], disp)
    for label, symbol, rows in groups:
        data = []
        for row, size in rows:
            status = row.get("status") if isinstance(row.get("status"), str) else None
            township = row.get("township_name")
            target = row.get("target") if isinstance(row.get("target"), str) else "—"
            cls = int(row["_cls"])
            if classes is not None:
                color = classes.color_of(cls)
                judged = [("目标", target), ("分级", classes.labels[cls] if cls >= 0 else NO_DATA_LABEL)]
            else:
                color = STATUS_COLORS.get(status, STATUS_COLORS[None])
                judged = [("目标", target), ("状态", status or STATUS_NONE_LABEL)]
            tip = tooltip_html(row["name"], [
                ("类型", INST_TYPE_ZH.get(row["inst_type"], row["inst_type"])),
                ("所在乡镇", township if isinstance(township, str) and township else "—"),
                ("门急诊人次", fmt_value(row.get("op_visits"), 0)),
                ("出院人次", fmt_value(row.get("discharges"), 0)),
                (indicator_zh, fmt_value(row.get("value"), decimals, unit)),
                *judged,
            ])
            lon, lat = where[row["inst_code"]]
            data.append({
                "name": row["name"], "code": row["inst_code"],
                "value": [round(float(lon), 5), round(float(lat), 5), int(row.get("volume") or 0)],
                "symbolSize": size, "tooltip": {"formatter": tip}, "itemStyle": {"color": color},
            })
        option["series"].append({
            "type": "scatter", "name": label, "coordinateSystem": "geo", "symbol": symbol,
            # legend swatches show the shape in neutral grey; items carry their own colour
            "itemStyle": {"color": "#6b7785", "borderColor": "#ffffff", "borderWidth": 1, "opacity": 0.95},
            "emphasis": {"scale": 1.3, "itemStyle": {"borderColor": "#1f2933", "borderWidth": 2}},
            "z": {"pin": 6, "circle": 5, "triangle": 4}[symbol], "data": data,
        })
    symbols = [(d["value"][0], d["value"][1], d["symbolSize"]) for s_ in option["series"] if s_["type"] == "scatter"
               for d in s_["data"]]
    return with_label_points(option, label_points(disp, symbols))
