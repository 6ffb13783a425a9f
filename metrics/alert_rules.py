"""Evaluation of warning rules against the engine's rows and the forecasts (pure: reads the mart, writes nothing).

A rule (:class:`RuleSpec`, stored as data in the app database and edited by the admin) names a kind, the
indicators and levels it applies to, a severity and parameters. :func:`evaluate` returns one
:class:`Finding` per rule × indicator × org × period whose condition holds now; the alert store in
``dashboard.alerts`` turns findings into alerts (opens, updates, closes them). Kinds:

``target_breach``  the value of the last complete month misses the target (status 未达标)
``year_end_miss``  the year-end projection (:func:`metrics.forecast.year_end_from_rows`) misses the target
``worsening``      the last ``n`` months are each worse than the same month a year earlier by ≥ ``min_change`` %
``anomaly``        the last complete month lies outside the 95 % band of the forecast made the month before, the
                   band widened by the sampling noise of the month's sample size (binomial / Poisson floor;
                   ``noise_floor: false`` turns that off)
``upload_gap``     an institution uploaded on too few of the days it normally does (mart upload-gap rule)
``node_failure``   evaluated by the app (exchange nodes live in the app database), not here
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from metrics.catalogue import INDICATORS, Indicator
from metrics.forecast import (
    Z95,
    forecast_from_rows,
    forecastable,
    month_index,
    month_label,
    year_end_from_rows,
)
from metrics.status import row_bounds

KINDS = ("target_breach", "year_end_miss", "worsening", "anomaly", "upload_gap", "node_failure")
KIND_ZH = {"target_breach": "目标未达", "year_end_miss": "全年预计未达标", "worsening": "连续恶化",
           "anomaly": "异常波动", "upload_gap": "数据上传缺失", "node_failure": "交换节点故障"}
SEVERITIES = ("high", "medium", "low")
SEVERITY_ZH = {"high": "严重", "medium": "一般", "low": "提示"}
LEVELS = ("county", "township", "institution")
SOURCE_ZH = {"outpatient_visit": "门诊", "inpatient_discharge": "住院", "lab_order": "检验",
             "resource_month": "资源月报", "referral": "转诊", "chronic_patient": "慢病管理"}


@dataclass(frozen=True)
class RuleSpec:
    """One warning rule as the evaluation needs it (the app database row carries the same fields)."""
    code: str
    kind: str
    severity: str = "medium"
    levels: tuple[str, ...] = ("county",)
    indicator_ids: tuple[str, ...] = ()          # empty: every indicator the kind can judge
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: becomes (or keeps open) one alert."""
    rule: str
    kind: str
    indicator_id: str
    level: str
    org_code: str
    org_name: str
    period: str
    severity: str
    value: float | None
    expected: float | None
    message: str
    parent_code: str = ""


# --------------------------------------------------------------------------------------------------------------
# wording
# --------------------------------------------------------------------------------------------------------------
def month_zh(month: str) -> str:
    """'2026-11' → '2026年11月'."""
    return f"{int(month[:4])}年{int(month[5:7])}月"


