"""My cockpit: the logged-in account's chosen cards (read, choices for the editor, save with its message)."""
from __future__ import annotations

from typing import Any

from dashboard.views import pagekit as kit


def _who() -> tuple[Any, str | None]:
    """(app config, username) of the logged-in account; (None, None) outside a request or when anonymous."""
    from dashboard.accounts.access import current_user_info
    info = current_user_info()
    if not info:
        return None, None
    from dashboard.app import get_config
    return get_config(), info["username"]


def allowed_ids() -> list[str]:
    """The indicators a cockpit card can show: those with a county value, in catalogue order."""
    from dashboard.views.catalogue import computable_ids
    return computable_ids()


def own_or_default(defaults: list[str]) -> list[str]:
    """The account's own cards (still allowed ones, in its order) or ``defaults`` when it chose none."""
    from dashboard.accounts.cockpit_cards import chosen_cards
    cfg, username = _who()
    chosen = chosen_cards(cfg, username) if username else None
    if not chosen:
        return defaults
    allowed = set(allowed_ids())
    return [i for i in chosen if i in allowed] or defaults


def editor(current: list[str]) -> tuple[list[dict[str, str]], list[str]]:
    """Options of the 自定义 dropdown (name · theme) and its value (the cards shown now, in order)."""
    from metrics.catalogue import TOPICS
    options = [{"label": f"{kit.attr(kit.indicator(i), 'zh', i)} · {TOPICS.get(kit.attr(kit.indicator(i), 'topic'), '')}",
                "value": i} for i in allowed_ids()]
    return options, list(current)


def save(picked: list[str] | None) -> str:
    """Store the account's choice (None or empty: back to the default set); the Chinese message for the user."""
    from dashboard.accounts.cockpit_cards import CockpitCardsError, save_cards
    cfg, username = _who()
    if not username:
        return "未登录，无法保存"
    try:
        save_cards(cfg, username, picked, allowed_ids())
    except CockpitCardsError as exc:
        return str(exc)
    return f"已保存 {len(picked)} 张卡片" if picked else "已恢复默认卡片"
