"""Dimensions of the indicators beyond the org tree: disease chapter, insurance, age band, sex, visit type and
department category (issue 18).

``compute(…, by=DIM)`` (``metrics.engine``) splits every row of an indicator into the members of one dimension:
one row per org × period × member, every member present (未知 included), and the members' numerators and
denominators add up to the undivided row. The numbers come from the dimension rollups built at load
(``mart.rollups.DIMENSION_TABLES``: institution × month × residence × member; the department category from the
department rollups), never from a fact scan.

An indicator splits by a dimension when all its measures are sums over outpatient visits or inpatient
discharges (the rows that have a patient, a diagnosis and a department): resources, population, referrals, lab
orders, chronic registrations and exchange figures cannot be split (:func:`dimension_refusal`). Dimension splits
are served at county, township and institution level.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mart.dimensions import MEMBERS
from metrics.catalogue import INDICATORS, MEASURES, base_measures
from queries.measures import DIMENSION_KEYS, FILTER_COLUMNS

# Levels a dimension split is served at (the dimension rollups keep institutions, not departments or doctors).
DIMENSION_LEVELS = ("county", "township", "institution")
# Separator of the engine's (org key, member) row keys: never part of an org code or a member code.
KEY_SEP = "\x1f"


@dataclass(frozen=True)
class Dimension:
    """One dimension: id, Chinese label and its members ((code, Chinese label), …), ``unknown`` (未知) last."""
    id: str
    label_zh: str
    members: tuple[tuple[str, str], ...]

    @property
    def member_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _zh in self.members)

    def member_name(self, code: str) -> str:
        """The Chinese label of a member code (the code itself when unknown to the dimension)."""
        return dict(self.members).get(code, code)


DIMENSIONS: dict[str, Dimension] = {dim: Dimension(dim, label, members) for dim, (label, members) in MEMBERS.items()}

_LEVEL_ZH = {"county": "全县", "township": "乡镇", "institution": "机构", "department": "科室", "doctor": "医生"}


def _calc_measures(ind_id: str) -> list[str]:
    ind = INDICATORS[ind_id]
    calc = INDICATORS[ind.growth_of] if ind.kind == "growth" and ind.growth_of else ind
    return [b for mid in calc.measures for b in base_measures(mid)]


def dimension_refusal(indicator_id: str, dim: str) -> str | None:
    """Why the indicator cannot be split by ``dim`` (Chinese first, English after), or None when it can."""
    if dim not in DIMENSIONS:
        return f"未知维度 {dim!r} (unknown dimension; one of {', '.join(DIMENSIONS)})"
    ind = INDICATORS.get(indicator_id)
    if ind is None:
        return f"未知指标 (unknown indicator id): {indicator_id}"
    label = DIMENSIONS[dim].label_zh
    if not ind.available or ind.kind == "exchange":
        return (f"{ind.zh} 不能按{label}拆分: 该指标不由就诊或出院病例汇总 "
                f"({indicator_id} is not computed from visits or discharges)")
    for mid in _calc_measures(indicator_id):
        m = MEASURES[mid]
        tables = DIMENSION_KEYS.get(m.table or "")
        if m.kind not in ("flow", "last", "avg") or tables is None:
            return (f"{ind.zh} 不能按{label}拆分: {m.zh}不是就诊或出院病例的汇总, 没有{label}之分 "
                    f"({indicator_id}: measure {mid} has no patient, diagnosis or department to split by {dim})")
        if dim not in tables:
            return (f"{ind.zh} 不能按{label}拆分: 住院病例没有门诊、急诊之分 "
                    f"({indicator_id}: inpatient discharges cannot be split by {dim})")
        keys = tables[dim]
        if not set().union(*(FILTER_COLUMNS.get(f, ()) for f in m.filters)) <= keys:
            return (f"{ind.zh} 不能按{label}拆分: 口径条件所需的字段不在维度汇总表中 "
                    f"({indicator_id}: the filters of {mid} are not kept by the {dim} rollup)")
    return None


def level_refusal(dim: str, level: str, org_level: str | None = None) -> str | None:
    """Why a split by ``dim`` cannot be served at ``level`` (under an org of ``org_level``), or None."""
    if dim not in DIMENSIONS:
        return f"未知维度 {dim!r} (unknown dimension; one of {', '.join(DIMENSIONS)})"
    for lv in (level, org_level):
        if lv is not None and lv not in DIMENSION_LEVELS:
            return (f"按{DIMENSIONS[dim].label_zh}拆分只支持 全县、乡镇、机构 层级, 不支持{_LEVEL_ZH.get(lv, lv)} "
                    f"(dimension splits are served at county, township and institution level, not {lv})")
    return None


# --------------------------------------------------------------------------------------------------------------
# the engine's split rows: (org key, member) keys, org rows per member, result columns
# --------------------------------------------------------------------------------------------------------------
def keyed_by_member(df: pd.DataFrame) -> pd.DataFrame:
    """A measure frame with a ``member`` column → the same frame keyed by (org key, member) in ``org_key``."""
    keys = df["org_key"].to_numpy(dtype=object)
    keys = np.where(pd.isna(keys), "__county__", keys).astype(str)
    out = df.drop(columns="member")
    out["org_key"] = np.char.add(np.char.add(keys, KEY_SEP), df["member"].to_numpy(dtype=str))
    return out


def expand_orgs(orgs: pd.DataFrame, every: list[str] | None, dim: str) -> tuple[pd.DataFrame, list[str] | None]:
    """The engine's org frame and its complete-row keys with one row per org and member of ``dim``."""
    codes = DIMENSIONS[dim].member_codes
    n = len(orgs)
    rep = orgs.loc[orgs.index.repeat(len(codes))].reset_index(drop=True)
    member = np.tile(np.asarray(codes, dtype=object), n)
    rep["org_key"] = [f"{k}{KEY_SEP}{m}" for k, m in zip(rep["org_key"], member)]
    rep["member"] = member
    expanded = None if every is None else [f"{k}{KEY_SEP}{m}" for k in every for m in codes]
    return rep, expanded


def finish(result: pd.DataFrame, dim: str, columns: list[str]) -> pd.DataFrame:
    """The split result: ``dimension``, ``member``, ``member_name`` after ``org_name``; rows in the order of the
    undivided result (indicator, period, org) and, within an org and period, of the dimension's members."""
    d = DIMENSIONS[dim]
    if "member" not in result.columns:
        result = result.assign(member=pd.Series(dtype=object))
    rank = {code: i for i, code in enumerate(d.member_codes)}
    ind_rank = {iid: n for n, iid in enumerate(INDICATORS)}
    if len(result):
        order = pd.DataFrame({"i": result["indicator_id"].map(ind_rank).to_numpy(),
                              "p": result["period_start"].to_numpy(), "o": result["org_code"].to_numpy(dtype=object),
                              "m": result["member"].map(rank).to_numpy()})
        result = result.iloc[order.sort_values(["i", "p", "o", "m"], kind="stable").index].reset_index(drop=True)
    result["dimension"] = dim
    result["member_name"] = result["member"].map(dict(d.members))
    at = columns.index("org_name") + 1
    cols = columns[:at] + ["dimension", "member", "member_name"] + columns[at:]
    out = result.reindex(columns=cols)
    for col in ("dimension", "member", "member_name"):
        out[col] = out[col].astype(object)
    return out
