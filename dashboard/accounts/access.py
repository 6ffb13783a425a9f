"""Who is asking: the logged-in user's role and data scope, decided on the server for every request.

Nothing here trusts the request body: the user comes from the server-side session behind the signed cookie.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from werkzeug.exceptions import Forbidden

from core.roles import LEADER, MANAGER, ROLE_ZH, ROLES, SCREEN
from metrics.scope import FULL_SCOPE, NO_SCOPE, Scope, manager_scope

F = TypeVar("F", bound=Callable)


class AccessDenied(Forbidden):
    """403: the logged-in user's role may not do this (raised in callbacks and routes)."""
    description = "无权访问 (access denied)"


class CrossSiteRequest(Forbidden):
    """403: a state-changing request that does not come from this site."""
    description = "拒绝跨站请求 (cross-site request rejected)"


def _login_user():
    from flask import has_request_context
    if not has_request_context():
        return None
    from flask_login import current_user
    try:
        return current_user if current_user.is_authenticated else None
    except Exception:  # noqa: BLE001  (app without a login manager: nobody)
        return None


def current_user_info() -> dict | None:
    """{'username', 'display_name', 'role', 'role_zh'} of the logged-in user, or None when anonymous."""
    user = _login_user()
    if user is None:
        return None
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "role_zh": ROLE_ZH.get(user.role, user.role)}


def current_role() -> str | None:
    """Role code of the logged-in user, or None."""
    user = _login_user()
    return user.role if user is not None and user.role in ROLES else None


def current_scope() -> Scope:
    """Data scope of the logged-in user, computed on the server. Deny by default.

    leader → every institution; manager → county/peer aggregates plus their assigned institutions (none assigned →
    nothing); operator, admin, auditor and anonymous → nothing from the mart.
    """
    user = _login_user()
    if user is None:
        return NO_SCOPE
    if user.role == LEADER:
        return FULL_SCOPE
    if user.role == MANAGER:
        return manager_scope(user.inst_codes)
    if user.role == SCREEN:
        # the wall shows county figures and institutions on the one-map; it can call no drill, row or export
        # callback (roles.CALLBACK_MODULE_ROLES gives it the shell and /screen only)
        return FULL_SCOPE
    return NO_SCOPE


def _check_roles(roles: tuple[str, ...]) -> None:
    role = current_role()
    if role is None or role not in roles:
        raise AccessDenied()


def require_roles(*roles: str) -> Callable[[F], F]:
    """Allow only ``roles``.

    Inside a callback or route, ``require_roles("admin")`` checks at once (403 when refused). As a decorator,
    ``@require_roles("admin")`` checks on every call of the decorated function.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    from flask import has_request_context
    if has_request_context():
        _check_roles(roles)

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            _check_roles(roles)
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorator


def same_origin(strict: bool = True) -> bool:
    """True when the request comes from this site: Origin (or Referer) equals the server's own origin.

    ``strict``: a request with neither header is refused (state-changing calls); otherwise it is accepted.
    """
    from flask import request
    own = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin:
        return origin.lower().rstrip("/") == own
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == own
    return not strict


def check_same_origin(strict: bool = True) -> None:
    """Reject (403) a cross-site request: wrong Origin/Referer, or a POST whose body is not JSON."""
    from flask import request
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.is_json:
        raise CrossSiteRequest()
    if not same_origin(strict):
        raise CrossSiteRequest()


def require_state_change(*roles: str) -> None:
    """For state-changing callbacks and API routes: role check plus same-origin JSON check (403 otherwise)."""
    require_roles(*roles)
    check_same_origin(strict=True)
