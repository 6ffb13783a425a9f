"""The indicator engine: every page, export and the CLI call :func:`compute`.

How a call works
----------------
1. Requested indicators are checked against the catalogue. Unknown ids, unknown levels or grains, bad dates and
   an org code that is unknown or above the requested level raise :class:`IndicatorError`. An indicator that
   cannot be served (not available, computed by the exchange module, or not allowed at the level / under the org)
   raises too when it is the only one asked for; in a multi-indicator call it is left out and its reason is put
   in ``result.attrs["refused"]`` (``{id: reason}``) so pages get every allowed indicator.
2. Periods: every calendar year / quarter / month overlapping [start, end]. A period that sticks out of the range
   is **clipped** to the requested months (its ``months`` column says how many, its note says 部分期间); YoY
   compares the same months one year earlier, MoM the whole previous calendar period.
3. The stored measures of all indicators are grouped by rollup table and institution column and fetched with one
   query each. The database aggregates months to period *specs* (each period, its year-earlier twin and its
   predecessor share one month→spec map), so only (spec × org × measure) sums leave it: ``flow`` measures sum,
   ``last`` take the period's last month, ``avg`` the monthly average.
4. ``value = factor × Σnumerator / Σdenominator`` at the requested level (ratio of sums); a zero denominator gives
   NaN. Growth indicators compare their base indicator with the same months one year earlier.
5. Scope: rows below township level only for institutions in the scope; county and township aggregates need
   ``scope.aggregates`` (or all institutions).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.labels import LEVEL_ZH
from core.periods import days_in_month, month_index, month_last_day, month_str
from metrics import cache as result_cache
from metrics import dimensions as dims
from metrics import sources
from metrics.appdb import appdb_measures
from metrics.catalogue import GRAINS, INDICATORS, LEVELS, MEASURES, TABLE_SOURCE, Indicator, base_measures
from metrics.scope import FULL_SCOPE, Scope
from metrics.twins import Cut, cut_rows, cut_twins
from queries import measures as qm
from queries import org as qorg
from queries import periods as qperiods

SMALL_SAMPLE = 30
_PARALLEL_READS = 4     # mart reads in flight at once per process on a server database (PostgreSQL)
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()
COLUMNS = ["indicator_id", "level", "org_code", "org_name", "parent_code", "period", "period_start", "months",
           "numerator", "denominator", "value", "target", "status", "yoy_value", "yoy_change", "mom_value",
           "mom_change", "complete", "small_sample", "note", "partial", "days"]


_IND_ORDER = {iid: n for n, iid in enumerate(INDICATORS)}     # result rows follow the catalogue


class IndicatorError(ValueError):
    """A refused request (unknown id, level not allowed, bad dates …); the message is Chinese + English."""


# --------------------------------------------------------------------------------------------------------------
# periods
# --------------------------------------------------------------------------------------------------------------
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


_mi = month_index          # 'YYYY-MM' → month index (core.periods, the one month helper)
_ms = month_str


def parse_month(value: str, what: str = "month") -> str:
    """Validate a 'YYYY-MM' month; raise IndicatorError otherwise."""
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise IndicatorError(f"日期格式错误 {what}={value!r}，应为 YYYY-MM (bad date, expected YYYY-MM)")
    return value


@dataclass(frozen=True)
class Period:
    label: str
    start_index: int          # first calendar month of the period (index)
    months: tuple[int, ...]   # months actually covered (clipped to the range)
    size: int                 # calendar months in the full period
    running: bool = False     # holds the data's last month while that month is still running
    last_day: int | None = None   # day of month of the last data day when ``running``
    open: bool = False        # the period is not over yet by the calendar (it holds today)

    @property
    def days(self) -> int:
        """Calendar days of the covered months the data covers (the running month up to its last data day)."""
        total = sum(_days_in_month(m) for m in self.months)
        if self.running and self.last_day is not None:
            total -= _days_in_month(self.months[-1]) - self.last_day
        return total

    @property
    def day_share(self) -> float:
        """Covered days ÷ calendar days of the covered months, for a period not over yet (1 otherwise: a period
        that is over had its stock all along; data ending early there means late uploads, flagged incomplete)."""
        full = sum(_days_in_month(m) for m in self.months)
        return self.days / full if full and self.open else 1.0

    @property
    def partial(self) -> bool:
        return self.running or len(self.months) < self.size


_days_in_month = days_in_month


def _period_of(index: int, grain: str) -> tuple[str, int, int]:
    year, month0 = divmod(index, 12)
    if grain == "year":
        return f"{year}", year * 12, 12
    if grain == "quarter":
        q = month0 // 3
        return f"{year}Q{q + 1}", year * 12 + q * 3, 3
    return _ms(index), index, 1


def periods(grain: str, start: str, end: str) -> list[Period]:
    """Periods of ``grain`` overlapping [start, end], clipped to it."""
    lo, hi = _mi(start), _mi(end)
    out: dict[str, Period] = {}
    for idx in range(lo, hi + 1):
        label, first, size = _period_of(idx, grain)
        p = out.get(label)
        out[label] = Period(label, first, (p.months if p else ()) + (idx,), size)
    return list(out.values())


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------
def _main_periods(url: str, grain: str, start: str, end: str) -> tuple[list[Period], str]:
    """The periods :func:`compute` returns rows for over [start, end] (flagged running/open as it flags them) and
    the end month it reads through.

    Months after the data's last month hold nothing yet: a period reaching past it is computed over the months
    that have data and flagged partial. Otherwise a stock measure ("期末", the period's last month) would read an
    empty future month, a monthly average would divide by months not yet lived, and YoY would compare a part of
    this period with the whole of last year's."""
    last_day = qperiods.last_data_date(url)
    running_month = None        # the month of the last data day when that day is not the month's last
    if last_day is not None:
        last_month = f"{last_day.year:04d}-{last_day.month:02d}"
        if start <= last_month < end:
            end = last_month
        if (last_day + dt.timedelta(days=1)).month == last_day.month:
            running_month = _mi(last_month)
    this_month = _mi(dt.date.today().strftime("%Y-%m"))
    main = [replace(p, running=True, last_day=last_day.day, open=running_month >= this_month)
            if running_month is not None and running_month in p.months else p for p in periods(grain, start, end)]
    return main, end


def result_periods(grain: str, start: str, end: str, mart_url: str | None = None) -> list[Period]:
    """The periods of a :func:`compute` call over [start, end] at ``grain``, with the ``partial`` flag its rows get
    (a period clipped to the data or holding the running month): callers that keep only whole periods (the
    alert lists) skip a call whose every period is partial instead of computing rows they would drop."""
    parse_month(start, "from")
    parse_month(end, "to")
    if grain not in GRAINS:
        raise IndicatorError(f"未知粒度 {grain!r} (unknown grain; one of {', '.join(GRAINS)})")
    return _main_periods(_config_url(mart_url), grain, start, end)[0]


def _config_url(mart_url: str | None) -> str:
    if mart_url:
        return mart_url
    from core.config import load_config
    return load_config().mart_url


def refusal(ind: Indicator, level: str, org_level: str | None = None) -> str | None:
    """Why ``ind`` cannot be computed at ``level`` (under an org of ``org_level``), or None."""
    if not ind.available:
        return f"{ind.zh}: {ind.unavailable_reason}"
    if ind.kind == "exchange" and any(sources.reader(MEASURES[m].table) is None for m in ind.measures):
        return (f"{ind.zh}: 由数据交换模块的应用数据库度量来源提供，当前未安装 "
                f"(computed by the exchange module's app-database measure source, which is not installed)")
    if level not in ind.levels:
        allowed = "、".join(LEVEL_ZH[lv] for lv in ind.levels)
        return (f"{ind.zh} 不能按{LEVEL_ZH[level]}计算，口径只支持: {allowed} "
                f"(level {level} not allowed for {ind.id}; allowed: {', '.join(ind.levels)})")
    if org_level and org_level not in ind.levels:
        return (f"{ind.zh} 不能在{LEVEL_ZH[org_level]}范围内下钻 "
                f"(org filter at level {org_level} not allowed for {ind.id})")
    return None


# --------------------------------------------------------------------------------------------------------------
# compute
# --------------------------------------------------------------------------------------------------------------
def compute(indicator_ids: list[str], level: str, grain: str, start: str, end: str, org: str | None = None,
            scope: Scope = FULL_SCOPE, mart_url: str | None = None, comparisons: bool = True,
            from_facts: bool = False, use_cache: bool = True, by: str | None = None) -> pd.DataFrame:
    """Compute indicators: one row per indicator, org and period (columns :data:`COLUMNS`).

    ``by`` (a dimension of :data:`metrics.dimensions.DIMENSIONS`) splits every row by that dimension's members:
    columns ``dimension``, ``member``, ``member_name`` after ``org_name``, one row per org × period × member whose
    numerators and denominators add up to the undivided row (:mod:`metrics.dimensions`).

    ``from_facts`` aggregates the facts instead of the rollups (tests use it to prove the rollups right).
    ``use_cache`` reads/writes the installed result cache (:mod:`metrics.cache`; none is installed outside the app).
    """
    url = _config_url(mart_url)
    with qm.session(url):
        return _compute(indicator_ids, level, grain, start, end, org, scope, url, comparisons, from_facts, use_cache,
                        by)


def _compute(indicator_ids: list[str], level: str, grain: str, start: str, end: str, org: str | None,
             scope: Scope, url: str, comparisons: bool, from_facts: bool, use_cache: bool,
             by: str | None = None) -> pd.DataFrame:
    """:func:`compute` inside one mart session."""
    live = any(INDICATORS[i].kind == "exchange" for i in ([indicator_ids] if isinstance(indicator_ids, str)
                                                           else indicator_ids) if i in INDICATORS)
    if use_cache and not live and result_cache.backend() is not None:   # app-database figures change any time
        ids_key = [indicator_ids] if isinstance(indicator_ids, str) else list(indicator_ids)
        key = result_cache.make_key(url, result_cache.read_version(url, ids_key, start, end, from_facts),
                                    tuple(ids_key), level, grain, start, end, org,
                                    scope.all_institutions, tuple(sorted(scope.inst_codes)), scope.aggregates,
                                    comparisons, from_facts, *(() if by is None else (by,)))
        return result_cache.get_or_compute(key, lambda: _compute(
            indicator_ids, level, grain, start, end, org, scope, url, comparisons, from_facts, use_cache=False,
            by=by))
    if isinstance(indicator_ids, str):
        indicator_ids = [indicator_ids]
    ids = list(dict.fromkeys(indicator_ids))
    if not ids:
        raise IndicatorError("未指定指标 (no indicator ids)")
    unknown = [i for i in ids if i not in INDICATORS]
    if unknown:
        raise IndicatorError(f"未知指标 (unknown indicator ids): {', '.join(unknown)}")
    if level not in LEVELS:
        raise IndicatorError(f"未知层级 {level!r} (unknown level; one of {', '.join(LEVELS)})")
    if grain not in GRAINS:
        raise IndicatorError(f"未知粒度 {grain!r} (unknown grain; one of {', '.join(GRAINS)})")
    parse_month(start, "from")
    parse_month(end, "to")
    if _mi(start) > _mi(end):
        raise IndicatorError(f"起始月份晚于结束月份 (start {start} is after end {end})")

    main, end = _main_periods(url, grain, start, end)
    first_month = qperiods.first_data_month(url)

    org_level = None
    if org:
        org_level = qorg.org_level(org, url)
        if org_level is None:
            raise IndicatorError(f"未知机构或区划代码 {org!r} (unknown org code)")
        if LEVELS.index(org_level) > LEVELS.index(level):
            raise IndicatorError(f"{LEVEL_ZH[org_level]} {org} 不能按上级层级 {LEVEL_ZH[level]} 汇总 "
                                 f"(org {org} is a {org_level}; level {level} is above it)")
        if org_level == "county":
            org_level = None
    if by is not None and (reason := dims.level_refusal(by, level, org_level)):
        raise IndicatorError(reason)
    if by is not None and not from_facts and not qm.dimension_rollups_present(url):
        raise IndicatorError("维度汇总表尚未生成, 请运行 python app.py rollups (dimension rollups missing: run "
                             "python app.py rollups)")

    refused: dict[str, str] = {}
    wanted: list[Indicator] = []
    for iid in ids:
        reason = refusal(INDICATORS[iid], level, org_level) or (by and dims.dimension_refusal(iid, by))
        if reason:
            refused[iid] = reason
        else:
            wanted.append(INDICATORS[iid])
    if refused and len(ids) == 1:
        raise IndicatorError(next(iter(refused.values())))

    empty = pd.DataFrame(columns=COLUMNS) if by is None else dims.finish(pd.DataFrame(columns=COLUMNS), by, COLUMNS)
    empty.attrs["refused"] = refused
    if not wanted or not scope.sees_anything:
        return empty
    below = level in ("institution", "department", "doctor")
    if not below and not (scope.aggregates or scope.all_institutions):
        return empty
    scope_insts = None if scope.all_institutions else frozenset(scope.inst_codes)

    # month sets needed: each main period, its YoY twin, its MoM predecessor (+ their YoY twins for growth)
    specs: dict[tuple[int, ...], int] = {}
    has_growth = any(i.kind == "growth" for i in wanted)
    plan = []
    for p in main:
        cur = p.months
        yoy = tuple(m - 12 for m in cur)
        _label, prev_first, prev_size = _period_of(p.start_index - 1, grain)
        mom = tuple(range(prev_first, prev_first + prev_size))
        sets = [cur] + ([yoy, mom] if comparisons else [])
        if has_growth:
            sets += [tuple(m - 12 for m in s) for s in list(sets)]
        for s in sets:
            specs.setdefault(s, len(specs))
        plan.append((p, cur, yoy, mom))
    # a running period's YoY twin cut at the same day (not for member splits: the day rollups have no members)
    cuts = cut_twins(plan, specs) if (comparisons or has_growth) and by is None else {}
    all_months = sorted({m for s in specs for m in s})
    lo, hi = _ms(all_months[0]), _ms(all_months[-1])

    tree = qorg.org_tree(url)
    orgs = _org_frame(url, level, tree)
    inst_township = dict(zip(tree["inst_code"], tree["township_code"]))
    # complete rows: every org of the level under ``org`` and in scope, for every period inside the data
    every_org = _orgs_under(orgs, level, org_level, org, inst_township, scope_insts if below else None)
    inside = [p for p in main if first_month is not None and _ms(max(p.months)) >= first_month]
    missing = _start(url, qm.missing_uploads, url, _ms(min(m for p in main for m in p.months)), end)
    # Townships group either by institution location or by residence: the same measure differs between the
    # two, so each grouping is computed on its own (below township level and at county level it does not matter).
    groups: dict[str, list[Indicator]] = {}
    for ind in wanted:
        groups.setdefault(ind.township_by if level == "township" else "provider", []).append(ind)
    out = []
    for township_by, inds in groups.items():
        wide = _measure_table(inds, specs, level, township_by, org_level, org, url, lo, hi,
                              scope_insts if below else None, from_facts, by, cuts)
        every = every_org if township_by == "provider" or level != "township" else \
            _orgs_under(orgs, level, org_level, org, inst_township, None)
        group_orgs, every = (orgs, every) if by is None else dims.expand_orgs(orgs, every, by)
        out.append(_assemble(inds, wide, specs, plan, level, group_orgs, missing(), inst_township, comparisons,
                             every, [specs[p.months] for p in inside], cuts))
    out = [o for o in out if not o.empty]
    columns = COLUMNS if by is None else [*COLUMNS, "member"]
    if len(out) == 1:       # each grouping comes back sorted already
        result = out[0].reindex(columns=columns)
    else:
        result = pd.concat(out, ignore_index=True) if out else empty.copy()
        result = result.reindex(columns=columns)
        result = result.sort_values(["indicator_id", "period_start", "org_code"], kind="stable",
                                    key=lambda c: c.map(_IND_ORDER) if c.name == "indicator_id" else c)
        result = result.reset_index(drop=True)
    for col in ("status", "note", "target", "org_name", "parent_code"):
        result[col] = result[col].astype(object).where(result[col].notna(), None)
    if by is not None:
        result = dims.finish(result, by, COLUMNS)
    result.attrs["refused"] = refused
    return result


def _orgs_under(orgs: pd.DataFrame, level: str, org_level: str | None, org: str | None, inst_township: dict,
                scope_insts: frozenset[str] | None) -> list[str]:
    """org_keys of ``level`` inside the subtree of ``org`` (all when None) and, below township, in scope."""
    if level == "county":
        return ["__county__"]
    keys = orgs["org_key"]
    mask = np.ones(len(orgs), dtype=bool)
    if org_level and org:
        if org_level == level:
            mask = (keys == org).to_numpy()
        elif org_level == "township":
            town = orgs["parent_code"] if level == "institution" else orgs["inst"].map(inst_township)
            mask = (town == org).to_numpy()
        elif org_level == "institution":
            mask = (orgs["inst"] == org).to_numpy()
        elif org_level == "department":
            mask = (orgs["parent_code"] == org).to_numpy()
    if scope_insts is not None and level in _INST_LEVELS:
        mask = mask & orgs["inst"].isin(scope_insts).to_numpy()
    return keys[mask].tolist()


def _read_pool(url: str) -> ThreadPoolExecutor | None:
    """The process' threads for concurrent mart reads on a server database (None on DuckDB). PostgreSQL runs each
    query on one backend, so the reads of one engine call go out at once on their own pooled connections; DuckDB
    already spreads each query over its threads, so there they run in turn. Made again after a fork (a gunicorn
    worker does not inherit the parent's threads)."""
    global _pool
    if url.startswith("duckdb:"):
        return None
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=_PARALLEL_READS, thread_name_prefix="mart-read"))
        return _pool[1]


