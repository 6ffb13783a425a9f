"""Component ids shared between the shell, pages and callbacks (one place, so that typos fail at import).

Shell ids (single components that live for the whole session):

- ``URL``           dcc.Location; pages read ``Input(URL, "search")`` and parse it with
                    ``dashboard.urlstate.current_state(search)``; the toolbar writes it.
- ``TOOLBAR``       the toolbar container (hidden on pages registered with ``toolbar=False``).
- ``GRAIN``, ``PERIOD``, ``TOWNSHIP``, ``INST``  the period and org pickers.
- ``NAV``           the side navigation; links have ids ``nav_link(path)``.

ECharts bridge (pattern-matching ids, one triple per chart; build them with ``layouts._components.echarts``):

- ``echarts_box(name)``     the Div ECharts draws into
- ``echarts_option(name)``  dcc.Store: write an ECharts option (dict) here from a callback; an option may carry
                            ``_geo: {"name": map_name, "geojson": {...}}`` to register a map before drawing
- ``echarts_click(name)``   dcc.Store: the bridge writes ``{name, seriesName, dataIndex, data, componentType, ts}``
                            here on every click; use it as an Input
"""
from __future__ import annotations

URL = "url"
TOOLBAR = "shell-toolbar"
GRAIN = "shell-grain"
PERIOD = "shell-period"
TOWNSHIP = "shell-township"
INST = "shell-inst"
ORG_LABEL = "shell-org-label"
NAV = "shell-nav"
USER_BOX = "shell-user"
PAGE_TITLE = "shell-page-title"

NAV_LINK_TYPE = "nav-link"
ECHARTS_TYPE = "echarts"
ECHARTS_OPTION_TYPE = "echarts-option"
ECHARTS_CLICK_TYPE = "echarts-click"


def nav_link(path: str) -> dict[str, str]:
    """Id of the side-navigation link to ``path``."""
    return {"type": NAV_LINK_TYPE, "path": path}


def echarts_box(name: str) -> dict[str, str]:
    """Id of the Div an ECharts chart named ``name`` is drawn into."""
    return {"type": ECHARTS_TYPE, "id": name}


def echarts_option(name: str) -> dict[str, str]:
    """Id of the Store holding the ECharts option of chart ``name`` (write it from a callback)."""
    return {"type": ECHARTS_OPTION_TYPE, "id": name}


def echarts_click(name: str) -> dict[str, str]:
    """Id of the Store receiving clicks on chart ``name`` (read it as an Input)."""
    return {"type": ECHARTS_CLICK_TYPE, "id": name}
