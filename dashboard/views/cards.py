"""Indicator cards as the cockpit, the topic boards and the referral page draw them, from the engine's rows."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dashboard.views import pagekit as kit
from layouts._components import kpi_card
from layouts.formatting import display_target, fmt_value, is_flat_change, zh_only

SPARK_MONTHS = 12


def direction(entry: Any) -> str | None:
    d = str(kit.attr(entry, "direction") or "").lower()
    return "up" if d in ("up", "↑") else "down" if d in ("down", "↓") else None


def card(indicator_id: str, row: pd.Series | None, spark: pd.DataFrame, state,  # noqa: ANN001
          card_type: str = "home-card", projection: str | None = None) -> Any:
    entry = kit.indicator(indicator_id)
    unit = kit.attr(entry, "unit") or ""
    notes = []
    points = kit.in_points(unit)
    value = status = yoy = mom = None
    if row is not None:
        value, status = kit.clean(row.get("value")), kit.clean(row.get("status"))
        # relative change, or percentage points for a % indicator (rates, growth rates)
        yoy = kit.card_change(row.get("value"), row.get("yoy_value"), unit)
        mom = kit.card_change(row.get("value"), row.get("mom_value"), unit)     # the same against last period
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
                    yoy=0.0 if is_flat_change(yoy) and not points else yoy,
                    mom=0.0 if is_flat_change(mom) and not points else mom, points=points,
                    show_mom=True, direction=direction(entry), spark=spark_values, spark_x=spark_x,
                    href=kit.href(f"/indicator/{indicator_id}", state), note="；".join(notes) or None,
                    card_id={"type": card_type, "id": indicator_id}, projection=projection)
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


# ---------------------------------------------------------------------------------------------- 预计全年
def projection_ids(ids_: list[str]) -> list[str]:
    """Of ``ids_``, the indicators with an annual target that the forecast module can project."""
    from metrics.catalogue import INDICATORS
    from metrics.forecast import forecastable
    return [i for i in ids_ if i in INDICATORS and forecastable(INDICATORS[i])
            and any(t is not None for t in INDICATORS[i].target_for(None))]


def year_end_lines(ids_: list[str], level: str, org: str | None, period: str | None) -> dict[str, str]:
    """{indicator id: '预计全年 X（达标）'} for the cards at ``level``/``org``, from the year-end projection of this
    data version stored in the app database (the same in every worker: ``dashboard.alerts.projections``). When
    none is stored yet, this process claims it and computes it in a background thread (or another process already
    does); the cards show it from the next render on. Empty for a period outside the projected year, for
    indicators without a target or forecast, and on any error."""
    from dashboard.alerts.projections import ensure_year_end
    from dashboard.app import get_config
    pids = projection_ids(ids_)
    if not pids:
        return {}
    url, scope = kit.mart_url(), kit.scope()
    org = None if level == "county" else org
    try:
        df = ensure_year_end(get_config().app_db_url, url, pids, level, org, scope, background=True)
    except Exception:  # noqa: BLE001 — a projection never breaks a card
        kit.log.exception("读取预计全年失败")
        return {}
    if df is None:
        return {}
    lines = {}
    for r in df.to_dict("records"):
        if period and str(period)[:4] != f"{int(r['year']):04d}":
            continue
        if org and level != "county" and str(r["org_code"]) != str(org):
            continue
        value = r["projected"]
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or not r["status"]:
            continue
        entry = kit.indicator(r["indicator_id"])
        text = fmt_value(float(value), kit.attr(entry, "unit") or "", int(kit.attr(entry, "decimals", 1) or 0))
        lines[r["indicator_id"]] = f"预计全年 {text}（{r['status']}）"
    return lines


def warm_year_end(ids_: list[str], level: str = "county", org: str | None = None) -> bool:
    """The year-end projection of ``ids_`` for the current user's scope computed and stored now (the warm-up's slow
    part, which no request waits for); False when none of ``ids_`` can be projected or another process computes it."""
    from dashboard.alerts.projections import ensure_year_end
    from dashboard.app import get_config
    pids = projection_ids(ids_)
    if not pids:
        return False
    org = None if level == "county" else org
    df = ensure_year_end(get_config().app_db_url, kit.mart_url(), pids, level, org, kit.scope(), background=False)
    return df is not None


def warm_headline_year_end(app_db_url: str, mart_url: str) -> None:
    """After a load, a demo build or an ``alerts run``: the county cockpit's year-end projection computed now and
    stored for every worker (nothing when it is stored already or another process is computing it)."""
    from dashboard.alerts.projections import ensure_year_end
    from layouts._pageparts import HEADLINE_IDS
    from metrics.scope import FULL_SCOPE
    pids = projection_ids(list(HEADLINE_IDS))
    if pids:
        ensure_year_end(app_db_url, mart_url, pids, "county", None, FULL_SCOPE, background=False)
