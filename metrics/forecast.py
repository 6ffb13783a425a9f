"""Forecasts of indicators: numerator and denominator forecast separately, value = factor × ratio of forecasts.

Input is always the engine's monthly rows (:func:`metrics.engine.compute`), never the facts. For each indicator ×
org the numerator and the denominator series are forecast with statsmodels' Holt-Winters
(:class:`~statsmodels.tsa.holtwinters.ExponentialSmoothing`: level and monthly seasonality, multiplicative when
the series is positive, initial states estimated, seasonal smoothing held at 0.02) when there are at least 24 months of history, else with the seasonal
naive method ("same month last year"; the last value when there is less than a year). Counts have no
denominator: their value is the numerator forecast.

Prediction intervals (80 % and 95 %) come from the in-sample one-step errors of the *ratio* (actual value minus
the fitted numerator over the fitted denominator), so that the correlation between numerator and denominator is
kept; at horizon h the standard error grows as in simple exponential smoothing: σ·√(1 + (h−1)·α²).

Results are cached per mart data version (:mod:`metrics.cache`), so pages never refit on a click. Nothing here
writes anywhere.
"""
from __future__ import annotations

import math
import threading
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import cache as core_cache
from metrics import cache as result_cache
from metrics.catalogue import INDICATORS, MEASURES, Indicator
from metrics.scope import Scope

SEASON = 12
MIN_SEASONAL_HISTORY = 24
# The seasonal pattern is re-learnt slowly: a free seasonal smoothing chases one year's noise and then loses to
# "same month last year" (backtest on the demo: median MASE 1.02 free, 0.93 with 0.02).
SEASONAL_SMOOTHING = 0.02
Z80, Z95 = 1.2815515655446004, 1.959963984540054
FORECAST_COLUMNS = ["indicator_id", "level", "org_code", "org_name", "period", "value", "lower80", "upper80",
                    "lower", "upper", "method"]
STOCK_KINDS = ("last", "avg", "population", "distinct")
YEAR_END_COLUMNS = ["indicator_id", "level", "org_code", "org_name", "year", "months_actual", "projected",
                    "target_low", "target_high", "status"]


class ForecastError(ValueError):
    """A refused forecast request (Chinese message)."""


# --------------------------------------------------------------------------------------------------------------
# month arithmetic
# --------------------------------------------------------------------------------------------------------------
def month_index(month: str) -> int:
    """'YYYY-MM' → months since year 0."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_label(index: int) -> str:
    """Months since year 0 → 'YYYY-MM'."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def forecastable(indicator: Indicator) -> bool:
    """Indicators with a numerator series the engine serves by month (not growth, exchange or unavailable)."""
    return indicator.available and indicator.kind in ("ratio", "count") and indicator.numerator is not None


# --------------------------------------------------------------------------------------------------------------
# one series
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeriesFit:
    """Point forecast of ``horizon`` months, in-sample fitted values and the smoothing level used."""
    forecast: np.ndarray
    fitted: np.ndarray
    alpha: float
    method: str


def seasonal_naive(y: np.ndarray, horizon: int) -> SeriesFit:
    """Same month last year (last value when there is less than a year of history)."""
    n = len(y)
    if n >= SEASON:
        fc = np.array([y[n - SEASON + (h % SEASON)] for h in range(horizon)], dtype=float)
        fitted = np.concatenate([np.full(SEASON, np.nan), y[:-SEASON]])
        return SeriesFit(fc, fitted, 1.0, "seasonal_naive")
    fc = np.full(horizon, y[-1] if n else np.nan, dtype=float)
    fitted = np.concatenate([[np.nan], y[:-1]]) if n else np.array([])
    return SeriesFit(fc, fitted, 1.0, "naive")


def preload() -> None:
    """Import the fitting library now: about 0.4 s of CPU that the first forecast of a process (a click on a trend)
    would otherwise pay. The app factory calls this while the server starts."""
    import statsmodels.tsa.holtwinters  # noqa: F401


FIT_HORIZON = 12            # every fit is kept this many months ahead; a shorter horizon is its prefix
FIT_MEMO_SIZE = 1024
_FITS: OrderedDict[bytes, SeriesFit] = OrderedDict()
_FITS_LOCK = threading.Lock()
FIT_STATS: Counter[str] = Counter()     # "hit" / "miss" in this process (tests read it)


