"""Dates outside the contract's plausible range (before 2000, after the load's day + 1) are refused."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from mart.loader import date_bounds, load_directory
from mart.schema import DATE_MAX_DAYS_AFTER_LOAD, DATE_MIN
from tests.test_loader import loaded, reject, visit, write_set  # noqa: F401  (fixture)


def test_2999_and_1900_dates_are_refused_with_a_clear_message(loaded, tmp_path: Path) -> None:
    bad = write_set(tmp_path / "bad", dict(outpatient_visit=[visit(7, visit_time="2999-01-01 08:00:00"),
                                                             visit(8, visit_time="1900-05-01 08:00:00"),
                                                             visit(9)]))
    err = reject(loaded, bad)
    text = str(err)
    assert "日期超出合理范围" in text and "2999-01-01" in text and "1900-05-01" in text
    assert [(i.row, i.column) for i in err.errors if "日期" in i.reason] == [(1, "visit_time"), (2, "visit_time")]


def test_tomorrow_is_accepted_the_day_after_is_not(loaded, tmp_path: Path) -> None:
    first, last = date_bounds("Asia/Shanghai")
    assert str(first) == DATE_MIN and (last - first).days > 9000
    assert last == date_bounds("Asia/Shanghai", last - dt.timedelta(days=DATE_MAX_DAYS_AFTER_LOAD))[1]
    ok = write_set(tmp_path / "ok", dict(outpatient_visit=[visit(7, visit_time=f"{last} 23:00:00")]))
    assert load_directory(loaded, ok).rows == {"outpatient_visit": 1}
    later = write_set(tmp_path / "later", dict(outpatient_visit=[visit(8, visit_time=f"{last + dt.timedelta(days=1)} 00:10:00")]))
    assert "日期超出合理范围" in str(reject(loaded, later))


def test_a_five_megabyte_field_gets_a_sensible_message(loaded, tmp_path: Path) -> None:
    huge = write_set(tmp_path / "huge", dict(outpatient_visit=[visit(7, diagnosis_code="J" + "x" * 5_000_000)]))
    text = str(reject(loaded, huge))
    assert "过长" in text and "(None)" not in text
