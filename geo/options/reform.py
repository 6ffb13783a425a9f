"""医改动态监测一张图: township colouring plus animated referral lines (up and down in two colours)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from geo.classify import Classification
from geo.options.base import BASE_AREA, base_option, fmt_value, scaled_sizes, tooltip_html
from geo.options.health import choropleth_regions
from geo.options.placement import LABEL_FONT, label_points, spread_colocated
from geo.store import DisplayGeometry

FLOW_COLORS = {"up": "#e4572e", "down": "#2a7de1"}
FLOW_ZH = {"up": "上转", "down": "下转"}
FOCUS_COLOR = "#f0a202"


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
