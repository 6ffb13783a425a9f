"""County geometry on disk and its display form (simplified once, cached per process).

Files in ``Config.geo_dir`` (written by the demo build or by ``python app.py geo import``):

- ``townships.geojson``   township polygons, properties ``area_code`` and ``name`` (WGS84)
- ``county.geojson``      the county outline (WGS84)
- ``institutions.geojson`` optional institution points, property ``inst_code``; where present they override the
  mart's ``institution.lon/lat``

The display form is what the browser gets: polygons simplified as a coverage (shared borders stay shared),
coordinates rounded to 5 decimals (about 1 m), so that one map's payload stays well below 1 MB.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

TOWNSHIPS_FILE = "townships.geojson"
COUNTY_FILE = "county.geojson"
INSTITUTIONS_FILE = "institutions.geojson"

# Display budget for the GeoJSON part of a map option; the rest of the option is small.
DISPLAY_BUDGET_BYTES = 600_000
COORD_DECIMALS = 5


class GeometryMissing(FileNotFoundError):
    """The county geometry has not been built or imported yet."""


@dataclass(frozen=True)
class DisplayGeometry:
    """Townships and county outline ready for ECharts (one registered map per geometry version)."""
    map_name: str                                   # registered map name, changes when the files change
    geojson: dict[str, Any]                         # FeatureCollection, properties: name, area_code
    outline: list[list[list[float]]]                # county outline rings as [[lon, lat], ...] lists
    name_to_code: dict[str, str]
    code_to_name: dict[str, str]
    centroids: dict[str, tuple[float, float]]       # area_code -> representative point (lon, lat)
    bbox: tuple[float, float, float, float]         # minx, miny, maxx, maxy
    tolerance: float                                # simplification tolerance used (degrees)
    nbytes: int = field(default=0)                  # size of the serialised GeoJSON


_cache: dict[tuple, DisplayGeometry] = {}
_lock = threading.Lock()


def _round_coords(obj: Any, nd: int = COORD_DECIMALS) -> Any:
    """Round nested coordinate lists (tuples from shapely's mapping) to nd decimals."""
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(v, nd) for v in obj]
    return obj


