"""Institutions an account may be scoped to: read from the mart, checked by the admin form and the CLI alike.

A manager's scope is a list of institution codes; a code the mart does not know would give an account that sees
nothing (deny by default) while looking configured, so both entry points refuse it with the same message.
"""
from __future__ import annotations

from collections.abc import Iterable

from core.config import Config
from core.roles import MANAGER
from dashboard.accounts.service import AccountError


class UnknownInstitution(AccountError):
    """An institution code that is not in the mart (or the mart cannot be read to check it); Chinese message."""


def institution_names(cfg: Config) -> dict[str, str] | None:
    """Institution code → name from the mart (lead hospital first); None when there is no readable mart yet."""
    try:
        from mart.db import mart_exists
        if not mart_exists(cfg):
            return None
        from queries.account_orgs import institutions_for_accounts
        df = institutions_for_accounts(cfg.mart_url)
    except Exception:  # noqa: BLE001  (mart unreadable: the callers say so instead of a stack trace)
        return None
    return {str(r.inst_code): str(r.name) for r in df.itertuples()}


def check_institutions(cfg: Config, role: str | None, codes: Iterable[str] | None) -> list[str]:
    """The scope to store for ``role``: ``codes`` checked against the mart (only a manager has a scope).

    Raises UnknownInstitution for a code the mart does not know, or when there is no readable mart to check
    against (deny by default: an unchecked code is never stored).
    """
    if role != MANAGER:
        return []
    wanted = sorted({c.strip() for c in (codes or []) if c and c.strip()})
    if not wanted:
        return []       # the role check reports the missing scope
    known = institution_names(cfg)
    if known is None:
        raise UnknownInstitution("无法核对机构代码：数据集市尚未建立或无法读取，请先导入数据")
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise UnknownInstitution(f"机构代码不存在：{', '.join(unknown)}（可在系统管理页或数据集市的 institution "
                                 "表中查到机构代码）")
    return wanted


def describe_institutions(codes: Iterable[str], names: dict[str, str] | None) -> str:
    """``县人民医院（H001）、乡镇1卫生院（T001）`` — names for people, codes kept for the record."""
    names = names or {}
    return "、".join(f"{names[c]}（{c}）" if c in names else c for c in codes)
