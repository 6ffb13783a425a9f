"""综合评价 (composite assessment): a weighted score per institution over an indicator set.

The score is a pure function of the engine's rows (:func:`metrics.engine.compute` at institution level, one call
for every indicator of the set), the institutions' type and level, and a weights mapping — so a test or a page
can recompute it from ``compute()`` and get the same numbers. The method (docs/assessment.md):

* **Indicator with a target** (达标/预警/未达标 as the engine judges it, on the value as displayed): met → full
  marks; within the warning band (the target missed by at most :data:`metrics.status.WARNING_BAND` of the target,
  relative) → linear from full marks at the target to 0 at the band's far edge; beyond it → 0. Direction-aware
  through the target's bounds (≥ low for "higher is better", ≤ high for "lower is better", both for a band). The
  target may depend on the institution's level (平均住院日: 县级 ≤ 9, 乡镇 ≤ 7).
* **Indicator without a target**: scored by its rank among the institutions of the same type that have a value
  in the period (best by the indicator's direction): ``(n − rank) / (n − 1)`` of full marks (rank 1 → full,
  last → 0; one institution alone → full).
* **Not applicable**: an institution without a value (no cases: surgery at a village clinic, no inpatients) or an
  indicator the engine refuses at institution level is left out and the remaining weights are re-normalised:
  ``score = 100 × Σ points / Σ weights of the scored indicators``. ``indicators_scored`` says how many counted.
* **Rank** within the institution type (同类机构), best score first, ties share the better rank.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.catalogue import INDICATORS
from metrics.status import WARNING_BAND

SET_2024 = "紧密型县域医疗卫生共同体建设监测指标 (2024)"

# The default indicator set with its weights (data: seeded into the app database's assessment_weights table,
# editable by the admin). The 2024 national monitoring set is mostly county- or residence-level (14 indicators,
# of which only #12 县域内中医类诊疗量占比 is counted per institution); the default set takes that one and
# completes the set's dimensions (服务能力、质量安全、费用控制、分级诊疗、健康管理) with the institution-level
# indicators of the national public-hospital performance assessment (国家二级公立医院绩效考核) and the
# catalogue's other institution indicators. Columns: indicator id, weight, dimension (Chinese).
DEFAULT_SET: tuple[tuple[str, float, str], ...] = (
    ("tcm_visit_share", 8, "分级诊疗"),
    ("referral_acceptance", 6, "分级诊疗"),
    ("referral_response_24h", 6, "分级诊疗"),
    ("down_up_ratio", 5, "分级诊疗"),
    ("bed_occupancy", 6, "服务能力"),
    ("alos", 6, "服务能力"),
    ("doctor_daily_visits", 4, "服务能力"),
    ("nurse_doctor_ratio", 4, "服务能力"),
    ("op_antibiotic_rate", 6, "质量安全"),
    ("ip_antibiotic_rate", 5, "质量安全"),
    ("antibiotic_intensity", 4, "质量安全"),
    ("low_risk_mortality", 5, "质量安全"),
    ("readmission_31d", 4, "质量安全"),
    ("lab_timeliness", 3, "质量安全"),
    ("critical_notify_rate", 3, "质量安全"),
    ("op_drug_share", 5, "费用控制"),
    ("ip_drug_share", 4, "费用控制"),
    ("ip_material_share", 3, "费用控制"),
    ("op_cost_growth", 4, "费用控制"),
    ("ip_cost_growth", 4, "费用控制"),
    ("op_cost_per_visit", 3, "费用控制"),
    ("service_revenue_share", 4, "费用控制"),
    ("htn_standard_rate", 4, "健康管理"),
    ("dm_standard_rate", 4, "健康管理"),
)
DEFAULT_WEIGHTS: dict[str, float] = {i: float(w) for i, w, _d in DEFAULT_SET}
DIMENSION: dict[str, str] = {i: d for i, _w, d in DEFAULT_SET}

METHOD_TARGET, METHOD_RANK, METHOD_NA = "对标", "同类排名", "不适用"
SCORE_COLUMNS = ["period", "org_code", "org_name", "inst_type", "score", "rank", "peers", "indicators_scored",
                 "indicators_total", "weight_scored", "weight_total"]
DETAIL_COLUMNS = ["period", "org_code", "org_name", "inst_type", "indicator_id", "indicator_zh", "value", "target",
                  "low", "high", "status", "method", "weight", "norm_weight", "points", "max_points"]


class AssessmentError(ValueError):
    """A refused weights mapping or request; the message is Chinese."""


@dataclass(frozen=True)
class Assessment:
    """The result: ``scores`` (one row per institution and period, :data:`SCORE_COLUMNS`) and ``detail`` (one row
    per institution, period and indicator of the set, :data:`DETAIL_COLUMNS`); ``refused`` {id: reason} of
    indicators the engine could not compute at institution level (left out for everyone)."""
    scores: pd.DataFrame
    detail: pd.DataFrame
    refused: dict[str, str]


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The mapping as {id: float}, or AssessmentError (Chinese) for unknown or unusable ids and weights ≤ 0."""
    out: dict[str, float] = {}
    for iid, w in weights.items():
        ind = INDICATORS.get(iid)
        if ind is None:
            raise AssessmentError(f"未知指标：{iid}")
        if not ind.available or ind.kind in ("exchange", "count", "unavailable") or "institution" not in ind.levels:
            raise AssessmentError(f"{ind.zh}（{iid}）不能按机构评价")
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise AssessmentError(f"{ind.zh} 的权重不是数字：{w}") from None
        if not math.isfinite(value) or value <= 0:
            raise AssessmentError(f"{ind.zh} 的权重必须大于 0（现为 {w}）")
        out[iid] = value
    if not out:
        raise AssessmentError("评价指标集为空：至少启用一项指标")
    return out


