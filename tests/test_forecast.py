"""Forecasts: the pure series functions on made-up series, and the CLI on the tiny demo mart."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from metrics.backtest import backtest_series
from metrics.forecast import (
    fit_series,
    forecast_from_rows,
    forecast_series,
    month_label,
    seasonal_naive,
    year_end_from_rows,
)


def _seasonal(n: int, seed: int = 1, noise: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 200 + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)


def test_holt_winters_when_two_years_else_seasonal_naive() -> None:
    assert fit_series(_seasonal(36), 3).method == "holt_winters"
    short = _seasonal(20)
    fit = fit_series(short, 3)
    assert fit.method == "seasonal_naive"
    assert list(fit.forecast) == list(short[8:11])      # same month last year
    assert seasonal_naive(short[:5], 2).method == "naive"


def test_ratio_of_forecasts_and_bands_nest() -> None:
    den = _seasonal(48)
    num = 0.25 * den + np.random.default_rng(2).normal(0, 1, 48)
    fc = forecast_series(num, den, 100.0, 6)
    assert np.allclose(fc["value"], 100 * fc["num"] / fc["den"])
    assert np.all(np.abs(fc["value"] - 25) < 2)
    assert np.all(fc["lower"] < fc["lower80"]) and np.all(fc["lower80"] < fc["value"])
    assert np.all(fc["value"] < fc["upper80"]) and np.all(fc["upper80"] < fc["upper"])
    widths = fc["upper"] - fc["lower"]
    assert np.all(np.diff(widths) >= 0)              # never narrower further ahead


def test_backtest_beats_seasonal_naive_on_a_smooth_seasonal_series() -> None:
    den = np.round(_seasonal(48, seed=0, noise=6.0))
    num = np.random.default_rng(10).binomial(den.astype(int), 0.2).astype(float)   # cases among visits
    res = backtest_series(num, den, 100.0)
    assert [r["horizon"] for r in res] == [1, 2, 3]
    assert all(r["mase"] < 0.9 for r in res)
    assert all(0 < r["mape"] < 15 for r in res)


def _rows(values_num: np.ndarray, values_den: np.ndarray | None, start: int = 2023 * 12) -> pd.DataFrame:
    n = len(values_num)
    return pd.DataFrame({"indicator_id": "op_antibiotic_rate" if values_den is not None else "up_referrals",
                         "level": "county", "org_code": "C", "org_name": "示范县",
                         "period": [month_label(start + i) for i in range(n)], "numerator": values_num,
                         "denominator": values_den if values_den is not None else np.nan,
                         "value": 0.0})


def test_forecast_from_engine_rows_and_year_end() -> None:
    den = _seasonal(35)
    num = 0.3 * den
    rows = _rows(num, den)
    rows["value"] = 100 * num / den
    fc = forecast_from_rows(rows, 2, "2025-11")
    assert list(fc["period"]) == ["2025-12", "2026-01"]
    ye = year_end_from_rows(rows, "2025-11")
    assert ye.iloc[0]["months_actual"] == 11
    assert ye.iloc[0]["projected"] == pytest.approx(30.0, abs=0.5)
    assert ye.iloc[0]["status"] == "未达标"            # op_antibiotic_rate ≤ 20 %


def _township_alos(value: float) -> pd.DataFrame:
    """Engine-like monthly rows of a township centre's average stay: the engine judges it against the township
    target (≤ 7 days, ``target`` 7.0), not the county hospitals' 9 days."""
    n = 23
    den = np.full(n, 200.0)
    return pd.DataFrame({"indicator_id": "alos", "level": "institution", "org_code": "T001",
                         "org_name": "城关镇卫生院", "parent_code": "A01",
                         "period": [month_label(2025 * 12 + i) for i in range(n)], "numerator": value * den,
                         "denominator": den, "value": value, "target": 7.0, "status": "未达标",
                         "complete": True, "small_sample": False})


def test_township_stay_judged_and_worded_against_its_own_target() -> None:
    """Review: a township centre's 7.5-day stay read "低于目标下限 —" on the alert list (the message took the
    county's bounds, ≤ 9, so the missed bound was the absent lower one), and its year-end projection was 达标
    against 9 days while the month itself was 未达标 against 7."""
    from metrics.alert_rules import RuleSpec, evaluate_rows
    rows = _township_alos(7.5)
    found = evaluate_rows([RuleSpec("R02", "target_breach", "medium", ("institution",), ("alos",))],
                          {"institution": rows}, "2026-11")
    assert [f.message for f in found] == ["城关镇卫生院 平均住院日 7.5天，高于目标上限 7.0天（2026年11月）"]
    assert found[0].expected == 7.0
    ye = year_end_from_rows(rows, "2026-11").iloc[0]
    assert (ye["target_high"], ye["status"]) == (7.0, "未达标")


def test_count_forecast_has_no_denominator() -> None:
    rows = _rows(np.full(30, 10.0) + np.arange(30) % 3, None)
    fc = forecast_from_rows(rows, 3, "2025-06")
    assert (fc["value"] > 5).all() and (fc["lower"] >= 0).all()


def _run(demo_cfg, monkeypatch, *args: str):
    from app import cli
    monkeypatch.setenv("DATA_DIR", str(demo_cfg.data_dir))
    monkeypatch.setenv("MART_URL", demo_cfg.mart_url)
    monkeypatch.setenv("APP_DB_URL", demo_cfg.app_db_url)
    return CliRunner().invoke(cli, list(args))


def test_cli_forecast_csv_json_and_errors(demo_cfg, monkeypatch) -> None:
    res = _run(demo_cfg, monkeypatch, "forecast", "--ids", "op_antibiotic_rate", "--level", "county",
               "--horizon", "3", "--format", "csv")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert list(rows[0]) == ["indicator_id", "level", "org_code", "period", "value", "lower", "upper"]
    assert [r["period"] for r in rows] == ["2026-11", "2026-12", "2027-01"]   # demo runs to 2026-11-24
    assert all(float(r["lower"]) <= float(r["value"]) <= float(r["upper"]) for r in rows)
    res = _run(demo_cfg, monkeypatch, "forecast", "--ids", "op_antibiotic_rate", "--level", "institution",
               "--org", "T007", "--horizon", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["org_code"] == "T007"
    res = _run(demo_cfg, monkeypatch, "forecast", "--ids", "op_cost_growth", "--level", "county")
    assert res.exit_code == 2 and "不能预测" in res.output
    res = _run(demo_cfg, monkeypatch, "forecast", "--ids", "op_antibiotic_rate", "--level", "county", "--backtest")
    assert res.exit_code == 0, res.output
    bt = list(csv.DictReader(io.StringIO(res.output)))
    assert list(bt[0]) == ["indicator_id", "level", "org_code", "horizon", "mape", "mase"]
    assert {r["horizon"] for r in bt} == {"1", "2", "3"}