def fmt_value(ind: Indicator, value: float | None) -> str:
    """A value as pages show it: decimals of the indicator and its unit ('39.2%', '129.3元')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{ind.decimals}f}{ind.unit}"


def _name(row: Any) -> str:
    return str(row.org_name or row.org_code)


# --------------------------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------------------------
def rule_indicators(rule: RuleSpec) -> list[str]:
    """The indicators a rule judges: its list, else every forecastable one (with a target where it needs one)."""
    if rule.kind in ("upload_gap", "node_failure"):
        return []
    ids = list(rule.indicator_ids) or [i for i, ind in INDICATORS.items() if forecastable(ind)]
    ids = [i for i in ids if i in INDICATORS and forecastable(INDICATORS[i])]
    if rule.kind in ("target_breach", "year_end_miss"):
        ids = [i for i in ids if INDICATORS[i].target_low is not None or INDICATORS[i].target_high is not None]
    return ids


def _judged(rows: pd.DataFrame, min_den: float) -> pd.DataFrame:
    """Rows fit to be judged: complete, not a small sample, denominator (or count) at least ``min_den``."""
    ok = rows["complete"].astype(bool) & ~rows["small_sample"].astype(bool) & rows["value"].notna()
    size = rows["denominator"].where(rows["denominator"].notna(), rows["numerator"])
    return rows[ok & (size.fillna(0) >= min_den)]


def _target_breach(rule: RuleSpec, rows: pd.DataFrame, month: str) -> list[Finding]:
    out = []
    cur = _judged(rows[rows["period"] == month], float(rule.params.get("min_denominator", 30)))
    for r in cur.itertuples(index=False):
        if r.status != "未达标":
            continue
        ind = INDICATORS[r.indicator_id]
        low, high = row_bounds(ind, r.target)          # the bound the engine judged this row against
        above = high is not None and r.value > high
        bound = high if above else low
        word = "高于目标上限" if above else "低于目标下限"
        out.append(Finding(rule.code, rule.kind, r.indicator_id, r.level, r.org_code, _name(r), month,
                           rule.severity, float(r.value), None if bound is None else float(bound),
                           f"{_name(r)} {ind.zh} {fmt_value(ind, r.value)}，{word} {fmt_value(ind, bound)}"
                           f"（{month_zh(month)}）", r.parent_code or ""))
    return out


def _year_end_miss(rule: RuleSpec, rows: pd.DataFrame, month: str) -> list[Finding]:
    if int(month[5:7]) < int(rule.params.get("from_month", 3)):
        return []                         # too few months of the year to project
    hist = rows[rows["period"] <= month]
    if rule.params.get("skip_when_breached", True):      # the target_breach rule speaks for those already
        now = hist[hist["period"] == month]
        breached = set(zip(now.loc[now["status"] == "未达标", "indicator_id"],
                           now.loc[now["status"] == "未达标", "org_code"]))
        hist = hist[[k not in breached for k in zip(hist["indicator_id"], hist["org_code"])]]
    proj = year_end_from_rows(hist, month)
    parents = dict(zip(rows["org_code"], rows["parent_code"]))
    out = []
    for p in proj.itertuples(index=False):
        if p.status != "未达标":
            continue
        ind = INDICATORS[p.indicator_id]
        above = p.target_high is not None and not pd.isna(p.target_high) and p.projected > p.target_high
        bound = p.target_high if above else p.target_low
        word = "高于目标上限" if above else "低于目标下限"
        out.append(Finding(rule.code, rule.kind, p.indicator_id, p.level, p.org_code, str(p.org_name),
                           str(p.year), rule.severity, float(p.projected), float(bound),
                           f"{p.org_name} {ind.zh} 按当前趋势预计全年 {fmt_value(ind, p.projected)}，{word} "
                           f"{fmt_value(ind, bound)}（{p.year}年，已有{p.months_actual}个月数据）",
                           parents.get(p.org_code) or ""))
    return out


def _worse(direction: str, value: float, before: float, min_change: float) -> bool:
    if before == 0 or pd.isna(before) or pd.isna(value):
        return False
    change = (value - before) / abs(before) * 100.0
    return change <= -min_change if direction == "up" else change >= min_change


def _worsening(rule: RuleSpec, rows: pd.DataFrame, month: str) -> list[Finding]:
    n = int(rule.params.get("n", 3))
    min_change = float(rule.params.get("min_change", 10.0))
    min_den = float(rule.params.get("min_denominator", 30))
    last = month_index(month)
    months = [month_label(last - k) for k in range(n)]
    out = []
    for (iid, org), g in rows.groupby(["indicator_id", "org_code"], sort=False):
        ind = INDICATORS[iid]
        direction = rule.params.get("direction", {}).get(iid, ind.direction) \
            if isinstance(rule.params.get("direction"), dict) else ind.direction
        if direction not in ("up", "down"):
            continue
        by = _judged(g, min_den).set_index("period")["value"]
        if not all(m in by.index and month_label(month_index(m) - 12) in by.index for m in months):
            continue
        if all(_worse(direction, by[m], by[month_label(month_index(m) - 12)], min_change) for m in months):
            r = g.iloc[0]
            now, before = float(by[month]), float(by[month_label(last - 12)])
            word = "下降" if now < before else "上升"
            out.append(Finding(rule.code, rule.kind, iid, r.level, org, _name(r), month, rule.severity, now, before,
                               f"{_name(r)} {ind.zh} 连续{n}个月比去年同期{word}超过{min_change:g}%，"
                               f"{fmt_value(ind, now)}，去年同期 {fmt_value(ind, before)}（{month_zh(month)}）",
                               r.parent_code or ""))
    return out


def sampling_sd(ind: Indicator, expected: float, denominator: float | None) -> float:
    """The noise a value has from its sample size alone (the floor of the anomaly band): binomial for a share
    (unit %, value ≤ 100 %), Poisson for a count, and for any other ratio (a mean such as cost per visit or days per
    stay) the expected value over √denominator (a coefficient of variation of 1 per case)."""
    if not math.isfinite(expected) or expected < 0:
        return 0.0
    if denominator is None or pd.isna(denominator):                    # a count
        return ind.factor * math.sqrt(max(expected / ind.factor, 1.0))
    if denominator <= 0:
        return 0.0
    share = expected / ind.factor
    if ind.unit == "%" and 0.0 <= share <= 1.0:
        return ind.factor * math.sqrt(max(share * (1.0 - share), 1.0 / denominator) / denominator)
    return expected / math.sqrt(denominator)


def anomaly_band(ind: Indicator, f: Any, denominator: float | None, noise_floor: bool = True) -> tuple[float, float]:
    """The 95 % band the actual value is judged against: the forecast's own band (one-step error of the model),
    widened by the sampling noise of this month's sample size (:func:`sampling_sd`), which the model's average error
    understates for a small institution or a rare event."""
    value, lower, upper = float(f["value"]), float(f["lower"]), float(f["upper"])
    if not noise_floor:
        return lower, upper
    model_sd = (upper - value) / Z95
    sd = math.sqrt(model_sd ** 2 + sampling_sd(ind, value, denominator) ** 2)
    low = value - Z95 * sd
    return (max(low, 0.0) if lower >= 0 else low), value + Z95 * sd


def anomaly_inputs(rule: RuleSpec, rows: pd.DataFrame, month: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``month`` an anomaly rule judges, and the one-step forecasts made the month before (by
    indicator × org): the costly part of the rule, apart from the judging."""
    min_den = float(rule.params.get("min_denominator", 30))
    prev = month_label(month_index(month) - 1)
    cur = _judged(rows[rows["period"] == month], min_den)
    if cur.empty:
        return cur, pd.DataFrame()
    keys = set(zip(cur["indicator_id"], cur["org_code"]))
    hist = rows[(rows["period"] <= prev)]
    hist = hist[[k in keys for k in zip(hist["indicator_id"], hist["org_code"])]]
    return cur, forecast_from_rows(hist, 1, prev).set_index(["indicator_id", "org_code"])


