"""The first call of a page in a fresh process (cold12): work it does not do any more, and what it still shows.

On the session's tiny demo (data until 2026-11-24: November and 2026Q4 are running)."""
from __future__ import annotations

import pytest
from cachelib import SimpleCache

from core import cache as core_cache
from metrics.engine import compute, result_periods
from metrics.scope import FULL_SCOPE

RUNNING_MONTH = "2026-11"
WHOLE_MONTH = "2026-10"


@pytest.fixture
def counted_cache():
    """A result cache outside the app, so that every engine computation counts one ``engine:miss``."""
    core_cache.install(SimpleCache())
    try:
        yield core_cache.STATS
    finally:
        core_cache.install(None)


def test_result_periods_flag_partial_as_the_engine_rows_do(demo_cfg):
    url = demo_cfg.mart_url
    for grain, start, end in (("month", RUNNING_MONTH, RUNNING_MONTH), ("quarter", "2026-10", "2026-12"),
                              ("month", WHOLE_MONTH, WHOLE_MONTH), ("quarter", "2026-07", "2026-09"),
                              ("month", "2026-09", "2026-12")):
        rows = compute(["op_er_visits"], "county", grain, start, end, mart_url=url, comparisons=False)
        flags = {p.label: p.partial for p in result_periods(grain, start, end, url)}
        assert flags == {r.period: bool(r.partial) for r in rows.itertuples()}, (grain, start, end)
    assert [p.partial for p in result_periods("quarter", "2026-10", "2026-12", url)] == [True]
    assert [p.partial for p in result_periods("month", WHOLE_MONTH, WHOLE_MONTH, url)] == [False]


def test_alerts_of_a_running_period_never_fire_and_are_not_computed(demo_cfg, counted_cache):
    """The computed alert list keeps only whole periods: for a running one it is empty as before, now without the
    engine's institution-level rows of every alert indicator that were all dropped as partial."""
    from dashboard.reporting.alerts import computed_month_alerts
    from dashboard.views.alert_list import alert_ids, any_whole_period, rank_alerts
    from queries import org as qorg
    url = demo_cfg.mart_url
    # what the list would be from the engine's rows: nothing, every row of a running month is partial
    tree = qorg.org_tree(url)
    rows = compute(alert_ids(), "institution", "month", RUNNING_MONTH, RUNNING_MONTH, mart_url=url,
                   comparisons=False, use_cache=False)
    assert rows["status"].isin(["未达标", "预警"]).any() and rows["partial"].astype(bool).all()
    assert rank_alerts(rows, dict(zip(tree["inst_code"], tree["level"]))).empty
    assert not any_whole_period("month", RUNNING_MONTH, RUNNING_MONTH, url)
    assert not any_whole_period("quarter", "2026-10", "2026-12", url)

    misses = counted_cache["engine:miss"]
    assert computed_month_alerts(demo_cfg, RUNNING_MONTH, None, FULL_SCOPE) == []
    assert counted_cache["engine:miss"] == misses, "the running month's rows were computed to be dropped"
    # a whole month is computed and alerts as before
    assert any_whole_period("month", WHOLE_MONTH, WHOLE_MONTH, url)
    assert computed_month_alerts(demo_cfg, WHOLE_MONTH, None, FULL_SCOPE)
    assert counted_cache["engine:miss"] > misses
