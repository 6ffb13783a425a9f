"""Shared helpers of the indicator pages' callbacks (cockpit, indicator, topics, referrals).

Everything here runs inside a request: the view state comes from the URL, the data scope from the logged-in
user (never from the browser), the numbers from ``metrics.engine.compute``. The module name starts with an
underscore so ``register_all`` does not treat it as a page.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import html

from core.labels import INST_TYPE_ZH as INST_TYPE_ZH
from core.labels import LEVEL_ZH as LEVEL_ZH
from core.labels import STATUS_COLORS as STATUS_COLORS
from core.periods import add_months as add_months  # the callbacks call kit.add_months
from dashboard.urlstate import ViewState, current_state, period_bounds, to_search

log = logging.getLogger(__name__)

LEVELS = ("county", "township", "institution", "department", "doctor")
CHILD_LEVEL = {"county": "township", "township": "institution", "institution": "department",
               "department": "doctor"}
NO_DATA = "本期无数据"
NO_ACCESS = "无权查看该机构明细"


# ---------------------------------------------------------------------------------------------- request context
def mart_url() -> str:
    """The mart URL of the running app."""
    from dashboard.app import get_config
    return get_config().mart_url


def scope():  # noqa: ANN201 — metrics.scope.Scope
    """The logged-in user's data scope, computed on the server for every call."""
    from dashboard.accounts.access import current_scope
    return current_scope()


def view_state(search: str | None) -> ViewState:
    """The page's view state from the URL query string (default period from the mart)."""
    return current_state(search)


def bounds(state: ViewState) -> tuple[str, str]:
    """(first month, last month) of the state's period."""
    return period_bounds(state.grain, state.period)


def href(path: str, state: ViewState, **changes: Any) -> str:
    """A link to ``path`` carrying the view state (with changes, e.g. ``org=...``)."""
    new = state.with_(**changes) if changes else state
    return path + to_search(new)


# ---------------------------------------------------------------------------------------------- organisations
@dataclass(frozen=True)
class OrgNode:
    """One step of an org path: level, code (None for the county when unnamed) and Chinese name."""
    level: str
    code: str | None
    name: str
    inst_code: str | None = None     # the institution this node belongs to (institution and below)


def _node(item: Any) -> OrgNode:
    """Accept the shapes ``queries.org.org_path`` may return (dicts, tuples or objects)."""
    if isinstance(item, OrgNode):
        return item
    if isinstance(item, dict):
        return OrgNode(item.get("level"), item.get("code") or item.get("org_code"),
                       item.get("name") or item.get("org_name") or "", item.get("inst_code"))
    if isinstance(item, (tuple, list)):
        return OrgNode(item[0], item[1], item[2] if len(item) > 2 else str(item[1]),
                       item[3] if len(item) > 3 else None)
    return OrgNode(item.level, getattr(item, "code", None), getattr(item, "name", ""),
                   getattr(item, "inst_code", None))


def org_path(org: str | None) -> list[OrgNode]:
    """From the county down to ``org`` (just the county for None or an unknown code)."""
    from queries import org as qorg
    url = mart_url()
    raw = qorg.org_path(url, org) if org else []
    if not raw:
        c = qorg.county(url)
        raw = [("county", c.get("code"), c.get("name") or "全县")]
    out: list[OrgNode] = []
    inst = None
    for item in raw:
        n = _node(item)
        if n.level == "institution":
            inst = n.code
        out.append(OrgNode(n.level, n.code, n.name,
                           n.inst_code or (inst if n.level in ("institution", "department", "doctor") else None)))
    return redact_path(out, scope())


HIDDEN_NAME = "（无权查看）"


def redact_path(path: list[OrgNode], user_scope) -> list[OrgNode]:  # noqa: ANN001
    """The one scope check of every org a callback takes from the URL or a click: below an institution the user
    may not see in detail, department and doctor names (and codes) are replaced, so no breadcrumb, title or
    subtitle names them (staff codes are sequential: a name per code would list every doctor)."""
    inst = next((n.inst_code for n in reversed(path) if n.inst_code), None)
    if inst is None or user_scope.may_see_institution(inst):
        return path
    return [n if n.level in ("county", "township", "institution")
            else OrgNode(n.level, None, LEVEL_ZH.get(n.level, "") + HIDDEN_NAME, n.inst_code) for n in path]


def org_allowed(path: list[OrgNode], user_scope, *, township_rows: bool = False) -> bool:  # noqa: ANN001
    """May the user see data of this org? Institutions and below: the institution in scope. A township: its
    aggregates for any user with aggregates; with ``township_rows`` (sections built from rows, not from the
    engine's aggregates: referral diagnoses, flows, pending lists) only when one of the user's institutions
    stands there."""
    if not visible_detail(path, user_scope):
        return False
    last = path[-1]
    if township_rows and last.level == "township" and not user_scope.all_institutions:
        return bool(set(institutions_under(path) or ()) & set(user_scope.inst_codes))
    return True


def institutions_under(path: list[OrgNode]) -> list[str] | None:
    """Institution codes under the path's last org (None for the whole county)."""
    last = path[-1]
    if last.level == "county":
        return None
    if last.inst_code:
        return [last.inst_code]
    from queries import org as qorg
    tree = qorg.org_tree(mart_url())
    return [str(c) for c in tree.loc[tree["township_code"] == last.code, "inst_code"]]


