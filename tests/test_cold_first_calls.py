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


def _as_sent(figure) -> object:
    """A figure as Dash sends it to the browser (its JSON encoder, parsed back)."""
    import json

    from plotly.io.json import to_json_plotly
    return json.loads(to_json_plotly(figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure))


def test_a_sparkline_built_as_a_plain_dict_is_what_plotly_built():
    """The cards' sparklines are plain dicts now (no Plotly objects to build and validate): the browser gets the
    same figure as from the Plotly builder they replaced, template included."""
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    from layouts._components import sparkline

    def plotly_sparkline(values, x, color, height):     # the builder before cold12
        fig = go.Figure(go.Scatter(x=x, y=list(values), mode="lines", line=dict(color=color, width=1.8),
                                   connectgaps=False, hoverinfo="skip"))
        fig.update_layout(margin=dict(l=0, r=0, t=2, b=2), height=height, showlegend=False,
                          paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                          xaxis=dict(visible=False), yaxis=dict(visible=False))
        return fig

    series = pd.Series([1.5, np.nan, 3.25, None, 0.0, 12.0], dtype=float)
    periods = list(pd.Series([f"2026-{m:02d}" for m in range(1, 7)]))
    for values, x, color, height in ((list(series), periods, "#c0392b", 36),
                                     ([np.float64(2.0), None, 3], None, "#2e86c1", 40),
                                     ([np.int64(4), np.int64(5)], [np.int64(1), np.int64(2)], "#27ae60", 36)):
        xs = list(x) if x is not None else list(range(len(values)))
        graph = sparkline(values, x, color=color, height=height)
        assert isinstance(graph.figure, dict)
        assert _as_sent(graph.figure) == _as_sent(plotly_sparkline(values, xs, color, height))


def test_the_trend_built_as_plain_dicts_is_what_plotly_built(demo_cfg):
    """The indicator trend is a plain-dict figure now: for running and whole months, incomplete months, last
    year's line, the target and the forecast band, what the browser gets equals the Plotly builder's figure."""
    import numpy as np

    from dashboard.views.figures import trend_figure
    from layouts._components import safe_figure
    from metrics.forecast import forecast
    from tests.plotly_reference import plotly_trend_figure
    url = demo_cfg.mart_url
    cases = []
    for iid, end, fc in (("op_antibiotic_rate", "2026-10", True), ("op_antibiotic_rate", RUNNING_MONTH, False),
                         ("op_er_visits", "2026-10", True), ("alos", RUNNING_MONTH, False)):
        rows = compute([iid], "county", "month", "2025-01", end, mart_url=url)
        f = forecast([iid], "county", None, 3, mart_url=url) if fc else None
        cases.append((rows, "%" if iid == "op_antibiotic_rate" else "", 1, "≤10%", f))
    rows = cases[0][0].copy()
    rows.loc[rows.index[3], "complete"] = False                      # an incomplete month: hollow marker
    rows.loc[rows.index[4], "value"] = np.nan
    rows["target"] = 10.0
    cases.append((rows, "%", 2, "≤10%", None))
    cases.append((rows.assign(value=np.nan), "%", 1, "", None))        # nothing to draw
    seen = set()
    for rows, unit, dec, target, fc in cases:
        new, old = trend_figure(rows, unit, dec, target, forecast=fc), plotly_trend_figure(rows, unit, dec, target,
                                                                                            forecast=fc)
        assert _as_sent(safe_figure(new)) == _as_sent(safe_figure(old))
        seen |= {t.get("name") for t in _as_sent(new)["data"]}
    assert {"本期", "未结束", "去年同期", "预测", "预测区间 95%"} <= seen


