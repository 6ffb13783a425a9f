"""View model of 指标分析 /indicator/<id>: the engine's numbers as the page's frames (drill table, trend, peer
ranking, forecast, export table), each checking the user's scope and the indicator's levels.

The sections that draw them are in ``dashboard.views.indicator_render``; the callbacks in
``dashboard.callbacks.indicator`` only wire them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.urlstate import ViewState
from dashboard.views import pagekit as kit
from dashboard.views.pagekit import BASIS_PHRASE, basis_phrase, level_note
from dashboard.views.pagekit import levels_of as _levels
from layouts.formatting import NO_TARGET, display_target, fmt_period_zh, zh_only

TREND_MONTHS = 24
RANK_LIMIT = 40
EXPORT_HEADERS = {"org_code": "代码", "org_name": "机构/单位", "level_zh": "层级", "period": "期间",
                  "numerator": "分子", "denominator": "分母", "value": "指标值", "target": "目标值",
                  "status": "状态", "yoy_value": "去年同期值", "yoy_change": "同比差值", "yoy_rel": "同比增减率（%）",
                  "share": "分子占比（%）",
                  "complete": "数据完整", "flags": "说明"}
NO_EXPORT = "无权导出该机构明细（该机构数值见同类机构排名）"
# How each basis reads in a sentence ("该指标按居民居住乡镇统计"): a residence-based township row counts the
# residents of the township wherever they were treated, so it is no institution's number.


class NotAtLevel(Exception):
    """The indicator is not computed at the org's level (a calm explanation, not an error)."""


# ---------------------------------------------------------------------------------------------- data
def entry_of(indicator_id: str) -> Any:
    entry = kit.indicator(indicator_id)
    if entry is None:
        raise KeyError(f"unknown indicator {indicator_id!r}")
    return entry


def unit_of(entry: Any) -> tuple[str, int]:
    return kit.attr(entry, "unit") or "", int(kit.attr(entry, "decimals", 1) or 0)


def higher_is_worse(entry: Any) -> bool:
    return str(kit.attr(entry, "direction") or "").lower() in ("down", "↓", "lower")


def _flags(row: pd.Series) -> str:
    """The 说明 cell: incomplete data, small sample and the engine's notes, in Chinese, each once."""
    notes: list[str] = []
    if not kit.is_missing(row.get("complete")) and not bool(row.get("complete")):
        notes.append("数据不完整")
    if not kit.is_missing(row.get("small_sample")) and bool(row.get("small_sample")):
        notes.append("样本量小")
    note = row.get("note")
    if not kit.is_missing(note) and str(note):
        # the engine's notes carry English asides ("部分期间 (partial period)") and repeat the flags above
        notes += [t.strip() for t in zh_only(note).replace("；", ";").split(";") if t.strip()]
    return "；".join(dict.fromkeys(notes))


def org_context(state: ViewState) -> tuple[list[kit.OrgNode], str, bool]:
    """(path from the county, the org's level, may the user see detail below it)."""
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    return path, level, kit.visible_detail(path, kit.scope())



# ---------------------------------------------------------------------------------------------- frames
def table_frame(indicator_id: str, state: ViewState) -> tuple[pd.DataFrame, dict]:
    """The drill table: the current org first, then its children (when allowed), with engine numbers.

    Returns (frame, info) where info holds the path, level, child level and whether detail was denied.
    Used by both the page table and the export, so that both show exactly the engine's numbers.
    Raises :class:`NotAtLevel` when the indicator is not computed at the org's level.
    """
    entry = entry_of(indicator_id)
    path, level, visible = org_context(state)
    note = level_note(entry, level)
    if note:
        raise NotAtLevel(note)
    start, end = kit.bounds(state)
    child = kit.CHILD_LEVEL.get(level)
    if child not in _levels(entry):
        child = None
    denied = False
    if level in ("department", "doctor") and not visible:
        raise PermissionError(kit.NO_ACCESS)
    if child and not visible and level == "institution":
        child, denied = None, True
    own = kit.compute([indicator_id], level, state.grain, start, end, state.org)
    kids = kit.compute([indicator_id], child, state.grain, start, end, state.org) if child else None
    frames = [own.assign(_own=True)] + ([kids.assign(_own=False)] if kids is not None else [])
    df = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else own.assign(_own=True)
    if not df.empty:
        df = df[df["indicator_id"] == indicator_id].copy()
        df["level_zh"] = df["level"].map(kit.LEVEL_ZH).fillna(df["level"])
        df["target_text"] = display_target(kit.attr(entry, "target_text")) or NO_TARGET
        df["flags"] = df.apply(_flags, axis=1)
        # 同比 as the cards say it: percentage points for a % indicator (kept as a difference), else relative
        unit_ = kit.attr(entry, "unit") or ""
        df["yoy_rel"] = [kit.card_change(v, y, unit_) for v, y in zip(df["value"], df["yoy_value"])]
        kids_num = df.loc[~df["_own"], "numerator"].astype(float)
        total = kids_num.sum() if not kids_num.empty else 0.0
        df["share"] = [(float(n) / total if (not own_ and total and not kit.is_missing(n)) else None)
                       for n, own_ in zip(df["numerator"], df["_own"])]
        own_name = df.loc[df["_own"], "org_name"]
        if not own_name.empty:
            df.loc[df["_own"], "org_name"] = f"{own_name.iloc[0]}（合计）"
    return df, {"path": path, "level": level, "child": child, "denied": denied}


