"""Who is asking: the logged-in user's role and data scope (placeholder: the demo leader until accounts land)."""
from __future__ import annotations

from metrics.scope import FULL_SCOPE, Scope


def current_scope() -> Scope:
    """Data scope of the logged-in user, computed on the server."""
    return FULL_SCOPE


def current_user_info() -> dict | None:
    """{'username', 'display_name', 'role', 'role_zh'} of the logged-in user, or None when anonymous."""
    return {"username": "leader", "display_name": "演示领导", "role": "leader", "role_zh": "卫健局领导"}


def current_role() -> str | None:
    info = current_user_info()
    return info["role"] if info else None
