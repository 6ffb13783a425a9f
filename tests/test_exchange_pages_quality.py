"""The fast ``quality_daily`` (SQL aggregation + array slot arithmetic) equals the first per-slot implementation
(tests/exchange_quality_reference.py) on seeded demo history, for every grouping and at several 'now's."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from dashboard.exchange.quality import quality_daily
from tests.exchange_fixtures import build_tiny_mart, make_cfg
from tests.exchange_quality_reference import reference_quality_daily

NOW = dt.datetime(2026, 3, 10, 14, 37)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from dashboard.appdb import init_app_db, session_factory
    from dashboard.exchange.models import ExchangeNode
    from dashboard.exchange.seed import seed_demo_history
    from mart.connection import dispose_engines
    cfg = make_cfg(Path(tmp_path_factory.mktemp("qref")))
    build_tiny_mart(cfg)
    dispose_engines()
    init_app_db(cfg.app_db_url)
    seed_demo_history(cfg, days=4, now=NOW)
    with session_factory(cfg.app_db_url)() as s, s.begin():
        # one node created inside the window: its slots and hours count from its creation only
        s.execute(update(ExchangeNode).where(ExchangeNode.code == "EX-T002")
                  .values(created_at=NOW - dt.timedelta(days=1, hours=5, minutes=20)))
    return cfg


@pytest.mark.parametrize("by", [("inst_code", "day"), ("inst_code", "job_code"), ("day",), (), ("job_code",),
                                ("inst_code", "job_code", "day")])
@pytest.mark.parametrize("now", [NOW, NOW - dt.timedelta(hours=30, minutes=11)])
def test_fast_equals_reference(seeded, by, now) -> None:
    start, end = (NOW - dt.timedelta(days=3)).date(), NOW.date()
    fast = quality_daily(seeded, start, end, now=now, by=by)
    ref = reference_quality_daily(seeded, start, end, now=now, by=by)
    assert len(fast) > 0
    cols = [c for c in ref.columns]
    pd.testing.assert_frame_equal(fast[cols].reset_index(drop=True), ref[cols].reset_index(drop=True),
                                  check_dtype=False)


def test_window_splits_into_past_days_and_today(seeded) -> None:
    """The quality page computes settled past days and today separately (different cache lifetimes) and
    concatenates them: by institution and day that must equal the whole window computed at once."""
    start, end = (NOW - dt.timedelta(days=3)).date(), NOW.date()
    by = ["inst_code", "day"]
    whole = quality_daily(seeded, start, end, now=NOW, by=by)
    past = quality_daily(seeded, start, end - dt.timedelta(days=1), now=NOW, by=by)
    today = quality_daily(seeded, end, end, now=NOW, by=by)
    assert len(past) > 0 and len(today) > 0
    parts = pd.concat([past, today], ignore_index=True).sort_values(by).reset_index(drop=True)
    pd.testing.assert_frame_equal(parts[whole.columns], whole.sort_values(by).reset_index(drop=True),
                                  check_dtype=False)
