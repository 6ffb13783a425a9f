"""ECharts option of the exchange map: township outlines, nodes coloured by state, the platform as a star and
running jobs as moving lines from their node to the platform.

Built on ``geo.options.base_option`` (the county's geo component, shared with the 一张图 maps). Every node item
carries its ``code`` so that a click can be resolved on the server.

Where the platform (数据中心平台) is drawn: it is a logical place, not one of the nodes, so it gets a point of its
own. ``platform_at`` (lon, lat) fixes it. By default it is the point nearest the county's centroid where the
star and its label fit with ``CLEARANCE`` to spare from every node and every township label; the label goes on
whichever side (right, left, above, below) makes that possible. Sizes are shares of the map's diagonal measured
at the default zoom of a 1440-px-wide screen (diagonal ≈ 640 px: star radius ``STAR_RADIUS`` ≈ 15 px, label
"数据中心平台" ``LABEL_LENGTH`` ≈ 85 × ``LABEL_HALF_HEIGHT`` ≈ 8 px, clearance ≈ 26 px: a node's ripple or half a
township label); zooming in only adds room. Candidates are a ``GRID`` × ``GRID`` lattice inside the county shrunk
by the clearance (the star never sits on the border); distances are measured as drawn (longitude ×
cos(latitude), like the map's aspect). When nothing is that clear, the candidate with the most room is taken.
The point is never a node's position, so every running job's line has a length, and it moves only when nodes
are moved or the geometry changes.
"""
from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pandas as pd

from dashboard.exchange.models import JOB_NAMES_ZH
from dashboard.exchange.service import STATE_ZH
from geo.options import base_option, tooltip_html
from geo.store import DisplayGeometry

STATE_COLORS = {"normal": "#2e9d5b", "running": "#2a7de1", "failed": "#d64545", "offline": "#8c96a3"}
PLATFORM_NAME = "数据中心平台"
# A five-pointed star (ECharts has no built-in star symbol).
STAR = ("path://M50,0 L61.8,35.1 L98.9,35.1 L68.9,56.9 L80.3,91.9 L50,70.2 L19.7,91.9 L31.1,56.9 L1.1,35.1 "
        "L38.2,35.1 Z")
SIZE_BY_LEVEL = {"county": 16, "township": 11, "village": 8}
# sizes as shares of the map's diagonal (see the module docstring)
CLEARANCE = 0.04
STAR_RADIUS = 0.025
LABEL_LENGTH = 0.135
LABEL_HALF_HEIGHT = 0.0125
LABEL_SIDES = ("right", "left", "top", "bottom")
GRID = 48                 # candidate lattice points per side

_layout_cache: dict[str, tuple[np.ndarray, np.ndarray, tuple[float, float], float]] = {}
_layout_lock = threading.Lock()


def _map_layout(disp: DisplayGeometry) -> tuple[np.ndarray, np.ndarray, tuple[float, float], float]:
    """(candidate points inside the county, township label points, county centroid, cos of the mid latitude)
    of one geometry version; built once per map name (it changes when the geometry files change)."""
    with _layout_lock:
        hit = _layout_cache.get(disp.map_name)
    if hit is not None:
        return hit
    import shapely
    from shapely.geometry import shape
    from shapely.ops import unary_union

    polys = [shape(f["geometry"]) for f in disp.geojson.get("features", []) if f.get("geometry")]
    minx, miny, maxx, maxy = disp.bbox
    kx = math.cos(math.radians((miny + maxy) / 2))
    diag = math.hypot((maxx - minx) * kx, maxy - miny)
    labels: list[tuple[float, float]] = []
    for g in polys:
        # ECharts puts a region's label at the centre of its largest polygon; the representative point of the
        # whole region is kept too (both are where a label may be drawn)
        largest = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
        for pt in (largest.centroid, g.representative_point()):
            labels.append((pt.x, pt.y))
    labels_arr = np.array(labels, dtype=float).reshape(-1, 2)
    county = unary_union(polys) if polys else None
    xs, ys = np.meshgrid(np.linspace(minx, maxx, GRID), np.linspace(miny, maxy, GRID))
    xs, ys = xs.ravel(), ys.ravel()
    if county is None or county.is_empty:
        cands = np.column_stack([xs, ys])
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
    else:
        inner = county.buffer(-CLEARANCE * diag)
        area = inner if not inner.is_empty else county
        inside = shapely.contains_xy(area, xs, ys)
        if not inside.any():
            inside = shapely.contains_xy(county, xs, ys)
        cands = np.column_stack([xs[inside], ys[inside]]) if inside.any() else np.column_stack([xs, ys])
        c = county.centroid
        centre = (c.x, c.y)
    out = (cands, labels_arr, centre, kx)
    with _layout_lock:
        _layout_cache[disp.map_name] = out
    return out