def fit_series(y: np.ndarray, horizon: int) -> SeriesFit:
    """Holt-Winters when there are ≥ 24 months and no gaps, else the seasonal naive fallback.

    A series is fitted once per process whatever the horizon asked (the trend's 3 months, the year-end's rest of
    the year): the fit depends on the values only, so it is remembered by them (their bytes: a load that changes
    one value is another series), for :data:`FIT_HORIZON` months, and a horizon up to that is the prefix of that
    forecast (the parameters do not depend on the horizon; the result is the same as fitting for the horizon)."""
    y = np.asarray(y, dtype=float)
    if horizon > FIT_HORIZON or horizon < 1:
        return _fit_series(y, horizon)
    key = str(y.dtype).encode() + y.tobytes()
    with _FITS_LOCK:
        fit = _FITS.get(key)
        if fit is not None:
            _FITS.move_to_end(key)
    FIT_STATS["hit" if fit is not None else "miss"] += 1
    if fit is None:
        fit = _fit_series(y, FIT_HORIZON, fallback=False)
        with _FITS_LOCK:
            _FITS[key] = fit
            while len(_FITS) > FIT_MEMO_SIZE:
                _FITS.popitem(last=False)
    fc = fit.forecast[:horizon].copy()
    if fit.method == "holt_winters" and not np.all(np.isfinite(fc)):
        return seasonal_naive(y, horizon)
    return SeriesFit(fc, fit.fitted.copy(), fit.alpha, fit.method)


def _fit_series(y: np.ndarray, horizon: int, fallback: bool = True) -> SeriesFit:
    """One fit (see :func:`fit_series`); with ``fallback`` False a Holt-Winters forecast with non-finite values is
    returned as it is (the caller decides on the months it uses)."""
    y = np.asarray(y, dtype=float)
    if len(y) < MIN_SEASONAL_HISTORY or not np.all(np.isfinite(y)) or np.allclose(y, y[0]):
        return seasonal_naive(y, horizon)
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    seasonal = "mul" if np.min(y) > 0 else "add"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(y, trend=None, seasonal=seasonal, seasonal_periods=SEASON,
                                         initialization_method="estimated")
            res = model.fit(smoothing_seasonal=SEASONAL_SMOOTHING, use_brute=False)
        fc = np.asarray(res.forecast(horizon), dtype=float)
        if fallback and not np.all(np.isfinite(fc)):
            return seasonal_naive(y, horizon)
        alpha = float(res.params.get("smoothing_level", 0.5) or 0.0)
        return SeriesFit(fc, np.asarray(res.fittedvalues, dtype=float), alpha, "holt_winters")
    except (ValueError, np.linalg.LinAlgError):
        return seasonal_naive(y, horizon)


def _ratio(num: np.ndarray, den: np.ndarray | None, factor: float) -> np.ndarray:
    if den is None:
        return factor * num
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, factor * num / den, np.nan)


def forecast_series(num: np.ndarray, den: np.ndarray | None, factor: float, horizon: int) -> dict[str, np.ndarray]:
    """Forecast one indicator series (``den`` None for a count): value, 80 % and 95 % bounds per horizon, method."""
    fn = fit_series(num, horizon)
    fd = fit_series(den, horizon) if den is not None else None
    value = _ratio(fn.forecast, fd.forecast if fd else None, factor)
    actual = _ratio(np.asarray(num, float), None if den is None else np.asarray(den, float), factor)
    fitted = _ratio(fn.fitted, fd.fitted if fd else None, factor)
    err = (actual - fitted)[np.isfinite(actual - fitted)]
    sigma = float(np.sqrt(np.mean(err ** 2))) if len(err) >= 3 else float("nan")
    if not math.isfinite(sigma):
        sigma = float(np.nanstd(actual)) if np.isfinite(actual).sum() >= 2 else float("nan")
    alpha = min(1.0, max(fn.alpha, fd.alpha if fd else 0.0))
    h = np.arange(1, horizon + 1)
    se = sigma * np.sqrt(1.0 + (h - 1) * alpha ** 2)
    if den is None:
        value = np.maximum(value, 0.0)
    out = {"value": value, "lower80": value - Z80 * se, "upper80": value + Z80 * se,
           "lower": value - Z95 * se, "upper": value + Z95 * se,
           "num": fn.forecast, "den": fd.forecast if fd else np.full(horizon, np.nan)}
    if np.isfinite(actual).any() and np.nanmin(actual) >= 0:     # a value that cannot go below 0
        out["lower80"] = np.maximum(out["lower80"], 0.0)
        out["lower"] = np.maximum(out["lower"], 0.0)
    out["method"] = fn.method
    return out


