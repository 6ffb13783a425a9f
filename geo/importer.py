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

from geo import checks
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
    # (mart code, mart name, file code, file name, how: 'code' / 'name' / '') per mart township, then file features
    # no township took (mart code empty): the matched/unmatched table of ``--match name``
    match_table: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)        # spatial problems accepted with --force
    repair_notes: list[str] = field(default_factory=list)    # per repaired feature: label and reason


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
                    crs: str | None = None, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read and validate a boundary file: columns area_code, name (may be empty), geometry in WGS84.

    ``encoding`` is the text encoding of a shapefile's .dbf (else its .cpg, else GDAL's default); ``crs`` may
    also be ``GCJ-02`` or ``BD-09`` (longitude/latitude in a Chinese datum, converted to WGS-84).
    """
    path = Path(path)
    if not path.exists():
        raise GeoImportError(f"文件不存在: {path}")
    try:
        gdf = gpd.read_file(path, encoding=encoding) if encoding else gpd.read_file(path)
    except LookupError as exc:
        raise GeoImportError(f"未知的编码 --encoding {encoding}") from exc
    except Exception as exc:
        per_feature = checks.geojson_feature_problems(path, key, name_field) \
            if path.suffix.lower() in (".geojson", ".json") else []
        if per_feature:
            raise GeoImportError(f"{path.name} 中以下要素的几何有误: " + "; ".join(per_feature[:30])) from exc
        raise GeoImportError(f"无法读取地理文件 {path.name}: {exc}") from exc
    if len(gdf) == 0:
        raise GeoImportError(f"{path.name} 中没有要素")
    garbled = checks.mojibake([c for c in gdf.columns if c != "geometry"], gdf)
    if garbled:
        hint = "--encoding gbk" if any("gbk" in g for g in garbled) else "--encoding"
        raise GeoImportError(f"{path.name} 的文字是乱码 (编码读错): {'; '.join(garbled)}。"
                             f"请用 {hint} 指定 .dbf 的编码, 或在 .shp 旁放一个内容为 GBK 的同名 .cpg 文件")
    if key not in gdf.columns:
        fields = ", ".join(c for c in gdf.columns if c != "geometry")
        raise GeoImportError(f"字段 {key!r} 不存在；文件中的字段: {fields}")
    if name_field and name_field not in gdf.columns:
        raise GeoImportError(f"名称字段 {name_field!r} 不存在")

    datum = checks.china_datum(crs)
    if datum:
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            raise GeoImportError(f"--crs {crs} 表示经纬度坐标, 但文件声明的坐标系是 {gdf.crs.to_string()}")
        gdf = gdf.set_crs(4326, allow_override=True)
        crs = None
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
    source_crs = checks.DATUM_ZH[datum] if datum else gdf.crs.to_string()
    if gdf.crs.to_epsg() != 4326:
        try:
            gdf = gdf.to_crs(4326)
        except Exception as exc:
            raise GeoImportError(f"无法从坐标系 {source_crs} 转换到 WGS84: {exc}") from exc

    report = ImportReport(townships=0, source_crs=source_crs)
    codes = [normalise_code(v) for v in gdf[key]]
    names = ([None if pd.isna(v) else str(v).strip() for v in gdf[name_field]] if name_field
             else [None] * len(codes))
    blank_rows = [str(i + 1) for i, c in enumerate(codes) if c is None]
    if blank_rows:
        raise GeoImportError(f"第 {_short_list(blank_rows)} 个要素的 {key} 为空")

    geoms = []
    bad_type: list[str] = []
    for n, (code, name, geom) in enumerate(zip(codes, names, gdf.geometry), start=1):
        label = checks.feature_label(n, code, name)
        if geom is None or geom.is_empty:
            bad_type.append(f"{label}: 空几何")
            geoms.append(None)
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            bad_type.append(f"{label}: {geom.geom_type}, 不是面")
            geoms.append(None)
            continue
        if not geom.is_valid:
            reason = checks.validity_reason(geom)
            fixed = _polygonal(shapely.make_valid(geom))
            if fixed is None:
                bad_type.append(f"{label}: {reason}, 无法修复")
                geoms.append(None)
                continue
            report.repaired.append(code)
            report.repair_notes.append(f"{label}: {reason}, 已用 make_valid 修复")
            geom = fixed
        if datum:
            geom = checks.datum_to_wgs84(geom, datum)
        geoms.append(geom)
    if bad_type:
        raise GeoImportError(f"以下要素不是有效的面: {'; '.join(bad_type[:30])}")

    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeoImportError(f"转换后的坐标超出经纬度范围 ({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f})；"
                             "请检查坐标系 (--crs)")

    out = gpd.GeoDataFrame({"area_code": codes, "name": names}, geometry=geoms, crs=4326)
    dup = out["area_code"][out["area_code"].duplicated()].unique().tolist()
    if dup:
        # a township drawn as several features (islands, enclaves): one multipolygon per code
        report.merged_codes = sorted(dup)
        out = out.dissolve(by="area_code", aggfunc="first", as_index=False)
    return out[["area_code", "name", "geometry"]], report


def _norm_name(name: object) -> str:
    return "" if name is None or (isinstance(name, float) and pd.isna(name)) else str(name).strip().replace(" ", "")


def match_townships(gdf: gpd.GeoDataFrame, townships: pd.DataFrame,
                    report: ImportReport, match: str = "code") -> gpd.GeoDataFrame:
    """Keep the features of the mart's townships (``townships``: area_code, name); every one must be there.

    Features are matched by code; with ``match="name"`` a township whose code is not in the file then takes the
    feature of the same name (names compared without spaces) whose code no township has. ``report.match_table``
    lists every township with its feature (or none) and every feature left over.
    """
    mart_codes = townships["area_code"].astype(str).tolist()
    if not mart_codes:
        raise GeoImportError("数据集市中没有乡镇 (area.level = township)；请先加载数据")
    mart_names = dict(zip(townships["area_code"].astype(str), townships["name"].astype(str)))
    gdf = gdf.copy()
    file_codes = set(gdf["area_code"])
    taken = {c: c for c in mart_codes if c in file_codes}              # mart code → file code
    how = {c: "code" for c in taken}
    if match == "name":
        free = gdf[~gdf["area_code"].isin(mart_codes)]
        by_name: dict[str, list[str]] = {}
        for code, name in zip(free["area_code"], free["name"]):
            by_name.setdefault(_norm_name(name), []).append(code)
        for code in mart_codes:
            hits = by_name.get(_norm_name(mart_names[code]), []) if code not in taken else []
            if len(hits) == 1 and hits[0] not in taken.values():
                taken[code], how[code] = hits[0], "name"
    file_name = dict(zip(gdf["area_code"], gdf["name"]))
    report.match_table = [(c, mart_names[c], taken.get(c, ""), _norm_name(file_name.get(taken.get(c))),
                           how.get(c, "")) for c in mart_codes]
    used = set(taken.values())
    report.match_table += [("", "", c, _norm_name(file_name[c]), "") for c in sorted(file_codes - used)]
    missing = [c for c in mart_codes if c not in taken]
    if missing:
        hint = "" if match == "name" else "；代码对不上时可用 --name 名称字段 --match name 按名称匹配"
        raise GeoImportError(
            f"以下乡镇代码在文件中未找到 ({len(missing)}/{len(mart_codes)}): {_short_list(missing)}；"
            f"文件中的代码 (按形式): {checks.shape_samples(list(file_codes))}；"
            f"数据集市的乡镇代码: {checks.shape_samples(mart_codes)}{hint}")
    report.extra_codes = sorted(file_codes - used)
    rename = {f: m for m, f in taken.items()}
    kept = gdf[gdf["area_code"].isin(used)].copy()
    kept["area_code"] = [rename[c] for c in kept["area_code"]]
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
                     name_field: str | None = None, crs: str | None = None, encoding: str | None = None,
                     match: str = "code", institutions: pd.DataFrame | None = None,
                     force: bool = False) -> ImportReport:
    """Validate ``path`` against the mart's townships and replace the county geometry in ``geo_dir``.

    ``institutions`` (inst_code, name, lon, lat from the mart) drive the spatial sanity check: institutions
    outside every township or a county far from them refuse the import unless ``force``.
    """
    if match == "name" and not name_field:
        raise GeoImportError("--match name 需要用 --name 指定文件中的名称字段")
    gdf, report = read_boundaries(path, key, name_field=name_field, crs=crs, encoding=encoding)
    kept = match_townships(gdf, townships, report, match=match)
    if institutions is not None:
        problems = checks.spatial_problems(list(kept.geometry), institutions)
        if problems and not force:
            raise GeoImportError("空间检查未通过: " + "; ".join(problems)
                                 + "。确认无误时可加 --force 强制导入")
        report.warnings = problems
    report.written = write_geometry(kept, geo_dir)
    return report
