"""What a layout may ask about the request it is drawn for: the user, the role, the CSRF token.

Layouts sit below the web package (DESIGN.md §3), so they cannot import the login code; the app factory
installs these readers once (``install``) and a layout built outside a request (page registry scan, layout
validation) simply gets None / an empty token."""
from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_readers: dict[str, Callable[[], object]] = {}


def install(*, user_info: Callable[[], dict | None], role: Callable[[], str | None],
            csrf_token: Callable[[], str], alert_count: Callable[[], int | None] | None = None) -> None:
    """Set the readers of the logged-in user (called by the app factory)."""
    _readers.update(user_info=user_info, role=role, csrf_token=csrf_token)
    if alert_count is not None:
        _readers["alert_count"] = alert_count


def _read(name: str, default: object) -> object:
    reader = _readers.get(name)
    if reader is None:
        return default
    try:
        return reader()
    except Exception as exc:  # noqa: BLE001 — outside a request there is no user or session
        log.debug("no %s outside a request: %s", name, exc)
        return default


def user_info() -> dict | None:
    """The logged-in user (display name, role) or None."""
    return _read("user_info", None)  # type: ignore[return-value]


def current_role() -> str | None:
    """The logged-in user's role code or None."""
    return _read("role", None)  # type: ignore[return-value]


def csrf_token() -> str:
    """The session's CSRF token, or '' outside a request."""
    return str(_read("csrf_token", "") or "")


def open_alert_count() -> int | None:
    """Open alerts the logged-in user may see (the header badge), or None."""
    value = _read("alert_count", None)
    return int(value) if isinstance(value, int) else None
