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
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyecharts import options as opts
from pyecharts.charts import Geo
from shapely import affinity

from core.labels import INST_TYPE_ZH, STATUS_COLORS
from geo.classify import NO_DATA_COLOR, NO_DATA_LABEL, Classification
from geo.store import DisplayGeometry

STATUS_NONE_LABEL = "无目标/无数据"

# Symbol groups shown in the legend: county hospitals as pins, primary centres as circles, village clinics dots.
SYMBOL_GROUPS: list[tuple[str, tuple[str, ...], str]] = [
    ("县级医院", ("general_hospital", "county_hospital", "tcm_hospital", "maternal_child"), "pin"),
    ("乡镇卫生院/社区中心", ("township_center", "community_center"), "circle"),
    ("村卫生室", ("village_clinic",), "triangle"),
]
SIZE_RANGE = {"pin": (26, 46), "circle": (9, 22), "triangle": (5, 10)}

FLOW_COLORS = {"up": "#e4572e", "down": "#2a7de1"}
FLOW_ZH = {"up": "上转", "down": "下转"}
VALUE_MODE_NOTE = "无目标值，按数值分级着色"
FOCUS_COLOR = "#f0a202"
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


# ---------------------------------------------------------------------------------------------- layout on screen
# Symbol sizes are pixels, coordinates degrees. The map is drawn at layoutSize 92 % of the smaller side of its
# box, about 600 px at 1440×900; overlap tests use that scale (a user who zooms in only gains room).
NOMINAL_MAP_PX = 600.0
LABEL_FONT = 11
LABEL_GAP_PX = 3.0            # a township label this far from every symbol counts as clear


def px_per_degree(disp: DisplayGeometry) -> float:
    """Screen pixels per degree of latitude at the map's nominal drawn size."""
    minx, miny, maxx, maxy = disp.bbox
    span = max((maxx - minx) * _aspect(disp), maxy - miny)
    return NOMINAL_MAP_PX / span if span > 0 else 1.0


def spread_colocated(points: list[tuple[str, float, float, float]], disp: DisplayGeometry,
                     overlap: float = 0.9) -> dict[str, tuple[float, float]]:
    """Display positions for symbols that would hide one another: ``points`` are (code, lon, lat, size px).

    Symbols whose centres are closer than ``overlap`` × the sum of their radii form a group (transitively); each
    group of n is put on a small ring around its mean, largest first from the top, clockwise, far enough apart
    that neighbours no longer cover each other. Deterministic (same input, same output); other points keep
    their coordinates. Only the drawing moves: stored coordinates are untouched.
    """
    out = {code: (lon, lat) for code, lon, lat, _ in points}
    n = len(points)
    if n < 2:
        return out
    ppd, aspect = px_per_degree(disp), _aspect(disp)
    xy = np.array([[lon * aspect * ppd, lat * ppd] for _, lon, lat, _ in points], dtype=float)
    size = np.array([float(s) for *_, s in points], dtype=float)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    near = dist < overlap * (size[:, None] + size[None, :]) / 2
    np.fill_diagonal(near, False)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i, j in zip(*np.nonzero(np.triu(near))):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (-size[i], points[i][0]))
        k = len(members)
        cx, cy = xy[members].mean(axis=0)
        chord = 0.8 * float(size[members].max())
        radius = chord / (2 * math.sin(math.pi / k))
        for rank, i in enumerate(members):
            angle = math.pi / 2 - 2 * math.pi * rank / k        # from the top, clockwise (y grows northwards)
            x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            out[points[i][0]] = (round(x / (aspect * ppd), 5), round(y / ppd, 5))
    return out


