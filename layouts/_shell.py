"""The page shell: header (product, user, 退出), side navigation by role (``layouts/_nav.py``), toolbar (period and org pickers), page.

``shell()`` is the app layout function (called per request, so the navigation follows the logged-in user).
The toolbar's state lives in the URL query string; ``dashboard/callbacks/shell.py`` keeps both in sync.
A page hides the toolbar by registering with ``dash.register_page(..., toolbar=False)``.
"""
from __future__ import annotations

import logging
from typing import Any

import dash
from dash import dcc, html

from core.labels import GRAINS
from layouts import _ids as ids
from layouts import request_context
from layouts._components import DROPDOWN_LABELS_ZH, period_pickers
from layouts._nav import PRODUCT_NAME, NavItem, page_meta, visible_nav

__all__ = ["PRODUCT_NAME", "page_meta", "shell", "shows_toolbar", "toolbar", "visible_nav"]

log = logging.getLogger(__name__)

def open_alert_count() -> int | None:
    """Open alerts the logged-in user may see (the 预警中心 badge); None outside a request or on any failure."""
    return request_context.open_alert_count()


def user_info() -> dict | None:
    """The logged-in user (display name, role) or None; never raises (the layout is also built at startup)."""
    return request_context.user_info()


def shows_toolbar(pathname: str | None) -> bool:
    """False on pages registered with ``toolbar=False`` (admin, exchange) and on paths that hide it by prefix."""
    meta = page_meta(pathname)
    if "toolbar" in meta:
        return bool(meta["toolbar"])
    if dash.page_registry and not meta:
        return False        # unknown path: Dash's 404 page
    path = pathname or "/"
    # Pages of other areas may not be registered yet; these never use period/org.
    return not (path.startswith("/admin") or path.startswith("/exchange"))


def _nav(items: list[NavItem]) -> html.Nav:
    children: list[Any] = []
    current_group: str | None = None
    for item in items:
        if item.group and item.group != current_group:
            children.append(html.Div([html.Span(item.icon, className="nav-icon"), item.group],
                                     className="nav-group"))
        current_group = item.group
        icon = None if item.group else html.Span(item.icon, className="nav-icon")
        badge = None
        if item.href == "/alerts":
            count = open_alert_count()
            badge = html.Span(str(count), className="nav-badge", id="alerts-badge") if count else None
        children.append(dcc.Link([icon, html.Span(item.label), badge], href=item.href, id=ids.nav_link(item.href),
                                 className="nav-link nav-sub" if item.group else "nav-link"))
    return html.Nav(children, id=ids.NAV, className="side-nav", **{"aria-label": "导航"})


def toolbar() -> html.Div:
    """Period (grain + period) and org (全县 → 乡镇 → 机构) pickers; options and values come from the URL."""
    return html.Div([
        period_pickers(ids.GRAIN, ids.PERIOD, GRAINS, "month"),
        html.Div([
            html.Span("机构范围", className="tb-label"),
            dcc.Dropdown(id=ids.TOWNSHIP, options=[], value=None, clearable=True, searchable=True,
                         placeholder="全县", labels=DROPDOWN_LABELS_ZH, className="tb-township"),
            dcc.Dropdown(id=ids.INST, options=[], value=None, clearable=True, searchable=True,
                         placeholder="全部机构", labels=DROPDOWN_LABELS_ZH, className="tb-inst"),
            html.Span(id=ids.ORG_LABEL, className="tb-org-label"),
        ], className="tb-group"),
    ], id=ids.TOOLBAR, className="toolbar")


def _user_box(info: dict | None) -> html.Div:
    if not info:
        return html.Div(html.A("登录", href="/login", className="logout-link"), id=ids.USER_BOX,
                        className="user-box")
    return html.Div([
        html.Span(info.get("display_name") or info.get("username") or "", className="user-name"),
        html.Span(info.get("role_zh") or info.get("role") or "", className="user-role"),
        _logout_form(),
    ], id=ids.USER_BOX, className="user-box")


def _logout_form() -> html.Form:
    """退出: a POST with the session's CSRF token (a GET /logout only asks for confirmation, so a foreign page
    cannot log the user out with a link or an image)."""
    token = request_context.csrf_token()
    return html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=token, id="logout-csrf"),
        html.Button("退出", type="submit", className="logout-link", id="logout-button"),
    ], action="/logout", method="post", className="logout-form")


def shell() -> html.Div:
    """Layout function of the whole app (called per request)."""
    info = user_info()
    items = visible_nav(info.get("role") if info else None)
    return html.Div([
        dcc.Location(id=ids.URL, refresh="callback-nav"),
        html.Header([
            html.Div([html.Span("医", className="brand-mark"), html.H1(PRODUCT_NAME, className="brand-name")],
                     className="brand"),
            html.Button("☰ 菜单", className="nav-burger", type="button", title="导航菜单",
                        **{"aria-controls": ids.NAV, "aria-expanded": "false"}),
            _user_box(info),
        ], className="app-header"),
        html.Div([
            _nav(items),
            html.Main([toolbar(), html.Div(dash.page_container, className="page-body")], className="app-main"),
        ], className="app-frame"),
    ], className="app-root")
