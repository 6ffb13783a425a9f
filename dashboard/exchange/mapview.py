"""ECharts option of the exchange map: township outlines, nodes coloured by state, the platform as a star and
running jobs as moving lines from their node to the platform.

Built on ``geo.options.base_option`` (the county's geo component, shared with the 一张图 maps). Every node item
carries its ``code`` so that a click can be resolved on the server.
"""
from __future__ import annotations

from typing import Any

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


def platform_position(nodes: pd.DataFrame, disp: DisplayGeometry | None) -> tuple[float, float] | None:
    """Where the platform is drawn: the lead (general) hospital's node, else a county-level node, else the
    county's centre."""
    placed = nodes.dropna(subset=["lon", "lat"])
    for cond in (placed["inst_type"] == "general_hospital", placed["inst_level"] == "county"):
        hit = placed[cond]
        if len(hit):
            return float(hit.iloc[0]["lon"]), float(hit.iloc[0]["lat"])
    if disp is not None:
        minx, miny, maxx, maxy = disp.bbox
        return (minx + maxx) / 2, (miny + maxy) / 2
    return None


def _hb(value: Any) -> str:
    if value is None or pd.isna(value):
        return "从未收到"
    return pd.Timestamp(value).strftime("%m-%d %H:%M:%S")


def exchange_option(disp: DisplayGeometry, nodes: pd.DataFrame, with_geo: bool = True) -> dict:
    """The map option. ``nodes`` is ``service.node_states(...)``; ``with_geo`` False leaves out the GeoJSON
    (the browser registered it with the first option; saves ~the geometry's size on every refresh)."""
    legend = [STATE_ZH[s] for s in ("normal", "running", "failed", "offline")]
    option = base_option(disp, show_labels=True, legend=legend + ["运行中任务"])
    option["legend"][0].update({"orient": "horizontal", "left": "center", "top": 8})
    option["geo"]["label"] = {"show": True, "fontSize": 10, "color": "#7b8794"}
    if not with_geo:
        option.pop("_geo", None)
    placed = nodes.dropna(subset=["lon", "lat"])
    platform = platform_position(nodes, disp)
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
    if platform is not None:
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
            "label": {"show": True, "formatter": PLATFORM_NAME, "position": "right", "fontWeight": "bold",
                      "color": "#8a5a00"},
            "tooltip": {"formatter": tooltip_html(PLATFORM_NAME, [("接入前置机", f"{len(nodes)} 台")])},
            "data": [{"name": PLATFORM_NAME, "code": None, "value": list(platform)}],
        })
    option["legend"][0]["data"] = [{"name": n, "icon": "circle"} for n in legend] + [{"name": "运行中任务"}]
    option["color"] = [STATE_COLORS[s] for s in ("normal", "running", "failed", "offline")]
    return option
