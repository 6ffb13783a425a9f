"""Tests-only pages (registered by the ``live_server`` fixture, not in the nav): a blank page showing only the
shell (``SHELL_PATH``) and a page exercising the ECharts bridge (``PATH``).

They live under ``/map/`` so that the role gate lets leaders and managers open them (no path template there). The chart option is the
Store's initial data (the clientside render fires on load); a clientside callback copies every click payload
from the click Store into ``#bridge-test-click`` so the test can see that Dash callbacks receive clicks.
"""
from __future__ import annotations

import dash
from dash import Input, Output, html

from layouts import _ids as ids
from layouts._components import echarts

PATH = "/map/_bridge_test"
SHELL_PATH = "/map/_shell_test"
NAME = "bridge-test"
CLICK_OUT = "bridge-test-click"

OPTION = {
    "animation": False,
    "xAxis": {"type": "category", "data": ["城关镇", "东乡镇", "西乡镇"]},
    "yAxis": {"type": "value"},
    "series": [{"type": "bar", "name": "门急诊人次", "data": [120, 80, 60], "barWidth": "60%"}],
}

_registered = {"done": False}


def layout(**_query: str) -> html.Div:
    """The test page: one chart and the click echo."""
    chart = echarts(NAME, height=300)
    # The option Store's initial data triggers the first render.
    chart.children[1].data = OPTION
    return html.Div([html.H2("ECharts 桥接测试"), chart, html.Pre(id=CLICK_OUT, children="")])


def register_bridge_test_page() -> None:
    """Register the page and its echo callback (idempotent; call before the app's first request)."""
    if _registered["done"]:
        return
    dash.register_page(__name__ + "_shell", path=SHELL_PATH, name="外壳测试", title="外壳测试", nav=False,
                       layout=lambda **_kw: html.Div(html.H2("外壳测试")))
    dash.register_page(__name__, path=PATH, name="ECharts 桥接测试", title="ECharts 桥接测试",
                       layout=layout, toolbar=False, nav=False)
    dash.clientside_callback(
        "function(click) { return click ? JSON.stringify(click) : ''; }",
        Output(CLICK_OUT, "children"), Input(ids.echarts_click(NAME), "data"),
    )
    _registered["done"] = True