def label_points(disp: DisplayGeometry, symbols: list[tuple[float, float, float]],
                 font_size: int = LABEL_FONT) -> dict[str, list[float]]:
    """A label position (lon, lat) per township name, clear of the drawn symbols where the township has room.

    ``symbols``: (lon, lat, size px) of everything drawn over the townships. Candidates on a 4 px grid inside the
    township (label box wholly inside) are ranked: first clearance to the nearest symbol, up to ``LABEL_GAP_PX``
    (beyond that all are equally good), then closeness to the township's representative point, so that labels
    stay central unless a symbol is in the way. Townships without any candidate keep ECharts' default place.
    """
    ppd, aspect = px_per_degree(disp), _aspect(disp)
    sym = np.array([[lon * aspect * ppd, lat * ppd, float(s) / 2] for lon, lat, s in symbols], dtype=float) \
        if symbols else np.zeros((0, 3))
    reach = float(sym[:, 2].max()) + LABEL_GAP_PX if len(sym) else 0.0
    out: dict[str, list[float]] = {}
    for name, code, cx, cy, half_w, half_h in _label_candidates(disp, font_size):
        # only symbols that can come near this township's candidates matter
        near = sym[(sym[:, 0] > cx.min() - half_w - reach) & (sym[:, 0] < cx.max() + half_w + reach)
                   & (sym[:, 1] > cy.min() - half_h - reach) & (sym[:, 1] < cy.max() + half_h + reach)]
        if len(near):
            ox = np.maximum(np.abs(cx[:, None] - near[None, :, 0]) - half_w, 0)
            oy = np.maximum(np.abs(cy[:, None] - near[None, :, 1]) - half_h, 0)
            gap = (np.hypot(ox, oy) - near[None, :, 2]).min(axis=1)
        else:
            gap = np.full(cx.size, LABEL_GAP_PX)
        ref = disp.centroids.get(code)
        rx, ry = (ref[0] * aspect * ppd, ref[1] * ppd) if ref else (float(cx.mean()), float(cy.mean()))
        best = np.lexsort((np.hypot(cx - rx, cy - ry), -np.minimum(gap, LABEL_GAP_PX)))[0]
        out[name] = [round(float(cx[best]) / (aspect * ppd), 5), round(float(cy[best]) / ppd, 5)]
    return out


_CANDIDATES: dict[tuple[str, int], list] = {}


def _label_candidates(disp: DisplayGeometry, font_size: int) -> list:
    """Per township: (name, code, x px, y px, half label width, half label height) of the places on a 4 px grid
    where its label box lies wholly inside it; computed once per geometry (``map_name`` changes with it)."""
    key = (disp.map_name, font_size)
    hit = _CANDIDATES.get(key)
    if hit is not None:
        return hit
    from shapely.geometry import shape
    ppd, aspect = px_per_degree(disp), _aspect(disp)
    out = []
    for feature in disp.geojson["features"]:
        name, code = feature["properties"]["name"], feature["properties"]["area_code"]
        poly = affinity.scale(shape(feature["geometry"]), xfact=aspect * ppd, yfact=ppd, origin=(0, 0))
        half_w, half_h = (len(str(name)) * font_size + 4) / 2, (font_size + 4) / 2
        minx, miny, maxx, maxy = poly.bounds
        gx, gy = np.meshgrid(np.arange(minx + half_w, maxx - half_w + 1e-9, 4.0),
                             np.arange(miny + half_h, maxy - half_h + 1e-9, 4.0))
        cx, cy = gx.ravel(), gy.ravel()
        inside = np.ones(cx.size, dtype=bool)
        for dx, dy in ((-half_w, -half_h), (-half_w, half_h), (half_w, -half_h), (half_w, half_h), (0, 0)):
            inside &= shapely.contains_xy(poly, cx + dx, cy + dy)
        if inside.any():
            out.append((name, code, cx[inside], cy[inside], half_w, half_h))
    if len(_CANDIDATES) > 16:          # a few geometries per process at most (imports replace the files)
        _CANDIDATES.clear()
    _CANDIDATES[key] = out
    return out