def _rounded_geometry(geom: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON geometry dict with coordinates rounded (a rounding that collapses a ring is harmless at 1 m)."""
    gj = dict(mapping(geom))
    gj["coordinates"] = _round_coords(gj["coordinates"])
    return gj


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def read_townships(geo_dir: Path) -> gpd.GeoDataFrame:
    """Full-resolution township polygons (columns area_code, name, geometry) in WGS84."""
    path = Path(geo_dir) / TOWNSHIPS_FILE
    if not path.exists():
        raise GeometryMissing(f"township geometry not found: {path}")
    gdf = gpd.read_file(path)
    missing = {"area_code", "name"} - set(gdf.columns)
    if missing:
        raise ValueError(f"{path}: properties missing: {', '.join(sorted(missing))}")
    gdf["area_code"] = gdf["area_code"].astype(str)
    gdf["name"] = gdf["name"].astype(str)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf[["area_code", "name", "geometry"]]


def read_county(geo_dir: Path) -> shapely.Geometry | None:
    """The county outline (union of its features), or None when the file is absent."""
    path = Path(geo_dir) / COUNTY_FILE
    if not path.exists():
        return None
    gdf = gpd.read_file(path)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return shapely.union_all(shapely.make_valid(gdf.geometry.values))


_points_cache: dict[tuple, dict[str, tuple[float, float]]] = {}


def institution_overrides(geo_dir: Path) -> dict[str, tuple[float, float]]:
    """``read_institution_points`` cached per process until the file changes."""
    path = Path(geo_dir) / INSTITUTIONS_FILE
    if not path.exists():
        return {}
    key = _file_key(path)
    with _lock:
        hit = _points_cache.get(key)
    if hit is None:
        hit = read_institution_points(geo_dir)
        with _lock:
            _points_cache.clear()
            _points_cache[key] = hit
    return hit


def read_institution_points(geo_dir: Path) -> dict[str, tuple[float, float]]:
    """Institution points from ``institutions.geojson`` (inst_code -> (lon, lat)); empty when absent."""
    path = Path(geo_dir) / INSTITUTIONS_FILE
    if not path.exists():
        return {}
    gdf = gpd.read_file(path)
    if "inst_code" not in gdf.columns:
        raise ValueError(f"{path}: property inst_code missing")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    out: dict[str, tuple[float, float]] = {}
    for code, geom in zip(gdf["inst_code"].astype(str), gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        out[code] = (round(pt.x, 6), round(pt.y, 6))
    return out


def _unique_names(codes: list[str], names: list[str]) -> list[str]:
    """ECharts identifies regions by name: make duplicate township names unique with their code."""
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n if seen[n] == 1 else f"{n}({c})" for c, n in zip(codes, names)]


def _simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons as a coverage so that neighbours keep a shared border; fall back per polygon."""
    if tolerance <= 0:
        return geoms
    try:
        out = shapely.coverage_simplify(geoms, tolerance)
        if all(g is not None and not g.is_empty and g.is_valid for g in out):
            return out
    except Exception:  # noqa: BLE001 — not a clean coverage (overlaps/gaps): simplify each polygon instead
        pass
    return np.array([shapely.simplify(g, tolerance, preserve_topology=True) for g in geoms], dtype=object)


def build_display(townships: gpd.GeoDataFrame, county: shapely.Geometry | None,
                  budget_bytes: int = DISPLAY_BUDGET_BYTES) -> DisplayGeometry:
    """Simplify and serialise the geometry for the browser, tightening the tolerance until it fits the budget."""
    geoms = np.asarray(shapely.make_valid(townships.geometry.values), dtype=object)
    codes = townships["area_code"].astype(str).tolist()
    names = _unique_names(codes, townships["name"].astype(str).tolist())
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    extent = max(maxx - minx, maxy - miny, 1e-6)
    # 1/3000 of the county's extent is below a pixel on a 1440 px map; double it until the payload fits.
    tolerance = extent / 3000
    for _ in range(8):
        simple = _simplify(geoms, tolerance)
        features = []
        for code, name, g in zip(codes, names, simple):
            features.append({"type": "Feature", "properties": {"name": name, "area_code": code},
                             "geometry": _rounded_geometry(g)})
        fc = {"type": "FeatureCollection", "features": features}
        text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
        if len(text.encode()) <= budget_bytes:
            break
        tolerance *= 2
    outline_geom = county if county is not None and not county.is_empty else shapely.union_all(geoms)
    outline_geom = shapely.simplify(outline_geom, tolerance, preserve_topology=True)
    rings: list[list[list[float]]] = []
    for poly in getattr(outline_geom, "geoms", [outline_geom]):
        if poly.geom_type == "Polygon":
            rings.append(_round_coords(list(poly.exterior.coords)))
    centroids = {}
    for code, g in zip(codes, geoms):
        pt = g.representative_point()
        centroids[code] = (round(pt.x, COORD_DECIMALS), round(pt.y, COORD_DECIMALS))
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return DisplayGeometry(
        map_name=f"county-{digest}", geojson=fc, outline=rings,
        name_to_code=dict(zip(names, codes)), code_to_name=dict(zip(codes, names)), centroids=centroids,
        bbox=(float(minx), float(miny), float(maxx), float(maxy)), tolerance=tolerance, nbytes=len(text.encode()))


def display_geometry(geo_dir: Path) -> DisplayGeometry:
    """The display geometry of ``geo_dir``, built once per process and rebuilt when the files change."""
    geo_dir = Path(geo_dir)
    tpath = geo_dir / TOWNSHIPS_FILE
    if not tpath.exists():
        raise GeometryMissing(f"township geometry not found: {tpath}")
    cpath = geo_dir / COUNTY_FILE
    key = (_file_key(tpath), _file_key(cpath) if cpath.exists() else None)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    disp = build_display(read_townships(geo_dir), read_county(geo_dir))
    with _lock:
        # keep only the newest version per directory
        for k in [k for k in _cache if k[0][0] == key[0][0]]:
            del _cache[k]
        _cache[key] = disp
    return disp


def clear_cache() -> None:
    """Forget every cached display geometry (tests, after an import in the same process)."""
    with _lock:
        _cache.clear()
        _points_cache.clear()
