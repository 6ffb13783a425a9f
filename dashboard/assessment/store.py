"""The assessment weights in the app database: read (defaults where no row), change and reset — every change in
one transaction with its one audit row (``assessment.weights`` / ``assessment.reset``)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from core.config import Config
from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row, current_actor
from dashboard.appdb import init_app_db, session_factory
from dashboard.assessment.models import AssessmentWeight
from metrics.assessment import DEFAULT_SET, DEFAULT_WEIGHTS, DIMENSION, AssessmentError, validate_weights
from metrics.catalogue import INDICATORS


@dataclass(frozen=True)
class WeightRow:
    """One indicator of the set as the editor shows it."""
    indicator_id: str
    zh: str
    dimension: str
    weight: float
    enabled: bool
    default_weight: float | None     # None: not in the default set (added by the admin)


def _rows(cfg: Config) -> dict[str, AssessmentWeight]:
    init_app_db(cfg.app_db_url)
    with session_factory(cfg.app_db_url)() as s:
        return {r.indicator_id: r for r in s.scalars(select(AssessmentWeight))}


def weight_table(cfg: Config) -> list[WeightRow]:
    """Every indicator of the set (the default set first, in its order, then those the admin added)."""
    stored = _rows(cfg)
    out = []
    for iid, w, dim in DEFAULT_SET:
        r = stored.get(iid)
        out.append(WeightRow(iid, INDICATORS[iid].zh, dim, float(r.weight) if r else float(w),
                             bool(r.enabled) if r else True, float(w)))
    for iid, r in sorted(stored.items()):
        if iid not in DEFAULT_WEIGHTS and iid in INDICATORS:
            out.append(WeightRow(iid, INDICATORS[iid].zh, DIMENSION.get(iid, "其他"), float(r.weight),
                                 bool(r.enabled), None))
    return out


def current_weights(cfg: Config) -> dict[str, float]:
    """{indicator id: weight} of the enabled indicators (what the score uses)."""
    return {r.indicator_id: r.weight for r in weight_table(cfg) if r.enabled}


def _snapshot(rows: list[WeightRow]) -> dict[str, str]:
    return {r.indicator_id: (f"{r.weight:g}" if r.enabled else f"{r.weight:g}（停用）") for r in rows}


def save_weights(cfg: Config, changes: Mapping[str, tuple[float, bool]]) -> int:
    """Apply {indicator id: (weight, enabled)}; validated first (Chinese AssessmentError: unknown or unusable ids,
    weights ≤ 0, nothing left enabled), then stored with one audit row holding the changed entries before and
    after. Returns the number of indicators changed (0: nothing stored, no audit row)."""
    table = {r.indicator_id: r for r in weight_table(cfg)}
    validate_weights({i: w for i, (w, _e) in changes.items()})
    after = {i: (r.weight, r.enabled) for i, r in table.items()}
    after.update({i: (float(w), bool(e)) for i, (w, e) in changes.items()})
    if not any(e for _w, e in after.values()):
        raise AssessmentError("评价指标集为空：至少启用一项指标")
    changed = {i: v for i, v in changes.items() if i not in table or (table[i].weight, table[i].enabled) !=
               (float(v[0]), bool(v[1]))}
    if not changed:
        return 0
    actor = current_actor()
    with session_factory(cfg.app_db_url)() as s, s.begin():
        for iid, (w, e) in changed.items():
            row = s.get(AssessmentWeight, iid)
            if row is None:
                row = AssessmentWeight(indicator_id=iid)
                s.add(row)
            row.weight, row.enabled = float(w), bool(e)
            row.updated_at, row.updated_by = clock.now(), actor[0]
        before = {i: (f"{table[i].weight:g}" if table[i].enabled else f"{table[i].weight:g}（停用）")
                  if i in table else "—" for i in changed}
        add_audit_row(s, "assessment.weights", "综合评价权重",
                      before, {i: f"{w:g}" if e else f"{w:g}（停用）" for i, (w, e) in changed.items()},
                      actor=actor)
    return len(changed)


def reset_weights(cfg: Config) -> bool:
    """Back to the default set (every row deleted), with one audit row; False (no row) when already default."""
    if not _rows(cfg):
        return False
    before = _snapshot(weight_table(cfg))
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(delete(AssessmentWeight))
        add_audit_row(s, "assessment.reset", "综合评价权重", before, "默认权重")
    return True