def with_label_points(option: dict, points: dict[str, list[float]]) -> dict:
    """Put label positions into the option's own copy of the township GeoJSON (``properties.cp``, which ECharts
    uses as the region's centre for its label); the cached display geometry is not modified."""
    geojson = option["_geo"]["geojson"]
    features = []
    for feature in geojson["features"]:
        cp = points.get(feature["properties"].get("name"))
        if cp is not None:
            feature = {**feature, "properties": {**feature["properties"], "cp": cp}}
        features.append(feature)
    option["_geo"] = {**option["_geo"], "geojson": {**geojson, "features": features}}
    return option


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
                  unit: str = "", decimals: int = 1, highlight: str | None = None,
                  towns: Mapping[str, str] | None = None, inst_flows: pd.DataFrame | None = None,
                  hubs: Iterable[str] = ()) -> dict:
    """医改动态监测一张图: township colouring plus animated referral lines (up and down in two colours).

    ``flows``: the flows to draw (already thresholded), columns direction, from_inst_code, to_inst_code,
    referrals. ``positions``: inst_code -> (lon, lat); ``names``: inst_code -> name. ``highlight``: an
    institution drawn in the focus colour (the toolbar's choice). Flow ends that share a place (the county
    hospitals) are spread on a small ring, and township labels keep clear of the ends.

    With ``towns`` (inst_code -> township code) the ``flows`` are township pairs (:func:`geo.flows.township_flows`):
    one line per pair and direction between the townships' anchors, and the dots are the institutions of
    ``inst_flows`` (the institution flows those lines sum) that are ``hubs`` (not villages), so the county
    seat's hospitals stay visible, spread on a ring around the point where the seat's lines meet.
    """
    from geo.flows import member_flows, township_anchors, township_ends
    regions = choropleth_regions(disp, values, classes, indicator_zh, unit, decimals, show_value_labels=False)
    legend = [f"{FLOW_ZH['up']}", f"{FLOW_ZH['down']}"]
    option = base_option(disp, regions=regions, legend=legend)
    option["legend"][0].update({"orient": "horizontal", "left": "center", "top": 8})
    by_town = towns is not None
    dot_flows = member_flows(inst_flows if inst_flows is not None else flows.iloc[0:0], flows, towns) \
        if by_town else flows
    dot_flows = dot_flows[dot_flows["from_inst_code"].isin(positions) & dot_flows["to_inst_code"].isin(positions)]
    # the institutions at either end, so that the lines have anchors and can be clicked
    ends: dict[str, int] = {}
    for src, dst, n in zip(dot_flows["from_inst_code"], dot_flows["to_inst_code"], dot_flows["referrals"]):
        ends[src] = ends.get(src, 0) + int(n)
        ends[dst] = ends.get(dst, 0) + int(n)
    if by_town:
        # a township's lines end at its busiest institution (the seat: its hospitals); only those are drawn
        town_ends = township_ends(positions, ends, towns, hubs)
        kept = {c for codes in town_ends.values() for c in codes}
        ends = {c: n for c, n in ends.items() if c in kept}
    order = sorted(ends.items(), key=lambda kv: (-kv[1], kv[0]))
    sizes = dict(zip([c for c, _ in order], scaled_sizes(pd.Series([t for _, t in order], dtype=float), 6, 18)))
    where = spread_colocated([(c, *positions[c], float(sizes[c])) for c, _ in order], disp)
    if by_town:
        anchor = township_anchors(where, positions, town_ends)
        label = dict(disp.code_to_name)
        kind = ("转出乡镇", "转入乡镇")
    else:
        anchor, label, kind = where, names, ("转出", "转入")
    drawn = {d: flows[(flows["direction"] == d) & flows["from_inst_code"].isin(anchor)
                      & flows["to_inst_code"].isin(anchor)] for d in ("up", "down")}
    for direction in ("up", "down"):
        grp = drawn[direction]
        widths = flow_width(grp["referrals"]) if len(grp) else pd.Series(dtype=float)
        data = []
        for row, width in zip(grp.to_dict("records"), widths):
            src, dst = row["from_inst_code"], row["to_inst_code"]
            rows = [(kind[0], label.get(src, src)), (kind[1], label.get(dst, dst)),
                    ("人次", fmt_value(row["referrals"], 0))]
            if by_town:
                rows.append(("机构间流向", f"{int(row.get('pairs') or 0)} 条（点击乡镇或机构查看）"))
            data.append({
                "name": f"{label.get(src, src)} → {label.get(dst, dst)}", "code": src, "to_code": dst,
                "direction": direction, "coords": [list(anchor[src]), list(anchor[dst])],
                "value": int(row["referrals"]), "lineStyle": {"width": float(width)},
                "tooltip": {"formatter": tooltip_html(FLOW_ZH[direction], rows)},
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
    dots = []
    for code, total in order:
        lon, lat = where[code]
        dot = {"name": names.get(code, code), "code": code, "value": [lon, lat, total],
               "symbolSize": float(sizes[code]),
               "tooltip": {"formatter": tooltip_html(names.get(code, code), [("显示的转诊人次", str(total))])}}
        if code == highlight:
            dot["itemStyle"] = {"color": FOCUS_COLOR, "borderColor": "#1f2933", "borderWidth": 2}
            dot["symbolSize"] = max(float(sizes[code]), 14.0)
            dot["label"] = {"show": True, "position": "right", "formatter": str(names.get(code, code)).replace("{", "(").replace("}", ")"),
                            "fontWeight": "bold", "color": "#1f2933", "textBorderColor": "#ffffff",
                            "textBorderWidth": 3}
        dots.append(dot)
    option["series"].append({
        "type": "scatter", "name": "机构", "coordinateSystem": "geo", "zlevel": 2, "symbol": "circle",
        "itemStyle": {"color": "#1f2933", "borderColor": "#ffffff", "borderWidth": 1}, "data": dots,
    })
    # Township names ride above the flow lines (which all cross the county seat): a label series on the top
    # layer, each name haloed in its township's fill, placed clear of the flow ends.
    places = label_points(disp, [(d["value"][0], d["value"][1], d["symbolSize"]) for d in dots])
    option["series"].append(township_label_series(disp, places, regions))
    for region in regions:
        region["label"]["show"] = False
    option["geo"]["label"]["show"] = False
    option["geo"].setdefault("emphasis", {}).setdefault("label", {})["show"] = False
    return option


def township_label_series(disp: DisplayGeometry, places: dict[str, list[float]], regions: list[dict]) -> dict:
    """A silent scatter series of township names at ``places`` (the representative point where missing), on
    top of everything, in the colours of the ``regions`` labels with a halo of the township's fill."""
    style = {r["name"]: r for r in regions}
    data = []
    for name, code in disp.name_to_code.items():
        where = places.get(name) or list(disp.centroids.get(code, (None, None)))
        if None in where:
            continue
        region = style.get(name, {})
        data.append({"name": name, "value": [float(where[0]), float(where[1])],
                     "label": {"color": region.get("label", {}).get("color", "#3d4756"),
                               "textBorderColor": region.get("itemStyle", {}).get("areaColor", BASE_AREA),
                               "textBorderWidth": 3}})
    return {"type": "scatter", "name": "乡镇名称", "coordinateSystem": "geo", "zlevel": 3, "silent": True,
            "symbolSize": 0, "tooltip": {"show": False}, "emphasis": {"disabled": True},
            "label": {"show": True, "position": "inside", "formatter": "{b}", "fontSize": LABEL_FONT},
            "labelLayout": {"hideOverlap": True}, "data": data}


def option_size(option: dict) -> int:
    """Bytes of the option as the browser receives it (JSON)."""
    return len(json.dumps(option, ensure_ascii=False, separators=(",", ":")).encode())
