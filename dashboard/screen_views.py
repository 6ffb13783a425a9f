"""View models of the command-centre wall /screen: engine rows and existing page views → what the wall shows.

Every number comes from the engine (``metrics.engine.compute`` through ``_pagekit``) or from the views the other
pages already use (the one-map options of ``callbacks.maps``, the cockpit's alert list, the exchange node states);
this module only picks, restyles for the dark wall and sizes fonts for the screen's width (``scale``: the wall's
CSS pixel width / 1920). ``open_alerts`` is the one seam to the alert list.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd

from dashboard.views import pagekit as kit
from layouts.formatting import fmt_month_zh, fmt_period_zh, fmt_value, target_phrase

log = logging.getLogger(__name__)

# the wall's headline indicators (county, latest month), in display order
SCREEN_HEADLINE_IDS: tuple[str, ...] = (
    "primary_visit_share", "in_county_ip_share", "insurance_in_county_share", "bed_occupancy",
    "alos", "op_cost_per_visit", "op_antibiotic_rate", "referral_acceptance",
)
IN_COUNTY_ID = "in_county_visit_rate"
IN_COUNTY_FALLBACK = "in_county_ip_share"
TREND_MONTHS = 12
# centre views in rotation order: (key, title)
CENTRE_VIEWS: tuple[tuple[str, str], ...] = (("reform", "双向转诊流向一张图"), ("inst", "医疗机构运行一张图"),
                                             ("health", "居民健康一张图"))
STATUS_COLORS = {"达标": "#3ddc84", "预警": "#ffb020", "未达标": "#ff5a5f", None: "#8fa3bf"}
TEXT, MUTED, GRID = "#e6f0ff", "#8fa3bf", "rgba(143,163,191,0.22)"
DEFAULT_ROTATE_S, DEFAULT_REFRESH_S = 30, 60


def _q(search: str | None, key: str, default: int, lo: int, hi: int) -> int:
    """An integer setting of the URL query (``?rotate=20&refresh=30``), clamped; the default when absent."""
    from urllib.parse import parse_qs
    try:
        value = int((parse_qs((search or "").lstrip("?")).get(key) or [default])[0])
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, value))


def timings(search: str | None) -> tuple[int, int]:
    """(rotation seconds, refresh seconds) from the URL query, defaults 30 s and 60 s."""
    return _q(search, "rotate", DEFAULT_ROTATE_S, 5, 3600), _q(search, "refresh", DEFAULT_REFRESH_S, 2, 3600)


def _state():
    return kit.view_state("?grain=month")


def _fs(px: float, scale: float) -> int:
    return max(10, int(round(px * scale)))


# ---------------------------------------------------------------------------------------------- headline tiles
def headline_tiles() -> tuple[list[dict[str, Any]], str]:
    """([{id, zh, value, target, status}], period label) of the county at the latest month (engine rows)."""
    state = _state()
    start, end = kit.bounds(state)
    ids_ = [i for i in SCREEN_HEADLINE_IDS if i in kit.catalogue()]
    df = kit.compute(ids_, "county", "month", start, end, None)
    tiles = []
    for i in ids_:
        entry = kit.indicator(i)
        rows = df[df["indicator_id"] == i]
        row = rows.iloc[-1] if not rows.empty else None
        value = kit.clean(row.get("value")) if row is not None else None
        status = kit.clean(row.get("status")) if row is not None else None
        tiles.append({"id": i, "zh": kit.attr(entry, "zh", i),
                      "value": fmt_value(value, kit.attr(entry, "unit") or "", int(kit.attr(entry, "decimals", 1) or 0)),
                      "target": target_phrase(kit.attr(entry, "target_text")),
                      "status": status if isinstance(status, str) else None})
    return tiles, fmt_period_zh(state.grain, state.period)


# ---------------------------------------------------------------------------------------------- referrals
def referral_trend_option(scale: float) -> tuple[dict, dict[str, str]]:
    """(ECharts option of up/down referrals per month with the down/up ratio, latest month's figures)."""
    state = _state()
    _, end = kit.bounds(state)
    df = kit.compute(["up_referrals", "down_referrals", "down_up_ratio"], "county", "month",
                     kit.add_months(end, -(TREND_MONTHS - 1)), end, None, False)
    wide = (df.pivot_table(index="period", columns="indicator_id", values="value", aggfunc="first").sort_index()
            if not df.empty else pd.DataFrame())
    months = list(wide.index)

    def col(name: str) -> list:
        if name not in wide:
            return [None] * len(months)
        return [None if pd.isna(v) else round(float(v), 2) for v in wide[name]]
    up, down, ratio = col("up_referrals"), col("down_referrals"), col("down_up_ratio")
    fs = _fs(15, scale)
    option = {
        "backgroundColor": "transparent", "animationDuration": 800,
        "grid": {"left": "3%", "right": "3%", "top": _fs(46, scale), "bottom": "4%", "containLabel": True},
        "legend": {"top": 0, "textStyle": {"color": TEXT, "fontSize": fs}, "itemWidth": _fs(18, scale),
                   "itemHeight": _fs(12, scale), "data": ["上转人次", "下转人次", "下转/上转比"]},
        "tooltip": {"trigger": "axis", "textStyle": {"fontSize": fs}},
        "xAxis": {"type": "category", "data": [f"{int(m[5:7])}月" if len(months) > 6 else fmt_month_zh(m)
                                               for m in months],
                  "axisLabel": {"color": MUTED, "fontSize": fs}, "axisLine": {"lineStyle": {"color": GRID}}},
        "yAxis": [{"type": "value", "axisLabel": {"color": MUTED, "fontSize": fs},
                   "splitLine": {"lineStyle": {"color": GRID}}},
                  {"type": "value", "axisLabel": {"color": MUTED, "fontSize": fs}, "splitLine": {"show": False}}],
        "series": [
            {"name": "上转人次", "type": "bar", "data": up, "itemStyle": {"color": "#ff7a45"}, "barGap": "10%"},
            {"name": "下转人次", "type": "bar", "data": down, "itemStyle": {"color": "#36a3ff"}},
            {"name": "下转/上转比", "type": "line", "yAxisIndex": 1, "data": ratio, "smooth": True,
             "symbolSize": _fs(7, scale), "lineStyle": {"width": max(2, 2 * scale), "color": "#ffd666"},
             "itemStyle": {"color": "#ffd666"}},
        ],
    }
    last = {"up": fmt_value(up[-1], "", 0) if up else "—", "down": fmt_value(down[-1], "", 0) if down else "—",
            "ratio": fmt_value(ratio[-1], "", 2) if ratio else "—",
            "month": fmt_month_zh(months[-1]) if months else "—"}
    return option, last


def in_county_gauge_option(scale: float) -> tuple[dict, str]:
    """(ECharts gauge of the county's in-county visit rate at the latest month with its target, caption)."""
    state = _state()
    start, end = kit.bounds(state)
    ind = IN_COUNTY_ID if IN_COUNTY_ID in kit.catalogue() else IN_COUNTY_FALLBACK
    entry = kit.indicator(ind)
    df = kit.compute([ind], "county", "month", start, end, None)
    row = df.iloc[-1] if not df.empty else None
    value = kit.clean(row.get("value")) if row is not None else None
    status = kit.clean(row.get("status")) if row is not None else None
    target = target_phrase(kit.attr(entry, "target_text"))
    color = STATUS_COLORS.get(status if isinstance(status, str) else None, STATUS_COLORS[None])
    option = {
        "backgroundColor": "transparent",
        "series": [{
            "type": "gauge", "min": 0, "max": 100, "startAngle": 210, "endAngle": -30, "radius": "92%",
            "center": ["50%", "58%"],
            "progress": {"show": True, "width": _fs(16, scale), "itemStyle": {"color": color}},
            "axisLine": {"lineStyle": {"width": _fs(16, scale), "color": [[1, "rgba(143,163,191,0.25)"]]}},
            "axisTick": {"show": False}, "splitLine": {"show": False},
            "axisLabel": {"show": False}, "pointer": {"show": False}, "anchor": {"show": False},
            "title": {"show": True, "offsetCenter": [0, "42%"], "color": MUTED, "fontSize": _fs(14, scale)},
            "detail": {"valueAnimation": True, "offsetCenter": [0, "0%"], "fontSize": _fs(34, scale),
                       "fontWeight": "bold", "color": TEXT, "formatter": "{value}%"},
            "data": [{"value": round(float(value), 1) if value is not None else 0, "name": target}],
        }],
    }
    return option, kit.attr(entry, "zh", ind)


# ---------------------------------------------------------------------------------------------- alerts (seam)
def open_alerts(limit: int = 20) -> list[dict[str, str]]:
    """Open alerts worst first as {org, indicator, value, target, status, message}: the alert store's open alerts
    in the wall's scope (the county); the cockpit's computed threshold list only while the store holds none."""
    stored = stored_open_alerts(limit)
    if stored:
        return stored
    from dashboard.views.alert_list import alerts_frame
    df = alerts_frame("?grain=month")
    out = []
    for r in df.head(limit).itertuples():
        entry = kit.indicator(r.indicator_id)
        out.append({"org": str(r.org_name), "indicator": kit.attr(entry, "zh", r.indicator_id),
                    "value": fmt_value(kit.clean(r.value), kit.attr(entry, "unit") or "",
                                       int(kit.attr(entry, "decimals", 1) or 0)),
                    "target": target_phrase(kit.attr(entry, "target_text")), "status": str(r.status)})
    return out


STORE_SEVERITY_STATUS = {"high": "严重", "medium": "一般", "low": "提示"}


def stored_open_alerts(limit: int = 20) -> list[dict[str, str]]:
    """The alert store's open alerts the wall's user may see, worst first (empty when the store has none)."""
    from dashboard.alerts.store import list_alerts
    from dashboard.app import get_config
    try:
        df = list_alerts(get_config().app_db_url, kit.scope(), "open")
    except Exception:
        log.exception("大屏读取预警库失败，改用计算的预警列表")
        return []
    out = []
    for r in df.head(limit).to_dict("records"):
        entry = kit.indicator(r["indicator_id"]) if r["indicator_id"] else None
        out.append({"org": str(r["org_name"] or ""),
                    "indicator": kit.attr(entry, "zh", r["indicator_id"]) if entry else "",
                    "value": "", "target": "", "status": STORE_SEVERITY_STATUS.get(r["severity"], "一般"),
                    "message": str(r["message"])})
    return out


# ---------------------------------------------------------------------------------------------- maps
def _darken(option: dict, scale: float) -> dict:
    """The one-map options of the light pages restyled for the dark wall, fonts and symbols sized for it."""
    option = dict(option)
    option["backgroundColor"] = "transparent"
    option.pop("toolbox", None)
    geo = option.get("geo")
    geos = geo if isinstance(geo, list) else [geo] if geo else []
    for g in geos:
        g["roam"] = False
        g.setdefault("itemStyle", {}).update({"borderColor": "#4fa3ff", "borderWidth": 1.2})
        if g["itemStyle"].get("areaColor") in (None, "#e8eef5"):
            g["itemStyle"]["areaColor"] = "#10325e"
        g.setdefault("label", {}).update({"color": TEXT, "fontSize": _fs(14, scale)})
        g["layoutSize"] = "96%"
        for region in g.get("regions") or []:
            # names on a choropleth's (light) fill stay dark; on the plain dark map they turn light
            filled = (region.get("itemStyle") or {}).get("areaColor") not in (None, "#e8eef5")
            if not filled:
                region.setdefault("itemStyle", {})["areaColor"] = "#10325e"
            region.setdefault("label", {}).update({"color": "#0b1a33" if filled else TEXT,
                                                   "fontSize": _fs(13, scale)})
    for legend in option.get("legend") or []:
        legend.setdefault("textStyle", {}).update({"color": TEXT, "fontSize": _fs(15, scale)})
        legend["itemWidth"] = legend["itemHeight"] = _fs(14, scale)
    for series in option.get("series") or []:
        if series.get("type") == "lines" and series.get("name") == "县界":
            series["lineStyle"] = {**series.get("lineStyle", {}), "color": "#7fd1ff", "width": 2.5 * max(1, scale)}
        label = series.get("label")
        if isinstance(label, dict):
            label["fontSize"] = _fs(label.get("fontSize") or 13, scale)
            label["color"] = label.get("color") if series.get("type") != "scatter" else TEXT
        grow = max(1.0, scale)      # symbols and lines keep their share of a 4K wall
        if isinstance(series.get("symbolSize"), (int, float)):
            series["symbolSize"] = float(series["symbolSize"]) * grow
        for item in series.get("data") or []:
            if isinstance(item, dict) and isinstance(item.get("symbolSize"), (int, float)):
                item["symbolSize"] = float(item["symbolSize"]) * grow
            if isinstance(item, dict) and isinstance((item.get("lineStyle") or {}).get("width"), (int, float)):
                item["lineStyle"] = {**item["lineStyle"], "width": float(item["lineStyle"]["width"]) * grow}
            if isinstance(item, dict) and isinstance(item.get("label"), dict):
                item["label"]["fontSize"] = _fs(item["label"].get("fontSize") or 13, scale)
        effect = series.get("effect")
        if isinstance(effect, dict) and effect.get("symbolSize"):
            effect["symbolSize"] = effect["symbolSize"] * max(1.0, scale)
        if series.get("type") == "scatter" and series.get("name") == "机构":
            series["itemStyle"] = {"color": "#e6f0ff", "borderColor": "#0b1a33", "borderWidth": 1}
    tooltip = option.get("tooltip")
    if isinstance(tooltip, list):
        for t in tooltip:
            t["show"] = False
    elif isinstance(tooltip, dict):
        tooltip["show"] = False
    return option


def centre_map(view: str, scale: float) -> tuple[dict | None, str]:
    """(dark option, caption) of one centre view: ``reform`` flows, ``inst`` institutions, ``health`` townships."""
    from dashboard.views import maps
    build = {"reform": maps.reform_view, "inst": maps.institutions_view, "health": maps.health_view}[view]
    option, subtitle, _legend, _notice = build("?grain=month")
    if option is None:
        return None, subtitle
    return _darken(option, scale), subtitle


def node_counts(nodes: pd.DataFrame) -> dict[str, int]:
    """{total, online, failed, offline, running} of the nodes' states. Online is every node heard from within three
    heartbeat intervals, a node whose last job failed included (it is online, its job failed: the 交换节点在线率 of
    数据质量 counts it so), so that 在线 and 离线 add up to the total beside the failed jobs."""
    states = nodes["state"].value_counts() if not nodes.empty else pd.Series(dtype=int)
    offline = int(states.get("offline", 0))
    return {"total": int(len(nodes)), "online": int(len(nodes)) - offline, "running": int(states.get("running", 0)),
            "failed": int(states.get("failed", 0)), "offline": offline}


def exchange_panel(scale: float, with_geo: bool = True) -> tuple[dict | None, dict[str, int]]:
    """(dark node-map option, counts {total, online, failed, offline, running}) of the exchange nodes now."""
    from dashboard.app import get_config
    from dashboard.exchange import service as svc
    from dashboard.exchange.mapview import exchange_option
    from geo.store import GeometryMissing, display_geometry
    cfg = get_config()
    nodes = svc.node_states(cfg, svc.now_local())
    counts = node_counts(nodes)
    try:
        option = exchange_option(display_geometry(cfg.geo_dir), nodes, with_geo=with_geo)
    except GeometryMissing:
        return None, counts
    option = _darken(option, scale * 0.8)
    for g in option.get("geo") if isinstance(option.get("geo"), list) else [option.get("geo")]:
        if g:
            g["label"]["show"] = False
    for legend in option.get("legend") or []:
        legend["show"] = False
    for series in option.get("series") or []:
        if isinstance(series.get("label"), dict) and series.get("type") == "scatter":
            series["label"]["show"] = False
    return option, counts


def data_as_of() -> str:
    """'数据截至 2026年11月30日' from the mart's last data day."""
    from queries import periods
    last = periods.last_data_date(kit.mart_url())
    if last is None or not hasattr(last, "year"):
        return "数据截至 —"
    return f"数据截至 {last.year}年{last.month}月{last.day}日"


def now_text(now: dt.datetime | None = None) -> str:
    """The refresh time shown beside the clock."""
    from dashboard.exchange import service as svc
    now = now or svc.now_local()
    return f"{now:%H:%M:%S} 更新"
