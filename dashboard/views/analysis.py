"""自助分析 /analysis: the pivot's view state (from the URL), its engine call and its totals.

A pivot has two axes and one fixed "third" axis:

- rows: an org level (全县/乡镇/机构/科室/医生, as the indicator allows) or a dimension;
- columns: the period (月/季/年 over a range) or a dimension;
- fixed: the org scope (``org``: everything under it), one period when no axis is the period, and an optional
  filter on one dimension member when no axis is a dimension (the engine splits by one dimension at a time).

Numbers come from one ``metrics.engine.compute`` call for the user's scope. Totals are ratios of summed
numerators and denominators of the engine's rows (never an average of ratios), and only where summing is right:
members of a dimension always add up to the undivided row; orgs add up unless a measure counts distinct patients
or is itself a ratio; periods add up only when every measure is a flow (a stock such as beds is not summed
over months). Dimensions are offered only once the engine has them (``metrics.dimensions`` and ``compute(by=)``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from dashboard import urlstate
from dashboard.views import pagekit as kit

AXIS_LEVELS = ("county", "township", "institution", "department", "doctor")
PERIOD = "period"
TOTAL = "__total__"
COUNTY = "all"                   # the org picker's value for 全县
MAX_COLUMNS = 36
DEFAULT_INDICATOR = "op_cost_per_visit"
DEFAULT_SPAN = {"month": 12, "quarter": 4, "year": 3}
ROW_LEVEL_ZH = {"county": "全县", "township": "乡镇", "institution": "机构", "department": "科室", "doctor": "医生"}
ORG_ADDITIVE = frozenset({"flow", "last", "avg", "population"})     # base measure kinds that add up over orgs
PERIOD_ADDITIVE = frozenset({"flow"})                                # … and over periods


# ---------------------------------------------------------------------------------------------- dimensions
@lru_cache(maxsize=1)
def engine_has_dimensions() -> bool:
    """True once the engine splits by dimension (``metrics.dimensions`` and ``compute(..., by=)``)."""
    try:
        import metrics.dimensions  # noqa: F401
        from metrics import engine
    except ImportError:
        return False
    return "by" in inspect.signature(engine.compute).parameters


def dimensions() -> dict[str, Any]:
    """{dimension id: Dimension} the engine offers ({} before it has any)."""
    if not engine_has_dimensions():
        return {}
    from metrics.dimensions import DIMENSIONS
    return dict(DIMENSIONS)


def dimension_refusal(indicator_id: str, dim: str) -> str | None:
    """Why the indicator cannot be split by ``dim`` (Chinese), None when it can."""
    if dim not in dimensions():
        return "未知维度"
    from layouts.formatting import zh_only
    from metrics.dimensions import dimension_refusal as refusal
    reason = refusal(indicator_id, dim)
    return zh_only(reason) or reason if reason else None


def dimension_levels() -> tuple[str, ...]:
    """Org levels a dimension split is served at (the dimension rollups keep institutions, not departments)."""
    from metrics.dimensions import DIMENSION_LEVELS
    return tuple(DIMENSION_LEVELS)


def members(dim: str) -> list[tuple[str, str]]:
    """(code, Chinese label) of the dimension's members, in the dimension's order."""
    d = dimensions().get(dim)
    return [(str(c), str(n)) for c, n in kit.attr(d, "members", ())] if d is not None else []


def dimension_label(dim: str) -> str:
    d = dimensions().get(dim)
    return str(kit.attr(d, "label_zh", dim)) if d is not None else dim


# ---------------------------------------------------------------------------------------------- indicators
def analysable_ids() -> list[str]:
    """Indicators the page offers: computed by the engine from the mart (not unavailable, not exchange)."""
    return [i for i, e in kit.catalogue().items()
            if kit.attr(e, "available", True) and kit.attr(e, "kind") not in ("exchange", "unavailable")]


def additive(entry: Any) -> tuple[bool, bool]:
    """(totals over orgs are right, totals over periods are right) for the indicator's measures."""
    from metrics.catalogue import MEASURES, base_measures
    if kit.attr(entry, "kind") not in ("ratio", "count"):
        return False, False
    kinds = {MEASURES[b].kind for m in (kit.attr(entry, "numerator"), kit.attr(entry, "denominator")) if m
             for b in base_measures(m)}
    return kinds <= ORG_ADDITIVE, kinds <= PERIOD_ADDITIVE


