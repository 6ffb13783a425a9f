"""ECharts options of the three county maps, built with pyecharts and returned as JSON-able dicts.

The option carries ``_geo: {name, geojson}`` so that the clientside bridge registers the township map before
drawing. Townships are regions of the ``geo`` component (a click reports ``componentType == "geo"`` and the
township's name); institutions are scatter items and referral flows ``lines`` items on that geo. Every data item
carries its code (``code``) so that a click can be resolved on the server, and a ready-made Chinese tooltip
(ECharts formatter strings cannot hold functions in JSON, so the text is computed here).
"""
from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable

import pandas as pd
from pyecharts import options as opts
from pyecharts.charts import Geo

from geo.classify import NO_DATA_COLOR, Classification
from geo.store import DisplayGeometry

STATUS_COLORS: dict[str | None, str] = {"达标": "#2e9d5b", "预警": "#f0a202", "未达标": "#d64545", None: "#8c96a3"}
STATUS_NONE_LABEL = "无目标/无数据"

INST_TYPE_ZH = {
    "general_hospital": "县人民医院(总院)", "county_hospital": "县级医院", "tcm_hospital": "中医院",
    "maternal_child": "妇幼保健院", "community_center": "社区卫生服务中心", "township_center": "乡镇卫生院",
    "village_clinic": "村卫生室",
}
# Symbol groups shown in the legend: county hospitals as pins, primary centres as circles, village clinics dots.
SYMBOL_GROUPS: list[tuple[str, tuple[str, ...], str]] = [
    ("县级医院", ("general_hospital", "county_hospital", "tcm_hospital", "maternal_child"), "pin"),
    ("乡镇卫生院/社区中心", ("township_center", "community_center"), "circle"),
    ("村卫生室", ("village_clinic",), "triangle"),
]
SIZE_RANGE = {"pin": (26, 46), "circle": (9, 22), "triangle": (5, 10)}

FLOW_COLORS = {"up": "#e4572e", "down": "#2a7de1"}
FLOW_ZH = {"up": "上转", "down": "下转"}
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


def _aspect(disp: DisplayGeometry) -> float:
    """Keep the map's shape true: one degree of longitude is cos(latitude) of one of latitude."""
    lat = (disp.bbox[1] + disp.bbox[3]) / 2
    return round(math.cos(math.radians(lat)), 4)


