"""Status of a value against its target: 达标 / 预警 / 未达标.

Warning band: a value that misses the target by no more than 5 % of the target (relative) is 预警 (warning);
for a band target both ends get that tolerance. No target or no value → None (monitor only).
"""
from __future__ import annotations

import math

from metrics.catalogue import Indicator

WARNING_BAND = 0.05
MET, WARN, MISSED = "达标", "预警", "未达标"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def status_for_target(direction: str, low: float | None, high: float | None, value: float | None) -> str | None:
    """Status of ``value`` for a target given as (low, high); see the module docstring."""
    if _missing(value) or (low is None and high is None):
        return None
    ok_low = low is None or value >= low
    ok_high = high is None or value <= high
    if ok_low and ok_high:
        return MET
    near_low = low is None or value >= low - abs(low) * WARNING_BAND
    near_high = high is None or value <= high + abs(high) * WARNING_BAND
    return WARN if near_low and near_high else MISSED


def status_of(indicator: Indicator, value: float | None, inst_level: str | None = None) -> str | None:
    """Status of one value of ``indicator`` (the target may depend on the institution's level, e.g. alos)."""
    low, high = indicator.target_for(inst_level)
    if not _missing(value):
        value = round(float(value), indicator.decimals)     # judged as displayed, as the engine does
    return status_for_target(indicator.direction, low, high, value)


def target_value(indicator: Indicator, inst_level: str | None = None) -> float | None:
    """The single number shown as "target": the bound that matters for the direction (low for up, high for down,
    low for a band, whose text gives both ends)."""
    low, high = indicator.target_for(inst_level)
    if indicator.direction == "down":
        return high if high is not None else low
    return low if low is not None else high


def row_bounds(indicator: Indicator, row_target: float | None) -> tuple[float | None, float | None]:
    """(low, high) an engine row was judged against: the catalogue's bounds with the row's own ``target`` (the
    engine's, specialised for the institution's level, e.g. alos ≤ 7 days in a township centre) on the side that
    matters for the direction (:func:`target_value`)."""
    low, high = indicator.target_for(None)
    if not indicator.target_by_inst_level or _missing(row_target):
        return low, high
    if indicator.direction == "down" and high is not None:
        return low, float(row_target)
    if low is not None:
        return float(row_target), high
    return low, float(row_target)
