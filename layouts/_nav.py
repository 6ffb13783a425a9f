"""The side navigation, built from ``dash.page_registry`` and the role map (``core.roles.PAGE_ROLES``).

There is no menu list: a page says how it appears in the menu where it registers itself, and the role map says
who may open it. Adding a page = ``dash.register_page(...)`` in ``layouts/`` + one line in ``PAGE_ROLES``.

Menu keywords ``register_page`` accepts (Dash keeps unknown keywords in the registry entry):

- ``name``: the menu label; the page's ``title`` is ``f"{name} · 医共体运营监测平台"`` (a test holds them equal).
- ``order``: position in the menu (Dash sorts the registry by it).
- ``nav_group``: the heading the entry is listed under (一张图, 专题); entries of one group are adjacent by order.
- ``nav_icon``: the symbol before an ungrouped entry (groups take theirs from ``NAV_GROUP_ICONS``).
- ``nav_entries``: for a path-template page, the concrete ``(path, label)`` entries it serves (专题 boards).
- ``nav_match``: extra path prefixes that make the entry active (指标目录 is active on ``/indicator/<id>``).
- ``nav=False``: not in the menu (a page reached by drilling, the 404 page).

A page without a role-map line is shown to nobody (deny by default), whatever ``may_open`` says of unknown paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash

from core import roles

PRODUCT_NAME = "医共体运营监测平台"
NAV_GROUP_ICONS = {"一张图": "◎", "专题": "◈"}


def page_title(name: str) -> str:
    """The browser title of a page whose menu label is ``name``."""
    return f"{name} · {PRODUCT_NAME}"


@dataclass(frozen=True)
class NavItem:
    """One navigation entry. ``match`` are path prefixes that make it the active entry."""
    label: str
    href: str
    group: str | None = None
    match: tuple[str, ...] = ()
    icon: str = "•"

    def is_active(self, pathname: str | None) -> bool:
        path = (pathname or "/").rstrip("/") or "/"
        for prefix in self.match or (self.href,):
            p = prefix.rstrip("/") or "/"
            if p == "/":
                if path == "/":
                    return True
            elif path == p or path.startswith(p + "/"):
                return True
        return False


def nav_items() -> list[NavItem]:
    """Every menu entry of the registered pages, in page order (empty before the Dash app registers its pages)."""
    items: list[NavItem] = []
    for page in dash.page_registry.values():
        if page.get("nav") is False:
            continue
        group = page.get("nav_group")
        icon = NAV_GROUP_ICONS.get(group, "•") if group else page.get("nav_icon", "•")
        entries = page.get("nav_entries") or ((page["path"], page["name"]),)
        for href, label in entries:
            match = tuple(page.get("nav_match", ())) if len(entries) == 1 else ()
            items.append(NavItem(label, href, group, match, icon))
    return items


def visible_nav(role: str | None) -> list[NavItem]:
    """The entries ``role`` may open: the page has a role-map line and the role is in it."""
    return [item for item in nav_items() if role in (roles.roles_for_path(item.href) or frozenset())]


def home_path(role: str | None) -> str:
    """Where a role lands after login when no ``next`` is given: its first menu entry."""
    items = visible_nav(role)
    return items[0].href if items else "/"


def page_meta(pathname: str | None) -> dict[str, Any]:
    """The page-registry entry serving ``pathname`` ({} when none), matching path templates like /indicator/<id>."""
    path = (pathname or "/").rstrip("/") or "/"
    for page in dash.page_registry.values():
        if page.get("path") == path:
            return page
    for page in dash.page_registry.values():
        template = page.get("path_template")
        if not template:
            continue
        t_parts, p_parts = template.strip("/").split("/"), path.strip("/").split("/")
        if len(t_parts) == len(p_parts) and all(t.startswith("<") or t == p for t, p in zip(t_parts, p_parts)):
            return page
    return {}


def page_label(path: str) -> str | None:
    """The Chinese name of the page at ``path``: its menu label, else its registered name; None when unknown."""
    path = (path or "/").split("?", 1)[0] or "/"
    for item in nav_items():
        if item.href == path:
            return item.label
    return page_meta(path).get("name")