def total_value(entry: Any, num: float, den: float) -> float | None:
    """The indicator's value of summed numerators/denominators (a count: the summed numerator)."""
    factor = float(kit.attr(entry, "factor", 1) or 1)
    if kit.attr(entry, "denominator") is None:
        return factor * num
    return factor * num / den if den else None


# ---------------------------------------------------------------------------------------------- view state
@dataclass(frozen=True)
class Spec:
    """What the pivot shows (always valid: parsing repairs a bad URL and says what it changed in ``notes``)."""
    indicator: str
    rows: str                       # an org level or a dimension id
    cols: str                       # PERIOD or a dimension id
    grain: str
    start: str                      # first period of the range (at grain)
    end: str                        # last period (the only one when no axis is the period)
    org: str | None = None          # rows under this org (None: the county)
    org_level: str = "county"
    fdim: str | None = None         # filter: one member of one dimension (no axis is a dimension)
    fmem: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def row_dim(self) -> str | None:
        return None if self.rows in AXIS_LEVELS else self.rows

    @property
    def col_dim(self) -> str | None:
        return None if self.cols == PERIOD else self.cols

    @property
    def by(self) -> str | None:
        """The one dimension the engine splits by (an axis or the filter)."""
        return self.row_dim or self.col_dim or (self.fdim if self.fmem else None)

    @property
    def periods(self) -> list[str]:
        """The periods of the pivot, oldest first (one when no axis is the period)."""
        if self.cols != PERIOD:
            return [self.end]
        first = urlstate.period_bounds(self.grain, self.start)[0]
        last = urlstate.period_bounds(self.grain, self.end)[1]
        return list(reversed(urlstate.periods_between(self.grain, first, last)))

    @property
    def months(self) -> tuple[str, str]:
        ps = self.periods
        return urlstate.period_bounds(self.grain, ps[0])[0], urlstate.period_bounds(self.grain, ps[-1])[1]

    @property
    def level(self) -> str:
        """The engine level of the call."""
        return self.rows if self.rows in AXIS_LEVELS else self.org_level


def row_levels(entry: Any, org_level: str) -> list[str]:
    """Org levels the rows may take: the indicator's levels at or below the scope's level."""
    lv = kit.levels_of(entry)
    lowest = AXIS_LEVELS.index(org_level)
    return [x for x in AXIS_LEVELS if x in lv and AXIS_LEVELS.index(x) >= lowest
            and not (x == "doctor" and org_level not in ("institution", "department", "doctor"))]


def split_dims(indicator_id: str) -> list[str]:
    """Dimensions the indicator can be split by."""
    return [d for d in dimensions() if dimension_refusal(indicator_id, d) is None]


def _range(grain: str, start: str | None, end: str, notes: list[str]) -> str:
    first = urlstate.period_bounds(grain, end)[0]
    span = DEFAULT_SPAN[grain]
    default = urlstate.month_to_period(kit.add_months(first, -(span - 1) * {"month": 1, "quarter": 3,
                                                                                  "year": 12}[grain]), grain)
    if not start:
        return default
    start = start if urlstate.is_valid_period(grain, start) else urlstate.convert_period(start, grain)
    if start is None:
        notes.append("起始期间无效，已改为默认范围")
        return default
    if start > end:
        notes.append("起始期间晚于截止期间，已改为默认范围")
        return default
    n = len(urlstate.periods_between(grain, urlstate.period_bounds(grain, start)[0],
                                     urlstate.period_bounds(grain, end)[1]))
    if n > MAX_COLUMNS:
        notes.append(f"期间最多 {MAX_COLUMNS} 列，已截取最近 {MAX_COLUMNS} 期")
        lo = kit.add_months(first, -(MAX_COLUMNS - 1) * {"month": 1, "quarter": 3, "year": 12}[grain])
        return urlstate.month_to_period(lo, grain)
    return start


