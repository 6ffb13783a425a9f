"""Legend classes for choropleths: quantile, equal interval, natural breaks (Fisher-Jenks) via mapclassify.

Missing values (NaN/None) fall into a separate no-data class (index -1) with its own grey. When there are fewer
distinct values than requested classes, the number of classes shrinks to the number of distinct values, so that
no class is empty by construction.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import mapclassify
import numpy as np

METHODS: dict[str, str] = {"quantile": "分位数", "equal_interval": "等间距", "natural_breaks": "自然断点"}
NO_DATA_COLOR = "#cfd4da"
NO_DATA_LABEL = "无数据"
MIN_CLASSES, MAX_CLASSES = 2, 7

# Sequential blues (light → dark); the palette is stretched to k colours by even sampling.
_BLUES = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
# Diverging-free "good is green" ramp used when higher is better, and its reverse when lower is better.
_GREENS = ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"]
_ORANGES = ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"]


@dataclass(frozen=True)
class Classification:
    """The result of classifying a list of values."""
    method: str
    bounds: list[float]          # k + 1 class boundaries: bounds[0] = min, bounds[i + 1] = upper bound of class i
    classes: list[int]           # class index per input value, -1 for no data
    colors: list[str]            # one colour per class
    labels: list[str]            # one label per class ("a – b")
    counts: list[int]            # values per class
    no_data: int                 # number of missing values
    decimals: int = 1            # decimals of the labels (enough to tell the bounds apart)

    @property
    def k(self) -> int:
        return len(self.colors)

    def color_of(self, index: int) -> str:
        """Colour of a value's class (no-data grey for -1)."""
        return NO_DATA_COLOR if index < 0 else self.colors[index]

    def legend(self) -> list[dict]:
        """Legend rows [{label, color, count}], no-data last when there is any."""
        rows = [{"label": lab, "color": col, "count": n} for lab, col, n in zip(self.labels, self.colors, self.counts)]
        if self.no_data:
            rows.append({"label": NO_DATA_LABEL, "color": NO_DATA_COLOR, "count": self.no_data})
        return rows