# --------------------------------------------------------------------------------------------------------------
# from engine rows
# --------------------------------------------------------------------------------------------------------------
def _series(rows: pd.DataFrame, first: int, last: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Numerator and denominator by month over [first, last] (missing months 0)."""
    idx = rows["period"].map(month_index).to_numpy()
    n = last - first + 1
    num = np.zeros(n)
    den = np.zeros(n)
    keep = (idx >= first) & (idx <= last)
    num[idx[keep] - first] = rows["numerator"].to_numpy(dtype=float)[keep]
    dens = rows["denominator"].to_numpy(dtype=float)
    if np.all(np.isnan(dens)):
        return np.nan_to_num(num), None
    den[idx[keep] - first] = dens[keep]
    return np.nan_to_num(num), np.nan_to_num(den)


def forecast_from_rows(history: pd.DataFrame, horizon: int, through: str) -> pd.DataFrame:
    """Forecast every indicator × org of the engine's monthly ``history`` rows for the ``horizon`` months after
    ``through`` (the last month used). Columns :data:`FORECAST_COLUMNS`."""
    if horizon < 1:
        raise ForecastError(f"预测期数须为正整数 (horizon must be ≥ 1), 收到 {horizon}")
    out = []
    last = month_index(through)
    hist = history[history["period"].str.len() == 7]
    for (iid, org), rows in hist.groupby(["indicator_id", "org_code"], sort=False):
        ind = INDICATORS[iid]
        first = month_index(rows["period"].min())
        if first > last:
            continue
        num, den = _series(rows, first, last)
        fc = forecast_series(num, den, ind.factor, horizon)
        periods = [month_label(last + h) for h in range(1, horizon + 1)]
        frame = pd.DataFrame({k: fc[k] for k in ("value", "lower80", "upper80", "lower", "upper")})
        frame.insert(0, "period", periods)
        frame.insert(0, "org_name", rows["org_name"].iloc[0])
        frame.insert(0, "org_code", org)
        frame.insert(0, "level", rows["level"].iloc[0])
        frame.insert(0, "indicator_id", iid)
        frame["num"] = fc["num"]
        frame["den"] = fc["den"]
        frame["method"] = fc["method"]
        out.append(frame)
    if not out:
        return pd.DataFrame(columns=FORECAST_COLUMNS + ["num", "den"])
    return pd.concat(out, ignore_index=True)


def _scope_key(scope: Scope | None) -> tuple | None:
    """A stable cache-key part of a Scope (sorted institution codes: the same key in every worker)."""
    if scope is None:
        return None
    return (scope.all_institutions, tuple(sorted(scope.inst_codes)), scope.aggregates)


def _mart(mart_url: str | None) -> str:
    if mart_url:
        return mart_url
    from core.config import load_config
    return load_config().mart_url


def history_rows(ids: list[str], level: str, org: str | None, through: str | None = None,
                 mart_url: str | None = None, scope: Scope | None = None) -> tuple[pd.DataFrame, str]:
    """The engine's monthly rows of ``ids`` at ``level`` from the data's first month through ``through`` (default:
    the last complete month), and that month."""
    from metrics.engine import compute
    from metrics.scope import FULL_SCOPE
    from queries import periods as qperiods
    url = _mart(mart_url)
    first, _last = qperiods.data_range(url)
    through = through or qperiods.last_complete_month(url)
    if first is None or through is None:
        raise ForecastError("数据集市没有数据，无法预测 (the mart holds no data)")
    unknown = [i for i in ids if i not in INDICATORS]
    if unknown:
        raise ForecastError(f"未知指标 (unknown indicator ids): {', '.join(unknown)}")
    bad = [i for i in ids if not forecastable(INDICATORS[i])]
    if bad:
        raise ForecastError(f"这些指标不能预测 (not forecastable: growth/exchange/unavailable): {', '.join(bad)}")
    rows = compute(ids, level, "month", first, through, org=org, scope=scope or FULL_SCOPE, mart_url=url,
                   comparisons=False)
    refused = rows.attrs.get("refused") or {}
    if refused:
        raise ForecastError("; ".join(refused.values()))
    return rows, through


def forecast(ids: list[str], level: str, org: str | None = None, horizon: int = 3, through: str | None = None,
             mart_url: str | None = None, scope: Scope | None = None) -> pd.DataFrame:
    """Forecasts of ``ids`` at ``level`` (optionally one org's subtree) for ``horizon`` months after the last
    complete month (or ``through``); cached per data version."""
    url = _mart(mart_url)
    key = "forecast:" + result_cache.make_key(url, result_cache.tables_version(url, list(ids)), tuple(ids), level,
                                              org, horizon, through, _scope_key(scope))
    def build() -> tuple:
        rows, last = history_rows(ids, level, org, through, url, scope)
        return forecast_from_rows(rows, horizon, last), last
    frame, last = core_cache.get_or_compute("forecast", key, build)
    out = frame.copy()
    out.attrs["through"] = last
    return out


def _cache_get(key: str) -> pd.DataFrame | None:
    hit = core_cache.get("forecast", key)
    if hit is None:
        return None
    frame, through = hit
    out = frame.copy()
    out.attrs["through"] = through
    return out


def _cache_put(key: str, frame: pd.DataFrame) -> None:
    core_cache.set("forecast", key, (frame.copy(), frame.attrs.get("through")))


# --------------------------------------------------------------------------------------------------------------
# year-end projection
# --------------------------------------------------------------------------------------------------------------
def _is_stock(ind: Indicator) -> bool:
    return any(MEASURES[m].kind in STOCK_KINDS for m in ind.measures if m in MEASURES)


def year_end_from_rows(history: pd.DataFrame, through: str) -> pd.DataFrame:
    """Projected value of the calendar year of ``through``: year-to-date sums of numerator and denominator plus
    the forecasts of the remaining months (stocks: the December forecast). Columns indicator_id, level, org_code,
    org_name, year, months_actual, projected, target_low, target_high, status."""
    from metrics.status import row_bounds, status_for_target
    last = month_index(through)
    year = last // 12
    remaining = 11 - last % 12
    fc = forecast_from_rows(history, remaining, through) if remaining else None
    out = []
    hist = history[history["period"].str.len() == 7]
    for (iid, org), rows in hist.groupby(["indicator_id", "org_code"], sort=False):
        ind = INDICATORS[iid]
        ytd = rows[rows["period"].str.startswith(f"{year:04d}-") & (rows["period"] <= through)]
        if ytd.empty:
            continue
        f = fc[(fc["indicator_id"] == iid) & (fc["org_code"] == org)] if fc is not None else None
        if _is_stock(ind):
            projected = float(f["value"].iloc[-1]) if f is not None and len(f) else float(ytd["value"].iloc[-1])
        else:
            num = float(ytd["numerator"].sum()) + (float(f["num"].sum()) if f is not None else 0.0)
            if rows["denominator"].isna().all():
                projected = ind.factor * num
            else:
                den = float(ytd["denominator"].sum()) + (float(f["den"].sum()) if f is not None else 0.0)
                projected = ind.factor * num / den if den > 0 else float("nan")
        low, high = row_bounds(ind, rows["target"].iloc[-1]) if "target" in rows else ind.target_for(None)
        out.append({"indicator_id": iid, "level": rows["level"].iloc[0], "org_code": org,
                    "org_name": rows["org_name"].iloc[0], "year": year, "months_actual": len(ytd),
                    "projected": projected, "target_low": low, "target_high": high,
                    "status": status_for_target(ind.direction, low, high,
                                                None if math.isnan(projected) else round(projected, ind.decimals))})
    return pd.DataFrame(out, columns=YEAR_END_COLUMNS)


def year_end(ids: list[str], level: str, org: str | None = None, mart_url: str | None = None,
             scope: Scope | None = None, cached_only: bool = False) -> pd.DataFrame | None:
    """:func:`year_end_from_rows` for ``ids`` at ``level`` from the engine; cached per data version.
    With ``cached_only`` only the cache is asked (None when this data version has not been projected yet)."""
    url = _mart(mart_url)
    key = "yearend:" + result_cache.make_key(url, result_cache.tables_version(url, list(ids)), tuple(ids), level,
                                             org, _scope_key(scope))
    hit = _cache_get(key)
    if hit is not None or cached_only:
        return hit
    rows, through = history_rows(ids, level, org, None, url, scope)
    result = year_end_from_rows(rows, through)
    result.attrs["through"] = through
    _cache_put(key, result)
    return result
