"""The anomaly rule's band has a sampling-noise floor: a small institution's month is judged against the noise its
sample size alone makes (binomial for shares, Poisson for counts), so the rule stops firing on ordinary noise
there, while a large sample keeps the forecast's own band. On the tiny demo (real mart, real engine)."""
from __future__ import annotations

import math

import pandas as pd
import pytest


def test_sampling_sd_is_binomial_poisson_or_a_mean() -> None:
    from metrics.alert_rules import sampling_sd
    from metrics.catalogue import INDICATORS
    share, count, mean = INDICATORS["op_antibiotic_rate"], INDICATORS["up_referrals"], INDICATORS["alos"]
    assert share.unit == "%" and count.denominator is None and mean.unit == "天"
    assert sampling_sd(share, 20.0, 100) == pytest.approx(100 * math.sqrt(0.2 * 0.8 / 100))
    assert sampling_sd(share, 20.0, 10_000) == pytest.approx(sampling_sd(share, 20.0, 100) / 10)
    assert sampling_sd(count, 49.0, None) == pytest.approx(7.0)
    assert sampling_sd(mean, 8.0, 64) == pytest.approx(1.0)
    assert sampling_sd(share, 0.0, 100) > 0                     # never a zero-width band at 0 %


def test_band_widens_for_small_samples_only() -> None:
    from metrics.alert_rules import anomaly_band
    from metrics.catalogue import INDICATORS
    ind = INDICATORS["op_antibiotic_rate"]
    f = pd.Series({"value": 20.0, "lower": 18.0, "upper": 22.0})
    small = anomaly_band(ind, f, 50, True)
    large = anomaly_band(ind, f, 1_000_000, True)
    assert anomaly_band(ind, f, 50, False) == (18.0, 22.0)
    assert small[0] < 18.0 and small[1] > 22.0 + 5              # 50 cases: ±11 points of noise alone
    assert large == pytest.approx((18.0, 22.0), abs=0.01)       # a large sample: the model's band


def test_noise_floor_cuts_institution_noise_on_the_demo(demo_cfg) -> None:
    from dashboard.alerts.defaults import DEFAULT_RULES
    from metrics.alert_rules import RuleSpec, evaluate
    r05 = next(r for r in DEFAULT_RULES if r["kind"] == "anomaly")

    def findings(noise_floor: bool) -> list:
        rule = RuleSpec("R05", "anomaly", "medium", ("institution",), tuple(r05["indicator_ids"].split(",")),
                        {"min_denominator": 20, "noise_floor": noise_floor})
        found, _month = evaluate([rule], demo_cfg.mart_url)
        return found
    before, after = findings(False), findings(True)
    assert {(f.indicator_id, f.org_code) for f in after} <= {(f.indicator_id, f.org_code) for f in before}
    assert len(after) < len(before), (len(after), len(before))
