"""Import a real county's township boundaries in place of the demo geometry.

Any file geopandas reads (GeoJSON, Shapefile, GeoPackage …) with polygons and a code field works. The import
validates everything before it writes anything:

- the key field exists and every feature has a code;
- geometries are polygons (invalid ones are repaired with ``make_valid``; parts that are not polygonal are dropped);
- the CRS is known (from the file or ``--crs``) and converted to WGS84; coordinates must land on Earth;
- every township code of the mart is present in the file (the error lists the missing codes). Features whose code
  is not a township of the mart are left out and reported.

Then ``townships.geojson`` and ``county.geojson`` (union of the townships) are written next to each other through
temporary files and renamed into place; the previous files are kept as ``*.bak``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping

from geo.store import COUNTY_FILE, TOWNSHIPS_FILE, clear_cache


class GeoImportError(ValueError):
    """The file cannot replace the county geometry; the message says why (nothing was written)."""


@dataclass
class ImportReport:
    """What an import did."""
    townships: int
    repaired: list[str] = field(default_factory=list)       # codes whose geometry was repaired
    extra_codes: list[str] = field(default_factory=list)    # codes in the file but not townships of the mart
    merged_codes: list[str] = field(default_factory=list)   # codes that had several features (dissolved)
    source_crs: str = ""
    written: list[Path] = field(default_factory=list)


def normalise_code(value: object) -> str | None:
    """A code as text: integers stay integers (12.0 → '12'), blanks are None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygonal part of a geometry (after make_valid a collection may hold lines or points)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return None


def _short_list(codes: list[str], limit: int = 30) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" …（共 {len(codes)} 个）" if len(codes) > limit else "")


