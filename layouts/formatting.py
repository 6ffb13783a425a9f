"""Formatting of numbers, values with units and periods for the Chinese UI (pure functions, no Dash)."""
from __future__ import annotations

import math
import re
from typing import Any

MISSING = "—"

# Units written without a space after the number (they read as part of the number).
_TIGHT_UNITS = {"%", "‰", "‱"}

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR_RE = re.compile(r"^(\d{4})$")


def _as_float(v: Any) -> float | None:
    """A finite float, or None for None/NaN/inf/non-numbers (pandas NA included)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if math.isnan(f) or math.isinf(f):
        return None
    return f


def fmt_number(v: Any, decimals: int = 0) -> str:
    """``1234567.891, 2 → '1,234,567.89'``; None/NaN → '—'."""
    f = _as_float(v)
    if f is None:
        return MISSING
    decimals = max(0, int(decimals))
    text = f"{f:,.{decimals}f}"
    # Avoid "-0" / "-0.0" after rounding.
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return text


def fmt_value(v: Any, unit: str | None = None, decimals: int | None = None) -> str:
    """A value with its unit: ``fmt_value(12.345, '%', 1) → '12.3%'``, ``(186.5, '元', 2) → '186.50 元'``.

    decimals defaults by unit: 1 for %, ‰ and 天, 2 for 元, 0 for counts (次, 人次, 人, 个, 张, 台), else 2.
    None/NaN → '—' (without the unit).
    """
    unit = (unit or "").strip()
    if decimals is None:
        if unit in ("%", "‰", "‱", "天"):
            decimals = 1
        elif unit in ("次", "人次", "人", "个", "张", "台", "例", "家"):
            decimals = 0
        else:
            decimals = 2
    text = fmt_number(v, decimals)
    if text == MISSING or not unit:
        return text
    if unit in _TIGHT_UNITS:
        return f"{text}{unit}"
    return f"{text} {unit}"


def _signed(value: float | None, decimals: int, suffix: str) -> str:
    """``value`` with its sign and ``suffix``; no sign when it rounds to zero at ``decimals``."""
    if value is None:
        return MISSING
    body = fmt_number(abs(value), decimals)
    if float(body.replace(",", "")) == 0:
        return f"{body}{suffix}"
    return f"{'+' if value > 0 else '-'}{body}{suffix}"


def fmt_pct_change(ratio: Any, decimals: int = 1) -> str:
    """Relative change as a signed percentage: ``0.123 → '+12.3%'``, ``-0.04 → '-4.0%'``, None → '—'."""
    f = _as_float(ratio)
    return _signed(None if f is None else f * 100, decimals, "%")


def fmt_pp_change(diff: Any, decimals: int = 1) -> str:
    """Change of a percentage in percentage points: ``1.25 → '+1.3个百分点'``."""
    return _signed(_as_float(diff), decimals, "个百分点")


def fmt_month_zh(month: str) -> str:
    """``'2025-03' → '2025年3月'``; anything else is returned unchanged."""
    m = _MONTH_RE.match(str(month or ""))
    if not m:
        return str(month or MISSING)
    return f"{int(m.group(1))}年{int(m.group(2))}月"


def fmt_period_zh(grain: str, period: str) -> str:
    """``('year','2025') → '2025年'``, ``('quarter','2025Q1') → '2025年第1季度'``, ``('month','2025-03') → '2025年3月'``."""
    period = str(period or "")
    if grain == "year" and (m := _YEAR_RE.match(period)):
        return f"{m.group(1)}年"
    if grain == "quarter" and (m := _QUARTER_RE.match(period)):
        return f"{m.group(1)}年第{m.group(2)}季度"
    if grain == "month" and _MONTH_RE.match(period):
        return fmt_month_zh(period)
    return period or MISSING


# The one wording for an indicator without a target value, on every card, tile, table and panel (issue 14).
NO_TARGET = "无目标值"
# Catalogue target texts that name no value: "参考" (watched against a reference) and "监测" (monitored only).
_NO_VALUE_TARGETS = {"参考", "监测"}


def display_target(target_text: str | None) -> str | None:
    """A target text as the pages show it, or None when there is no target to show.

    The catalogue writes "参考" or "监测" alone for indicators that are watched without a value (surgery shares,
    volumes, control rates …): "目标 参考" / "目标 监测" would read as a target whose value is missing, so those
    show :data:`NO_TARGET` through :func:`target_phrase`; so does any text without a figure ("监测 (看同比)").
    "≥ 60% (参考)" (a reference value) is kept.
    """
    text = (target_text or "").strip()
    # no figure, no target value: "参考", "监测", "监测 (看同比)"
    if not text or text in _NO_VALUE_TARGETS or not any(ch.isdigit() for ch in text):
        return None
    return text


def target_phrase(target_text: str | None) -> str:
    """``'≥ 90%' → '目标 ≥ 90%'``; no target value (empty, 参考, 监测) → ``'无目标值'``."""
    text = display_target(target_text)
    return f"目标 {text}" if text else NO_TARGET


def is_flat_change(ratio: Any, decimals: int = 1) -> bool:
    """True when a relative change shows as 0 at ``decimals`` places of a percentage (−0.04 % → "0.0%")."""
    f = _as_float(ratio)
    return f is not None and round(abs(f) * 100, decimals) == 0


_ENGLISH_ASIDE = re.compile(r"\s*\([\x20-\x7e]*[A-Za-z][\x20-\x7e]*\)")


def zh_only(text: Any) -> str:
    """Drop English asides in parentheses from an engine note: "部分期间 (partial period)" → "部分期间"."""
    return _ENGLISH_ASIDE.sub("", str(text or "")).strip()