def palette(k: int, direction: str = "up", lightest: int = 1) -> list[str]:
    """k colours from light to dark: green when higher is better (``up``), orange when lower is better
    (``down``), blue when neither (``target``/``monitor``). Darker always means a larger value.

    ``lightest`` is the first shade used (of 8): 1 skips the palest, which is hard to tell from the background;
    small symbols on the light map need 3."""
    base = {"up": _GREENS, "down": _ORANGES}.get(direction, _BLUES)
    if k <= 0:
        return []
    lightest = min(max(int(lightest), 0), len(base) - 2)
    if k == 1:
        return [base[(lightest + len(base)) // 2]]
    idx = np.linspace(lightest, len(base) - 1, k).round().astype(int)
    return [base[i] for i in idx]


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


MAX_EXTRA_DECIMALS = 4


def legend_decimals(bounds: Sequence[float], decimals: int = 1) -> int:
    """The fewest decimals (at least ``decimals``) at which distinct class bounds print differently.

    Quantiles of closely spaced values (0.598 and 0.603 at 2 decimals) would otherwise read "0.60 – 0.60";
    at most ``MAX_EXTRA_DECIMALS`` more are added, beyond that the bounds are equal for a reader anyway."""
    decimals = max(int(decimals), 0)
    distinct = [(a, b) for a, b in zip(bounds, bounds[1:]) if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)]
    for d in range(decimals, decimals + MAX_EXTRA_DECIMALS + 1):
        if all(_fmt(a, d) != _fmt(b, d) for a, b in distinct):
            return d
    return decimals + MAX_EXTRA_DECIMALS


JENKS_MAX_POINTS = 256


def _jenks_sample(valid: np.ndarray) -> np.ndarray:
    """At most ``JENKS_MAX_POINTS`` of the values, min and max included, chosen without randomness.

    Pure-Python Fisher-Jenks costs O(k·n²): 0.06 s for a county's 218 institutions, seconds for a thousand.
    Half the sample is evenly spaced by rank (the bulk of the distribution), half is the values nearest to
    evenly spaced points of the range (so that a small far cluster, the county hospitals, keeps its weight).
    Unlike mapclassify's random sample, the breaks are the same on every render."""
    if valid.size <= JENKS_MAX_POINTS:
        return valid
    ordered = np.sort(valid)
    half = JENKS_MAX_POINTS // 2
    by_rank = np.linspace(0, ordered.size - 1, half).round().astype(int)
    by_value = np.searchsorted(ordered, np.linspace(ordered[0], ordered[-1], half)).clip(0, ordered.size - 1)
    return ordered[np.union1d(by_rank, by_value)]


def _natural_breaks(valid: np.ndarray, k: int) -> np.ndarray:
    """Fisher-Jenks upper bounds, on a sample of large inputs; a break between two sampled values moves to the
    last real value below their midpoint, so that no unsampled value falls on the wrong side of a gap."""
    sample = np.sort(_jenks_sample(valid))
    upper = np.asarray(mapclassify.FisherJenks(sample, k=k).bins, dtype=float)
    if sample.size == valid.size:
        return upper
    ordered = np.sort(valid)
    for i, b in enumerate(upper[:-1]):
        j = int(np.searchsorted(sample, b, side="right"))
        if j < sample.size:
            mid = (b + sample[j]) / 2
            upper[i] = ordered[int(np.searchsorted(ordered, mid, side="right")) - 1]
    return upper


def classify(values: Sequence[float | None], method: str = "quantile", k: int = 5,
             direction: str = "up", decimals: int = 1, lightest: int = 1) -> Classification:
    """Put each value into one of k classes by ``method`` (quantile, equal_interval, natural_breaks).

    Colours come from ``palette(k, direction, lightest)``; legend labels use at least ``decimals`` decimals."""
    if method not in METHODS:
        raise ValueError(f"unknown classification method {method!r}; choose one of {', '.join(METHODS)}")
    if not MIN_CLASSES <= k <= MAX_CLASSES:
        raise ValueError(f"classes must be between {MIN_CLASSES} and {MAX_CLASSES}, got {k}")
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    valid = arr[~np.isnan(arr)]
    no_data = int(np.isnan(arr).sum())
    if valid.size == 0:
        return Classification(method, [], [-1] * len(arr), [], [], [], no_data, decimals)

    distinct = np.unique(valid)
    k_eff = min(k, distinct.size)
    if k_eff == 1:
        upper = np.array([distinct[0]])
    elif k_eff == distinct.size:
        # every distinct value its own class: exact and avoids degenerate breaks
        upper = distinct
    else:
        with warnings.catch_warnings():
            # mapclassify warns when ties leave fewer classes (handled below) and, without numba, that
            # Fisher-Jenks runs in pure Python (fine for townships; institutions are sampled, see below)
            warnings.simplefilter("ignore")
            if method == "quantile":
                upper = mapclassify.Quantiles(valid, k=k_eff).bins
            elif method == "equal_interval":
                upper = mapclassify.EqualInterval(valid, k=k_eff).bins
            else:
                upper = _natural_breaks(valid, k_eff)
        # quantiles of tied values can repeat a break; a repeated break would be an empty class
        upper = np.unique(np.asarray(upper, dtype=float))
        upper[-1] = max(upper[-1], valid.max())
        if method != "equal_interval":
            # interpolated quantiles can fall between two data values and leave a class empty: merge it upwards
            counts = np.bincount(np.searchsorted(upper, valid, side="left"), minlength=upper.size)
            upper = upper[counts[:upper.size] > 0]
    k_eff = upper.size
    # class i holds lower < x <= upper[i] (mapclassify's convention); the first class includes the minimum
    idx = np.searchsorted(upper, arr, side="left")
    classes = [-1 if math.isnan(v) else int(min(i, k_eff - 1)) for v, i in zip(arr, idx)]
    bounds = [float(valid.min())] + [float(b) for b in upper]
    counts = [classes.count(i) for i in range(k_eff)]
    # one precision for the whole legend, fine enough that neighbouring bounds never print alike
    dec = legend_decimals(bounds, decimals)
    labels = []
    for i in range(k_eff):
        lo, hi = bounds[i], bounds[i + 1]
        labels.append(_fmt(hi, dec) if math.isclose(lo, hi) else f"{_fmt(lo, dec)} – {_fmt(hi, dec)}")
    return Classification(method, bounds, classes, palette(k_eff, direction, lightest), labels, counts, no_data,
                          dec)
