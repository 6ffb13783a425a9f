"""The computed short list of institutions out of target (the cockpit's fallback list, the wall's ticker, the
monthly report's alerts when the alert store holds none), from the engine's rows."""
from __future__ import annotations

import pandas as pd

from dashboard.views import pagekit as kit

ALERT_LIMIT = 15
STATUS_ORDER = {"未达标": 0, "预警": 1}


def alert_ids() -> list[str]:
    """Indicators that have a target and can be computed by institution."""
    out = []
    for i, entry in kit.catalogue().items():
        levels = kit.attr(entry, "levels") or ()
        if kit.attr(entry, "available", True) is False or "institution" not in levels:
            continue
        if kit.attr(entry, "kind") == "exchange":     # live app-database figures: the 数据质量 page alerts on them
            continue
        target = str(kit.attr(entry, "target_text") or "")
        if not target or "监测" in target or target.lower().startswith("monitor"):
            continue
        out.append(i)
    return out


ALERTS_PER_INDICATOR = 3
PRIMARY_LEVELS = ("county", "township")     # institution levels a leader looks at first
# Indicators alerted only for institutions of these levels: the rest score 0 by design, not by failure.
# Down-referrals go from county hospitals to primary care, so a township centre's or village clinic's
# 下转与上转人次比 is always 0.00 — a structural zero that would crowd the list with non-findings.
ALERT_INST_LEVELS: dict[str, tuple[str, ...]] = {"down_up_ratio": ("county",)}


def rank_alerts(df: pd.DataFrame, inst_level: dict[str, str], limit: int = ALERT_LIMIT,
                per_indicator: int = ALERTS_PER_INDICATOR) -> pd.DataFrame:
    """Institution × indicator rows out of target, ranked for a leader's short list.

    Rows on a small sample, flagged incomplete or of a period not over yet (``partial``) are left out (their value
    is not a finding), and so are
    structural zeros (``ALERT_INST_LEVELS``: 下转与上转人次比 of a township centre); the rest rank by
    relative gap to the target (未达标 before 预警), at most ``per_indicator`` rows per indicator so that the list
    is diverse, county- and township-level institutions first — village clinics only when nothing else is out of
    target.
    """
    if df.empty:
        return df
    df = df[df["status"].isin(list(STATUS_ORDER))].copy()
    structural = [i in ALERT_INST_LEVELS and inst_level.get(c) not in ALERT_INST_LEVELS[i]
                  for i, c in zip(df["indicator_id"], df["org_code"])]
    df = df[[not s for s in structural]]
    for flag, bad in (("small_sample", True), ("complete", False), ("partial", True)):
        if flag in df.columns:
            df = df[[kit.is_missing(v) or bool(v) != bad for v in df[flag]]]
    if df.empty:
        return df
    value = pd.to_numeric(df["value"], errors="coerce")
    target = pd.to_numeric(df["target"], errors="coerce")
    df["gap"] = ((value - target).abs() / target.abs().where(target.abs() > 0)).fillna(0.0)
    df["rank"] = df["status"].map(STATUS_ORDER)
    df["primary"] = [inst_level.get(c) in PRIMARY_LEVELS for c in df["org_code"]]
    if df["primary"].any():
        df = df[df["primary"]]
    df = df.sort_values(["rank", "gap"], ascending=[True, False], kind="stable")
    df = df.groupby("indicator_id", sort=False).head(per_indicator)
    return df.head(limit)


def any_whole_period(grain: str, start: str, end: str, mart_url: str | None = None) -> bool:
    """Whether a ``grain`` call over [start, end] has a period that is not partial: only those rows can make the
    list (:func:`rank_alerts` drops partial ones), so when there is none the engine is not asked at all (its
    institution-level rows of every alert indicator for a running quarter were computed and then all dropped)."""
    from metrics.engine import result_periods
    return any(not p.partial for p in result_periods(grain, start, end, mart_url or kit.mart_url()))


def _empty() -> pd.DataFrame:
    from metrics.engine import COLUMNS
    return pd.DataFrame(columns=COLUMNS)


def alerts_frame(search: str | None) -> pd.DataFrame:
    """The cockpit's alert list for the logged-in user's scope (see ``rank_alerts``)."""
    from queries import org as qorg
    state = kit.view_state(search)
    start, end = kit.bounds(state)
    user = kit.scope()
    if not any_whole_period(state.grain, start, end):
        return _empty()
    df = kit.compute(alert_ids(), "institution", state.grain, start, end, state.org, False)
    if df.empty:
        return df
    df = df[[user.may_see_institution(c) for c in df["org_code"]]]
    tree = qorg.org_tree(kit.mart_url())
    levels = dict(zip(tree["inst_code"], tree["level"])) if "level" in tree.columns else {}
    return rank_alerts(df, levels)
