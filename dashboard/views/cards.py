"""Indicator cards as the cockpit, the topic boards and the referral page draw them, from the engine's rows."""
from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.views import pagekit as kit
from layouts._components import kpi_card
from layouts.formatting import display_target, is_flat_change, zh_only

SPARK_MONTHS = 12


def direction(entry: Any) -> str | None:
    d = str(kit.attr(entry, "direction") or "").lower()
    return "up" if d in ("up", "↑") else "down" if d in ("down", "↓") else None


def card(indicator_id: str, row: pd.Series | None, spark: pd.DataFrame, state,  # noqa: ANN001
          card_type: str = "home-card") -> Any:
    entry = kit.indicator(indicator_id)
    unit = kit.attr(entry, "unit") or ""
    notes = []
    value = status = yoy = mom = None
    if row is not None:
        value, status = kit.clean(row.get("value")), kit.clean(row.get("status"))
        yoy = kit.relative_yoy(row.get("value"), row.get("yoy_value"))
        mom = kit.relative_yoy(row.get("value"), row.get("mom_value"))     # the same ratio against last period
        if not kit.is_missing(row.get("complete")) and not bool(row.get("complete")):
            notes.append("数据不完整")
        if not kit.is_missing(row.get("small_sample")) and bool(row.get("small_sample")):
            notes.append("样本量小")
        if value is None and not kit.is_missing(row.get("note")):
            # the engine says why a value is empty (无病例 / 无数据); 无数据 reads 本期无数据 on a card
            notes.append(str(row.get("note")).replace("无数据 (no data)", kit.NO_DATA))
    if value is None and not notes:
        notes.append(kit.NO_DATA)
    notes = [zh_only(n) for n in notes]
    spark_values = list(spark.sort_values("period")["value"]) if not spark.empty else None
    spark_x = list(spark.sort_values("period")["period"]) if not spark.empty else None
    card = kpi_card(kit.attr(entry, "zh", indicator_id), value, unit,
                    decimals=int(kit.attr(entry, "decimals", 1) or 0),
                    target_text=display_target(kit.attr(entry, "target_text")), status=status,
                    # a change that rounds to 0.0 % reads 持平 (trend_arrow draws 持平 for an exact 0)
                    yoy=0.0 if is_flat_change(yoy) else yoy, mom=0.0 if is_flat_change(mom) else mom,
                    show_mom=True, direction=direction(entry), spark=spark_values, spark_x=spark_x,
                    href=kit.href(f"/indicator/{indicator_id}", state), note="；".join(notes) or None,
                    card_id={"type": card_type, "id": indicator_id})
    return card


def compute_each(ids_: list[str], *args: Any) -> tuple[pd.DataFrame, set[str]]:
    """Engine call for all ids at once; when it fails, per id so that one bad indicator fails alone."""
    try:
        return kit.compute(ids_, *args), set()
    except Exception:  # noqa: BLE001
        kit.log.exception("cockpit batch compute failed; retrying per indicator")
    frames, failed = [], set()
    for i in ids_:
        try:
            frames.append(kit.compute([i], *args))
        except Exception:  # noqa: BLE001
            kit.log.exception("cockpit compute of %s failed", i)
            failed.add(i)
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["indicator_id", "period", "value"])), failed
