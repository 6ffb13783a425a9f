"""Rolling-origin backtest of :mod:`metrics.forecast` against the seasonal naive method.

For every origin in the last ``window`` months (the history up to and including the origin month is all the
model sees) and every horizon 1…``max_horizon`` whose target month is still inside the history, the model's and
the seasonal naive forecast's absolute errors are taken on the same target months. ``mase`` is the model's mean
absolute error divided by the seasonal naive one (below 1 = better than "same month last year"); ``mape`` is the
mean absolute percentage error of the model in %.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.catalogue import INDICATORS
from metrics.forecast import (
    SEASON,
    _ratio,
    _series,
    forecast_series,
    month_index,
    seasonal_naive,
)

BACKTEST_COLUMNS = ["indicator_id", "level", "org_code", "horizon", "mape", "mase"]


def backtest_series(num: np.ndarray, den: np.ndarray | None, factor: float, window: int = 12,
                    max_horizon: int = 3) -> list[dict[str, float]]:
    """Errors of the model and of the seasonal naive method per horizon (see the module docstring)."""
    n = len(num)
    actual = _ratio(num, den, factor)
    errs: dict[int, tuple[list[float], list[float], list[float]]] = {h: ([], [], []) for h in
                                                                       range(1, max_horizon + 1)}
    for origin in range(n - window - 1, n - 1):        # index of the last month seen
        if origin + 1 < SEASON:
            continue
        hmax = min(max_horizon, n - 1 - origin)
        fc = forecast_series(num[:origin + 1], None if den is None else den[:origin + 1], factor, hmax)["value"]
        sn_num = seasonal_naive(num[:origin + 1], hmax).forecast
        sn_den = seasonal_naive(den[:origin + 1], hmax).forecast if den is not None else None
        sn = _ratio(sn_num, sn_den, factor)
        for h in range(1, hmax + 1):
            a = actual[origin + h]
            if not np.isfinite(a) or not np.isfinite(fc[h - 1]) or not np.isfinite(sn[h - 1]):
                continue
            errs[h][0].append(abs(fc[h - 1] - a))
            errs[h][1].append(abs(sn[h - 1] - a))
            if a != 0:
                errs[h][2].append(abs(fc[h - 1] - a) / abs(a) * 100.0)
    out = []
    for h, (model, naive, pct) in errs.items():
        if not model:
            continue
        scale = float(np.mean(naive))
        out.append({"horizon": h, "mape": float(np.mean(pct)) if pct else float("nan"),
                    "mase": float(np.mean(model)) / scale if scale > 0 else float("nan")})
    return out


def backtest_from_rows(history: pd.DataFrame, through: str, window: int = 12, max_horizon: int = 3) -> pd.DataFrame:
    """Backtest every indicator × org of the engine's monthly ``history`` rows (columns :data:`BACKTEST_COLUMNS`)."""
    out = []
    last = month_index(through)
    hist = history[history["period"].str.len() == 7]
    for (iid, org), rows in hist.groupby(["indicator_id", "org_code"], sort=False):
        num, den = _series(rows, month_index(rows["period"].min()), last)
        for rec in backtest_series(num, den, INDICATORS[iid].factor, window, max_horizon):
            out.append({"indicator_id": iid, "level": rows["level"].iloc[0], "org_code": org, **rec})
    return pd.DataFrame(out, columns=BACKTEST_COLUMNS)
