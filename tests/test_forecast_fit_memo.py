"""A series is fitted once per process, whatever the horizon asked, and the remembered fit gives exactly what a
fit for that horizon gives (Holt-Winters, seasonal naive and naive alike); a changed value is another series."""
from __future__ import annotations

import numpy as np

from metrics import forecast as fc


def _series(seed: int, months: int = 36) -> np.ndarray:
    rng = np.random.default_rng(seed)
    season = 1 + 0.2 * np.sin(np.arange(months) * 2 * np.pi / 12)
    return np.round(1000 * season * rng.normal(1, 0.05, months))


def _same(a: fc.SeriesFit, b: fc.SeriesFit) -> None:
    assert a.method == b.method and a.alpha == b.alpha
    np.testing.assert_array_equal(a.forecast, b.forecast)
    np.testing.assert_array_equal(a.fitted, b.fitted)


def test_a_remembered_fit_equals_a_fit_for_the_horizon_asked():
    y = _series(7)
    hits, misses = fc.FIT_STATS["hit"], fc.FIT_STATS["miss"]
    three = fc.fit_series(y, 3)
    assert fc.FIT_STATS["miss"] == misses + 1 and three.method == "holt_winters"
    _same(three, fc._fit_series(y, 3))                   # the trend's 3 months, as fitted for 3
    nine = fc.fit_series(y.copy(), 9)                     # the year-end's rest of the year: the same fit
    assert fc.FIT_STATS["hit"] == hits + 1 and fc.FIT_STATS["miss"] == misses + 1
    _same(nine, fc._fit_series(y, 9))
    np.testing.assert_array_equal(nine.forecast[:3], three.forecast)

    changed = y.copy()
    changed[-1] += 1                                      # one value of a load: another series, fitted anew
    again = fc.fit_series(changed, 3)
    assert fc.FIT_STATS["miss"] == misses + 2
    _same(again, fc._fit_series(changed, 3))
    assert not np.array_equal(again.forecast, three.forecast)


def test_short_series_keep_their_naive_forecasts():
    for y in (_series(3, 18), _series(4, 6), np.full(30, 5.0)):
        for h in (1, 3, 12):
            _same(fc.fit_series(y, h), fc._fit_series(y, h))
    y = _series(5, 30)
    _same(fc.fit_series(y, 15), fc._fit_series(y, 15))   # beyond the remembered months: fitted for itself
