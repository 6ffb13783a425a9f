"""View models of the three county maps (一张图): 医疗机构运行, 居民健康, 医改动态监测 (the callbacks are in
``dashboard/callbacks/maps.py``; the wall screen reuses the views).

Each page has three callbacks:

- controls → URL: the page's pickers write ``ind``/``cls``/``k``/``top`` into the query string (shareable links,
  back button), next to the toolbar's ``grain``/``period``/``org``;
- URL → map: parse the state, compute the numbers with ``metrics.engine.compute`` for the logged-in user's scope,
  build the ECharts option (``geo.options``) and the legend;
- click → panel: the bridge's click Store names a township (geo component) or an institution (scatter/lines
  item with its ``code``); the panel shows its figures, with drill links only where the scope allows.

One module per responsibility: ``state`` (URL state, cached engine calls, shared helpers), ``institutions``,
``health`` and ``reform`` (one per map), ``selection`` (clicks and the ``sel`` URL value) and ``panels`` (the side
panel). The names the callbacks, the wall screen and the tests use are importable from here.
"""
from __future__ import annotations

from dashboard.views.maps.health import health_view
from dashboard.views.maps.institutions import institutions_view
from dashboard.views.maps.panels import (
    flow_panel,
    institution_panel,
    panel_for_click,
    panel_for_selection,
    township_panel,
)
from dashboard.views.maps.reform import reform_cards, reform_view
from dashboard.views.maps.selection import parse_selection, selection_for_click
from dashboard.views.maps.state import (
    CACHE_SECONDS,
    LAST_TIMINGS,
    NO_GEOMETRY,
    MapState,
    cached,
    engine,
    init_cache,
    map_state,
    points,
    search_with,
    township_values,
    volumes,
)

__all__ = [
    "CACHE_SECONDS", "LAST_TIMINGS", "NO_GEOMETRY", "MapState", "cached", "engine", "flow_panel", "health_view",
    "init_cache", "institution_panel", "institutions_view", "map_state", "panel_for_click", "panel_for_selection",
    "parse_selection", "points", "reform_cards", "reform_view", "search_with", "selection_for_click",
    "township_panel", "township_values", "volumes",
]
