"""Trend forecasts stored in the app database per data version (cold12): a fresh process reads them back instead
of refitting, and a load that changes the series makes them refitted.

Real DuckDB mart and SQLite app database (a copy of the tiny demo); "a fresh process" is the in-process memo and
fit memo cleared (nothing of the forecast left in memory)."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard.alerts import projections
from tests.test_referral_cache import _referrals_again

IDS = ["up_referrals"]
LOADED_MONTH = "2025-11"        # the tiny demo has < 24 months: the forecast of 2026-11 is this month's value


def _fits() -> int:
    from metrics.forecast import FIT_STATS
    return sum(FIT_STATS.values())


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)
    assert a.attrs["through"] == b.attrs["through"]


@pytest.fixture
def fresh():
    from dashboard.alerts import stored_forecasts
    from metrics import forecast
    projections._memo.clear()               # the memo of the stored rows (projections and forecasts)
    forecast._FITS.clear()
    yield stored_forecasts
    projections._memo.clear()


def test_a_stored_forecast_is_reused_by_a_fresh_process_and_refitted_after_a_load(demo_copy, fresh, tmp_path):
    from sqlalchemy import select

    from dashboard.alerts.models import YearEndProjection
    from dashboard.appdb import session_factory
    from mart.connection import dispose_engines
    from mart.loader import load_directory
    from metrics import forecast as fm
    from metrics.forecast import forecast
    from metrics.scope import FULL_SCOPE
    from queries.periods import data_version
    cfg = demo_copy

    def stored() -> pd.DataFrame:
        return fresh.stored_forecast(cfg.app_db_url, cfg.mart_url, IDS, "county", None, 3, FULL_SCOPE)

    fits = _fits()
    made = stored()
    assert _fits() > fits, "the first request fits"
    _same(made, forecast(IDS, "county", None, 3, mart_url=cfg.mart_url, scope=FULL_SCOPE))
    assert len(made) == 3 and made["value"].notna().all()

    projections._memo.clear()                                         # another process: nothing in memory
    fm._FITS.clear()
    fits = _fits()
    again = stored()
    assert _fits() == fits, "a fresh process refitted a forecast the app database holds"
    _same(again, made)

    # a load that changes the series: a new data version, so a new key — refitted, new numbers, old rows gone
    dispose_engines()
    rows, _ = _referrals_again(cfg, LOADED_MONTH, tmp_path / "load", n=400)
    assert load_directory(cfg, tmp_path / "load").rows["referral"] == rows
    dispose_engines()
    fits = _fits()
    after = stored()                                            # the memo is not cleared: the key changed
    assert _fits() > fits, "a load that changed the series did not refit"
    _same(after, forecast(IDS, "county", None, 3, mart_url=cfg.mart_url, scope=FULL_SCOPE))
    assert not after[["value", "lower", "upper"]].equals(made[["value", "lower", "upper"]])
    with session_factory(cfg.app_db_url)() as s:
        versions = set(s.scalars(select(YearEndProjection.data_version)))
    assert versions == {data_version(cfg.mart_url)}


def test_the_trend_draws_the_stored_forecast(client_as, app_cfg):
    """The indicator page's trend asks the store: after one trend nothing is fitted for the same view again, even
    with the process' memory of it gone."""
    import json

    from core import cache as core_cache
    from metrics import forecast as fm
    from tests.test_maps_callbacks import _post
    client = client_as("leader")

    def trend() -> str:
        resp = _post(client, [("ind-trend-box", "children")], [("ind-id", "data", "op_antibiotic_rate")],
                     [("url", "search", "?grain=month")])
        return json.dumps(resp["ind-trend-box"]["children"], ensure_ascii=False)

    first = trend()
    assert "预测" in first
    projections._memo.clear()
    fm._FITS.clear()
    with client.application.app_context():
        cache = core_cache.backend()
        cache.clear()                               # the output cache and the engine's too: a fresh process
    fits = _fits()
    assert trend() == first
    assert _fits() == fits


def test_a_mart_without_a_data_version_is_never_stored_for(demo_copy, fresh):
    """Nothing would tell a later load apart: the forecast is computed every time, never kept."""
    import duckdb
    from sqlalchemy import func, select

    from dashboard.alerts.models import YearEndProjection
    from dashboard.appdb import session_factory
    from mart.connection import dispose_engines
    from metrics.forecast import forecast
    from metrics.scope import FULL_SCOPE
    from queries.periods import data_version
    cfg = demo_copy
    dispose_engines()
    con = duckdb.connect(str(cfg.data_dir / "mart.duckdb"))
    con.execute("DELETE FROM mart_meta WHERE key = 'data_version'")
    con.close()
    dispose_engines()
    assert data_version(cfg.mart_url) == ""
    got = fresh.stored_forecast(cfg.app_db_url, cfg.mart_url, IDS, "county", None, 3, FULL_SCOPE)
    _same(got, forecast(IDS, "county", None, 3, mart_url=cfg.mart_url, scope=FULL_SCOPE))
    with session_factory(cfg.app_db_url)() as s:
        assert s.scalar(select(func.count()).select_from(YearEndProjection)
                        .where(YearEndProjection.key.like("forecast:%"))) == 0