def _segment_distance(px: np.ndarray, py: np.ndarray, x0: np.ndarray, x1: np.ndarray, y: np.ndarray
                      ) -> np.ndarray:
    """Distance from points (px, py) to horizontal segments [x0, x1] × y (broadcast)."""
    dx = np.maximum(np.maximum(x0 - px, px - x1), 0.0)
    return np.sqrt(dx ** 2 + (py - y) ** 2)


def platform_layout(nodes: pd.DataFrame, disp: DisplayGeometry) -> tuple[tuple[float, float], str]:
    """((lon, lat), label side) of the platform by default: the point nearest the county's centroid where the
    star and its label keep ``CLEARANCE`` from every node and township label (see the module docstring)."""
    cands, labels, centre, kx = _map_layout(disp)
    placed = nodes.dropna(subset=["lon", "lat"])
    obstacles = np.vstack([placed[["lon", "lat"]].to_numpy(dtype=float).reshape(-1, 2), labels])
    minx, miny, maxx, maxy = disp.bbox
    diag = math.hypot((maxx - minx) * kx, maxy - miny)
    r, length, half_h = STAR_RADIUS * diag, LABEL_LENGTH * diag, LABEL_HALF_HEIGHT * diag
    cx, cy = cands[:, 0:1] * kx, cands[:, 1:2]                   # drawn units, one row per candidate
    ox, oy = obstacles[None, :, 0] * kx, obstacles[None, :, 1]
    star = np.sqrt((ox - cx) ** 2 + (oy - cy) ** 2) - r
    gap = r + 0.2 * r                                            # ECharts leaves a small gap before the label
    segments = {"right": (cx + gap, cx + gap + length, cy), "left": (cx - gap - length, cx - gap, cy),
                "top": (cx - length / 2, cx + length / 2, cy + gap + half_h),
                "bottom": (cx - length / 2, cx + length / 2, cy - gap - half_h)}
    room = np.full((len(cands), len(LABEL_SIDES)), np.inf)
    if obstacles.size:
        for j, side in enumerate(LABEL_SIDES):
            x0, x1, y = segments[side]
            label = _segment_distance(ox, oy, x0, x1, y) - half_h
            room[:, j] = np.minimum(star, label).min(axis=1)
    best_side = room.argmax(axis=1)
    best_room = room[np.arange(len(cands)), best_side]
    to_centre = np.sqrt(((cands[:, 0] - centre[0]) * kx) ** 2 + (cands[:, 1] - centre[1]) ** 2)
    clear = best_room >= CLEARANCE * diag
    if clear.any():
        # among the clear points the one nearest the centre; its label on the first side that is clear
        i = int(np.flatnonzero(clear)[np.argmin(to_centre[clear])])
        side = next(sd for j, sd in enumerate(LABEL_SIDES) if room[i, j] >= CLEARANCE * diag)
    else:
        i = int(np.argmax(best_room))
        side = LABEL_SIDES[int(best_side[i])]
    return (float(round(cands[i, 0], 6)), float(round(cands[i, 1], 6))), side


def platform_position(nodes: pd.DataFrame, disp: DisplayGeometry,
                      platform_at: tuple[float, float] | None = None) -> tuple[float, float]:
    """Where the platform is drawn: ``platform_at`` when given, else ``platform_layout``'s point."""
    if platform_at is not None:
        return float(platform_at[0]), float(platform_at[1])
    return platform_layout(nodes, disp)[0]


def _hb(value: Any) -> str:
    if value is None or pd.isna(value):
        return "从未收到"
    return pd.Timestamp(value).strftime("%m-%d %H:%M:%S")


