"""指挥中心大屏 /screen: the command-centre wall (16:9, 1920×1080 up to 3840×2160), dark, no navigation chrome.

The layout is a fixed full-viewport canvas sized in units of the wall (``--u`` = 1/1920 of its width, see
assets/screen.css), so that 1920×1080, 3840×2160 and 1366×768 show the same picture at their own size with no
scrollbar. ``dashboard.callbacks.screen`` fills the panels, refreshes them on a timer and rotates the centre map;
a click anywhere pauses or resumes the rotation. URL settings: ``?rotate=30`` (seconds per view), ``?refresh=60``.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from core.config import load_config
from layouts import _screen_parts as P
from layouts._components import echarts

dash.register_page(__name__, path="/screen", title="指挥中心大屏 · 医共体运营监测平台", name="指挥中心大屏",
                   toolbar=False, order=95, nav_icon="▣")

def _panel(title: str, body: Any, className: str = "", extra: Any = None) -> html.Section:
    return html.Section([html.Div([html.H2(title, className="sc-panel-title"), extra], className="sc-panel-head"),
                         html.Div(body, className="sc-panel-body")], className=f"sc-panel {className}".strip())


def _back_link() -> list[Any]:
    """A discreet way back to the platform for a leader (the wall's own account has no other page)."""
    from layouts._shell import user_info
    info = user_info() or {}
    return [dcc.Link("返回平台", href="/", className="sc-back")] if info.get("role") == "leader" else []


def seconds(value: Any, default: int, lo: int, hi: int) -> int:
    """A timer setting of the URL query in seconds, clamped to [lo, hi]; ``default`` when absent or not a number."""
    try:
        return max(lo, min(hi, int(str(value))))
    except (TypeError, ValueError):
        return default


def layout(**query: Any) -> html.Div:
    """The wall's skeleton; ``query`` may set ``rotate`` (seconds per centre view, default 30) and ``refresh``
    (seconds between data refreshes, default 60)."""
    rotate = seconds(query.get("rotate"), P.DEFAULT_ROTATE_S, 5, 3600)
    refresh = seconds(query.get("refresh"), P.DEFAULT_REFRESH_S, 2, 3600)
    return html.Div([
        dcc.Store(id=P.SCALE),
        dcc.Interval(id=P.ROTATE, interval=rotate * 1000),
        dcc.Interval(id=P.REFRESH, interval=refresh * 1000),
        html.Header([
            html.Div([html.Span("医", className="sc-mark"), html.H1("县域医共体运营监测指挥中心")],
                     className="sc-brand"),
            html.Div([
                html.Span(id=P.ASOF, className="sc-asof"),
                html.Span(id=P.UPDATED, className="sc-updated"),
                html.Span("● 连接中断，正在重试", id=P.CONN_MARK, className="sc-conn", role="status"),
                html.Span("⏸ 轮播已暂停", id=P.PAUSE_MARK, className="sc-pause"),
                html.Span(id=P.CLOCK, className="sc-clock", **{"data-tz": load_config().mart_timezone}),
                *_back_link(),
            ], className="sc-status"),
        ], className="sc-header"),
        html.Div([
            html.Div([
                _panel("核心指标", html.Div(id=P.KPIS, className="sc-kpis"), "sc-kpi-panel",
                       html.Span(id=P.KPI_PERIOD, className="sc-panel-note")),
            ], className="sc-col sc-left"),
            html.Div([
                _panel("", [echarts(P.CHART_CENTRE, "100%", "sc-chart"),
                            html.Div(id=P.CENTRE_CAPTION, className="sc-caption")], "sc-centre",
                       html.Div([html.H2(id=P.CENTRE_TITLE, className="sc-panel-title sc-centre-title"),
                                 html.Div(id=P.CENTRE_DOTS, className="sc-dots")], className="sc-centre-head")),
            ], className="sc-col sc-mid"),
            html.Div([
                _panel("双向转诊（近12个月）", [html.Div(id=P.REF_FIGURES, className="sc-figures"),
                                          echarts(P.CHART_TREND, "100%", "sc-chart")], "sc-trend"),
                html.Div([
                    _panel("县域就诊率", [echarts(P.CHART_GAUGE, "100%", "sc-chart"),
                                      html.Div(id=P.GAUGE_TITLE, className="sc-caption")], "sc-gauge"),
                    _panel("数据交换前置机", [html.Div(id=P.EX_COUNTS, className="sc-ex-counts"),
                                        echarts(P.CHART_NODES, "100%", "sc-chart")], "sc-nodes"),
                ], className="sc-row2"),
            ], className="sc-col sc-right"),
        ], className="sc-grid"),
        html.Footer([html.Span("预警", className="sc-ticker-label"),
                     html.Div(html.Div(id=P.TICKER, className="sc-ticker-track"), className="sc-ticker-window")],
                    className="sc-ticker"),
    ], id=P.ROOT, className="screen-root", n_clicks=0)