def township_of(path: list[OrgNode]) -> str | None:
    """The township code on the path (None at county level)."""
    return next((n.code for n in path if n.level == "township"), None)


def visible_detail(path: list[OrgNode], user_scope) -> bool:  # noqa: ANN001
    """May the user see the detail below this org? Institutions and below need the institution in scope."""
    inst = next((n.inst_code for n in reversed(path) if n.inst_code), None)
    if inst is None:
        return bool(user_scope.aggregates or user_scope.all_institutions)
    return user_scope.may_see_institution(inst)


# ---------------------------------------------------------------------------------------------- engine access
def compute(ids: Iterable[str], level: str, grain: str, start: str, end: str, org: str | None,
            comparisons: bool = True) -> pd.DataFrame:
    """``metrics.engine.compute`` for the logged-in user's scope (one call for every id needed)."""
    from metrics import engine
    return engine.compute(list(ids), level, grain, start, end, org=org, scope=scope(), mart_url=mart_url(),
                          comparisons=comparisons)


def ranking(indicator_id: str, grain: str, start: str, end: str, inst_type: str | None) -> pd.DataFrame:
    """``metrics.engine.ranking`` among peers of one institution type, for the user's scope."""
    from metrics import engine
    return engine.ranking(indicator_id, grain, start, end, inst_type=inst_type, scope=scope(),
                          mart_url=mart_url())


def institution_type(inst_code: str) -> str | None:
    """The inst_type of an institution (from the org tree)."""
    from queries import org as qorg
    tree = qorg.org_tree(mart_url())
    hit = tree.loc[tree["inst_code"] == inst_code, "inst_type"]
    return None if hit.empty else str(hit.iloc[0])


def catalogue() -> dict:
    from metrics.catalogue import INDICATORS
    return INDICATORS


def indicator(indicator_id: str):  # noqa: ANN201
    """Catalogue entry or None."""
    return catalogue().get(indicator_id)


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """Field of a catalogue entry (dataclass or dict)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def relative_yoy(value: Any, yoy_value: Any) -> float | None:
    """Relative change against the same period last year: (value − last year) / |last year|.

    Computed here from the engine's two values (the engine's ``yoy_change`` is a difference in the indicator's
    unit, so showing it as a percentage would turn 13.7 % vs 13.4 % into "+30 %"). None without a base.
    """
    if is_missing(value) or is_missing(yoy_value):
        return None
    base = float(yoy_value)
    if base == 0:
        return None
    return (float(value) - base) / abs(base)


def in_points(unit: str | None) -> bool:
    """True for a percentage indicator (rates, growth rates): its changes read in percentage points."""
    return (unit or "").strip() == "%"


def card_change(value: Any, base: Any, unit: str | None) -> float | None:
    """The change a card shows against ``base`` (last year's or last period's engine value): for a percentage
    indicator the difference in percentage points (13.7 % vs 13.4 % → 0.3; the monthly report says the same),
    else the relative change (:func:`relative_yoy`). None without a base."""
    if in_points(unit):
        if is_missing(value) or is_missing(base):
            return None
        return float(value) - float(base)
    return relative_yoy(value, base)


def clean(v: Any) -> Any:
    """A JSON-safe scalar (NaN/NA → None; numpy → Python)."""
    if is_missing(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


# ---------------------------------------------------------------------------------------------- rendering guards
def guarded(title: str, build: Callable[[], Any]) -> Any:
    """Run ``build``; on any error log it and return an error card (the rest of the page still renders)."""
    try:
        return build()
    except Exception as exc:
        log.exception("page section %r failed", title)
        return error_box(title, exc)


def error_box(title: str, exc: BaseException | str | None = None) -> Any:
    """The shared error card (falls back to a plain box while the shell's components are missing)."""
    from layouts._components import error_card
    return error_card(f"{title}加载失败", "请稍后重试；如持续出现请联系运维人员。")


def empty_box(message: str = NO_DATA) -> Any:
    """The shared empty state ('本期无数据')."""
    from layouts._components import empty_state
    return empty_state(message)


def notice(message: str) -> html.Div:
    return html.Div(message, className="page-notice", role="status")


# ---------------------------------------------------------------------------------------------- levels
BASIS_PHRASE = {"residence": "按居民居住乡镇统计", "county": "按全县口径统计", "provider": "按就诊机构统计"}


def levels_of(entry: Any) -> tuple[str, ...]:
    """The org levels the indicator is counted at (all levels when the catalogue names none)."""
    levels = attr(entry, "levels")
    return tuple(levels) if levels else LEVELS


def basis_phrase(entry: Any) -> str:
    """How the indicator is counted, as a phrase: "按居民居住乡镇统计", "按全县口径统计" …"""
    if attr(entry, "township_by") == "residence" or attr(entry, "basis") == "residence":
        return BASIS_PHRASE["residence"]
    return BASIS_PHRASE.get(str(attr(entry, "basis")), BASIS_PHRASE["provider"])


def level_note(entry: Any, level: str) -> str | None:
    """Why the indicator has no value at ``level`` (None when it has): derived from its basis and levels."""
    levels = levels_of(entry)
    if level in levels:
        return None
    allowed = "、".join(LEVEL_ZH[lv] for lv in levels)
    return f"该指标{basis_phrase(entry)}，只统计到{allowed}，不能按{LEVEL_ZH.get(level, level)}查看"
