"""View state in the URL query string: ``?grain=month&period=2025-03&org=H001`` (+ page-specific extras).

Every view is a shareable link and the browser back button undoes a drill, because the toolbar and the pages
write their state into the query string and read it back from there. Parsing never raises: a bad value falls
back to its default.

Pages read the state in their callbacks with ``Input(ids.URL, "search")`` and::

    state = urlstate.current_state(search)        # default period resolved from the app's mart
    start, end = urlstate.period_bounds(state.grain, state.period)
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, quote, urlencode

from core.labels import GRAIN_ZH as GRAIN_ZH  # re-exported for the callbacks
from core.labels import GRAINS as GRAINS
from core.periods import add_months

log = logging.getLogger(__name__)

DEFAULT_GRAIN = "month"
RESERVED_KEYS = frozenset({"grain", "period", "org"})

MAX_SEARCH_LEN = 4000       # longer query strings are cut (a hostile or broken link must not cost time)
MAX_EXTRA = 20              # page-specific keys kept at most
MAX_VALUE_LEN = 200

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR_RE = re.compile(r"^(\d{4})$")
_ORG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\ufffd\ud800-\udfff]")
_MIN_YEAR, _MAX_YEAR = 1990, 2199


@dataclass(frozen=True)
class ViewState:
    """What a page shows: time grain, period, organisation (None = 全县) and page-specific extras."""
    grain: str
    period: str
    org: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> ViewState:
        """A copy with some fields changed (``extra`` merged; a None extra value removes the key)."""
        extra_changes = changes.pop("extra", None)
        new = replace(self, **changes) if changes else self
        if extra_changes is not None:
            merged = dict(self.extra)
            for k, v in dict(extra_changes).items():
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = str(v)
            new = replace(new, extra=_clean_extra(merged.items()))
        return new

    @property
    def bounds(self) -> tuple[str, str]:
        """(first month, last month) of the period."""
        return period_bounds(self.grain, self.period)


# ---------------------------------------------------------------------------------------------- periods
def calendar_last_complete_month(today: dt.date | None = None) -> str:
    """The month before today's month (used when the mart cannot tell)."""
    today = today or dt.date.today()
    first = today.replace(day=1)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def is_valid_period(grain: str, period: str) -> bool:
    """True when ``period`` is well-formed for ``grain`` (year 'YYYY', quarter 'YYYYQn', month 'YYYY-MM')."""
    if not isinstance(period, str):
        return False
    m = {"year": _YEAR_RE, "quarter": _QUARTER_RE, "month": _MONTH_RE}.get(grain, None)
    if m is None:
        return False
    hit = m.match(period)
    return bool(hit) and _MIN_YEAR <= int(hit.group(1)) <= _MAX_YEAR


def _grain_of(period: str) -> str | None:
    for grain in GRAINS:
        if is_valid_period(grain, period):
            return grain
    return None


def period_bounds(grain: str, period: str) -> tuple[str, str]:
    """First and last month of a period: ``('quarter','2025Q1') → ('2025-01','2025-03')``.

    Raises ValueError for a malformed period (use ``parse_state`` for untrusted input)."""
    if not is_valid_period(grain, period):
        raise ValueError(f"invalid period {period!r} for grain {grain!r}")
    if grain == "month":
        return period, period
    year = int(period[:4])
    if grain == "year":
        return f"{year:04d}-01", f"{year:04d}-12"
    q = int(period[-1])
    return f"{year:04d}-{3 * q - 2:02d}", f"{year:04d}-{3 * q:02d}"


def month_to_period(month: str, grain: str) -> str:
    """The period of ``grain`` that contains ``month`` ('2025-03', 'quarter' → '2025Q1')."""
    if not is_valid_period("month", month):
        raise ValueError(f"invalid month {month!r}")
    year, mon = int(month[:4]), int(month[5:7])
    if grain == "year":
        return f"{year:04d}"
    if grain == "quarter":
        return f"{year:04d}Q{(mon - 1) // 3 + 1}"
    if grain == "month":
        return month
    raise ValueError(f"invalid grain {grain!r}")


def convert_period(period: str, grain: str, last_complete: str | None = None) -> str | None:
    """A period of any grain expressed at ``grain`` (via its last month, but never past ``last_complete`` — so
    月 → 季 → 月 comes back to the last complete month, not the running one); None when malformed."""
    source = _grain_of(period)
    if source is None or grain not in GRAINS:
        return None
    month = period_bounds(source, period)[1]
    if last_complete and month > last_complete and period_bounds(source, period)[0] <= last_complete:
        month = last_complete
    return month_to_period(month, grain)


def last_complete_period(grain: str, last_complete: str, first_month: str | None = None) -> str:
    """The newest period of ``grain`` that ends by the month ``last_complete`` (the default of a view): the last
    complete month, the last quarter or year whose final month is complete — not the running one. When the data
    starts after that period (``first_month``), the running period is the only one with data and is returned."""
    period = month_to_period(last_complete, grain)
    if grain == "month" or period_bounds(grain, period)[1] == last_complete:
        return period
    previous = month_to_period(add_months(period_bounds(grain, period)[0], -1), grain)
    if first_month and is_valid_period("month", first_month) and period_bounds(grain, previous)[1] < first_month:
        return period
    return previous