def trend_frame(indicator_id: str, state: ViewState) -> pd.DataFrame:
    """24 months of the current org ending with the period's last month (with last year's values)."""
    entry = entry_of(indicator_id)
    _path, level, visible = org_context(state)
    note = level_note(entry, level)
    if note:
        raise NotAtLevel(note)
    if level in ("department", "doctor") and not visible:
        raise PermissionError(kit.NO_ACCESS)
    _, end = kit.bounds(state)
    start = kit.add_months(end, -(TREND_MONTHS - 1))
    df = kit.compute([indicator_id], level, "month", start, end, state.org)
    return df[df["indicator_id"] == indicator_id] if not df.empty else df


@dataclass
class RankingView:
    """What the 同类机构排名 section shows: ranked rows, or a calm message why there is no ranking."""
    frame: pd.DataFrame
    title: str = ""                 # "乡镇卫生院" / "各乡镇"
    highlight: str | None = None    # the org of the view, outlined
    counter: str = "家"             # 家 (institutions) / 个 (townships)
    message: str | None = None


def ranking_frame(indicator_id: str, state: ViewState) -> RankingView:
    """Peers of the current institution's type (township centres when above institution level).

    Indicators without an institution level (residence- or county-based ones) rank the townships when they are
    computed by township, else there is no ranking and the view says why (derived from the basis).
    """
    entry = entry_of(indicator_id)
    path, level, _ = org_context(state)
    start, end = kit.bounds(state)
    levels = _levels(entry)
    if "institution" in levels:
        inst = next((n.inst_code for n in reversed(path) if n.inst_code), None)
        inst_type = kit.institution_type(inst) if inst else "township_center"
        df = kit.ranking(indicator_id, state.grain, start, end, inst_type)
        return RankingView(df, kit.INST_TYPE_ZH.get(inst_type, inst_type or "机构"), inst)
    if "township" in levels and level == "county":
        # the breakdown beside it already ranks the townships of the county: say so instead of drawing it twice
        return RankingView(pd.DataFrame(), message=f"该指标{basis_phrase(entry)}，不做机构排名；各乡镇排名见下级分布")
    if "township" in levels:
        df = kit.compute([indicator_id], "township", state.grain, start, end, None, False)
        suffix = "（按居民居住乡镇）" if basis_phrase(entry) == BASIS_PHRASE["residence"] else ""
        return RankingView(df, f"各乡镇{suffix}", kit.township_of(path), counter="个")
    return RankingView(pd.DataFrame(), message=f"该指标{basis_phrase(entry)}，不做机构或乡镇排名")



FORECAST_MONTHS = 3


def forecast_frame(indicator_id: str, state: ViewState, trend: pd.DataFrame) -> pd.DataFrame | None:
    """The next months' forecast (95 % band) when the trend reaches the last complete month; None otherwise.
    Stored per data version in the app database (``dashboard.alerts.stored_forecasts``): neither a click nor the
    first trend of a fresh process refits."""
    from dashboard.alerts.stored_forecasts import stored_forecast
    from dashboard.app import get_config
    from metrics.forecast import ForecastError, forecastable
    from queries.periods import last_complete_month
    entry = kit.indicator(indicator_id)
    _, level, visible = org_context(state)
    if entry is None or not forecastable(entry) or level not in ("county", "township", "institution") \
            or (level == "institution" and not visible) or trend.empty:
        return None
    last = last_complete_month(kit.mart_url())
    if last is None or str(trend["period"].max()) < last:
        return None
    try:
        fc = stored_forecast(get_config().app_db_url, kit.mart_url(), [indicator_id], level,
                             state.org if level != "county" else None, FORECAST_MONTHS, kit.scope())
    except (ForecastError, ValueError) as exc:
        kit.log.info("no forecast for %s: %s", indicator_id, exc)
        return None
    if state.org and level != "county":
        fc = fc[fc["org_code"] == state.org]
    return fc if not fc.empty else None


def export_frame(indicator_id: str, state: ViewState) -> tuple[pd.DataFrame, dict[str, str], dict[str, int], dict]:
    """The drill table as people read it: (frame, headers, decimals per column, info).

    Values keep the engine's numbers rounded to the indicator's decimals (as the page shows them), the period
    reads 2026年第3季度, 数据完整 是/否, changes and shares in percent. Raises PermissionError when the user may
    not see what the view would export (another institution's detail), NotAtLevel, or LookupError for no data.
    """
    entry = entry_of(indicator_id)
    unit, dec = unit_of(entry)
    df, info = table_frame(indicator_id, state)
    if info["denied"]:
        raise PermissionError(NO_EXPORT)
    if df.empty or df["value"].isna().all():
        raise LookupError(f"{kit.NO_DATA}，没有可导出的内容")
    out = df.copy()
    out["period"] = [fmt_period_zh(state.grain, p) for p in out["period"]]
    out["complete"] = ["" if kit.is_missing(c) else ("是" if bool(c) else "否") for c in out["complete"]]
    # the file has both: 同比差值 (the engine's difference; percentage points for a % indicator) and the
    # relative 同比增减率, whatever the page's 同比 column shows
    out["yoy_rel"] = [kit.relative_yoy(v, y) for v, y in zip(out["value"], out["yoy_value"])]
    for key in ("yoy_rel", "share"):
        out[key] = pd.to_numeric(out[key], errors="coerce") * 100
    headers = {k: v for k, v in EXPORT_HEADERS.items() if k in out.columns}
    if unit:
        headers["value"] = f"指标值（{unit}）"
    decimals = {"value": dec, "target": dec, "yoy_value": dec, "yoy_change": dec, "yoy_rel": 1, "share": 1}
    for key in ("numerator", "denominator"):
        vals = pd.to_numeric(out[key], errors="coerce").dropna()
        decimals[key] = 0 if (vals.round(0) == vals).all() else 2
    return out, headers, decimals, info