def test_one_layout_update_styles_every_axis_as_the_three_updates_did():
    """``base_layout`` sets the common look in one ``update_layout`` (update_xaxes/update_yaxes cost 5× more):
    the same figure as before for one axis pair, a second y axis given in the call, and axes the figure had."""
    import copy

    import plotly.graph_objects as go

    from dashboard.views.figures import base_layout
    from tests.plotly_reference import base_layout as plotly_base_layout

    def figures() -> list[go.Figure]:
        bars = go.Figure([go.Bar(x=["甲", "乙"], y=[1, 2], name="上转"), go.Bar(x=["甲", "乙"], y=[3, 1])])
        volume = go.Figure()
        volume.add_bar(x=["1月", "2月"], y=[5, 6])
        volume.add_scatter(x=["1月", "2月"], y=[0.5, 0.7], yaxis="y2")
        own = go.Figure(go.Scatter(x=[1, 2], y=[2, 3]), layout=dict(xaxis=dict(title="月", showgrid=True),
                                                                     yaxis3=dict(overlaying="y")))
        return [bars, volume, own, go.Figure()]

    calls = [dict(), dict(height=340, barmode="stack"),
             dict(height=340, barmode="group", yaxis2=dict(overlaying="y", side="right", showgrid=False,
                                                           title="比值", range=[0, 1.04])),
             dict(height=200, xaxis=dict(showgrid=True, title="x"), showlegend=False)]
    for kw in calls:
        for new, old in zip(figures(), figures()):
            base_layout(new, **copy.deepcopy(kw))
            plotly_base_layout(old, **copy.deepcopy(kw))
            assert _as_sent(new) == _as_sent(old), kw


def test_the_sankey_built_as_plain_dicts_is_what_plotly_built(demo_cfg):
    """The referral Sankey is a plain-dict figure now: for the leader (every institution, the small flows summed
    by township), a manager (other institutions merged into their township) and a name with a link tag in it,
    what the browser gets equals the Plotly builder's figure."""
    import pandas as pd

    from dashboard.views.referral_flow import _group_small_flows, flow_figure
    from layouts._components import safe_figure
    from metrics.scope import FULL_SCOPE, Scope
    from queries import referrals as q
    from tests.plotly_reference import _group_small_flows as plotly_group_small_flows
    from tests.plotly_reference import plotly_flow_figure
    url = demo_cfg.mart_url
    df = q.referral_flows(url, "2025-01-01", "2026-11-01", None)
    assert len(df) > 30                                     # more flows than FLOW_LIMIT: the rest summed
    manager = Scope(inst_codes=frozenset(df["from_inst_code"].astype(str).head(2)), aggregates=True)
    tagged = df.copy()
    tagged.loc[tagged["from_inst_code"] == tagged["from_inst_code"].iloc[0], "from_name"] = '<a href="http://x">某院</a>'
    no_town = df.copy()
    no_town.loc[no_town.index[40:], ["from_township", "to_township"]] = None      # institutions without a township
    for frame in (df, no_town, df.sample(frac=1, random_state=1), df.head(31)):
        for limit in (5, 30):
            pd.testing.assert_frame_equal(_group_small_flows(frame.copy(), limit),
                                          plotly_group_small_flows(frame.copy(), limit))
    for frame, user in ((df, FULL_SCOPE), (df, manager), (tagged, FULL_SCOPE), (df.head(3), FULL_SCOPE),
                        (no_town, FULL_SCOPE), (df.iloc[0:0], FULL_SCOPE)):
        new = safe_figure(flow_figure(frame.copy(), user))
        old = safe_figure(plotly_flow_figure(frame.copy(), user))
        assert _as_sent(new) == _as_sent(old)
    assert "&lt;a href" in str(_as_sent(safe_figure(flow_figure(tagged.copy(), FULL_SCOPE))))


def test_the_monthly_referral_bars_read_together_are_what_each_section_drew_alone(client_as, demo_cfg):
    """The up/down and outside-county bars of /referrals come from one engine call at the county and township
    views (each section keeps its own rows), and the outside bars are built in one go.Figure call: the figures
    equal the previous builders' (separate engine calls, base_layout + update_yaxes) for the county, a township
    and an institution (whose outside bars are its township's: two calls still)."""
    from dashboard.callbacks import referrals as vref
    from queries import org as qorg
    from tests.plotly_reference import plotly_outside_figure, plotly_volume_figure
    tree = qorg.org_tree(demo_cfg.mart_url)
    town = str(tree["township_code"].dropna().iloc[0])
    inst = str(tree.loc[tree["township_code"] == town, "inst_code"].iloc[0])
    client = client_as("leader")
    with client:
        client.get("/")
        for search in ("?grain=month&period=2026-10", "?grain=quarter&period=2026Q4", "?grain=year&period=2025",
                       f"?grain=month&period=2026-10&org={town}", f"?grain=quarter&period=2026Q4&org={inst}"):
            new, old = vref.outside_figure(search), plotly_outside_figure(search)
            assert _as_sent(new) == _as_sent(old), search
            assert _as_sent(vref.volume_figure(search)) == _as_sent(plotly_volume_figure(search)), search
            assert len(new.data) == 2 or search.endswith(inst)
