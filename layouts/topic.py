"""专题 /topic/<topic>: a grid of the topic's indicators (value, status, small trend) linking to their analysis."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import page_header
from layouts._nav import page_title
from layouts._pageparts import BOARD_TOPICS, TOPIC_GRID, TOPIC_ID, TOPIC_SUBTITLE, TOPIC_TABS


def _title(topic: str | None = None) -> str:
    """Browser title of one board: its name, as in the menu."""
    return page_title(BOARD_TOPICS.get(topic or "", "专题"))


dash.register_page(__name__, path_template="/topic/<topic>", title=_title, name="专题", order=30, nav_group="专题",
                   nav_entries=tuple((f"/topic/{key}", label) for key, label in BOARD_TOPICS.items()))


def layout(topic: str | None = None, **_query: Any) -> html.Div:
    """Skeleton of a topic board; unknown topics get a clear message."""
    if topic not in BOARD_TOPICS:
        return html.Div([page_header("专题"), html.Div(
            f"未找到专题“{topic}”。可选：" + "、".join(BOARD_TOPICS.values()), className="page-notice")],
            className="page page-topic")
    return html.Div([
        dcc.Store(id=TOPIC_ID, data=topic),
        page_header(f"专题 · {BOARD_TOPICS[topic]}", html.Span(" ", id=TOPIC_SUBTITLE)),
        html.Nav(id=TOPIC_TABS, className="topic-tabs"),
        dcc.Loading(html.Div(html.Div(className="chart-placeholder", style={"height": "420px"}),
                             id=TOPIC_GRID, className="kpi-grid"), type="dot"),
    ], className="page page-topic")
