"""URL state, formatting and shared components (pure functions, no server)."""
from __future__ import annotations

import math
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import urlstate as us
from layouts import formatting as f


# ---------------------------------------------------------------------------------------------- urlstate
def test_parse_valid_state():
    s = us.parse_state("?grain=quarter&period=2025Q1&org=H001&level=dept", "2025-06")
    assert (s.grain, s.period, s.org, dict(s.extra)) == ("quarter", "2025Q1", "H001", {"level": "dept"})


def test_parse_defaults_and_bad_values():
    s = us.parse_state("", "2025-06")
    assert (s.grain, s.period, s.org, dict(s.extra)) == ("month", "2025-06", None, {})
    s = us.parse_state("?grain=decade&period=2025-13&org=<script>", "2025-06")
    assert (s.grain, s.period, s.org) == ("month", "2025-06", None)
    s = us.parse_state(None, None)
    assert s.period == us.calendar_last_complete_month()


def test_parse_converts_period_to_grain():
    assert us.parse_state("?grain=quarter&period=2025-05", "2025-06").period == "2025Q2"
    assert us.parse_state("?grain=year&period=2024Q3", "2025-06").period == "2024"
    # a year asked at month grain becomes its last month
    assert us.parse_state("?grain=month&period=2024", "2025-06").period == "2024-12"


def test_default_period_is_the_last_complete_one():
    # June complete: the second quarter is over, the year is running → the year before
    assert us.parse_state("?grain=year", "2025-06").period == "2024"
    assert us.parse_state("?grain=quarter", "2025-06").period == "2025Q2"
    assert us.parse_state("?grain=month", "2025-06").period == "2025-06"
    # May complete: the second quarter is running → the first; December complete: the year is over
    assert us.parse_state("?grain=quarter", "2025-05").period == "2025Q1"
    assert us.parse_state("?grain=quarter", "2025-01").period == "2024Q4"
    assert us.parse_state("?grain=year", "2025-12").period == "2025"
    # data starting inside the running period: that period is the only one with data
    assert us.parse_state("?grain=year", "2025-06", first_month="2025-01").period == "2025"
    assert us.parse_state("?grain=quarter", "2025-05", first_month="2025-04").period == "2025Q2"
    assert us.parse_state("?grain=quarter", "2025-05", first_month="2024-01").period == "2025Q1"
    # a running period chosen explicitly stays chosen
    assert us.parse_state("?grain=year&period=2025", "2025-06").period == "2025"


def test_query_keys():
    assert us.parse_qs_keys("?grain=month&org=A1") == {"grain", "org"}
    assert us.parse_qs_keys("?period=") == set() and us.parse_qs_keys(None) == set()


def test_first_occurrence_wins_and_reserved_keys_not_in_extra():
    s = us.parse_state("?org=A1&org=B2&grain=month&grain=year", "2025-01")
    assert s.org == "A1" and s.grain == "month" and "org" not in s.extra


def test_to_search_round_trip_and_order():
    s = us.ViewState("month", "2025-03", "H001", {"z": "1", "a": "城关"})
    text = us.to_search(s)
    assert text.startswith("?grain=month&period=2025-03&org=H001&a=")
    assert us.parse_state(text) == s


def test_with_merges_extra():
    s = us.ViewState("month", "2025-03", None, {"a": "1"})
    t = s.with_(org="H002", extra={"b": "2", "a": None})
    assert t.org == "H002" and dict(t.extra) == {"b": "2"}


@pytest.mark.parametrize("grain,period,bounds", [
    ("month", "2025-03", ("2025-03", "2025-03")),
    ("quarter", "2025Q1", ("2025-01", "2025-03")),
    ("quarter", "2024Q4", ("2024-10", "2024-12")),
    ("year", "2025", ("2025-01", "2025-12")),
])
def test_period_bounds(grain, period, bounds):
    assert us.period_bounds(grain, period) == bounds


def test_period_bounds_rejects_bad_input():
    with pytest.raises(ValueError):
        us.period_bounds("quarter", "2025-03")
    with pytest.raises(ValueError):
        us.period_bounds("week", "2025")


def test_periods_between_newest_first():
    assert us.periods_between("quarter", "2024-11", "2025-04") == ["2025Q2", "2025Q1", "2024Q4"]
    assert us.periods_between("month", "2025-01", "2025-03") == ["2025-03", "2025-02", "2025-01"]
    assert us.periods_between("year", "2023-12", "2025-01") == ["2025", "2024", "2023"]
    assert us.periods_between("month", "bad", "2025-01") == []


def test_default_period_falls_back_to_calendar_on_unreadable_mart(tmp_path):
    assert us.default_period(f"duckdb:///{tmp_path / 'missing.duckdb'}") == us.calendar_last_complete_month()


_query_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.tuples(st.sampled_from(["grain", "period", "org", "x", "level", "Bad Key", "", "a_1"]),
                       st.one_of(st.sampled_from(["month", "quarter", "year", "2025-03", "2025Q4", "2025",
                                                  "H001", "330100101", "", "9999-99"]), st.text(max_size=30))),
             max_size=8).map(lambda kv: "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in kv)),
)


