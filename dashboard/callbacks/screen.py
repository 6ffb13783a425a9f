"""Callbacks of the command-centre wall /screen (roles leader and screen; the web gate checks the module).

Server callbacks fill the panels from ``dashboard.screen_views`` on every refresh tick (``screen-refresh``) and
rotate the centre map on ``screen-rotate``; a failure keeps the panel as it was (logged, never an error card on
the wall). Clientside callbacks measure the wall (font scale) and pause/resume the rotation on a click; the
clock and the lost-connection marker live in assets/screen.js.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, html, no_update

from dashboard import screen_views as V
from layouts import _ids as ids
from layouts import _screen_parts as S

log = logging.getLogger(__name__)

STATUS_CLASS = {"达标": "st-ok", "预警": "st-warn", "未达标": "st-bad", "严重": "st-bad", "一般": "st-warn",
                "提示": "st-warn"}


def _safe(name: str, n_out: int, build: Callable[[], tuple]) -> tuple:
    """``build()``, or no_update for every output when it fails: the wall keeps what it shows."""
    try:
        return build()
    except Exception:
        log.exception("screen panel %s failed", name)
        return (no_update,) * n_out


def _scale(value: Any) -> float:
    try:
        return max(0.5, min(3.0, float(value)))
    except (TypeError, ValueError):
        return 1.0


def kpi_tiles() -> tuple[list[Any], str]:
    """The headline tiles (value, target, status colour) and the period they show."""
    tiles, period = V.headline_tiles()
    out = []
    for t in tiles:
        out.append(html.Div([
            html.Div(t["zh"], className="sc-kpi-name"),
            html.Div(t["value"], className="sc-kpi-value"),
            html.Div([t["target"], html.Span(t["status"] or "", className="sc-kpi-status")],
                     className="sc-kpi-target"),
        ], className=f"sc-kpi {STATUS_CLASS.get(t['status'], 'st-none')}"))
    return out, period


def ticker_items(alerts: list[dict[str, str]]) -> list[Any]:
    """The rolling alert line: one item per open alert, worst first."""
    if not alerts:
        return [html.Span("当前无超出目标的机构指标", className="sc-alert sc-alert-none")]
    return [html.Span([html.Span(f"【{a['status']}】", className=STATUS_CLASS.get(a["status"], "")),
                       a["message"]] if a.get("message") else
                      [html.Span(f"【{a['status']}】", className=STATUS_CLASS.get(a["status"], "")),
                       a["org"], html.B(a["indicator"]), f"{a['value']}（{a['target']}）"],
                      className="sc-alert") for a in alerts]


def _fig(label: str, value: str, cls: str) -> html.Div:
    return html.Div([html.B(value), html.Span(label)], className=f"sc-fig {cls}")


def register(app: dash.Dash) -> None:
    """Wire the wall's callbacks."""
    app.clientside_callback(ClientsideFunction(namespace="screen", function_name="scale"),
                            Output(S.SCALE, "data"), Input(S.ROOT, "id"))
    app.clientside_callback(ClientsideFunction(namespace="screen", function_name="pause"),
                            Output(S.ROTATE, "disabled"), Output(S.ROOT, "className"),
                            Input(S.ROOT, "n_clicks"))

    @app.callback(Output(S.KPIS, "children"), Output(S.KPI_PERIOD, "children"), Output(S.ASOF, "children"),
                  Output(S.UPDATED, "children"), Output(S.TICKER, "children"), Output(S.TICKER, "style"),
                  Input(S.SCALE, "data"), Input(S.REFRESH, "n_intervals"))
    def _headline(_scale_value, _n):
        def build() -> tuple:
            tiles, period = kpi_tiles()
            alerts = V.open_alerts()
            # the ticker's speed follows its length: about 4 s per alert, at least 30 s a round
            style = {"--ticker-s": f"{max(30, 6 * len(alerts))}s"}
            return tiles, period, V.data_as_of(), V.now_text(), ticker_items(alerts), style
        return _safe("headline", 6, build)

    @app.callback(Output(ids.echarts_option(S.CHART_CENTRE), "data"), Output(S.CENTRE_TITLE, "children"),
                  Output(S.CENTRE_CAPTION, "children"), Output(S.CENTRE_DOTS, "children"),
                  Input(S.SCALE, "data"), Input(S.ROTATE, "n_intervals"), Input(S.REFRESH, "n_intervals"))
    def _centre(scale, n_rotate, _n):
        def build() -> tuple:
            index = (n_rotate or 0) % len(V.CENTRE_VIEWS)
            key, title = V.CENTRE_VIEWS[index]
            option, caption = V.centre_map(key, _scale(scale))
            dots = [html.Span(className="sc-dot on" if i == index else "sc-dot") for i in range(len(V.CENTRE_VIEWS))]
            return option, title, caption, dots
        return _safe("centre", 4, build)

    @app.callback(Output(ids.echarts_option(S.CHART_TREND), "data"), Output(S.REF_FIGURES, "children"),
                  Output(ids.echarts_option(S.CHART_GAUGE), "data"), Output(S.GAUGE_TITLE, "children"),
                  Input(S.SCALE, "data"), Input(S.REFRESH, "n_intervals"))
    def _referrals(scale, _n):
        def build() -> tuple:
            trend, last = V.referral_trend_option(_scale(scale))
            gauge, zh = V.in_county_gauge_option(_scale(scale))
            figures = [_fig(f"{last['month']}上转人次", last["up"], "up"),
                       _fig(f"{last['month']}下转人次", last["down"], "down"),
                       _fig("下转/上转比", last["ratio"], "ratio")]
            return trend, figures, gauge, f"{zh}（全县，最近一月）"
        return _safe("referrals", 4, build)

    @app.callback(Output(ids.echarts_option(S.CHART_NODES), "data"), Output(S.EX_COUNTS, "children"),
                  Input(S.SCALE, "data"), Input(S.REFRESH, "n_intervals"))
    def _exchange(scale, _n):
        def build() -> tuple:
            option, c = V.exchange_panel(_scale(scale))
            # a colour says something only when the count is not 0 (no green "0/25 在线" beside "25 离线")
            counts = [_fig("在线", f"{c['online']}/{c['total']}", "ok" if c["online"] else "off"),
                      _fig("任务失败", str(c["failed"]), "bad" if c["failed"] else "off"),
                      _fig("离线", str(c["offline"]), "off")]
            return option, counts
        return _safe("exchange", 2, build)