def exchange_option(disp: DisplayGeometry, nodes: pd.DataFrame, with_geo: bool = True,
                    platform_at: tuple[float, float] | None = None) -> dict:
    """The map option. ``nodes`` is ``service.node_states(...)``; ``with_geo`` False leaves out the GeoJSON
    (the browser registered it with the first option; saves ~the geometry's size on every refresh);
    ``platform_at`` (lon, lat) fixes the platform's point (default: see ``platform_position``)."""
    legend = [STATE_ZH[s] for s in ("normal", "running", "failed", "offline")]
    option = base_option(disp, show_labels=True, legend=legend + ["运行中任务"])
    option["legend"][0].update({"orient": "horizontal", "left": "center", "top": 8})
    option["geo"]["label"] = {"show": True, "fontSize": 10, "color": "#7b8794"}
    if not with_geo:
        option.pop("_geo", None)
    placed = nodes.dropna(subset=["lon", "lat"])
    if platform_at is not None:
        platform, label_side = (float(platform_at[0]), float(platform_at[1])), "right"
    else:
        platform, label_side = platform_layout(nodes, disp)
    for state in ("normal", "running", "failed", "offline"):
        grp = placed[placed["state"] == state]
        data = []
        for row in grp.itertuples(index=False):
            jobs = []
            if row.running_jobs:
                jobs.append(("运行中任务", "、".join(JOB_NAMES_ZH.get(j, j) for j in row.running_jobs)))
            if row.failed_jobs:
                jobs.append(("失败任务", "、".join(JOB_NAMES_ZH.get(j, j) for j in row.failed_jobs)))
            data.append({
                "name": row.name, "code": row.code, "value": [float(row.lon), float(row.lat)],
                "symbolSize": SIZE_BY_LEVEL.get(row.inst_level, 10),
                "tooltip": {"formatter": tooltip_html(row.name, [
                    ("状态", STATE_ZH.get(state, state)), ("主机", row.host or "—"), ("版本", row.version or "—"),
                    ("最近心跳", _hb(row.last_heartbeat_at)), *jobs])},
            })
        # failed and running nodes ripple so that they catch the eye
        animated = state in ("failed", "running")
        option["series"].append({
            "type": "effectScatter" if animated else "scatter", "name": STATE_ZH[state],
            "coordinateSystem": "geo", "zlevel": 2, "symbol": "circle",
            **({"rippleEffect": {"brushType": "stroke", "scale": 2.6, "period": 3}, "showEffectOn": "render"}
               if animated else {}),
            "itemStyle": {"color": STATE_COLORS[state], "borderColor": "#ffffff", "borderWidth": 1.2},
            "emphasis": {"scale": 1.4}, "data": data,
        })
    lines = []
    for row in placed[placed["running_jobs"].map(bool)].itertuples(index=False):
        for job in row.running_jobs:
            lines.append({"name": f"{row.name} · {JOB_NAMES_ZH.get(job, job)}", "code": row.code,
                          "coords": [[float(row.lon), float(row.lat)], list(platform)],
                          "tooltip": {"formatter": tooltip_html("正在上传", [
                              ("前置机", row.name), ("任务", JOB_NAMES_ZH.get(job, job))])}})
    option["series"].append({
        "type": "lines", "name": "运行中任务", "coordinateSystem": "geo", "zlevel": 1,
        "effect": {"show": True, "period": 3, "trailLength": 0, "symbol": "arrow", "symbolSize": 7,
                   "color": STATE_COLORS["running"]},
        "lineStyle": {"color": STATE_COLORS["running"], "width": 1.6, "opacity": 0.55, "curveness": 0.2},
        "data": lines,
    })
    option["series"].append({
        "type": "scatter", "name": PLATFORM_NAME, "coordinateSystem": "geo", "zlevel": 3, "symbol": STAR,
        "symbolSize": 30, "itemStyle": {"color": "#f0a202", "borderColor": "#8a5a00", "borderWidth": 1},
        "label": {"show": True, "formatter": PLATFORM_NAME, "position": label_side, "fontWeight": "bold",
                  "color": "#8a5a00"},
        "tooltip": {"formatter": tooltip_html(PLATFORM_NAME, [("接入前置机", f"{len(nodes)} 台")])},
        "data": [{"name": PLATFORM_NAME, "code": None, "value": list(platform)}],
    })
    option["legend"][0]["data"] = [{"name": n, "icon": "circle"} for n in legend] + [{"name": "运行中任务"}]
    option["color"] = [STATE_COLORS[s] for s in ("normal", "running", "failed", "offline")]
    return option
