"""居民健康一张图: the township choropleth of a residence-based indicator."""
from __future__ import annotations

from typing import Any

from dashboard.views import pagekit as kit
from dashboard.views.maps.state import (
    classified_townships,
    focus_on,
    geo_dir,
    indicator_entry,
    map_state,
    optional_notice,
    unit_suffix,
    view_subtitle,
)
from geo.classify import METHODS
from geo.options import health_option
from geo.store import display_geometry
from layouts import map_parts as P
from layouts.formatting import target_phrase


def health_view(search: str | None) -> tuple[dict | None, str, Any, Any]:
    """(option, subtitle, legend, notice) of 居民健康一张图."""
    state = map_state("health", search)
    disp = display_geometry(geo_dir())
    ind = state.indicator
    if not ind:
        return None, view_subtitle(state), None, optional_notice("指标目录中没有可按居住乡镇计算的指标")
    frame, classes, zh, unit, dec = classified_townships(disp, ind, state)
    option = health_option(disp, frame, classes, zh, unit, dec)
    focus_on(option, disp, state.view.org)
    entry = indicator_entry(ind)
    legend = P.class_legend(classes.legend(), f"{zh}{unit_suffix(unit)} · {METHODS[state.method]}")
    covered = int(frame["value"].notna().sum())
    subtitle = view_subtitle(state, f"{zh}（居民口径，按居住乡镇）", target_phrase(kit.attr(entry, "target_text", "")),
                         f"有数据乡镇 {covered}/{len(frame)}")
    return option, subtitle, legend, None
