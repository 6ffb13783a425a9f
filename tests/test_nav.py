"""The side navigation comes from ``dash.page_registry`` plus the role map, through the real app (Flask test
client): every page a role may open is in its menu and no other page is; each menu label equals its page's title.
"""
from __future__ import annotations

import html as html_lib
import re

import dash
import pytest

from core.roles import ROLES, may_open, roles_for_path
from layouts import _ids as ids
from layouts._nav import PRODUCT_NAME, nav_items, visible_nav
from tests.http_text import body_text


def _menu(client) -> list[tuple[str, str]]:
    """(href, label) of the nav links the shell layout sends this client."""
    resp = client.get("/_dash-layout")
    assert resp.status_code == 200
    found: list[tuple[str, str]] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            props = node.get("props", {})
            pid = props.get("id")
            if isinstance(pid, dict) and pid == ids.nav_link(pid.get("path", "")):
                label = [c["props"]["children"] for c in props["children"]
                         if isinstance(c, dict) and c.get("type") == "Span" and "className" not in c["props"]]
                found.append((pid["path"], label[0]))
            walk(props.get("children"))
    walk(resp.get_json())
    return found


def _pages_in_menu() -> set[str]:
    """Registered pages (module names) that some menu entry opens or marks active."""
    items = nav_items()
    out = set()
    for module, page in dash.page_registry.items():
        template = page.get("path_template")
        probe = re.sub(r"<[^>]+>", "x", template) if template else page["path"]
        if any(item.href == probe or (template and item.href.startswith(template.split("<")[0]))
               or item.is_active(probe) for item in items):
            out.add(module)
    return out


@pytest.mark.parametrize("role", ROLES)
def test_menu_is_every_page_the_role_may_open_and_no_other(flask_app, client_as, role):
    menu = _menu(client_as(role))
    expected = [(i.href, i.label) for i in nav_items() if may_open(role, i.href)
                and roles_for_path(i.href) is not None]
    assert menu == expected
    assert [h for h, _ in menu] == [i.href for i in visible_nav(role)]
    for href, _label in menu:                     # nothing in the menu the role cannot open
        assert role in roles_for_path(href)
    allowed_elsewhere = {i.href for i in nav_items()} - {h for h, _ in menu}
    for href in allowed_elsewhere:                # and every page it can open is in it
        assert not may_open(role, href), (role, href)


def test_every_page_has_a_role_line_and_is_reachable_from_the_menu(flask_app):
    registry = dash.page_registry
    assert registry, "the app registers its pages"
    for module, page in registry.items():
        if page["path"] == "/404":
            continue
        assert roles_for_path(page["path"]) is not None, f"{module}: no line in core.roles.PAGE_ROLES"
    hidden = {m for m in set(registry) - _pages_in_menu() if not m.startswith("tests.")}   # not test pages
    assert {registry[m]["path"] for m in hidden} == {"/404"}, hidden


def test_menu_labels_equal_page_titles(flask_app, client_as):
    client = client_as("leader")
    items = nav_items()
    assert len({i.label for i in items}) == len(items), "two entries with one label"
    for item in items:
        if not may_open("leader", item.href):
            client_item = {"/admin/users": "admin", "/admin/alerts": "admin", "/admin/assessment": "admin",
                           "/admin/logs": "auditor",
                           "/exchange": "operator"}
            client = client_as(client_item[item.href])
        resp = client.get(item.href)
        assert resp.status_code == 200, item.href
        og = re.search(r'property="og:title" content="([^"]*)"', body_text(resp))
        assert og, item.href
        assert html_lib.unescape(og.group(1)) == f"{item.label} · {PRODUCT_NAME}", item.href
        client = client_as("leader")
    assert "分级诊疗" in [i.label for i in items]   # the topic board's menu entry, as titled


def test_nav_active_matching_and_state(flask_app):
    from dashboard.callbacks.shell import nav_state
    items = nav_items()
    catalogue = next(i for i in items if i.href == "/indicators")
    assert catalogue.is_active("/indicator/bed_occupancy") and catalogue.is_active("/indicators")
    home = items[0]
    assert home.href == "/" and home.is_active("/") and not home.is_active("/map/health")
    link_ids = [ids.nav_link(i.href) for i in items]
    classes, hrefs, toolbar = nav_state("/indicator/bed_occupancy", "?grain=year&period=2024&org=H001&tab=x",
                                        link_ids)
    assert [i.label for i, cls in zip(items, classes) if "active" in cls.split()] == ["指标目录"]
    assert toolbar == "toolbar"
    assert hrefs[0] == "/?grain=year&period=2024&org=H001"      # page extras (tab) are not carried
    assert nav_state("/admin/logs", "", link_ids)[2] == "toolbar toolbar-hidden"


def test_nav_filtered_by_role(flask_app):
    assert [i.href for i in visible_nav("admin")] == ["/exchange", "/admin/users", "/admin/alerts", "/admin/assessment"]
    assert [i.href for i in visible_nav("auditor")] == ["/admin/logs"]
    assert [i.href for i in visible_nav("screen")] == ["/screen"]
    assert visible_nav(None) == []
