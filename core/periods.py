"""Month arithmetic on 'YYYY-MM' strings and month indexes (year × 12 + month − 1): the one helper."""
from __future__ import annotations

import datetime as dt


def month_index(month: str) -> int:
    """'YYYY-MM' → month index (year × 12 + month − 1)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_str(index: int) -> str:
    """Month index → 'YYYY-MM'."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, n: int) -> str:
    """'YYYY-MM' shifted by ``n`` months (negative goes back)."""
    return month_str(month_index(month) + n)


def month_range(first: str, last: str) -> list[str]:
    """All months 'YYYY-MM' from ``first`` to ``last`` inclusive (empty when last is before first)."""
    return [month_str(i) for i in range(month_index(first), month_index(last) + 1)]


def month_first_day(index: int) -> dt.date:
    """First calendar day of a month index."""
    return dt.date(index // 12, index % 12 + 1, 1)


def days_in_month(index: int) -> int:
    """Calendar days of a month index."""
    return (month_first_day(index + 1) - month_first_day(index)).days


def month_last_day(index: int) -> dt.date:
    """Last calendar day of a month index."""
    return month_first_day(index + 1) - dt.timedelta(days=1)