def read_boundaries(path: Path, key: str, name_field: str | None = None,
                    crs: str | None = None) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read and validate a boundary file: columns area_code, name (may be empty), geometry in WGS84."""
    path = Path(path)
    if not path.exists():
        raise GeoImportError(f"文件不存在: {path}")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 — any reader failure is a bad file for the user
        raise GeoImportError(f"无法读取地理文件 {path.name}: {exc}") from exc
    if len(gdf) == 0:
        raise GeoImportError(f"{path.name} 中没有要素")
    if key not in gdf.columns:
        fields = ", ".join(c for c in gdf.columns if c != "geometry")
        raise GeoImportError(f"字段 {key!r} 不存在；文件中的字段: {fields}")
    if name_field and name_field not in gdf.columns:
        raise GeoImportError(f"名称字段 {name_field!r} 不存在")

    if gdf.crs is None:
        if crs:
            gdf = gdf.set_crs(crs)
        else:
            # GeoJSON without a crs member is WGS84 by the standard; other formats must say.
            minx, miny, maxx, maxy = gdf.total_bounds
            if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
                raise GeoImportError("文件没有坐标系信息且坐标不是经纬度；请用 --crs 指定，例如 --crs EPSG:4549")
            gdf = gdf.set_crs(4326)
    elif crs:
        raise GeoImportError(f"文件已声明坐标系 {gdf.crs.to_string()}，不要再用 --crs")
    source_crs = gdf.crs.to_string()
    if gdf.crs.to_epsg() != 4326:
        try:
            gdf = gdf.to_crs(4326)
        except Exception as exc:  # noqa: BLE001
            raise GeoImportError(f"无法从坐标系 {source_crs} 转换到 WGS84: {exc}") from exc

    report = ImportReport(townships=0, source_crs=source_crs)
    codes = [normalise_code(v) for v in gdf[key]]
    blank_rows = [str(i + 1) for i, c in enumerate(codes) if c is None]
    if blank_rows:
        raise GeoImportError(f"第 {_short_list(blank_rows)} 个要素的 {key} 为空")

    geoms = []
    bad_type: list[str] = []
    for code, geom in zip(codes, gdf.geometry):
        if geom is None or geom.is_empty:
            bad_type.append(f"{code}(空几何)")
            geoms.append(None)
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            bad_type.append(f"{code}({geom.geom_type})")
            geoms.append(None)
            continue
        if not geom.is_valid:
            fixed = _polygonal(shapely.make_valid(geom))
            if fixed is None:
                bad_type.append(f"{code}(无法修复)")
                geoms.append(None)
                continue
            report.repaired.append(code)
            geom = fixed
        geoms.append(geom)
    if bad_type:
        raise GeoImportError(f"以下要素不是有效的面: {_short_list(bad_type)}")

    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeoImportError(f"转换后的坐标超出经纬度范围 ({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f})；"
                             "请检查坐标系 (--crs)")

    names = ([None if pd.isna(v) else str(v).strip() for v in gdf[name_field]] if name_field
             else [None] * len(codes))
    out = gpd.GeoDataFrame({"area_code": codes, "name": names}, geometry=geoms, crs=4326)
    dup = out["area_code"][out["area_code"].duplicated()].unique().tolist()
    if dup:
        # a township drawn as several features (islands, enclaves): one multipolygon per code
        report.merged_codes = sorted(dup)
        out = out.dissolve(by="area_code", aggfunc="first", as_index=False)
    return out[["area_code", "name", "geometry"]], report


def match_townships(gdf: gpd.GeoDataFrame, townships: pd.DataFrame,
                    report: ImportReport) -> gpd.GeoDataFrame:
    """Keep the features of the mart's townships (``townships``: area_code, name); every one must be there."""
    mart_codes = townships["area_code"].astype(str).tolist()
    if not mart_codes:
        raise GeoImportError("数据集市中没有乡镇 (area.level = township)；请先加载数据")
    file_codes = set(gdf["area_code"])
    missing = [c for c in mart_codes if c not in file_codes]
    if missing:
        sample = ", ".join(sorted(file_codes)[:5])
        raise GeoImportError(
            f"以下乡镇代码在文件中未找到 ({len(missing)}/{len(mart_codes)}): {_short_list(missing)}；"
            f"文件中的代码示例: {sample}")
    report.extra_codes = sorted(file_codes - set(mart_codes))
    kept = gdf[gdf["area_code"].isin(mart_codes)].copy()
    mart_names = dict(zip(townships["area_code"].astype(str), townships["name"].astype(str)))
    # the mart's name wins when the file has none
    kept["name"] = [n if n else mart_names[c] for c, n in zip(kept["area_code"], kept["name"])]
    report.townships = len(kept)
    return kept.reset_index(drop=True)


def _write_atomic(path: Path, payload: dict) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def write_geometry(gdf: gpd.GeoDataFrame, geo_dir: Path) -> list[Path]:
    """Write townships.geojson and county.geojson (union of the townships); old files are kept as .bak."""
    geo_dir = Path(geo_dir)
    geo_dir.mkdir(parents=True, exist_ok=True)
    townships_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"area_code": c, "name": n}, "geometry": mapping(g)}
        for c, n, g in zip(gdf["area_code"], gdf["name"], gdf.geometry)]}
    county = shapely.make_valid(shapely.union_all(gdf.geometry.values))
    county_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "全县"}, "geometry": mapping(county)}]}
    targets = [(geo_dir / TOWNSHIPS_FILE, townships_fc), (geo_dir / COUNTY_FILE, county_fc)]
    tmps = []
    try:
        for path, payload in targets:
            tmps.append((_write_atomic(path, payload), path))
    except Exception:
        for tmp, _ in tmps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in tmps:
        if path.exists():
            os.replace(path, path.with_name(path.name + ".bak"))
        os.replace(tmp, path)
    clear_cache()
    return [p for _, p in tmps]


def import_townships(path: Path, key: str, townships: pd.DataFrame, geo_dir: Path,
                     name_field: str | None = None, crs: str | None = None) -> ImportReport:
    """Validate ``path`` against the mart's townships and replace the county geometry in ``geo_dir``."""
    gdf, report = read_boundaries(path, key, name_field=name_field, crs=crs)
    kept = match_townships(gdf, townships, report)
    report.written = write_geometry(kept, geo_dir)
    return report