def _anomaly(rule: RuleSpec, rows: pd.DataFrame, month: str) -> list[Finding]:
    cur, fc = anomaly_inputs(rule, rows, month)
    return judge_anomalies(rule, cur, fc, month)


def judge_anomalies(rule: RuleSpec, cur: pd.DataFrame, fc: pd.DataFrame, month: str) -> list[Finding]:
    """Findings of rows ``cur`` outside their band (:func:`anomaly_band`) around the forecasts ``fc``."""
    if cur.empty or fc.empty:
        return []
    noise_floor = bool(rule.params.get("noise_floor", True))
    out = []
    for r in cur.itertuples(index=False):
        key = (r.indicator_id, r.org_code)
        if key not in fc.index:
            continue
        f = fc.loc[key]
        if pd.isna(f["lower"]) or pd.isna(f["upper"]) or f["upper"] <= f["lower"]:
            continue
        ind = INDICATORS[r.indicator_id]
        lower, upper = anomaly_band(ind, f, r.denominator, noise_floor)
        if r.value > upper:
            word, bound = "高于预期区间上限", upper
        elif r.value < lower:
            word, bound = "低于预期区间下限", lower
        else:
            continue
        side = _versus_expected(ind, float(r.value), r.value > upper, getattr(r, "target", None))
        out.append(Finding(rule.code, rule.kind, r.indicator_id, r.level, r.org_code, _name(r), month,
                           rule.severity, float(r.value), float(f["value"]),
                           f"{_name(r)} {ind.zh} {fmt_value(ind, r.value)}，{word} {fmt_value(ind, bound)}{side}"
                           f"（{month_zh(month)}）", r.parent_code or ""))
    return out


