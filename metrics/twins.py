"""YoY of a running period compares the same days of last year (issue 12).

A period whose data end on day D of its last month (``Period.running``) is compared with last year's twin *cut*
after day D: flow measures minus their tail — exact from the day rollups (``mart.rollups.DAY_TABLES``, read by
``queries.measures.day_tail_measures``) at county, township and institution level, pro rata of the cut month
elsewhere (department, doctor; monthly-only sources such as resource reports) while the period is open — and
stocks as they are. Numerator and denominator of a ratio are cut alike. The engine gives each cut twin a spec id
after its month-set specs and points the period's YoY (and a growth indicator's base) at it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.periods import days_in_month, month_index, month_str
from metrics.catalogue import MEASURES


@dataclass(frozen=True)
class Cut:
    """Last year's twin of a running period cut at the data's last day (YoY compares the same days).

    ``spec``: its own spec id (after every month-set spec); ``twin``: the whole twin's spec; ``month_spec``: the
    spec of the twin's last month alone; ``month``/``day``: that month and the day it is cut after; ``open``: the
    period holds today (then monthly-only flows, like resource reports, are cut pro rata as well)."""
    spec: int
    twin: int
    month_spec: int
    month: str
    day: int
    open: bool


def cut_twins(plan: list, specs: dict[tuple[int, ...], int]) -> dict[int, Cut]:
    """main spec → :class:`Cut` of every running period (data through day D of its last month, D before that
    month's end a year earlier); registers the single-month specs the cut needs in ``specs``."""
    todo = []
    for p, cur, yoy, _mom in plan:
        if p.running and p.last_day is not None and yoy in specs:
            month = p.months[-1] - 12
            if p.last_day < days_in_month(month):
                specs.setdefault((month,), len(specs))
                todo.append((specs[cur], specs[yoy], month, p))
    return {main: Cut(len(specs) + i, twin, specs[(month,)], month_str(month), p.last_day, p.open)
            for i, (main, twin, month, p) in enumerate(todo)}


def cut_rows(wide: pd.DataFrame, cuts: dict[int, Cut], exact: dict[str, pd.Series]) -> pd.DataFrame:
    """``wide`` plus the rows of each cut twin: flow measures minus their tail after the cut day — exact from the
    day rollups (``exact``: measure → tail per (cut spec, org_key)), else pro rata of the cut month when the period
    is open; stocks (last, average, population, distinct persons) keep the twin's value."""
    if wide.empty:
        return wide
    specs_in = set(wide.index.get_level_values("spec"))
    add = []
    for cut in cuts.values():
        if cut.twin not in specs_in:
            continue
        base = wide.xs(cut.twin, level="spec")
        month_rows = wide.xs(cut.month_spec, level="spec") if cut.month_spec in specs_in else None
        out = base.copy()
        frac = 1 - cut.day / days_in_month(month_index(cut.month))
        for col in out.columns:
            m = MEASURES.get(col)
            if m is None or m.kind not in ("flow", "appdb"):
                continue
            if col in exact:
                tail = exact[col].xs(cut.spec, level="spec").reindex(out.index) if cut.spec in                     exact[col].index.get_level_values("spec") else pd.Series(0.0, index=out.index)
            elif cut.open and month_rows is not None:
                tail = month_rows[col].reindex(out.index) * frac
            else:
                continue
            out[col] = base[col] - tail.fillna(0.0)
        out.index = pd.MultiIndex.from_arrays([np.full(len(out), cut.spec, dtype=np.int64), out.index],
                                              names=["spec", "org_key"])
        add.append(out)
    return pd.concat([wide, *add]) if add else wide
