"""Map clicks: what was clicked (township, institution, flow) and its value in the URL (``sel``)."""
from __future__ import annotations

import re

from dashboard.views.maps.state import geo_dir
from geo.store import display_geometry


def clicked_item(click: dict | None, disp) -> tuple[str | None, str | None, dict]:  # noqa: ANN001
    """(kind, code, data) of a click: kind 'township', 'inst' or 'flow'."""
    if not isinstance(click, dict):
        return None, None, {}
    data = click.get("data") if isinstance(click.get("data"), dict) else {}
    if click.get("componentType") == "geo" or (click.get("componentType") == "series" and not data
                                               and click.get("name") in disp.name_to_code):
        code = disp.name_to_code.get(str(click.get("name")))
        return ("township", code, {}) if code else (None, None, {})
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return None, None, {}
    if data.get("to_code"):
        return "flow", code, data
    return "inst", code, data



def selection_for_click(click: dict | None) -> str | None:
    """The URL value naming a click's item (``inst:CODE``, ``town:CODE``, ``flow:up:FROM>TO``); None for none."""
    kind, code, data = clicked_item(click, display_geometry(geo_dir()))
    if kind == "township" and _CODE_RE.match(code):
        return f"town:{code}"
    if kind == "inst" and _CODE_RE.match(code):
        return f"inst:{code}"
    if kind == "flow" and data.get("direction") in ("up", "down") and _CODE_RE.match(code) \
            and _CODE_RE.match(str(data.get("to_code"))):
        return f"flow:{data['direction']}:{code}>{data['to_code']}"
    return None


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def parse_selection(value: str | None) -> tuple[str, str, str | None, str | None] | None:
    """``inst:CODE`` / ``town:CODE`` / ``flow:up|down:FROM>TO`` → (kind, code, to_code, direction); None if malformed."""
    if not isinstance(value, str):
        return None
    kind, _, rest = value.partition(":")
    if kind in ("inst", "town") and _CODE_RE.match(rest):
        return kind, rest, None, None
    if kind == "flow":
        direction, _, pair = rest.partition(":")
        src, _, dst = pair.partition(">")
        if direction in ("up", "down") and _CODE_RE.match(src) and _CODE_RE.match(dst):
            return kind, src, dst, direction
    return None
