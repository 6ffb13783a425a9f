"""Ids, choices and pure builders of the pages 数据交换监测 (/exchange) and 数据质量 (/quality).

Kept apart from the page modules so that callbacks import the ids from here (Dash imports page modules itself).
No queries here.
"""
from __future__ import annotations

from typing import Any

from dash import html

# ------------------------------------------------------------------------------------------------ /exchange ids
EX_READY = "ex-ready"              # Store set by the layout: first render + visibility listener
EX_INTERVAL = "ex-interval"        # dcc.Interval (10 s), disabled while the tab is hidden
EX_TICK = "ex-tick"                # Store bumped after a re-run / settings save (forces a refresh)
EX_NODE = "ex-node"                # Store: selected node code
EX_FOCUS = "ex-focus"              # Store: {code, lon, lat, zoom} to centre the map on (a node with a saved zoom)
EX_FOCUSED = "ex-focused"          # Store: the view the map was moved to (written by the clientside focus)
EX_RUN = "ex-run"                  # Store: selected run id
EX_PAGE = "ex-page"                # Store: page of the run table (1-based)
EX_SUBTITLE = "ex-subtitle"
EX_SUMMARY = "ex-summary"
EX_DETAIL = "ex-detail"
EX_MAP = "exchange-map"            # ECharts bridge name
EX_NODES = "ex-nodes"              # node grid
EX_F_STATE = "ex-f-state"
EX_F_TYPE = "ex-f-type"
EX_F_TEXT = "ex-f-text"
EX_RUNS = "ex-runs"                # run grid
EX_R_STATUS = "ex-r-status"
EX_R_NODE = "ex-r-node"
EX_R_JOB = "ex-r-job"
EX_R_DATES = "ex-r-dates"
EX_R_PREV = "ex-r-prev"
EX_R_NEXT = "ex-r-next"
EX_R_PAGER = "ex-r-pager"
EX_LOG_HEAD = "ex-log-head"
EX_LOG = "ex-log"
EX_RERUN_BOX = "ex-rerun-box"      # holds the re-run button (operators only) and the command state
EX_RERUN_BTN = "ex-rerun-btn"
EX_RERUN_CONFIRM = "ex-rerun-confirm"
EX_RERUN_MSG = "ex-rerun-msg"
EX_SET_NODE = "ex-set-node"
EX_SET_LON = "ex-set-lon"
EX_SET_LAT = "ex-set-lat"
EX_SET_ZOOM = "ex-set-zoom"
EX_SET_CITY = "ex-set-city"
EX_SET_ADDR = "ex-set-addr"
EX_SET_SAVE = "ex-set-save"
EX_SET_MSG = "ex-set-msg"

REFRESH_MS = 10_000
RUN_PAGE_SIZE = 20

# ------------------------------------------------------------------------------------------------ /quality ids
Q_READY = "q-ready"
Q_DAYS = "q-days"
Q_FIGURE = "q-figure"
Q_SUBTITLE = "q-subtitle"
Q_KPIS = "q-kpis"
Q_TREND = "q-trend"
Q_INST = "q-inst"                  # figures by institution grid
Q_HEAT = "q-heat"                  # institution × day heat map
Q_LAST = "q-last"                  # last upload per institution and job grid
Q_BEHIND = "q-behind"              # behind-schedule list
Q_NOTICE = "q-notice"

DAY_OPTIONS = [{"label": f"近 {n} 天", "value": n} for n in (7, 14, 30)]
DEFAULT_DAYS = 14

# ------------------------------------------------------------------------------------------------ labels, colours
STATE_COLORS = {"normal": "#2e9d5b", "running": "#2a7de1", "failed": "#d64545", "offline": "#8c96a3"}
STATE_ZH = {"normal": "正常", "running": "运行中", "failed": "失败", "offline": "离线"}
STATE_OPTIONS = [{"label": STATE_ZH[s], "value": s} for s in ("normal", "running", "failed", "offline")]
RUN_STATUS_OPTIONS = [{"label": "运行中", "value": "running"}, {"label": "成功", "value": "success"},
                      {"label": "失败", "value": "failed"}]
INST_TYPE_OPTIONS = [{"label": "县级医院", "value": "county"}, {"label": "乡镇卫生院/社区中心", "value": "township"},
                     {"label": "村卫生室", "value": "village"}]


def state_pill(state: str, text: str | None = None) -> html.Span:
    """A coloured pill for a node state (正常 green, 运行中 blue, 失败 red, 离线 grey)."""
    return html.Span(text or STATE_ZH.get(state, state), className=f"ex-pill ex-state-{state}")


def state_legend() -> html.Div:
    """Legend of the exchange map: node states, the platform and the moving lines."""
    rows = [html.Div([html.Span(className="map-swatch map-swatch-dot", style={"background": STATE_COLORS[s]}),
                      html.Span(STATE_ZH[s])], className="map-legend-row")
            for s in ("normal", "running", "failed", "offline")]
    rows.append(html.Div([html.Span("★", className="ex-star"), html.Span("数据中心平台")],
                         className="map-legend-row"))
    rows.append(html.Div([html.Span(className="map-swatch map-swatch-line",
                                    style={"background": STATE_COLORS["running"]}),
                          html.Span("正在上传的任务")], className="map-legend-row"))
    return html.Div([html.Div("前置机状态", className="map-legend-title"), *rows,
                     html.Div("离线：超过 3 个心跳周期未收到心跳", className="map-legend-note")],
                    className="map-legend")


def field(label: str, control: Any, hint: str | None = None) -> html.Label:
    """A form row: label, control and an optional hint."""
    return html.Label([html.Span(label, className="ex-form-label"), control,
                       html.Span(hint, className="ex-form-hint") if hint else None], className="ex-form-field")


def facts(rows: list[tuple[str, Any]]) -> html.Dl:
    """A definition list of (label, value) rows."""
    items: list[Any] = []
    for k, v in rows:
        items += [html.Dt(k), html.Dd(v if v not in (None, "") else "—")]
    return html.Dl(items, className="ex-facts")
