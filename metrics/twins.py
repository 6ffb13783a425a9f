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
    is open; stocks (last, average, population, distinct persons) keep the twin's value. Built in numpy (one
    float matrix), as the engine's other frames."""
    if wide.empty:
        return wide
    spec_arr = np.asarray(wide.index.get_level_values("spec"), dtype=np.int64)
    keys = wide.index.get_level_values("org_key")
    data = wide.to_numpy(dtype=float)
    kinds = [MEASURES[c].kind if c in MEASURES else None for c in wide.columns]
    new_data, new_specs, new_keys = [data], [spec_arr], [np.asarray(keys, dtype=object)]
    for cut in cuts.values():
        rows = np.flatnonzero(spec_arr == cut.twin)
        if not len(rows):
            continue
        base_keys = pd.Index(keys[rows])
        out = data[rows].copy()
        month_rows = np.flatnonzero(spec_arr == cut.month_spec)
        month_pos = pd.Index(keys[month_rows]).get_indexer(base_keys)
        frac = 1 - cut.day / days_in_month(month_index(cut.month))
        for j, col in enumerate(wide.columns):
            if kinds[j] not in ("flow", "appdb"):
                continue
            if col in exact:
                series = exact[col]
                mine = series[series.index.get_level_values("spec") == cut.spec]
                tail = mine.droplevel("spec").reindex(base_keys).to_numpy(dtype=float)
            elif cut.open:
                tail = np.where(month_pos >= 0, data[month_rows[np.maximum(month_pos, 0)], j] * frac, 0.0) \
                    if len(month_rows) else np.zeros(len(rows))
            else:
                continue
            out[:, j] = out[:, j] - np.nan_to_num(tail, nan=0.0)
        new_data.append(out)
        new_specs.append(np.full(len(rows), cut.spec, dtype=np.int64))
        new_keys.append(np.asarray(base_keys, dtype=object))
    if len(new_data) == 1:
        return wide
    index = pd.MultiIndex.from_arrays([np.concatenate(new_specs), np.concatenate(new_keys)], names=["spec", "org_key"])
    return pd.DataFrame(np.vstack(new_data), index=index, columns=wide.columns)
