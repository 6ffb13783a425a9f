"""预计全年 shared through the app database: computed once by whoever claims it, read by every process.

Real DuckDB mart and SQLite app database (a copy of the tiny demo); "another process" is a fresh read of the row
with the in-process memo cleared."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest


def _headline() -> list[str]:
    from dashboard.views.cards import projection_ids
    from layouts._pageparts import HEADLINE_IDS
    return projection_ids(list(HEADLINE_IDS))


@pytest.fixture
def fresh_memo():
    from dashboard.alerts import projections
    projections._memo.clear()
    yield projections
    projections._memo.clear()


def test_stored_projection_is_the_forecast_modules_and_read_back_by_others(demo_copy, fresh_memo) -> None:
    from metrics.forecast import year_end
    from metrics.scope import FULL_SCOPE
    cfg, ids = demo_copy, _headline()
    assert fresh_memo.stored_year_end(cfg.app_db_url, cfg.mart_url, ids, "county", None, FULL_SCOPE) is None
    made = fresh_memo.ensure_year_end(cfg.app_db_url, cfg.mart_url, ids, "county", None, FULL_SCOPE,
                                      background=False)
    expected = year_end(ids, "county", None, cfg.mart_url, FULL_SCOPE)
    assert made is not None and len(made) == len(expected) > 0
    fresh_memo._memo.clear()                                   # another worker: reads the row
    got = fresh_memo.stored_year_end(cfg.app_db_url, cfg.mart_url, ids, "county", None, FULL_SCOPE)
    assert got is not None
    cols = ["indicator_id", "org_code", "year", "months_actual", "status"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), expected[cols].reset_index(drop=True),
                                  check_dtype=False)
    assert got["projected"].to_numpy() == pytest.approx(expected["projected"].to_numpy(), nan_ok=True)
    assert got.attrs["through"] == expected.attrs["through"]


def test_one_claim_at_a_time_and_a_dead_claim_is_taken_over(demo_copy, fresh_memo) -> None:
    from dashboard.accounts import clock
    from metrics.scope import FULL_SCOPE
    from queries.periods import data_version
    cfg = demo_copy
    version = data_version(cfg.mart_url)
    key = fresh_memo.projection_key(version, ["alos"], "county", None, FULL_SCOPE)
    assert fresh_memo._claim(cfg.app_db_url, key, version) is True
    assert fresh_memo._claim(cfg.app_db_url, key, version) is False          # someone is computing it
    # while it is being computed nobody shows a projection (and nobody starts a second computation)
    assert fresh_memo.ensure_year_end(cfg.app_db_url, cfg.mart_url, ["alos"], "county", None, FULL_SCOPE,
                                      background=False) is None
    later = clock.now() + fresh_memo.STALE_AFTER + dt.timedelta(seconds=1)
    clock.set_clock(lambda: later)
    try:
        assert fresh_memo._claim(cfg.app_db_url, key, version) is True       # the claimer died: taken over
        assert fresh_memo._claim(cfg.app_db_url, key, version) is False
    finally:
        clock.set_clock(None)


def test_a_new_data_version_drops_the_old_projections(demo_copy, fresh_memo) -> None:
    from sqlalchemy import func, select

    from dashboard.alerts.models import YearEndProjection
    from dashboard.appdb import session_factory
    from metrics.scope import FULL_SCOPE
    cfg = demo_copy
    old = fresh_memo.projection_key("old-version", ["alos"], "county", None, FULL_SCOPE)
    assert fresh_memo._claim(cfg.app_db_url, old, "old-version")
    new = fresh_memo.projection_key("new-version", ["alos"], "county", None, FULL_SCOPE)
    assert new != old
    assert fresh_memo._claim(cfg.app_db_url, new, "new-version")
    with session_factory(cfg.app_db_url)() as s:
        versions = list(s.scalars(select(YearEndProjection.data_version)))
        assert versions == ["new-version"]
        assert s.scalar(select(func.count()).select_from(YearEndProjection)) == 1