def base_option(disp: DisplayGeometry, regions: list[dict] | None = None, show_labels: bool = True,
                legend: list[str] | None = None) -> dict:
    """The geo component over the township map, with regions styled individually, as a dict."""
    chart = Geo(init_opts=opts.InitOpts(animation_opts=opts.AnimationOpts(animation=True)))
    chart.add_schema(
        maptype=disp.map_name, is_roam=True, aspect_scale=_aspect(disp), layout_center=["50%", "52%"],
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


def institutions_option(disp: DisplayGeometry, insts: pd.DataFrame, indicator_zh: str, unit: str = "",
                        decimals: int = 1) -> dict:
    """医疗机构运行一张图: institutions by type (symbol), volume (size) and the indicator's status (colour).

    ``insts`` columns: inst_code, name, inst_type, township_name, lon, lat, volume, op_visits, discharges,
    value, status, target (text) — rows without lon/lat are left out.
    """
    legend = [g[0] for g in SYMBOL_GROUPS]
    regions = [{"name": name, "tooltip": {"formatter": tooltip_html(name, [("类型", "乡镇"), ("提示", "点击查看辖区机构")])}}
               for name in disp.name_to_code]
    option = base_option(disp, regions=regions, legend=legend)
    placed = insts.dropna(subset=["lon", "lat"])
    for label, types, symbol in SYMBOL_GROUPS:
        grp = placed[placed["inst_type"].isin(types)].sort_values("volume", ascending=False)
        lo, hi = SIZE_RANGE[symbol]
        sizes = scaled_sizes(grp["volume"], lo, hi) if len(grp) else pd.Series(dtype=float)
        data = []
        # plain dicts: Series access per cell costs ~50× more for a county's few hundred institutions
        for row, size in zip(grp.to_dict("records"), sizes):
            status = row.get("status") if isinstance(row.get("status"), str) else None
            township = row.get("township_name")
            tip = tooltip_html(row["name"], [
                ("类型", INST_TYPE_ZH.get(row["inst_type"], row["inst_type"])),
                ("所在乡镇", township if isinstance(township, str) and township else "—"),
                ("门急诊人次", fmt_value(row.get("op_visits"), 0)),
                ("出院人次", fmt_value(row.get("discharges"), 0)),
                (indicator_zh, fmt_value(row.get("value"), decimals, unit)),
                ("目标", row.get("target") if isinstance(row.get("target"), str) else "—"),
                ("状态", status or STATUS_NONE_LABEL),
            ])
            data.append({
                "name": row["name"], "code": row["inst_code"],
                "value": [round(float(row["lon"]), 5), round(float(row["lat"]), 5), int(row.get("volume") or 0)],
                "symbolSize": float(size), "tooltip": {"formatter": tip},
                "itemStyle": {"color": STATUS_COLORS.get(status, STATUS_COLORS[None])},
            })
        option["series"].append({
            "type": "scatter", "name": label, "coordinateSystem": "geo", "symbol": symbol,
            # legend swatches show the shape in neutral grey; items carry their status colour
            "itemStyle": {"color": "#6b7785", "borderColor": "#ffffff", "borderWidth": 1, "opacity": 0.95},
            "emphasis": {"scale": 1.3, "itemStyle": {"borderColor": "#1f2933", "borderWidth": 2}},
            "z": {"pin": 6, "circle": 5, "triangle": 4}[symbol], "data": data,
        })
    return option


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
        label = name if not show_value_labels else f"{name}\n{fmt_value(value, decimals)}"
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


def select_flows(flows: pd.DataFrame, top_n: int = 40, min_share: float = 0.05) -> pd.DataFrame:
    """Keep the flows that matter: per direction at most ``top_n``, each ≥ ``min_share`` of that direction's max.

    ``flows`` columns: direction, from_inst_code, to_inst_code, referrals (one row per pair and direction).
    """
    if flows.empty:
        return flows
    kept = []
    for _direction, grp in flows.groupby("direction", sort=False):
        grp = grp[grp["referrals"] > 0].sort_values("referrals", ascending=False)
        if grp.empty:
            continue
        floor = float(grp["referrals"].max()) * min_share
        kept.append(grp[grp["referrals"] >= floor].head(top_n))
    return pd.concat(kept, ignore_index=True) if kept else flows.iloc[0:0]


def flow_width(referrals: pd.Series, lo: float = 1.0, hi: float = 6.0) -> pd.Series:
    """Line widths from lo to hi proportional to volume (of the largest flow shown)."""
    top = float(referrals.max()) if len(referrals) else 0.0
    if top <= 0:
        return pd.Series([lo] * len(referrals), index=referrals.index)
    return (lo + (hi - lo) * referrals / top).round(2)


def reform_option(disp: DisplayGeometry, values: pd.DataFrame, classes: Classification, indicator_zh: str,
                  flows: pd.DataFrame, positions: dict[str, tuple[float, float]], names: dict[str, str],
                  unit: str = "", decimals: int = 1) -> dict:
    """医改动态监测一张图: township colouring plus animated referral lines (up and down in two colours).

    ``flows``: the flows to draw (already thresholded), columns direction, from_inst_code, to_inst_code,
    referrals. ``positions``: inst_code -> (lon, lat); ``names``: inst_code -> name.
    """
    regions = choropleth_regions(disp, values, classes, indicator_zh, unit, decimals, show_value_labels=False)
    legend = [f"{FLOW_ZH['up']}", f"{FLOW_ZH['down']}"]
    option = base_option(disp, regions=regions, legend=legend)
    option["legend"][0].update({"orient": "horizontal", "left": "center", "top": 8})
    ends: dict[str, int] = {}
    for direction in ("up", "down"):
        grp = flows[(flows["direction"] == direction)
                    & flows["from_inst_code"].isin(positions) & flows["to_inst_code"].isin(positions)]
        widths = flow_width(grp["referrals"]) if len(grp) else pd.Series(dtype=float)
        data = []
        for row, width in zip(grp.to_dict("records"), widths):
            src, dst = row["from_inst_code"], row["to_inst_code"]
            ends[src] = ends.get(src, 0) + int(row["referrals"])
            ends[dst] = ends.get(dst, 0) + int(row["referrals"])
            data.append({
                "name": f"{names.get(src, src)} → {names.get(dst, dst)}", "code": src, "to_code": dst,
                "coords": [list(positions[src]), list(positions[dst])], "value": int(row["referrals"]),
                "lineStyle": {"width": float(width)},
                "tooltip": {"formatter": tooltip_html(FLOW_ZH[direction], [
                    ("转出", names.get(src, src)), ("转入", names.get(dst, dst)),
                    ("人次", fmt_value(row["referrals"], 0))])},
            })
        option["series"].append({
            "type": "lines", "name": FLOW_ZH[direction], "coordinateSystem": "geo", "zlevel": 1,
            "effect": {"show": True, "period": 5 if direction == "up" else 6, "trailLength": 0.15,
                       "symbol": "arrow", "symbolSize": 6, "color": FLOW_COLORS[direction]},
            # the same curveness bends A→B and B→A to opposite sides, so up and down never overlap
            "lineStyle": {"color": FLOW_COLORS[direction], "opacity": 0.6, "curveness": 0.25},
            "emphasis": {"lineStyle": {"opacity": 0.95}},
            "data": data,
        })
    # the institutions at either end, so that the lines have anchors and can be clicked
    dots = []
    for code, total in sorted(ends.items(), key=lambda kv: -kv[1]):
        lon, lat = positions[code]
        dots.append({"name": names.get(code, code), "code": code, "value": [lon, lat, total],
                     "tooltip": {"formatter": tooltip_html(names.get(code, code), [("显示的转诊人次", str(total))])}})
    sizes = scaled_sizes(pd.Series([d["value"][2] for d in dots], dtype=float), 6, 18) if dots else []
    for d, s in zip(dots, sizes):
        d["symbolSize"] = float(s)
    option["series"].append({
        "type": "scatter", "name": "机构", "coordinateSystem": "geo", "zlevel": 2, "symbol": "circle",
        "itemStyle": {"color": "#1f2933", "borderColor": "#ffffff", "borderWidth": 1}, "data": dots,
    })
    return option


def option_size(option: dict) -> int:
    """Bytes of the option as the browser receives it (JSON)."""
    return len(json.dumps(option, ensure_ascii=False, separators=(",", ":")).encode())