def target_points(value: float, low: float | None, high: float | None) -> float:
    """Share of full marks (0–1) of ``value`` against the target (low, high): 1 when met, linear to 0 across the
    warning band, 0 beyond it."""
    miss = 0.0      # how far outside the target, as a share of the warning band's width
    for bound, outside in ((low, low is not None and value < low), (high, high is not None and value > high)):
        if not outside:
            continue
        band = abs(bound) * WARNING_BAND
        if band == 0:
            return 0.0
        miss = max(miss, abs(value - bound) / band)
    return max(0.0, 1.0 - miss)


def target_shares(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """:func:`target_points` over arrays (NaN bound: none on that side)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        below = ~np.isnan(low) & (value < low)
        above = ~np.isnan(high) & (value > high)
        miss_low = np.where(below, (low - value) / (np.abs(low) * WARNING_BAND), 0.0)
        miss_high = np.where(above, (value - high) / (np.abs(high) * WARNING_BAND), 0.0)
    return np.clip(1.0 - np.maximum(miss_low, miss_high), 0.0, 1.0)


def rank_points(values: pd.Series, direction: str) -> pd.Series:
    """Share of full marks (0–1) by rank among ``values`` (one peer group): best 1, worst 0, ties share the better
    rank; one value alone → 1. 'down' ranks the lowest best; 'up' and 'band' the highest."""
    n = int(values.notna().sum())
    if n == 0:
        return pd.Series(np.nan, index=values.index)
    if n == 1:
        return values.notna().astype(float).where(values.notna())
    rank = values.rank(method="min", ascending=direction == "down")
    return (n - rank) / (n - 1)


def score(frame: pd.DataFrame, weights: Mapping[str, float], institutions: pd.DataFrame) -> Assessment:
    """Score every institution of ``frame`` (engine rows at institution level) with ``weights`` {id: weight}.

    ``institutions`` has ``inst_code``, ``inst_type`` and ``level`` (county/township/village: the level whose
    target applies); rows of the frame for indicators outside ``weights`` are ignored. See the module docstring.
    """
    weights = validate_weights(weights)
    refused = {i: r for i, r in (frame.attrs.get("refused") or {}).items() if i in weights}
    rows = frame[frame["indicator_id"].isin(list(weights)) & (frame["level"] == "institution")]
    info = institutions.set_index("inst_code")
    inst_type = rows["org_code"].map(info["inst_type"])
    inst_level = rows["org_code"].map(info["level"])
    det = pd.DataFrame({
        "period": rows["period"].to_numpy(), "org_code": rows["org_code"].to_numpy(),
        "org_name": rows["org_name"].to_numpy(), "inst_type": inst_type.to_numpy(),
        "indicator_id": rows["indicator_id"].to_numpy(),
        "value": pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float),
        "status": rows["status"].to_numpy(), "inst_level": inst_level.to_numpy()})
    # every institution gets a line for every indicator of the set (refused ones: not applicable)
    orgs = det[["period", "org_code", "org_name", "inst_type", "inst_level"]].drop_duplicates(["period", "org_code"])
    grid = orgs.merge(pd.DataFrame({"indicator_id": list(weights)}), how="cross")
    det = grid.merge(det[["period", "org_code", "indicator_id", "value", "status"]],
                     on=["period", "org_code", "indicator_id"], how="left")
    ids = det["indicator_id"].to_numpy(dtype=object)
    levels = det["inst_level"].to_numpy(dtype=object)
    det["indicator_zh"] = [INDICATORS[i].zh for i in ids]
    det["weight"] = np.array([weights[i] for i in ids], dtype=float)
    bounds = [INDICATORS[i].target_for(lv) for i, lv in zip(ids, levels)]
    low = np.array([np.nan if b[0] is None else b[0] for b in bounds], dtype=float)
    high = np.array([np.nan if b[1] is None else b[1] for b in bounds], dtype=float)
    det["low"], det["high"] = low, high
    has_target = ~(np.isnan(low) & np.isnan(high))
    # judged on the value as displayed (the indicator's decimals), as the engine's status is
    value = det["value"].to_numpy(dtype=float)
    decimals = np.array([INDICATORS[i].decimals for i in ids])
    shown = value.copy()
    for d in np.unique(decimals):       # np.round, as the engine rounds before judging
        shown[decimals == d] = np.round(value[decimals == d], int(d))
    share = np.full(len(det), np.nan)
    judged = has_target & ~np.isnan(shown)
    share[judged] = target_shares(shown[judged], low[judged], high[judged])
    ranked = ~has_target & ~np.isnan(shown)
    if ranked.any():    # no target: rank among the type, best by direction → (n − rank) / (n − 1)
        down = np.array([INDICATORS[i].direction == "down" for i in ids])
        part = det.loc[ranked, ["period", "inst_type", "indicator_id"]].copy()
        part["key"] = np.where(down, shown, -shown)[ranked]
        groups = part.groupby(["period", "inst_type", "indicator_id"], dropna=False)["key"]
        rank = groups.rank(method="min").to_numpy()
        n = groups.transform("count").to_numpy()
        share[ranked] = np.where(n > 1, (n - rank) / np.maximum(n - 1, 1), 1.0)
    det["share"] = share
    det["target"] = [_target_value(i, lo, hi) for i, lo, hi in zip(ids, low, high)]
    scored = det["share"].notna()
    det["method"] = np.where(~scored, METHOD_NA, np.where(has_target, METHOD_TARGET, METHOD_RANK))
    key = ["period", "org_code"]
    det["weight_scored"] = det["weight"].where(scored, 0.0)
    total_w = det.groupby(key)["weight_scored"].transform("sum")
    # re-normalised: the scored indicators' weights share the 100 points
    det["norm_weight"] = (100 * det["weight"] / total_w.where(total_w > 0)).where(scored)
    det["max_points"] = det["norm_weight"]
    det["points"] = det["share"] * det["norm_weight"]
    grouped = det.groupby(key, sort=False)
    agg = grouped.agg(org_name=("org_name", "first"), inst_type=("inst_type", "first"),
                      indicators_scored=("share", "count"), indicators_total=("indicator_id", "size"),
                      weight_scored=("weight_scored", "sum"), weight_total=("weight", "sum"))
    agg["score"] = grouped["points"].sum(min_count=1)      # nothing scored → no score (not 0)
    agg = agg.reset_index()
    agg["rank"] = agg.groupby(["period", "inst_type"], dropna=False)["score"].rank(method="min", ascending=False)
    agg["peers"] = agg.groupby(["period", "inst_type"], dropna=False)["score"].transform("count")
    agg["rank"] = agg["rank"].astype("Int64")
    agg["peers"] = agg["peers"].astype(int)
    agg = agg.sort_values(["period", "inst_type", "rank", "org_code"], na_position="last").reset_index(drop=True)
    det = det.sort_values(["period", "org_code", "indicator_id"],
                          key=lambda c: c.map(_ORDER) if c.name == "indicator_id" else c).reset_index(drop=True)
    return Assessment(agg[SCORE_COLUMNS], det[DETAIL_COLUMNS], refused)


_ORDER = {iid: n for n, iid in enumerate(INDICATORS)}


def _target_value(iid: str, low: float, high: float) -> float | None:
    """The single target number shown (the bound that matters for the direction), as the engine shows it."""
    lo = None if math.isnan(low) else low
    hi = None if math.isnan(high) else high
    if INDICATORS[iid].direction == "down":
        return hi if hi is not None else lo
    return lo if lo is not None else hi


def assess(weights: Mapping[str, float], grain: str, start: str, end: str, mart_url: str | None = None
           ) -> Assessment:
    """Compute the set's indicators for every institution (one engine call, full scope: scores of peers are
    aggregates anyone with aggregates may see) and score them. Callers filter the detail by their scope."""
    from metrics.engine import compute
    from queries import org as qorg
    weights = validate_weights(weights)
    frame = compute(list(weights), "institution", grain, start, end, mart_url=mart_url, comparisons=False)
    url = mart_url
    if url is None:
        from core.config import load_config
        url = load_config().mart_url
    return score(frame, weights, qorg.org_tree(url))
