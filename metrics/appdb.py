"""Measures of the application database (``appdb`` measures of the catalogue) per period spec and org key.

The engine's mart measures come out of ``queries.measures.period_measures`` as (spec, org_key, measure…) sums;
this module returns the same shape from a registered source (:mod:`metrics.sources`), so the engine assembles
exchange indicators exactly like mart ones (complete rows, targets, status, YoY/MoM, notes).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from core.periods import month_first_day, month_last_day
from metrics import sources
from metrics.catalogue import Measure


class SourceMissing(LookupError):
    """No reader is registered for an appdb measure's source."""


def _month_bounds(index: int) -> tuple[dt.date, dt.date]:
    return month_first_day(index), month_last_day(index)


def appdb_measures(table: str, measures: list[Measure], specs: dict[tuple[int, ...], int], level: str,
                   org_level: str | None, org: str | None, scope_insts: frozenset[str] | None,
                   inst_township: dict[str, str]) -> pd.DataFrame:
    """Sums of ``measures`` (all of source ``table``) per spec and org key (institution code, or ``__county__``).

    ``specs`` maps month-index tuples to spec ids (as in the engine); institutions are restricted to the subtree
    of ``org`` and to ``scope_insts`` (None = all). Days after today count nothing (the source reads nothing).
    """
    read = sources.reader(table)
    if read is None:
        raise SourceMissing(table)
    months = sorted({m for s in specs for m in s})
    first, _ = _month_bounds(months[0])
    _, last = _month_bounds(months[-1])
    last = min(last, dt.date.today())
    cols = [m.column for m in measures]
    empty = pd.DataFrame(columns=["spec", "org_key"] + [m.id for m in measures])
    if last < first:
        return empty
    insts = None
    if org_level == "institution":
        insts = {org}
    elif org_level == "township":
        insts = {i for i, t in inst_township.items() if t == org}
    if scope_insts is not None:
        insts = set(scope_insts) if insts is None else insts & set(scope_insts)
    daily = read(first, last, None if insts is None else sorted(insts))
    if daily is None or daily.empty:
        return empty
    if insts is not None:
        daily = daily[daily["inst_code"].isin(insts)]
    day = pd.to_datetime(daily["day"])
    daily = daily.assign(_mi=(day.dt.year * 12 + day.dt.month - 1).to_numpy())
    key = "inst_code" if level != "county" else None
    frames = []
    for spec_months, sid in specs.items():
        part = daily[daily["_mi"].isin(spec_months)]
        if part.empty:
            continue
        if key:
            agg = part.groupby(key, as_index=False)[cols].sum().rename(columns={key: "org_key"})
        else:
            agg = part[cols].sum().to_frame().T.assign(org_key="__county__")
        frames.append(agg.assign(spec=sid))
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    out = out.rename(columns={m.column: m.id for m in measures})
    return out[["spec", "org_key"] + [m.id for m in measures]].astype({m.id: float for m in measures})
