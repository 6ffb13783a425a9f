"""指标目录 /indicators: every catalogue indicator by theme with its definition, target and the county's value.

The values come from one engine call (``metrics.engine.compute``, its own cache) for every indicator that can be
computed at county level, for the mart's last complete month. Indicators that cannot be computed show why.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.views import pagekit as kit
from layouts._components import status_badge
from layouts.formatting import NO_TARGET, display_target, fmt_month_zh, fmt_value, zh_only

LEVEL = "county"


def last_month() -> str | None:
    """The mart's last complete month (None when the mart holds no data)."""
    from queries.periods import last_complete_month
    return last_complete_month(kit.mart_url())


def unavailable_reason(entry: Any) -> str | None:
    """Why the indicator has no county value, in Chinese (None when it has one)."""
    if not kit.attr(entry, "available", True):
        return kit.attr(entry, "unavailable_zh") or "暂不可计算"
    if kit.attr(entry, "kind") == "exchange":
        return "数据交换指标，见数据质量页"
    return kit.level_note(entry, LEVEL)


def computable_ids() -> list[str]:
    """Indicators with a county value, in catalogue order."""
    return [i for i, e in kit.catalogue().items() if unavailable_reason(e) is None]


def county_values(month: str) -> tuple[dict[str, pd.Series], set[str]]:
    """{indicator id: engine row} for the month at county level (one engine call; per id when it fails)."""
    from dashboard.views.cards import compute_each
    ids_ = computable_ids()
    frame, failed = compute_each(ids_, LEVEL, "month", month, month, None, False) if ids_ else (
        pd.DataFrame(columns=["indicator_id"]), set())
    rows = {str(r["indicator_id"]): r for _, r in frame.iterrows()}
    return rows, failed


def matches(entry: Any, indicator_id: str, query: str) -> bool:
    """Whether the text filter matches the indicator's id, name, theme or definition (case-insensitive)."""
    q = (query or "").strip().lower()
    if not q:
        return True
    hay = " ".join(str(x or "") for x in (indicator_id, kit.attr(entry, "zh"), kit.attr(entry, "en"),
                                          _topic_zh(entry), kit.attr(entry, "numerator_zh"),
                                          kit.attr(entry, "denominator_zh"), kit.attr(entry, "definition")))
    return all(word in hay.lower() for word in q.split())


def _topic_zh(entry: Any) -> str:
    from metrics.catalogue import TOPICS
    return TOPICS.get(str(kit.attr(entry, "topic")), str(kit.attr(entry, "topic") or ""))


def definition_text(entry: Any) -> str:
    """分子 / 分母 of a ratio, or the catalogue's definition for counts and growth."""
    num, den = kit.attr(entry, "numerator_zh"), kit.attr(entry, "denominator_zh")
    if num and den:
        return f"分子：{num}；分母：{den}"
    if num:
        return f"统计：{num}"
    return zh_only(kit.attr(entry, "definition") or "") or "—"


def _value_cell(entry: Any, row: pd.Series | None, failed: bool, reason: str | None) -> tuple[Any, Any]:
    if reason:
        return html.Span(reason, className="catalog-reason"), None
    if failed:
        return html.Span("计算失败，请稍后重试", className="catalog-reason"), None
    value = None if row is None else kit.clean(row.get("value"))
    if value is None:
        return html.Span(kit.NO_DATA, className="catalog-reason"), None
    status = None if row is None else kit.clean(row.get("status"))
    text = fmt_value(value, kit.attr(entry, "unit"), int(kit.attr(entry, "decimals", 1) or 0))
    return html.Span(text, className="catalog-value"), status_badge(status)


def indicator_row(indicator_id: str, entry: Any, row: pd.Series | None, failed: bool) -> html.Div:
    """One indicator: name (link), definition, unit, target, county value and status."""
    reason = unavailable_reason(entry)
    definition = definition_text(entry)
    # the reason already reads as the definition (不计算的定性指标): the value column says so briefly
    value, badge = _value_cell(entry, row, failed, "暂不可计算" if reason and reason == definition else reason)
    target = display_target(kit.attr(entry, "target_text")) or NO_TARGET
    return html.Div([
        html.Div([dcc.Link(kit.attr(entry, "zh", indicator_id), href=f"/indicator/{indicator_id}",
                           className="catalog-name"),
                  html.Span(indicator_id, className="catalog-id")], className="catalog-head"),
        html.Div(definition, className="catalog-def"),
        html.Div([html.Span(f"单位：{kit.attr(entry, 'unit') or '—'}", className="catalog-unit"),
                  html.Span(f"目标：{target}", className="catalog-target")], className="catalog-meta"),
        html.Div([value, badge], className="catalog-current"),
    ], className="catalog-row", id={"type": "catalog-row", "id": indicator_id})


def render(query: str | None) -> tuple[list[Any], str]:
    """The catalogue's sections (one per theme, filtered by ``query``) and the subtitle."""
    from metrics.catalogue import TOPICS
    month = last_month()
    rows, failed = county_values(month) if month else ({}, set())
    sections: list[Any] = []
    shown = 0
    for topic, topic_zh in TOPICS.items():
        items = [(i, e) for i, e in kit.catalogue().items() if kit.attr(e, "topic") == topic and matches(e, i, query)]
        if not items:
            continue
        shown += len(items)
        sections.append(html.Section([
            html.H3(f"{topic_zh}（{len(items)}）", className="section-title"),
            html.Div([indicator_row(i, e, rows.get(i), i in failed) for i, e in items], className="catalog-list"),
        ], className="section catalog-topic"))
    if not sections:
        sections.append(kit.notice(f"没有与“{query}”匹配的指标"))
    when = f"全县 · {fmt_month_zh(month)}（最近完整月）" if month else "暂无数据"
    return sections, f"共 {len(kit.catalogue())} 项指标，显示 {shown} 项 · {when}"