@settings(max_examples=300, deadline=None)
@given(_query_text)
def test_any_query_string_gives_a_valid_state_that_round_trips(search):
    s = us.parse_state(search, "2025-03")
    assert s.grain in us.GRAINS
    assert us.is_valid_period(s.grain, s.period)
    start, end = us.period_bounds(s.grain, s.period)
    assert start <= end
    assert s.org is None or (0 < len(s.org) <= 64 and s.org.isascii())
    assert all(k not in us.RESERVED_KEYS for k in s.extra)
    assert us.parse_state(us.to_search(s), "1999-01") == s


# ---------------------------------------------------------------------------------------------- formatting
def test_fmt_number():
    assert f.fmt_number(1234567.891, 2) == "1,234,567.89"
    assert f.fmt_number(-0.0001, 2) == "0.00"
    assert f.fmt_number(None) == f.fmt_number(math.nan) == f.fmt_number("x") == "—"


def test_fmt_value_units():
    assert f.fmt_value(12.345, "%", 1) == "12.3%"
    assert f.fmt_value(186.5, "元") == "186.50 元"
    assert f.fmt_value(1234, "人次") == "1,234 人次"
    assert f.fmt_value(9.25, "天") == "9.2 天" or f.fmt_value(9.25, "天") == "9.3 天"
    assert f.fmt_value(None, "元") == "—"
    assert f.fmt_value(float("nan"), "%") == "—"


def test_fmt_changes():
    assert f.fmt_pct_change(0.123) == "+12.3%"
    assert f.fmt_pct_change(-0.04) == "-4.0%"
    assert f.fmt_pct_change(0.0) == "0.0%"
    assert f.fmt_pct_change(None) == "—"
    assert f.fmt_pp_change(1.25, 1) in ("+1.2个百分点", "+1.3个百分点")


def test_fmt_periods():
    assert f.fmt_month_zh("2025-03") == "2025年3月"
    assert f.fmt_period_zh("year", "2025") == "2025年"
    assert f.fmt_period_zh("quarter", "2025Q1") == "2025年第1季度"
    assert f.fmt_period_zh("month", "2025-12") == "2025年12月"
    assert f.fmt_period_zh("month", "2025Q1") == "2025Q1"


def test_period_options_mark_every_unfinished_period() -> None:
    """Data complete to October 2026 (November partial): November, 2026Q4 and 2026 are unfinished; October,
    2026Q3 and 2025 are not."""
    from dashboard.callbacks.shell import period_options
    labels = {g: {o["value"]: o["label"] for o in period_options(g, "2025-01", "2026-11", "2026-10", cur)}
              for g, cur in (("month", "2026-10"), ("quarter", "2026Q4"), ("year", "2026"))}
    assert labels["month"]["2026-11"].endswith("（未结束）") and "未结束" not in labels["month"]["2026-10"]
    assert labels["quarter"]["2026Q4"].endswith("（未结束）") and "未结束" not in labels["quarter"]["2026Q3"]
    assert labels["year"]["2026"].endswith("（未结束）") and "未结束" not in labels["year"]["2025"]


def test_display_target_flat_change_and_zh_only() -> None:
    assert f.display_target("参考") is None and f.display_target("") is None and f.display_target(None) is None
    assert f.display_target("≥ 60% (参考)") == "≥ 60% (参考)" and f.display_target("监测") is None
    assert f.target_phrase("监测") == f.target_phrase("参考") == f.target_phrase(None) == "无目标值"
    assert f.target_phrase("监测 (看同比)") == "无目标值" and f.display_target("县级 ≤ 9 天") == "县级 ≤ 9 天"
    assert f.target_phrase("≥ 90%") == "目标 ≥ 90%"
    assert f.is_flat_change(-0.0004) and f.is_flat_change(0.0) and not f.is_flat_change(-0.0006)
    assert not f.is_flat_change(None) and not f.is_flat_change(math.nan)
    assert f.zh_only("部分期间 (partial period); 样本量小; 数据不完整 (incomplete uploads)") == \
        "部分期间; 样本量小; 数据不完整"
    assert f.zh_only("乡镇按居住地 (按居民)") == "乡镇按居住地 (按居民)"     # Chinese asides stay


def test_export_number_helpers() -> None:
    from dashboard.export import _fixed, display_width, number_format
    assert number_format(0) == "#,##0" and number_format(2) == "#,##0.00"
    assert _fixed(-0.04, 1) == "0.0" and _fixed(12.345, 1) == "12.3" and _fixed(None, 1) == ""
    assert display_width("丰安县（合计）") == 14 and display_width("H001") == 4


def test_banner_counts_institutions_not_names() -> None:
    """Two village clinics of one name are two institutions: the leader's banner said 等58家 where the
    manager's (counting codes) said 67家 (issue 14 screenshot review)."""
    from dashboard.callbacks.cockpit import _shown
    assert _shown(["甲", "乙", "丙"], limit=5) == "甲、乙、丙"
    assert _shown(["甲", "乙", "乙"], limit=5) == "甲、乙等3家"
    assert _shown(["甲", "乙", "丙", "丁"], limit=2) == "甲、乙等4家"
    # review 7: the banner's exchange nodes are counted in 台 (前置机离线或异常 5 台：…等5台, it said 等5家)
    assert _shown(["甲前置机", "乙前置机", "丙前置机"], limit=2, unit="台") == "甲前置机、乙前置机等3台"
