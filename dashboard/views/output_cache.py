"""Whole callback outputs in the one result cache (``core.cache``, namespace ``output``).

A read-only page callback whose output depends only on its (normalised) inputs, the user's data scope and the mart
asks :func:`cached` with those parts and the data version of what it reads; the same view for another user of the
same scope, or again after a load that did not touch its tables and months, is then served without any work.
Never used for per-user state (my-cockpit editor, alerts lifecycle) or writes: such parts must be in the key.

Pages also register a *warmer* (:func:`register_warmer`): the default view a role opens first. ``dashboard.warmup``
runs every warmer for each distinct scope after a load and at start, so the first click after a load is warm.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from core import cache as core_cache
from dashboard.views import pagekit as kit

NS = "output"
T = TypeVar("T")
WARMERS: dict[str, Callable[[], Any]] = {}


def scope_key(scope: Any) -> str:
    """A stable key of a ``metrics.scope.Scope`` (the same in every worker)."""
    if scope.all_institutions:
        return "all"
    return f"{int(scope.aggregates)}:" + ",".join(sorted(scope.inst_codes))


def view_parts(state: Any) -> tuple:
    """The key parts of a page's view state (``dashboard.urlstate.ViewState``): grain, period, org and every other
    URL key it kept — the drill links an output carries repeat them, so two URLs that differ only there are two
    outputs (one user's query keys never show up in another's links)."""
    return (state.grain, state.period, state.org, tuple(sorted(state.extra.items())))


def cached(name: str, version: str, parts: tuple, build: Callable[[], T]) -> T:
    """``build()`` once per (callback ``name``, data ``version`` of what it reads, the user's scope, ``parts``).

    What is stored (and returned) has its Plotly figures as the plain dicts Dash would send (:func:`plain`)."""
    key = (name, kit.mart_url(), version, scope_key(kit.scope()), *parts)
    return core_cache.get_or_compute(NS, key, lambda: plain(build()))


def plain(value: Any) -> Any:
    """``value`` (a callback output: components, lists, tuples, dicts, figures) with every Plotly figure in it
    replaced by its JSON-ready dict — exactly what Dash sends for it. A cached ``go.Figure`` is re-validated by
    Plotly each time it is unpickled (``Figure.__reduce__`` rebuilds it through its constructor: the largest cost
    of a cache hit); its dict is unpickled as plain data. Components are changed in place (the output is new)."""
    from dash.development.base_component import Component
    from plotly.basedatatypes import BaseFigure
    if isinstance(value, BaseFigure):
        return value.to_plotly_json()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value) is tuple:
        return tuple(plain(v) for v in value)
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Component):
        for prop in value._prop_names:
            v = getattr(value, prop, None)
            if isinstance(v, (list, tuple, dict, Component, BaseFigure)):
                setattr(value, prop, plain(v))
    return value


def register_warmer(name: str, warm: Callable[[], Any]) -> None:
    """``warm()`` renders a page's default view for the logged-in user of the warm-up (into the cache)."""
    WARMERS[name] = warm


def mart_version(indicator_ids: list[str] | None = None) -> str:
    """The data version of every month of what ``indicator_ids`` read (None: the whole mart), with the data's
    first month and last day (they decide default periods, partial periods and where periods are clipped)."""
    from metrics.cache import tables_read
    from queries import periods as qperiods
    url = kit.mart_url()
    tables = tables_read(indicator_ids) if indicator_ids is not None else None
    return (f"{qperiods.table_versions(url, tables)}|{qperiods.first_data_month(url)}|"
            f"{qperiods.last_data_date(url)}")


def geometry_stamp() -> str:
    """Modification times of the county geometry files (a ``geo import`` changes every map)."""
    from dashboard.app import get_config
    geo = get_config().geo_dir
    try:
        return ",".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(geo.iterdir()) if p.is_file())
    except OSError:
        return "-"
