"""Small synthetic boundary files for tests and examples (a county cut into a grid of wavy townships)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import shapely
from shapely.geometry import Polygon, mapping


def _wavy_edge(p0: tuple[float, float], p1: tuple[float, float], n: int, amp: float) -> list[tuple[float, float]]:
    """Points along an edge with a deterministic wiggle (same on both sides, so neighbours share it)."""
    # order the endpoints so that the shared edge is generated identically from either polygon
    a, b = (p0, p1) if p0 <= p1 else (p1, p0)
    pts = []
    for i in range(n):
        t = i / n
        x = a[0] + (b[0] - a[0]) * t
        y = a[1] + (b[1] - a[1]) * t
        w = amp * math.sin(t * math.pi * 3 + a[0] * 7 + a[1] * 5) * math.sin(t * math.pi)
        dx, dy = b[0] - a[0], b[1] - a[1]
        norm = math.hypot(dx, dy) or 1.0
        pts.append((x - dy / norm * w, y + dx / norm * w))
    pts.append(b)
    return pts if (p0, p1) == (a, b) else list(reversed(pts))


def grid_townships(codes: list[str], names: list[str] | None = None, origin: tuple[float, float] = (119.3, 29.0),
                   cell: float = 0.08, points_per_edge: int = 40) -> list[tuple[str, str, Polygon]]:
    """Townships as a near-square grid of polygons with wavy shared borders (a valid coverage)."""
    cols = max(1, math.ceil(math.sqrt(len(codes))))
    out = []
    for i, code in enumerate(codes):
        r, c = divmod(i, cols)
        x0, y0 = origin[0] + c * cell, origin[1] - r * cell
        corners = [(x0, y0), (x0 + cell, y0), (x0 + cell, y0 - cell), (x0, y0 - cell)]
        ring: list[tuple[float, float]] = []
        for k in range(4):
            p0, p1 = corners[k], corners[(k + 1) % 4]
            # inner edges wiggle, the county's outer border too: all deterministic from the endpoints
            ring.extend(_wavy_edge(p0, p1, points_per_edge, cell * 0.06)[:-1])
        ring.append(ring[0])
        poly = Polygon([(round(x, 7), round(y, 7)) for x, y in ring])
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        out.append((code, (names or codes)[i], poly))
    return out


def write_geojson(path: Path, townships: list[tuple[str, str, Polygon]], key: str = "area_code",
                  name_key: str = "name", extra_props: dict | None = None) -> Path:
    """Write townships as a GeoJSON FeatureCollection with the code under ``key``."""
    features = [{"type": "Feature", "properties": {key: code, name_key: name, **(extra_props or {})},
                 "geometry": mapping(poly)} for code, name, poly in townships]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                          encoding="utf-8")
    return Path(path)