def parse_spec(search: str | None) -> Spec:
    """The pivot of a query string (``?ind=…&rows=…&cols=…&grain=…&from=…&period=…&org=…&fdim=…&fmem=…``);
    never raises: a bad value falls back to its default and a note says so."""
    state = kit.view_state(search)
    extra = dict(state.extra)
    notes: list[str] = []
    ids_ = analysable_ids()
    ind = extra.get("ind")
    if ind not in ids_:
        if ind:
            notes.append(f"未找到可分析的指标“{ind}”，已显示默认指标")
        ind = DEFAULT_INDICATOR if DEFAULT_INDICATOR in ids_ else ids_[0]
    entry = kit.indicator(ind)

    org, org_level = state.org, "county"
    if org:
        path = kit.org_path(org)
        level = path[-1].level if path else "county"
        if level == "county" or path[-1].code != org:
            org, org_level = None, "county"
        elif level not in kit.levels_of(entry):
            notes.append(kit.level_note(entry, level) or "")
            org = None
        elif not kit.visible_detail(path, kit.scope()) and level in ("institution", "department", "doctor"):
            notes.append(f"{kit.NO_ACCESS}，范围已改为全县")
            org = None
        else:
            org_level = level

    dims = split_dims(ind) if dimensions() and org_level in dimension_levels() else []
    levels = row_levels(entry, org_level)
    rows = extra.get("rows")
    if rows not in levels and rows not in dims:
        if rows:
            notes.append(f"该指标不能按“{ROW_LEVEL_ZH.get(rows, rows)}”分行，已改为默认")
        rows = next((x for x in ("township", "institution", "department", "county") if x in levels), None) \
            or (levels[0] if levels else (dims[0] if dims else org_level))
    cols = extra.get("cols") or PERIOD
    if cols != PERIOD and (cols not in dims or cols == rows or rows in dims):
        notes.append("列已改为期间（一次只能按一个维度拆分）")
        cols = PERIOD
    if cols != PERIOD and rows not in dimension_levels():
        notes.append(f"按维度拆分只到机构，不能按{ROW_LEVEL_ZH[rows]}分行，列已改为期间")
        cols = PERIOD

    end = state.period
    start = _range(state.grain, extra.get("from"), end, notes) if cols == PERIOD else end
    fdim, fmem = extra.get("fdim"), extra.get("fmem")
    if fdim and (fdim not in dims or rows in dims or cols != PERIOD or rows not in dimension_levels()):
        if fmem:
            notes.append("维度筛选只能在行、列都不是维度且行不低于机构时使用，已取消筛选")
        fdim = fmem = None
    if fdim and fmem not in {c for c, _ in members(fdim)}:
        fmem = None
    return Spec(ind, rows, cols, state.grain, start, end, org, org_level, fdim, fmem,
                tuple(n for n in notes if n))


def to_search(spec: Spec) -> str:
    """The query string of a spec (the shareable link)."""
    extra = {"ind": spec.indicator, "rows": spec.rows, "cols": spec.cols,
             "from": spec.start if spec.cols == PERIOD else None, "fdim": spec.fdim, "fmem": spec.fmem}
    state = urlstate.ViewState(spec.grain, spec.end, spec.org)
    return urlstate.to_search(state.with_(extra=extra))


# ---------------------------------------------------------------------------------------------- the pivot
@dataclass
class Pivot:
    """The pivot's cells and totals, keyed by axis codes (rows: org or member code; columns: period or member)."""
    spec: Spec
    rows: list[tuple[str, str]]
    cols: list[tuple[str, str]]
    cells: dict[tuple[str, str], dict[str, Any]]
    col_totals: dict[str, float | None]
    row_totals: dict[str, float | None]
    grand: float | None
    totals_note: str = ""
    refused: str | None = None


