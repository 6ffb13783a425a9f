"""Callbacks of the 专题 boards /topic/<topic>: one card per indicator of the topic."""
from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc

from dashboard.views import output_cache
from dashboard.views import pagekit as kit
from dashboard.views.cards import SPARK_MONTHS
from dashboard.views.cards import card as _card
from dashboard.views.cards import compute_each as _compute_each
from layouts import _ids as ids
from layouts import _pageparts as L
from layouts._components import kpi_card
from layouts.formatting import display_target, fmt_period_zh


def topic_ids(topic: str) -> list[str]:
    """Indicators of a topic in catalogue order."""
    return [i for i, e in kit.catalogue().items() if kit.attr(e, "topic") == topic]


def unavailable_note(entry: Any, level: str) -> str:
    """Why a topic card has no value, in Chinese: not computable from the data contract, computed by the
    exchange module, or not counted at the org's level (the catalogue's English reasons stay out of pages)."""
    if not kit.attr(entry, "available", True):
        return kit.attr(entry, "unavailable_zh") or "暂不可计算"
    if kit.attr(entry, "kind") == "exchange":
        return "数据交换指标，见数据质量页"
    return kit.level_note(entry, level) or f"不支持按{kit.LEVEL_ZH.get(level, level)}统计"


def render_tabs(topic: str, search: str | None) -> list[Any]:
    state = kit.view_state(search)
    return [dcc.Link(name, href=kit.href(f"/topic/{key}", state),
                     className="topic-tab active" if key == topic else "topic-tab")
            for key, name in L.BOARD_TOPICS.items()]


def render_grid(topic: str, search: str | None) -> tuple[list[Any], str]:
    """Cards of the topic: computed ones for the org's level, explained ones where it cannot be computed."""
    state = kit.view_state(search)
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    start, end = kit.bounds(state)
    all_ids = topic_ids(topic)
    computable = [i for i in all_ids if kit.attr(kit.indicator(i), "available", True)
                  and kit.attr(kit.indicator(i), "kind") != "exchange" and level in (kit.attr(kit.indicator(i),
                                                                                         "levels") or ())]
    current, failed = _compute_each(computable, level, state.grain, start, end, state.org) if computable else (
        pd.DataFrame(columns=["indicator_id"]), set())
    months, failed_spark = _compute_each(computable, level, "month", kit.add_months(end, -(SPARK_MONTHS - 1)),
                                         end, state.org, False) if computable else (
        pd.DataFrame(columns=["indicator_id"]), set())
    cards: list[Any] = []
    for i in all_ids:
        entry = kit.indicator(i)
        name = kit.attr(entry, "zh", i)
        if i not in computable:
            cards.append(kpi_card(name, None, kit.attr(entry, "unit"),
                                  target_text=display_target(kit.attr(entry, "target_text")),
                                  note=unavailable_note(entry, level), card_id={"type": "topic-card", "id": i}))
            continue
        if i in failed:
            cards.append(kit.error_box(name))
            continue
        rows = current[current["indicator_id"] == i]
        spark = months[months["indicator_id"] == i] if i not in failed_spark else months.iloc[0:0]
        cards.append(kit.guarded(name, lambda i=i, rows=rows, spark=spark: _card(
            i, rows.iloc[-1] if not rows.empty else None, spark, state, card_type="topic-card")))
    org_name = path[-1].name if path and level != "county" else "全县"
    return cards, f"{fmt_period_zh(state.grain, state.period)} · {org_name}"


def register(app: dash.Dash) -> None:
    """Wire the topic boards' callbacks."""

    @app.callback(Output(L.TOPIC_TABS, "children"), Output(L.TOPIC_GRID, "children"),
                  Output(L.TOPIC_SUBTITLE, "children"), Input(L.TOPIC_ID, "data"), State(ids.URL, "search"))
    def _board(topic, search):
        try:
            tabs = render_tabs(topic, search)
        except Exception:  # noqa: BLE001
            kit.log.exception("topic tabs failed")
            tabs = []
        try:
            state = kit.view_state(search)
            cards, subtitle = output_cache.cached(
                "topic.grid", output_cache.mart_version(topic_ids(topic)),
                (topic, *output_cache.view_parts(state)), lambda: render_grid(topic, search))
        except Exception:  # noqa: BLE001
            kit.log.exception("topic grid failed")
            cards, subtitle = [kit.error_box("专题指标")], ""
        return tabs, cards, subtitle