def _start(url: str, fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """Start ``fn(*args)`` (a mart read) on the read threads of a server database and return the getter of its
    result; on DuckDB run it now."""
    pool = _read_pool(url)
    if pool is None:
        value = fn(*args)
        return lambda: value
    return pool.submit(fn, *args).result


def _calc_of(ind: Indicator) -> Indicator:
    """The indicator whose numerator/denominator are computed (a growth indicator's base)."""
    return INDICATORS[ind.growth_of] if ind.kind == "growth" else ind


def _measure_table(inds: list[Indicator], specs: dict, level: str, township_by: str, org_level: str | None,
                   org: str | None, url: str, lo: str, hi: str, scope_insts: frozenset[str] | None,
                   from_facts: bool, by: str | None = None, cuts: dict[int, Cut] | None = None) -> pd.DataFrame:
    """Every measure of ``inds`` per (spec, org_key): one query per rollup table and institution column (and one
    read per registered application-database source); with ``by`` per (spec, (org_key, member)); plus the rows of
    the cut twins (:func:`metrics.twins.cut_rows`; not with ``by``: the day rollups have no members)."""
    needed: dict[tuple[str, str | None], list] = {}
    special: set[str] = set()
    for ind in inds:
        for mid in _calc_of(ind).measures:
            for base in base_measures(mid):
                m = MEASURES[base]
                if m.kind in ("population", "distinct"):
                    special.add(m.id)
                    continue
                lst = needed.setdefault((m.table, m.inst_col), [])
                if m not in lst:
                    lst.append(m)
    spec_months = [(sid, _ms(m), m == max(months), len(months)) for months, sid in specs.items() for m in months]
    cuts = cuts or {}

    def read(item: tuple[tuple[str, str | None], list]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        (table, inst_col), ms = item
        if ms[0].kind == "appdb":
            tree = qorg.org_tree(url)
            return appdb_measures(table, ms, specs, level, org_level, org, scope_insts,
                                  dict(zip(tree["inst_code"], tree["township_code"]))), None
        df = qm.period_measures(url, table, inst_col, ms, level, township_by, spec_months, org_level, org,
                                scope_insts, from_facts=from_facts, dimension=by)
        if by is not None:
            df = dims.keyed_by_member(df)
        flows = [m for m in ms if m.kind == "flow"]
        tails = qm.day_tail_measures(url, table, inst_col, flows, level, township_by,
                                     [(c.spec, c.month, c.day) for c in cuts.values()], org_level, org, scope_insts,
                                     from_facts) if cuts and flows else None
        if tails is not None:
            tails["org_key"] = tails["org_key"].where(tails["org_key"].notna(), "__county__")
            tails = tails.set_index(["spec", "org_key"])
        return df, tails

    items = list(needed.items())
    pool = _read_pool(url)
    results = list(pool.map(read, items)) if pool is not None and len(items) > 1 else [read(item) for item in items]
    exact: dict[str, pd.Series] = {}
    for ((_table, _inst_col), ms), (_df, tails) in zip(items, results):
        if tails is not None:
            exact.update({m.id: tails[m.id] for m in ms if m.kind == "flow"})
    wide = _union_frames([df for df, _tails in results if not df.empty])
    wide = _add_special(wide, special, specs, level, org_level, org, url, lo, hi)
    if cuts:
        wide = cut_rows(wide, cuts, exact)
    if wide.empty:
        return wide
    # derived measures column by column in numpy (same arithmetic as pandas: NaN-skipping sum with min_count=1,
    # ratio NaN on a zero denominator)
    cols = {c: wide[c].to_numpy(dtype=float) for c in wide.columns}
    nan = np.full(len(wide), np.nan)
    for mid in _derived_order():
        m = MEASURES[mid]
        if m.kind == "sum":
            stack = np.column_stack([cols.get(p, nan) * s for p, s in m.parts])
            cols[mid] = np.where(np.isnan(stack).all(axis=1), np.nan, np.nansum(stack, axis=1))
        else:
            a, b = (cols.get(p, nan) for p, _ in m.parts)
            with np.errstate(divide="ignore", invalid="ignore"):
                cols[mid] = a / np.where(b != 0, b, np.nan)
    wide = pd.DataFrame(cols, index=wide.index)
    return wide


def _union_frames(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-table (spec, org_key, measures…) frames → one frame indexed by the sorted union of (spec, org_key):
    one factorisation and one float matrix instead of successive outer joins (NaN where a table has no row)."""
    if not parts:
        return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["spec", "org_key"]))
    specs = np.concatenate([p["spec"].to_numpy(dtype=np.int64) for p in parts])
    keys = np.concatenate([p["org_key"].to_numpy(dtype=object) for p in parts])
    keys = np.where(pd.isna(keys), "__county__", keys)
    key_codes, key_uniques = pd.factorize(keys, sort=True)
    pair = specs * len(key_uniques) + key_codes          # sorted (spec, org_key) order
    row_codes, pairs = pd.factorize(pair, sort=True)
    columns = [c for p in parts for c in p.columns if c not in ("spec", "org_key")]
    data = np.full((len(pairs), len(columns)), np.nan)
    start, col = 0, 0
    for p in parts:
        rows = row_codes[start:start + len(p)]
        for c in p.columns:
            if c in ("spec", "org_key"):
                continue
            data[rows, col] = p[c].to_numpy(dtype=float)
            col += 1
        start += len(p)
    index = pd.MultiIndex.from_arrays([(pairs // len(key_uniques)).astype(np.int64),
                                       np.asarray(key_uniques, dtype=object)[pairs % len(key_uniques)]],
                                      names=["spec", "org_key"])
    return pd.DataFrame(data, index=index, columns=columns)


def _derived_order() -> list[str]:
    """Derived measures, parts before wholes."""
    order: list[str] = []

    def visit(mid: str) -> None:
        m = MEASURES[mid]
        for p, _ in m.parts:
            if MEASURES[p].derived:
                visit(p)
        if m.derived and mid not in order:
            order.append(mid)
    for mid in MEASURES:
        visit(mid)
    return order


def _add_special(wide: pd.DataFrame, special: set[str], specs: dict, level: str, org_level: str | None,
                 org: str | None, url: str, lo: str, hi: str) -> pd.DataFrame:
    """Population (per area) and distinct hospitalised chronic patients (per spec and area)."""
    if not special:
        return wide
    keys = set(wide.index.get_level_values("org_key")) if not wide.empty else set()
    idx_specs = list(specs.values())
    add = []
    if "population" in special:
        areas = qm.area_population(url)
        county = areas[areas["level"] == "county"]
        twn = areas[areas["level"] == "township"]
        if level == "county":
            pop = county["population"].iloc[0] if not county.empty else None
            if pop is None or pd.isna(pop) or pop == 0:
                pop = twn["population"].sum()
            pops = {"__county__": float(pop)}
        else:
            pops = {r.area_code: float(r.population) for r in twn.itertuples()}
            if org_level == "township":
                pops = {k: v for k, v in pops.items() if k == org}
        add.append(pd.DataFrame([(s, k, "population", v) for s in idx_specs for k, v in pops.items()],
                                columns=["spec", "org_key", "measure", "value"]))
    if "chronic_hosp_persons" in special:
        spec_ends = []
        for months, sid in specs.items():
            end_day = month_last_day(max(months))
            spec_ends += [(sid, _ms(mi), end_day.isoformat()) for mi in months]
        counts = qm.chronic_hosp_counts(url, spec_ends, by_area=level != "county",
                                        township_only=level == "township" or org_level == "township",
                                        area_code=org if org_level == "township" else None)
        out = []
        if counts["any_rows"].any():
            keys = counts["org_key"].to_numpy(dtype=object) if level != "county" else ["__county__"] * len(counts)
            out = list(zip(counts["spec"].astype("int64").tolist(), keys, ["chronic_hosp_persons"] * len(counts),
                           counts["n"].astype(float).tolist()))
        add.append(pd.DataFrame(out, columns=["spec", "org_key", "measure", "value"]))
    long = pd.concat(add, ignore_index=True)
    # a group-by + unstack is pivot_table(aggfunc="sum")'s result for these frames (sums are never NaN, so its
    # dropping of all-NaN rows and columns drops nothing) at a third of its cost; an empty frame keeps pivot_table
    extra = long.groupby(["spec", "org_key", "measure"])["value"].sum().unstack("measure") if not long.empty else \
        long.pivot_table(index=["spec", "org_key"], columns="measure", values="value", aggfunc="sum")
    if wide.empty:
        return extra
    return wide.join(extra, how="outer")


def _org_frame(url: str, level: str, tree: pd.DataFrame | None = None) -> pd.DataFrame:
    """org_key → name, parent_code, inst (for scope/completeness), inst_level and township of the row."""
    c = qorg.county(url)
    tree = qorg.org_tree(url) if tree is None else tree
    if level == "county":
        return pd.DataFrame([{"org_key": "__county__", "org_code": c["code"], "org_name": c["name"],
                              "parent_code": None, "inst": None, "inst_level": None}])
    if level == "township":
        t = qorg.townships(url)
        return pd.DataFrame({"org_key": t["area_code"], "org_code": t["area_code"], "org_name": t["name"],
                             "parent_code": c["code"], "inst": None, "inst_level": None})
    levels = dict(zip(tree["inst_code"], tree["level"]))
    if level == "institution":
        return pd.DataFrame({"org_key": tree["inst_code"], "org_code": tree["inst_code"], "org_name": tree["name"],
                             "parent_code": tree["township_code"], "inst": tree["inst_code"],
                             "inst_level": tree["level"]})
    if level == "department":
        d = qorg.all_departments(url)
        return pd.DataFrame({"org_key": d["dept_code"], "org_code": d["dept_code"], "org_name": d["name"],
                             "parent_code": d["inst_code"], "inst": d["inst_code"],
                             "inst_level": d["inst_code"].map(levels)})
    s = qorg.all_doctors(url)
    return pd.DataFrame({"org_key": s["doctor_code"], "org_code": s["doctor_code"], "org_name": s["name"],
                         "parent_code": s["dept_code"].where(s["dept_code"].notna(), s["inst_code"]),
                         "inst": s["inst_code"], "inst_level": s["inst_code"].map(levels)})


def _vectors(calc: Indicator, cols: dict[str, np.ndarray], n: int, den_scale: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numerator, denominator, value of a (non-growth) indicator for every row of the measure columns ``cols``.

    Without rows a measure reads as the indicator's ``fill_nulls_with`` (0: none; None: missing). ``den_scale``
    scales a stock denominator to the days the data covers (1 where the period is covered whole).
    """
    nan = np.full(n, np.nan)
    fill = calc.fill_nulls_with
    num = cols[calc.numerator].copy() if calc.numerator in cols else nan.copy()
    if fill is not None and MEASURES[calc.numerator].kind != "ratio":
        num = np.nan_to_num(num, nan=fill)
    if calc.denominator is None:
        return num, nan.copy(), num * calc.factor
    den = cols[calc.denominator].copy() if calc.denominator in cols else nan.copy()
    if MEASURES[calc.denominator].kind != "ratio":
        den = np.nan_to_num(den, nan=0.0 if fill is None else fill)
    if den_scale is not None and calc.scale_denominator:
        den = den * den_scale
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den != 0, calc.factor * num / np.where(den != 0, den, 1.0), np.nan)
    return num, den, value


def _take(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    out = arr[np.where(pos >= 0, pos, 0)]
    return np.where(pos >= 0, out, np.nan)


_NOTE_TEXTS = ("部分期间 (partial period)", "样本量小", "数据不完整 (incomplete uploads)", "无病例 (no cases)",
               "无数据 (no data)")
# note of each combination of (partial, small sample, incomplete, no cases, no data), indexed by
# partial + 2·small + 4·incomplete + 8·no cases + 16·no data
_NOTES = np.array([None if not code else "; ".join(t for bit, t in enumerate(_NOTE_TEXTS) if code >> bit & 1)
                   for code in range(32)], dtype=object)
_INST_LEVELS = ("institution", "department", "doctor")


def _assemble(inds: list[Indicator], wide: pd.DataFrame, specs: dict, plan: list, level: str, orgs: pd.DataFrame,
              missing: pd.DataFrame, inst_township: dict, comparisons: bool, every_org: list[str] | None = None,
              inside_specs: list[int] | None = None, cuts: dict[int, Cut] | None = None) -> pd.DataFrame:
    """Result rows of every indicator of one grouping, vectorised over orgs and periods.

    Rows of ``wide`` are addressed through a dense (spec × org key) position matrix, so a row's year-earlier,
    previous-period and growth twins are plain numpy lookups; per-period and per-org attributes are small arrays
    indexed by codes, and the frame is built once for every indicator.
    """
    if wide.empty:
        wide = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["spec", "org_key"]))
    if level == "county":
        # the county row exists for every main period even without data
        need = pd.MultiIndex.from_tuples([(specs[cur], "__county__") for _p, cur, _y, _m in plan],
                                         names=["spec", "org_key"])
        wide = wide.reindex(wide.index.union(need))
    if every_org and inside_specs:
        # complete rows: every org in scope for every period inside the data, with or without rows
        need = pd.MultiIndex.from_product([sorted(set(inside_specs)), every_org], names=["spec", "org_key"])
        wide = wide.reindex(wide.index.union(need))
    idx = wide.index
    cols = {c: wide[c].to_numpy(dtype=float) for c in wide.columns}
    cuts = cuts or {}
    n_specs = len(specs) + len(cuts)
    spec_arr = np.asarray(idx.get_level_values("spec"), dtype=np.int64)
    key_arr = idx.get_level_values("org_key").to_numpy(dtype=object)
    key_codes, key_uniques = pd.factorize(key_arr)
    pos = np.full((n_specs, max(len(key_uniques), 1)), -1, dtype=np.int64)
    pos[spec_arr, key_codes] = np.arange(len(idx))

    def lookup(spec_map: np.ndarray, specs_of_rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Position in ``wide`` of (spec_map[spec], key) for each row; -1 where that spec or row is absent."""
        target = spec_map[specs_of_rows]
        return np.where(target >= 0, pos[np.maximum(target, 0), codes], -1)

    shift = np.full(n_specs, -1, dtype=np.int64)
    for months, sid in specs.items():
        shift[sid] = specs.get(tuple(m - 12 for m in months), -1)
    has_cut = np.zeros(n_specs, dtype=bool)
    for main, cut in cuts.items():           # a running period's twin: the same days of last year
        shift[main] = cut.spec
        has_cut[main] = True
    prev_pos = lookup(shift, spec_arr, key_codes)

    # per main spec: period attributes and its comparison specs
    is_main = np.zeros(n_specs, dtype=bool)
    yoy_spec = np.full(n_specs, -1, dtype=np.int64)
    mom_spec = np.full(n_specs, -1, dtype=np.int64)
    label_of = np.empty(n_specs, dtype=object)
    start_of = np.zeros(n_specs, dtype="datetime64[us]")
    nmonths_of = np.zeros(n_specs, dtype=np.int64)
    partial_of = np.zeros(n_specs, dtype=bool)
    days_of = np.zeros(n_specs, dtype=np.int64)
    share_of = np.ones(n_specs, dtype=float)       # covered days ÷ calendar days of each main spec
    main_months: dict[int, tuple[int, ...]] = {}
    for p, cur, yoy, mom in plan:
        sid = specs[cur]
        is_main[sid] = True
        yoy_spec[sid] = cuts[sid].spec if sid in cuts else specs.get(yoy, -1)
        mom_spec[sid] = specs.get(mom, -1)
        label_of[sid] = p.label
        start_of[sid] = np.datetime64(f"{month_str(p.start_index)}-01", "us")
        nmonths_of[sid] = len(p.months)
        partial_of[sid] = p.partial
        days_of[sid] = p.days
        share_of[sid] = p.day_share
        main_months[sid] = cur

    sel = np.flatnonzero(is_main[spec_arr])
    spec_sel = spec_arr[sel]
    sel_keys = key_arr[sel]
    sel_codes = key_codes[sel]
    if comparisons:
        yoy_pos = lookup(yoy_spec, spec_sel, sel_codes)
        mom_pos = lookup(mom_spec, spec_sel, sel_codes)
    else:
        yoy_pos = np.full(len(sel), -1)
        mom_pos = np.full(len(sel), -1)

    org_index = pd.Index(orgs["org_key"])
    org_pos = org_index.get_indexer(sel_keys)
    keep_org = org_pos >= 0
    safe_pos = np.maximum(org_pos, 0)
    org_inst = orgs["inst"].to_numpy(dtype=object)
    org_codes = orgs["org_code"].to_numpy(dtype=object)
    org_inst_level = orgs["inst_level"].to_numpy(dtype=object)
    row_inst = np.where(keep_org, org_inst[safe_pos] if len(orgs) else None, None)
    row_inst_level = np.where(keep_org, org_inst_level[safe_pos] if len(orgs) else None, None)
    is_county_row = sel_keys == "__county__"
    # hashed membership: numpy's isin compares object arrays pairwise (seconds for thousands of org keys)
    is_complete_row = pd.Index(sel_keys, dtype=object).isin(every_org or []) & \
        np.isin(spec_sel, np.asarray(inside_specs or [], dtype=np.int64))
    row_share = np.where(has_cut[spec_sel], 1.0, share_of[spec_sel])   # a cut twin needs no pro rata
    den_scale = np.where(is_main[spec_arr], share_of[spec_arr], 1.0)
    # a cut twin's stock denominator covers the same days as its period's (its flows are cut already)
    cut_share = share_of.copy()
    for main, cut in cuts.items():
        cut_share[cut.spec] = share_of[main]
    den_scale_stock = np.where(is_main[spec_arr] | (spec_arr >= len(specs)), cut_share[spec_arr], 1.0)

    # completeness per source set: rows covering an institution that missed an upload in the period
    incomplete_cache: dict[tuple, np.ndarray] = {}
    main_list = [sid for sid in main_months]
    miss_months = missing["month"].map(_mi).to_numpy() if missing is not None and not missing.empty else None

    def incomplete(sources: frozenset, resid: bool) -> np.ndarray:
        ck = (sources, resid)
        if ck in incomplete_cache:
            return incomplete_cache[ck]
        flag = np.zeros(len(sel), dtype=bool)
        if sources and miss_months is not None:
            src_ok = missing["source"].isin(sources).to_numpy()
            mm_inst = missing["inst_code"].to_numpy(dtype=object)[src_ok]
            mm_mi = miss_months[src_ok]
            whole = level == "county" or (level == "township" and resid)
            if whole:
                bad = np.zeros(n_specs, dtype=bool)
                for sid in main_list:
                    bad[sid] = bool(np.isin(mm_mi, main_months[sid]).any())
                flag = bad[spec_sel]
            else:
                # (spec, unit) pairs with a missing upload; unit = township (provider) or institution
                units = (np.where(keep_org, org_codes[safe_pos], None) if len(orgs) else sel_keys) \
                    if level == "township" else row_inst
                unit_codes, unit_uniques = pd.factorize(units, use_na_sentinel=False)
                unit_index = pd.Index(unit_uniques)
                bad = np.zeros((n_specs, len(unit_uniques) + 1), dtype=bool)
                for sid in main_list:
                    insts = pd.unique(mm_inst[np.isin(mm_mi, main_months[sid])])
                    if not len(insts):
                        continue
                    hit = [inst_township.get(i) for i in insts] if level == "township" else list(insts)
                    cols = unit_index.get_indexer(pd.Index(hit, dtype=object))
                    bad[sid, cols[cols >= 0]] = True
                flag = bad[spec_sel, unit_codes]
        incomplete_cache[ck] = flag
        return flag

    def per_level(values: Callable[[str | None], float | None]) -> np.ndarray:
        """``values`` of each row's institution level, called once per distinct level."""
        codes, uniq = pd.factorize(row_inst_level, use_na_sentinel=False)
        return np.array([values(u) for u in uniq], dtype=float)[codes] if len(uniq) else np.zeros(0)

    parts: dict[str, list] = {c: [] for c in ("ind", "rows", "numerator", "denominator", "value", "target",
                                              "status", "yoy", "mom", "complete", "small", "why")}
    for ind in inds:
        calc = _calc_of(ind)
        raw_den = cols.get(calc.denominator) if calc.denominator else None
        stock_den = calc.denominator is not None and MEASURES[calc.denominator].kind not in ("flow", "appdb") \
            and not MEASURES[calc.denominator].derived
        num_all, den_all, val_all = _vectors(calc, cols, len(idx), den_scale_stock if stock_den else den_scale)
        if ind.kind == "growth":
            cur, prev = val_all, _take(val_all, prev_pos)
            with np.errstate(divide="ignore", invalid="ignore"):
                val_all = np.where(prev != 0, 100.0 * (cur - prev) / np.where(prev != 0, prev, 1.0), np.nan)
            num_all, den_all = cur - prev, prev
            has = ~np.isnan(cur[sel]) | ~np.isnan(prev[sel])
        else:
            has = (np.nan_to_num(num_all[sel]) != 0) | (np.nan_to_num(den_all[sel]) != 0)
        keep = keep_org & (has | is_county_row | is_complete_row)
        if not keep.any():
            continue
        k = np.flatnonzero(keep)
        value = val_all[sel][k]
        n = len(k)
        if ind.target_by_inst_level:
            if level in _INST_LEVELS:
                lows = per_level(lambda il: ind.target_for(il)[0])[k]
                highs = per_level(lambda il: ind.target_for(il)[1])[k]
            else:
                lows = np.full(n, np.nan if ind.target_low is None else ind.target_low, dtype=float)
                highs = np.full(n, np.nan if ind.target_high is None else ind.target_high, dtype=float)
        else:
            lows = np.full(n, np.nan if ind.target_low is None else ind.target_low)
            highs = np.full(n, np.nan if ind.target_high is None else ind.target_high)
        # judged on the value as displayed (the indicator's decimals): 65.0 shown against a target of 65 is met
        status = _status_vec(np.round(value, ind.decimals), lows, highs)
        target = np.where(np.isnan(highs), lows, highs) if ind.direction == "down" else \
            np.where(np.isnan(lows), highs, lows)
        uploads = frozenset({TABLE_SOURCE.get(MEASURES[b].table) for mid in calc.measures
                             for b in base_measures(mid)} - {None})
        complete = ~incomplete(uploads, ind.township_by == "residence")[k]
        den_is_count = ind.kind != "growth" and ind.denominator is not None and \
            MEASURES[ind.denominator].is_count and MEASURES[ind.denominator].kind != "population"
        den = den_all[sel][k]
        small = (np.nan_to_num(den) < SMALL_SAMPLE) & ~np.isnan(value) if den_is_count else np.zeros(n, dtype=bool)
        parts["ind"].append(np.full(n, ind.id, dtype=object))
        parts["rows"].append(k)
        parts["numerator"].append(num_all[sel][k])
        parts["denominator"].append(den)
        parts["value"].append(value)
        parts["target"].append(np.where(np.isnan(target), None, target))
        parts["status"].append(status)
        yoy_val = _take(val_all, yoy_pos[k])
        if calc.denominator is None and ind.kind != "growth":
            # a count of a period the data covers in part compares the same share of last year's period
            yoy_val = yoy_val * row_share[k]
        parts["yoy"].append(yoy_val)
        why = np.zeros(n, dtype=np.int64)
        if ind.kind != "growth" and calc.denominator is not None:
            empty_value = np.isnan(value)
            no_rows = np.isnan(raw_den[sel][k]) if raw_den is not None else np.ones(n, dtype=bool)
            cases = MEASURES[calc.denominator].is_count
            why = np.where(empty_value & ~no_rows & cases, 8, np.where(empty_value & (no_rows | ~cases), 16, 0))
        elif ind.kind == "growth":
            why = np.where(np.isnan(value), 16, 0)
        parts["why"].append(why)
        parts["mom"].append(_take(val_all, mom_pos[k]))
        parts["complete"].append(complete)
        parts["small"].append(small)
    if not parts["rows"]:
        return pd.DataFrame(columns=COLUMNS)
    cat = {c: np.concatenate(v) for c, v in parts.items()}
    # the result's order (catalogue order of indicators, period start, org code), sorted here once in numpy
    ind_rank = np.array([_IND_ORDER[i] for i in cat["ind"]], dtype=np.int64) if len(inds) > 1 else \
        np.zeros(len(cat["rows"]), dtype=np.int64)
    code_rank, code_uniq = pd.factorize(orgs["org_code"].to_numpy(dtype=object)[org_pos[cat["rows"]]], sort=True)
    code_rank = np.where(code_rank < 0, len(code_uniq), code_rank)      # missing codes last, as pandas sorts
    perm = np.lexsort((code_rank, start_of[spec_sel[cat["rows"]]].astype(np.int64), ind_rank))
    cat = {c: v[perm] for c, v in cat.items()}
    rows = cat["rows"]
    specs_out = spec_sel[rows]
    opos = org_pos[rows]
    value, yoy, mom = cat["value"], cat["yoy"], cat["mom"]
    note_code = partial_of[specs_out] * 1 + cat["small"] * 2 + (~cat["complete"]) * 4 + cat["why"]
    # explicit dtypes: inferring them from object arrays costs more than the rest of the assembly
    text = pd.StringDtype(na_value=np.nan)
    nrows = len(rows)
    df = pd.DataFrame({
        "indicator_id": pd.array(cat["ind"], dtype=text), "level": pd.array(np.full(nrows, level, dtype=object),
                                                                            dtype=text),
        "org_code": pd.array(orgs["org_code"].to_numpy(dtype=object)[opos], dtype=text),
        "org_name": pd.Series(orgs["org_name"].to_numpy(dtype=object)[opos], dtype=object),
        **({"member": pd.Series(orgs["member"].to_numpy(dtype=object)[opos], dtype=object)}
           if "member" in orgs.columns else {}),
        "parent_code": pd.Series(orgs["parent_code"].to_numpy(dtype=object)[opos], dtype=object),
        "period": pd.array(label_of[specs_out], dtype=text), "period_start": start_of[specs_out],
        "months": nmonths_of[specs_out],
        "numerator": cat["numerator"], "denominator": cat["denominator"], "value": value,
        "target": pd.Series(cat["target"], dtype=object), "status": pd.Series(cat["status"], dtype=object),
        "yoy_value": yoy, "yoy_change": value - yoy, "mom_value": mom, "mom_change": value - mom,
        "complete": cat["complete"], "small_sample": cat["small"], "note": pd.Series(_NOTES[note_code], dtype=object),
        "partial": partial_of[specs_out].astype(np.int64), "days": days_of[specs_out],
    })
    return df


def _status_vec(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Vectorised :func:`metrics.status.status_for_target`."""
    from metrics.status import MET, MISSED, WARN, WARNING_BAND
    has_target = ~(np.isnan(low) & np.isnan(high))
    ok = (np.isnan(low) | (value >= low)) & (np.isnan(high) | (value <= high))
    near = (np.isnan(low) | (value >= low - np.abs(low) * WARNING_BAND)) & \
        (np.isnan(high) | (value <= high + np.abs(high) * WARNING_BAND))
    out = np.where(ok, MET, np.where(near, WARN, MISSED)).astype(object)
    out[~has_target | np.isnan(value)] = None
    return out


# --------------------------------------------------------------------------------------------------------------
# ranking
# --------------------------------------------------------------------------------------------------------------
def ranking(indicator_id: str, grain: str, period_start: str, period_end: str, inst_type: str | None = None,
            scope: Scope = FULL_SCOPE, mart_url: str | None = None) -> pd.DataFrame:
    """Institutions of the same type ranked by value (best first by direction), per period.

    Institution names and values of peers are visible to anyone who may see aggregates (managers); departments
    and doctors of other institutions are never part of a ranking. Columns: those of :func:`compute` plus
    ``inst_type``, ``rank``, ``peers``, ``is_own`` (in the caller's scope).
    """
    if not (scope.aggregates or scope.all_institutions):
        return pd.DataFrame(columns=COLUMNS + ["inst_type", "rank", "peers", "is_own"])
    url = _config_url(mart_url)
    ind = INDICATORS.get(indicator_id)
    if ind is None:
        raise IndicatorError(f"未知指标 (unknown indicator id): {indicator_id}")
    df = compute([indicator_id], "institution", grain, period_start, period_end, scope=FULL_SCOPE, mart_url=url)
    tree = qorg.org_tree(url)
    df["inst_type"] = df["org_code"].map(dict(zip(tree["inst_code"], tree["inst_type"])))
    if inst_type:
        df = df[df["inst_type"] == inst_type]
    df = df[df["value"].notna()].copy()
    ascending = ind.direction == "down"
    if ind.direction == "band" and ind.target_low is not None:
        mid = (ind.target_low + ind.target_high) / 2
        df["_key"] = (df["value"] - mid).abs()
        ascending = True
    else:
        df["_key"] = df["value"]
    df["rank"] = df.groupby(["period", "inst_type"])["_key"].rank(method="min", ascending=ascending).astype(int)
    df["peers"] = df.groupby(["period", "inst_type"])["org_code"].transform("count")
    df["is_own"] = df["org_code"].map(scope.may_see_institution)
    return df.drop(columns="_key").sort_values(["period_start", "inst_type", "rank"]).reset_index(drop=True)
