"""Where things go on screen: symbols that would hide one another spread on a small ring, township labels placed
clear of the symbols (pixels at the map's nominal drawn size, coordinates in degrees)."""
from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import affinity

from geo.options.base import aspect_scale
from geo.store import DisplayGeometry

# Symbol sizes are pixels, coordinates degrees. The map is drawn at layoutSize 92 % of the smaller side of its
# box, about 600 px at 1440×900; overlap tests use that scale (a user who zooms in only gains room).
NOMINAL_MAP_PX = 600.0
LABEL_FONT = 11
LABEL_GAP_PX = 3.0            # a township label this far from every symbol counts as clear


def px_per_degree(disp: DisplayGeometry) -> float:
    """Screen pixels per degree of latitude at the map's nominal drawn size."""
    minx, miny, maxx, maxy = disp.bbox
    span = max((maxx - minx) * aspect_scale(disp), maxy - miny)
    return NOMINAL_MAP_PX / span if span > 0 else 1.0


def spread_colocated(points: list[tuple[str, float, float, float]], disp: DisplayGeometry,
                     overlap: float = 0.9) -> dict[str, tuple[float, float]]:
    """Display positions for symbols that would hide one another: ``points`` are (code, lon, lat, size px).

    Symbols whose centres are closer than ``overlap`` × the sum of their radii form a group (transitively); each
    group of n is put on a small ring around its mean, largest first from the top, clockwise, far enough apart
    that neighbours no longer cover each other. Deterministic (same input, same output); other points keep
    their coordinates. Only the drawing moves: stored coordinates are untouched.
    """
    out = {code: (lon, lat) for code, lon, lat, _ in points}
    n = len(points)
    if n < 2:
        return out
    ppd, aspect = px_per_degree(disp), aspect_scale(disp)
    xy = np.array([[lon * aspect * ppd, lat * ppd] for _, lon, lat, _ in points], dtype=float)
    size = np.array([float(s) for *_, s in points], dtype=float)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    near = dist < overlap * (size[:, None] + size[None, :]) / 2
    np.fill_diagonal(near, False)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i, j in zip(*np.nonzero(np.triu(near))):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (-size[i], points[i][0]))
        k = len(members)
        cx, cy = xy[members].mean(axis=0)
        chord = 0.8 * float(size[members].max())
        radius = chord / (2 * math.sin(math.pi / k))
        for rank, i in enumerate(members):
            angle = math.pi / 2 - 2 * math.pi * rank / k        # from the top, clockwise (y grows northwards)
            x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            out[points[i][0]] = (round(x / (aspect * ppd), 5), round(y / ppd, 5))
    return out


def label_points(disp: DisplayGeometry, symbols: list[tuple[float, float, float]],
                 font_size: int = LABEL_FONT) -> dict[str, list[float]]:
    """A label position (lon, lat) per township name, clear of the drawn symbols where the township has room.

    ``symbols``: (lon, lat, size px) of everything drawn over the townships. Candidates on a 4 px grid inside the
    township (label box wholly inside) are ranked: first clearance to the nearest symbol, up to ``LABEL_GAP_PX``
    (beyond that all are equally good), then closeness to the township's representative point, so that labels
    stay central unless a symbol is in the way. Townships without any candidate keep ECharts' default place.
    """
    ppd, aspect = px_per_degree(disp), aspect_scale(disp)
    sym = np.array([[lon * aspect * ppd, lat * ppd, float(s) / 2] for lon, lat, s in symbols], dtype=float) \
        if symbols else np.zeros((0, 3))
    reach = float(sym[:, 2].max()) + LABEL_GAP_PX if len(sym) else 0.0
    out: dict[str, list[float]] = {}
    for name, code, cx, cy, half_w, half_h in _label_candidates(disp, font_size):
        # only symbols that can come near this township's candidates matter
        near = sym[(sym[:, 0] > cx.min() - half_w - reach) & (sym[:, 0] < cx.max() + half_w + reach)
                   & (sym[:, 1] > cy.min() - half_h - reach) & (sym[:, 1] < cy.max() + half_h + reach)]
        if len(near):
            ox = np.maximum(np.abs(cx[:, None] - near[None, :, 0]) - half_w, 0)
            oy = np.maximum(np.abs(cy[:, None] - near[None, :, 1]) - half_h, 0)
            gap = (np.hypot(ox, oy) - near[None, :, 2]).min(axis=1)
        else:
            gap = np.full(cx.size, LABEL_GAP_PX)
        ref = disp.centroids.get(code)
        rx, ry = (ref[0] * aspect * ppd, ref[1] * ppd) if ref else (float(cx.mean()), float(cy.mean()))
        best = np.lexsort((np.hypot(cx - rx, cy - ry), -np.minimum(gap, LABEL_GAP_PX)))[0]
        out[name] = [round(float(cx[best]) / (aspect * ppd), 5), round(float(cy[best]) / ppd, 5)]
    return out


_CANDIDATES: dict[tuple[str, int], list] = {}


def _label_candidates(disp: DisplayGeometry, font_size: int) -> list:
    """Per township: (name, code, x px, y px, half label width, half label height) of the places on a 4 px grid
    where its label box lies wholly inside it; computed once per geometry (``map_name`` changes with it)."""
    key = (disp.map_name, font_size)
    hit = _CANDIDATES.get(key)
    if hit is not None:
        return hit
    from shapely.geometry import shape
    ppd, aspect = px_per_degree(disp), aspect_scale(disp)
    out = []
    for feature in disp.geojson["features"]:
        name, code = feature["properties"]["name"], feature["properties"]["area_code"]
        poly = affinity.scale(shape(feature["geometry"]), xfact=aspect * ppd, yfact=ppd, origin=(0, 0))
        half_w, half_h = (len(str(name)) * font_size + 4) / 2, (font_size + 4) / 2
        minx, miny, maxx, maxy = poly.bounds
        gx, gy = np.meshgrid(np.arange(minx + half_w, maxx - half_w + 1e-9, 4.0),
                             np.arange(miny + half_h, maxy - half_h + 1e-9, 4.0))
        cx, cy = gx.ravel(), gy.ravel()
        inside = np.ones(cx.size, dtype=bool)
        for dx, dy in ((-half_w, -half_h), (-half_w, half_h), (half_w, -half_h), (half_w, half_h), (0, 0)):
            inside &= shapely.contains_xy(poly, cx + dx, cy + dy)
        if inside.any():
            out.append((name, code, cx[inside], cy[inside], half_w, half_h))
    if len(_CANDIDATES) > 16:          # a few geometries per process at most (imports replace the files)
        _CANDIDATES.clear()
    _CANDIDATES[key] = out
    return out


def with_label_points(option: dict, points: dict[str, list[float]]) -> dict:
    """Put label positions into the option's own copy of the township GeoJSON (``properties.cp``, which ECharts
    uses as the region's centre for its label); the cached display geometry is not modified."""
    geojson = option["_geo"]["geojson"]
    features = []
    for feature in geojson["features"]:
        cp = points.get(feature["properties"].get("name"))
        if cp is not None:
            feature = {**feature, "properties": {**feature["properties"], "cp": cp}}
        features.append(feature)
    option["_geo"] = {**option["_geo"], "geojson": {**geojson, "features": features}}
    return option
