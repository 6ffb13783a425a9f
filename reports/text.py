"""Numbers and sentences of the report, written from engine rows (formatting only; nothing is recomputed)."""
from __future__ import annotations

import math
from typing import Any

from metrics.catalogue import Indicator

FLAT = 0.05          # a change that rounds to 0.0 (% or percentage points) reads 持平


def missing(x: Any) -> bool:
    """True for None, NaN and pandas NA."""
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isnan(x))
    except (TypeError, ValueError):
        return False


def value_text(value: Any, decimals: int) -> str:
    """The value as ``python app.py indicators`` prints it (rounded to the indicator's decimals); '—' if none."""
    if missing(value):
        return "—"
    x = float(value)
    if decimals > 0:
        return f"{round(x, decimals):.{decimals}f}"
    return str(int(round(x)))


def with_unit(value: Any, ind: Indicator) -> str:
    """'128.66 元', '63.2%', '—'."""
    text = value_text(value, ind.decimals)
    if text == "—" or not ind.unit:
        return text
    return f"{text}{ind.unit}" if ind.unit == "%" else f"{text} {ind.unit}"


def change_text(value: Any, base: Any, ind: Indicator, word: str) -> str:
    """'同比上升 4.0%' (relative change of the two engine values) or, for a percentage indicator,
    '同比下降 0.3 个百分点' (difference); '同比持平'; '' without a base."""
    if missing(value) or missing(base):
        return ""
    v, b = float(value), float(base)
    if ind.unit == "%":
        diff = v - b
        if abs(diff) < FLAT:
            return f"{word}持平"
        return f"{word}{'上升' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"
    if b == 0:
        return ""
    rel = (v - b) / abs(b) * 100
    if abs(rel) < FLAT:
        return f"{word}持平"
    return f"{word}{'上升' if rel > 0 else '下降'} {abs(rel):.1f}%"


def status_phrase(status: Any, ind: Indicator) -> str:
    """'达到目标（≥ 65%）', '未达目标（…）', '接近目标预警线（…）' or '' (no target)."""
    if missing(status) or not status:
        return ""
    target = f"（目标 {ind.target_text}）" if ind.target_text else ""
    return {"达标": f"达到目标{target}", "预警": f"处于预警区间{target}",
            "未达标": f"未达目标{target}"}.get(str(status), str(status))


def sentence(ind: Indicator, row: Any) -> str:
    """'门诊次均费用 128.66 元，同比上升 4.0%，环比下降 1.2%，未达目标（目标 …）'."""
    if row is None or missing(row.get("value")):
        note = "" if row is None or missing(row.get("note")) else f"（{row.get('note')}）"
        return f"{ind.zh}本月无数据{note}"
    parts = [f"{ind.zh} {with_unit(row.get('value'), ind)}"]
    for base, word in ((row.get("yoy_value"), "同比"), (row.get("mom_value"), "环比")):
        text = change_text(row.get("value"), base, ind, word)
        if text:
            parts.append(text)
    phrase = status_phrase(row.get("status"), ind)
    if phrase:
        parts.append(phrase)
    if not missing(row.get("small_sample")) and bool(row.get("small_sample")):
        parts.append("样本量小")
    return "，".join(parts)


def display(value_text: str, unit: str) -> str:
    """A value text with its unit as a table cell shows it ('64.2%', '129.24 元', '—')."""
    if value_text == "—" or not unit:
        return value_text
    return f"{value_text}{unit}" if unit == "%" else f"{value_text} {unit}"


def month_zh(month: str) -> str:
    """'2026-10' → '2026年10月'."""
    year, mon = month.split("-")
    return f"{int(year)}年{int(mon)}月"