def periods_between(grain: str, first_month: str, last_month: str) -> list[str]:
    """Every period of ``grain`` touching the months first..last, newest first."""
    if not (is_valid_period("month", first_month) and is_valid_period("month", last_month)):
        return []
    y, m = int(first_month[:4]), int(first_month[5:7])
    ly, lm = int(last_month[:4]), int(last_month[5:7])
    out: list[str] = []
    while (y, m) <= (ly, lm):
        p = month_to_period(f"{y:04d}-{m:02d}", grain)
        if not out or out[-1] != p:
            out.append(p)
        m += 1
        if m == 13:
            y, m = y + 1, 1
    out.reverse()
    return out


# ---------------------------------------------------------------------------------------------- parse / write
def _clean_extra(items) -> dict[str, str]:  # noqa: ANN001
    out: dict[str, str] = {}
    for key, value in items:
        if len(out) >= MAX_EXTRA:
            break
        if key in RESERVED_KEYS or key in out or not isinstance(key, str) or not _KEY_RE.match(key):
            continue
        value = str(value)
        if not value or len(value) > MAX_VALUE_LEN or _CONTROL_RE.search(value):
            continue
        out[key] = value
    return out


def parse_state(search: str | None, default_month: str | None = None,
                first_month: str | None = None) -> ViewState:
    """Parse a query string ('?a=b&…' or 'a=b&…') into a valid ViewState; never raises.

    Bad or missing grain → 'month'; a period of another grain is converted to the chosen grain (via its last
    month); a bad or missing period → the last complete period of the grain up to ``default_month`` (default: the
    last complete calendar month; see :func:`last_complete_period`, ``first_month`` is where the data starts); a malformed org code → None (全县); unknown keys are kept in ``extra`` when well-formed.
    The first occurrence of a repeated key wins.
    """
    text = search if isinstance(search, str) else ""
    text = text[:MAX_SEARCH_LEN]
    if text.startswith("?"):
        text = text[1:]
    try:
        pairs = parse_qsl(text, keep_blank_values=False, errors="replace", max_num_fields=200)
    except ValueError:      # more fields than max_num_fields
        pairs = parse_qsl(text[:1000].rsplit("&", 1)[0], keep_blank_values=False, errors="replace")
    first: dict[str, str] = {}
    for k, v in pairs:
        first.setdefault(k, v)

    grain = first.get("grain")
    if grain not in GRAINS:
        grain = DEFAULT_GRAIN

    if default_month is None or not is_valid_period("month", default_month):
        default_month = calendar_last_complete_month()
    raw_period = first.get("period", "")
    period = raw_period if is_valid_period(grain, raw_period) else convert_period(raw_period, grain)
    if period is None:
        period = last_complete_period(grain, default_month, first_month)

    org = first.get("org")
    if org is None or not _ORG_RE.match(org):
        org = None

    extra = _clean_extra((k, v) for k, v in pairs if k not in RESERVED_KEYS)
    return ViewState(grain=grain, period=period, org=org, extra=extra)


def parse_qs_keys(search: str | None) -> set[str]:
    """The keys present in a query string ('?a=b&…' or 'a=b&…'), with a non-empty value."""
    text = (search if isinstance(search, str) else "")[:MAX_SEARCH_LEN].lstrip("?")
    try:
        return {k for k, _v in parse_qsl(text, keep_blank_values=False, errors="replace", max_num_fields=200)}
    except ValueError:
        return set()


def to_search(state: ViewState) -> str:
    """The query string of a state ('?grain=…&period=…[&org=…][&extras sorted by key]')."""
    pairs: list[tuple[str, str]] = [("grain", state.grain), ("period", state.period)]
    if state.org:
        pairs.append(("org", state.org))
    pairs.extend(sorted(state.extra.items()))
    return "?" + urlencode(pairs, quote_via=quote, safe="")


def default_period(mart_url: str) -> str:
    """The default month: the mart's last complete month (``queries.periods.last_complete_month``).

    Falls back to the last complete calendar month when the mart cannot answer (logged), so that the shell
    still renders on an empty or missing mart."""
    try:
        from queries.periods import last_complete_month
        month = last_complete_month(mart_url)
        if month and is_valid_period("month", str(month)):
            return str(month)
        log.warning("last_complete_month(%s) returned %r; using the calendar", mart_url, month)
    except Exception as exc:  # noqa: BLE001 — an unreadable mart must not break the shell
        log.warning("default period from the mart failed (%s); using the calendar", exc)
    return calendar_last_complete_month()


def first_month(mart_url: str) -> str | None:
    """The mart's first month with data (``queries.periods.first_data_month``), None when it cannot answer."""
    try:
        from queries.periods import first_data_month
        month = first_data_month(mart_url)
    except Exception as exc:  # noqa: BLE001 — an unreadable mart must not break the shell
        log.warning("first data month failed (%s)", exc)
        return None
    return str(month) if month and is_valid_period("month", str(month)) else None


def current_state(search: str | None) -> ViewState:
    """parse_state with the default month of the running app's mart (call inside a request)."""
    from dashboard.app import get_config
    mart_url = get_config().mart_url
    return parse_state(search, default_period(mart_url), first_month(mart_url))
