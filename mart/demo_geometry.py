"""Geometry of the fictional demo county: an irregular outline split into townships (WGS84).

The outline is a star-shaped polygon (radius perturbed by a few low-frequency waves) of about 50 × 40 km around
(119.6E, 29.1N). Townships are the Voronoi cells of one seed point per township, clipped to the outline; the first
township (城关镇) sits in the middle. Everything is derived from ``seed`` so the same seed gives the same map.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from shapely import voronoi_polygons
from shapely.geometry import MultiPoint, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from core.config import Config

CENTER_LON = 119.6
CENTER_LAT = 29.1
HALF_WIDTH_KM = 25.0       # east-west half extent
HALF_HEIGHT_KM = 20.0      # north-south half extent
KM_PER_DEG_LAT = 111.32


def _km_per_deg_lon(lat: float = CENTER_LAT) -> float:
    return KM_PER_DEG_LAT * math.cos(math.radians(lat))


def _outline(rng: np.random.Generator) -> Polygon:
    """An irregular, star-shaped county outline (valid polygon)."""
    n = 180
    theta = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    radius = np.ones(n)
    # a few smooth waves give an irregular but plausible boundary; amplitudes stay small so it is star-shaped
    for k, amp in ((2, 0.08), (3, 0.07), (5, 0.05), (7, 0.03), (11, 0.015)):
        radius += amp * rng.uniform(0.5, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    x_km = HALF_WIDTH_KM * radius * np.cos(theta)
    y_km = HALF_HEIGHT_KM * radius * np.sin(theta)
    lon = CENTER_LON + x_km / _km_per_deg_lon()
    lat = CENTER_LAT + y_km / KM_PER_DEG_LAT
    poly = Polygon(zip(lon.round(6), lat.round(6)))
    return poly if poly.is_valid else poly.buffer(0)


def _seed_points(outline: Polygon, count: int, rng: np.random.Generator) -> list[Point]:
    """Township seed points: the first in the middle, the others spread on two rings with jitter."""
    kx, ky = _km_per_deg_lon(), KM_PER_DEG_LAT
    points = [Point(CENTER_LON + rng.uniform(-0.6, 0.6) / kx, CENTER_LAT + rng.uniform(-0.6, 0.6) / ky)]
    others = count - 1
    inner = max(0, min(others, round(others * 0.4)))
    rings = [(inner, 0.42), (others - inner, 0.8)]
    for ring_count, frac in rings:
        if ring_count == 0:
            continue
        start = rng.uniform(0, 2 * math.pi)
        for j in range(ring_count):
            ang = start + 2 * math.pi * j / ring_count + rng.uniform(-0.18, 0.18)
            f = frac * rng.uniform(0.9, 1.08)
            p = Point(CENTER_LON + f * HALF_WIDTH_KM * math.cos(ang) / kx,
                      CENTER_LAT + f * HALF_HEIGHT_KM * math.sin(ang) / ky)
            if not outline.contains(p):           # keep every seed inside the county
                p = _pull_inside(outline, p)
            points.append(p)
    return points


def _pull_inside(outline: Polygon, p: Point) -> Point:
    """Move a point toward the county centre until it lies inside the outline."""
    c = outline.centroid
    for t in np.linspace(0.9, 0.1, 9):
        q = Point(c.x + (p.x - c.x) * t, c.y + (p.y - c.y) * t)
        if outline.contains(q):
            return q
    return c


def demo_township_shapes(townships: list[tuple[str, str, int]], seed: int) -> tuple[Polygon, dict[str, Polygon]]:
    """Return (county outline, {area_code: township polygon}) for the demo county; deterministic in ``seed``."""
    rng = np.random.default_rng([seed, 7301])
    outline = _outline(rng)
    points = _seed_points(outline, len(townships), rng)
    cells = voronoi_polygons(MultiPoint(points), extend_to=outline.buffer(0.5))
    shapes: dict[str, Polygon] = {}
    for (code, _name, _pop), pt in zip(townships, points):
        cell = next(g for g in cells.geoms if g.contains(pt))
        clipped: BaseGeometry = cell.intersection(outline)
        if clipped.geom_type != "Polygon":       # keep the part holding the seed (clipping may split a cell)
            parts = [g for g in getattr(clipped, "geoms", [clipped]) if g.geom_type == "Polygon"]
            clipped = next((g for g in parts if g.contains(pt)), max(parts, key=lambda g: g.area))
        shapes[code] = _round(clipped)
    county = unary_union(list(shapes.values()))
    if county.geom_type != "Polygon":
        county = max(county.geoms, key=lambda g: g.area)
    return county, shapes


def _round(poly: Polygon) -> Polygon:
    """Round coordinates to 6 decimals (≈0.1 m) keeping the polygon valid."""
    rounded = Polygon([(round(x, 6), round(y, 6)) for x, y in poly.exterior.coords])
    return rounded if rounded.is_valid else poly


def random_points_in(poly: Polygon, count: int, rng: np.random.Generator,
                     near: Point | None = None, radius_deg: float | None = None) -> list[tuple[float, float]]:
    """``count`` random (lon, lat) points strictly inside ``poly`` (optionally within ``radius_deg`` of ``near``)."""
    minx, miny, maxx, maxy = poly.bounds
    if near is not None and radius_deg is not None:
        minx, miny = max(minx, near.x - radius_deg), max(miny, near.y - radius_deg)
        maxx, maxy = min(maxx, near.x + radius_deg), min(maxy, near.y + radius_deg)
    inner = poly.buffer(-0.002)                  # keep a margin (~200 m) from township borders
    if inner.is_empty:
        inner = poly
    out: list[tuple[float, float]] = []
    tries = 0
    while len(out) < count:
        tries += 1
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if inner.contains(Point(lon, lat)):
            out.append((round(lon, 6), round(lat, 6)))
        elif tries > 10000 * (count + 1):        # degenerate case: fall back to a guaranteed interior point
            p = inner.representative_point()
            out.append((round(p.x, 6), round(p.y, 6)))
    return out


def _write_json_atomic(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def build_demo_geometry(cfg: Config, townships: list[tuple[str, str, int]], seed: int,
                        county_code: str = "", county_name: str = "") -> None:
    """Write ``townships.geojson`` (one polygon per township) and ``county.geojson`` (outline) into cfg.geo_dir."""
    county, shapes = demo_township_shapes(townships, seed)
    features = [{"type": "Feature", "properties": {"area_code": code, "name": name, "population": pop},
                 "geometry": mapping(shapes[code])} for code, name, pop in townships]
    _write_json_atomic(cfg.geo_dir / "townships.geojson", {"type": "FeatureCollection", "features": features})
    _write_json_atomic(cfg.geo_dir / "county.geojson", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"area_code": county_code, "name": county_name}, "geometry": mapping(county)}]})