def upload_gap_findings(rule: RuleSpec, gaps: pd.DataFrame, month: str) -> list[Finding]:
    """Findings of an ``upload_gap`` rule from ``queries.periods.incomplete_institutions`` rows of ``month``."""
    min_expected = int(rule.params.get("min_expected_days", 20))
    max_share = float(rule.params.get("max_share", 0.9))
    g = gaps[(gaps["days_expected"] >= min_expected)
             & (gaps["days_with_data"] < gaps["days_expected"] * max_share)]
    out = []
    for inst, rows in g.groupby("inst_code", sort=True):
        name = str(rows["name"].iloc[0])
        parts = "、".join(f"{SOURCE_ZH.get(s, s)} {d}/{e} 天" for s, d, e in
                         zip(rows["source"], rows["days_with_data"], rows["days_expected"]))
        worst = float((rows["days_with_data"] / rows["days_expected"]).min() * 100)
        out.append(Finding(rule.code, rule.kind, "", "institution", str(inst), name, month, rule.severity,
                           round(worst, 1), max_share * 100,
                           f"{name} {month_zh(month)}数据上传不完整：{parts}有数据（{month_zh(month)}）"))
    return out


EVALUATORS = {"target_breach": _target_breach, "year_end_miss": _year_end_miss, "worsening": _worsening,
              "anomaly": _anomaly}


def evaluate_rows(rules: list[RuleSpec], rows_by_level: dict[str, pd.DataFrame], month: str) -> list[Finding]:
    """Findings of the indicator rules over the engine's monthly rows per level (history through ``month``)."""
    out: list[Finding] = []
    for rule in rules:
        fn = EVALUATORS.get(rule.kind)
        if fn is None:
            continue
        ids = set(rule_indicators(rule))
        for level in rule.levels:
            rows = rows_by_level.get(level)
            if rows is None or rows.empty:
                continue
            out.extend(fn(rule, rows[rows["indicator_id"].isin(ids)], month))
    return out


def evaluate(rules: list[RuleSpec], mart_url: str, month: str | None = None) -> tuple[list[Finding], str | None]:
    """Findings of every mart-based rule (all but ``node_failure``) for the last complete month (or ``month``).
    One engine call per level covers every rule."""
    from metrics.engine import compute
    from queries import periods as qperiods
    month = month or qperiods.last_complete_month(mart_url)
    first, _ = qperiods.data_range(mart_url)
    if month is None or first is None:
        return [], None
    rows_by_level: dict[str, pd.DataFrame] = {}
    for level in LEVELS:
        ids = sorted({i for r in rules if level in r.levels for i in rule_indicators(r)})
        if ids:
            rows = compute(ids, level, "month", first, month, mart_url=mart_url, comparisons=False)
            rows_by_level[level] = rows[rows["period"].str.len() == 7]
    findings = evaluate_rows(rules, rows_by_level, month)
    for rule in rules:
        if rule.kind == "upload_gap":
            findings.extend(upload_gap_findings(rule, qperiods.incomplete_institutions(mart_url, month), month))
    return findings, month


def _versus_expected(ind: Any, value: float, above: bool, row_target: Any) -> str:
    """'，较预期向好' / '，较预期变差' for an anomaly by the indicator's good direction (a band's: towards the band),
    '' within a band. Beside a target alert of the same row it says which way the surprise went: a bed occupancy
    below its target that is *higher* than expected read as a contradiction without it (review 7)."""
    if ind.direction == "up":
        good = above
    elif ind.direction == "down":
        good = not above
    else:
        low, high = row_bounds(ind, row_target)
        if low is not None and value < low:
            good = above
        elif high is not None and value > high:
            good = not above
        else:
            return ""
    return "，较预期向好" if good else "，较预期变差"