def engine_rows(spec: Spec, level: str | None = None, org: str | None = None,
                periods: tuple[str, str] | None = None) -> pd.DataFrame:
    """The engine's rows for the spec (or a variant: another level/org/months), for the user's scope."""
    from metrics import engine
    start, end = periods or spec.months
    kw: dict[str, Any] = {"by": spec.by} if spec.by else {}
    df = engine.compute([spec.indicator], level or spec.level, spec.grain, start, end,
                        org=org if org is not None else spec.org, scope=kit.scope(), mart_url=kit.mart_url(),
                        comparisons=False, **kw)
    if spec.fdim and spec.fmem and not df.empty:
        df = df[df["member"].astype(str) == spec.fmem]
    return df


def _axis(df: pd.DataFrame, spec: Spec) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]]]:
    """(row column, column column, row labels, column labels) of the engine frame."""
    if spec.row_dim:
        rows = members(spec.row_dim)
        rcol = "member"
    else:
        seen = df.drop_duplicates("org_code") if not df.empty else df
        rows = [(str(c), str(n)) for c, n in zip(seen.get("org_code", []), seen.get("org_name", []))]
        rcol = "org_code"
    if spec.col_dim:
        return rcol, "member", rows, members(spec.col_dim)
    from layouts.formatting import fmt_period_zh
    return rcol, "period", rows, [(p, fmt_period_zh(spec.grain, p)) for p in spec.periods]


def build(spec: Spec) -> Pivot:
    """Engine rows → cells, row/column totals and the grand total (see the module doc for when totals exist)."""
    from layouts.formatting import zh_only
    from metrics.engine import IndicatorError
    entry = kit.indicator(spec.indicator)
    try:
        df = engine_rows(spec)
    except IndicatorError as exc:
        return Pivot(spec, [], [], {}, {}, {}, None, refused=zh_only(str(exc)) or str(exc))
    rcol, ccol, rows, cols = _axis(df, spec)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    if not df.empty:
        cols_ = [df[c].astype(object).where(df[c].notna(), None).tolist()
                 for c in (rcol, ccol, "value", "numerator", "denominator", "small_sample", "complete")]
        for r, c, v, n, d, small, complete in zip(*cols_):
            cells[(str(r), str(c))] = {"value": v, "numerator": n, "denominator": d, "small": bool(small),
                                       "complete": complete is None or bool(complete)}
    by_orgs, by_periods = additive(entry)
    sum_rows = bool(spec.row_dim) or by_orgs          # a column's total sums over the rows
    sum_cols = bool(spec.col_dim) or by_periods       # a row's total sums over the columns

    def total(keys: list[tuple[str, str]]) -> float | None:
        parts = [cells[k] for k in keys if k in cells and cells[k]["numerator"] is not None]
        if not parts:
            return None
        den = sum(float(p["denominator"] or 0) for p in parts)
        return total_value(entry, sum(float(p["numerator"]) for p in parts), den)

    row_codes, col_codes = [c for c, _ in rows], [c for c, _ in cols]
    col_totals = {c: total([(r, c) for r in row_codes]) for c in col_codes} if sum_rows else {}
    row_totals = {r: total([(r, c) for c in col_codes]) for r in row_codes} if sum_cols else {}
    grand = total([(r, c) for r in row_codes for c in col_codes]) if sum_rows and sum_cols else None
    return Pivot(spec, rows, cols, cells, col_totals, row_totals, grand, _totals_note(entry, sum_rows, sum_cols))


def _totals_note(entry: Any, sum_rows: bool, sum_cols: bool) -> str:
    if kit.attr(entry, "kind") == "growth":
        return "增长率指标不做合计"
    if not sum_rows and not sum_cols:
        return "该指标含去重人数或比值，不做合计"
    if not sum_cols:
        return "合计 = 各行分子之和 ÷ 分母之和；含期末或月均存量，不跨期合计"
    if not sum_rows:
        return "含去重人数，各行不相加；跨期合计 = 分子之和 ÷ 分母之和"
    return "合计 = 分子之和 ÷ 分母之和（不是比率的平均）"
