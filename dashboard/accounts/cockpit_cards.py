"""My cockpit: the cards an account chose for 驾驶舱 (stored in the app database, audited like account changes)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select

from core.config import Config
from dashboard.accounts.audit import add_audit_row
from dashboard.accounts.models import CockpitCard, User
from dashboard.appdb import session_factory

MAX_CARDS = 24


class CockpitCardsError(ValueError):
    """A refused choice; the message is Chinese and shown to the user."""


def chosen_cards(cfg: Config, username: str) -> list[str] | None:
    """The account's cards in order, or None when it never chose (the default set applies)."""
    with session_factory(cfg.app_db_url)() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            return None
        ids_ = session.scalars(select(CockpitCard.indicator_id).where(CockpitCard.user_id == user.id)
                               .order_by(CockpitCard.position)).all()
        return list(ids_) or None


def save_cards(cfg: Config, username: str, indicator_ids: Sequence[str] | None, allowed: Iterable[str]) -> None:
    """Store the account's cards in order (None or empty: back to the default set), with an audit row.

    Every id must be one of ``allowed`` (the indicators the role may see on the cockpit)."""
    allowed_set = set(allowed)
    ids_ = list(dict.fromkeys(indicator_ids or []))
    bad = [i for i in ids_ if i not in allowed_set]
    if bad:
        raise CockpitCardsError("不能选择的指标：" + "、".join(bad))
    if len(ids_) > MAX_CARDS:
        raise CockpitCardsError(f"最多选择 {MAX_CARDS} 张卡片")
    with session_factory(cfg.app_db_url)() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise CockpitCardsError("账号不存在")
        before = list(session.scalars(select(CockpitCard.indicator_id).where(CockpitCard.user_id == user.id)
                                      .order_by(CockpitCard.position)).all())
        session.execute(delete(CockpitCard).where(CockpitCard.user_id == user.id))
        session.add_all(CockpitCard(user_id=user.id, position=n, indicator_id=i) for n, i in enumerate(ids_))
        add_audit_row(session, "cockpit.cards" if ids_ else "cockpit.reset", username,
                      before={"cards": before or "默认"}, after={"cards": ids_ or "默认"})
        session.commit()
