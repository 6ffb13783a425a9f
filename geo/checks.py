"""Checks and conversions of a real boundary file, used by ``geo.importer`` before anything is written.

- **Mojibake**: a GBK shapefile without ``.cpg`` is read by GDAL as Latin-1: ``乡镇代码`` comes back as
  ``ÏçÕò´úÂë``. Text that is Latin-1 letters which, taken back to bytes, decode as GB18030 (or UTF-8) Chinese is
  refused, naming the field and the encoding that reads it (``--encoding gbk``).
- **Chinese datums**: ``GCJ-02`` (the "Mars" coordinates of AMap/Tencent/Google China) and ``BD-09`` (Baidu) are
  not projections pyproj knows; they are offsets of WGS-84 longitude/latitude by a published obfuscation formula.
  They are converted with ``prcoords`` (CC0, the reference implementation behind many ports): the exact inverse is
  solved iteratively (``gcj_wgs_bored`` / ``bd_wgs_bored``), leaving well under 1 m (measured round trip in
  ``tests/test_geo_real.py``); the formula itself matches the official transform to about 0.5 m.
- **Spatial sanity**: institutions (mart coordinates) outside every township, or a county far from every
  institution, mean a wrong file, a wrong CRS or a wrong datum: refused unless ``--force``, listing them.
- **Topology**: problems are reported per feature with its code and name (an unclosed ring, too few points, a
  self-intersection and what ``make_valid`` did).
- **Code shapes**: samples of codes chosen one per shape (9 digits, 12 digits, letters …), so that a file of
  12-digit village codes is seen at once beside the mart's 9-digit township codes.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.ops

DATUMS = {"GCJ-02": "gcj02", "GCJ02": "gcj02", "GCJ": "gcj02", "BD-09": "bd09", "BD09": "bd09", "BAIDU": "bd09"}
DATUM_ZH = {"gcj02": "GCJ-02 (国测局坐标, 高德/腾讯)", "bd09": "BD-09 (百度坐标)"}
OUTSIDE_TOLERANCE_M = 500          # an institution this close to a township still counts as inside
FAR_KM = 30                         # the county's nearest point this far from the institutions' centre: wrong place


def china_datum(crs: str | None) -> str | None:
    """'gcj02' / 'bd09' when ``crs`` names a Chinese datum, else None."""
    if not crs:
        return None
    return DATUMS.get(crs.strip().upper().replace("_", "-")) or DATUMS.get(crs.strip().upper().replace("-", ""))


def datum_to_wgs84(geom: shapely.Geometry, datum: str) -> shapely.Geometry:
    """Every coordinate of ``geom`` from GCJ-02 or BD-09 longitude/latitude to WGS-84."""
    import prcoords
    convert = prcoords.gcj_wgs_bored if datum == "gcj02" else prcoords.bd_wgs_bored

    def fix(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        for i, (lon, lat) in enumerate(coords):
            c = convert(prcoords.Coords(lat, lon))
            out[i] = (c.lon, c.lat)
        return out
    return shapely.transform(geom, fix)


# ---------------------------------------------------------------------------------------------------------------
# encodings


def _cjk_share(text: str) -> float:
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return 0.0
    return sum(1 for ch in wide if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
               or "\uff00" <= ch <= "\uffef") / len(wide)


def unmangle(text: str) -> tuple[str, str] | None:
    """(what ``text`` says, encoding) when it is Chinese read as Latin-1 (mojibake); None when it is not."""
    if not any("\u0080" <= ch <= "\u00ff" for ch in text):
        return None
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    for codec in ("utf-8", "gb18030"):
        try:
            fixed = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if _cjk_share(fixed) >= 0.9:
            return fixed, "gbk" if codec == "gb18030" else codec
    return None


def mojibake(columns: list[str], frame: pd.DataFrame, limit: int = 200) -> list[str]:
    """Descriptions of garbled field names and values (at most a few), empty when the text reads right."""
    found = []
    for name in columns:
        hit = unmangle(str(name))
        if hit:
            found.append(f"字段名 {name!r} 应为 {hit[0]!r} (按 {hit[1]} 读)")
    for name in columns:
        if name == "geometry" or frame[name].dtype != object:
            continue
        for value in frame[name].dropna().astype(str).head(limit):
            hit = unmangle(value) if "\ufffd" not in value else (value, "?")
            if hit:
                found.append(f"字段 {name} 的值 {value!r}" + (f" 应为 {hit[0]!r} (按 {hit[1]} 读)" if hit[1] != "?"
                                                             else " 含无法解码的字符"))
                break
    return found[:6]


# ---------------------------------------------------------------------------------------------------------------
# topology


def _ring_problem(ring: list) -> str | None:
    if len(ring) < 4:
        return f"环的点数不足 4 个 (ring of {len(ring)} points)"
    if list(ring[0]) != list(ring[-1]):
        return "环未闭合, 首尾点不同 (unclosed ring)"
    return None


def geojson_feature_problems(path: Path, key: str, name_field: str | None) -> list[str]:
    """Per-feature problems of a GeoJSON file that the reader refused as a whole (e.g. an unclosed ring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for n, feature in enumerate(data.get("features") or [], start=1):
        props = feature.get("properties") or {}
        geom = feature.get("geometry") or {}
        polys = {"Polygon": [geom.get("coordinates") or []],
                 "MultiPolygon": geom.get("coordinates") or []}.get(geom.get("type"), [])
        problems = {p for poly in polys for ring in poly if (p := _ring_problem(ring))}
        if problems:
            out.append(f"{feature_label(n, props.get(key), props.get(name_field) if name_field else None)}: "
                       + "; ".join(sorted(problems)))
    return out


def feature_label(n: int, code: object, name: object) -> str:
    """'第 3 个要素 (代码 330100101, 名称 城关镇)'."""
    parts = [f"代码 {code}" if code not in (None, "") else "无代码"]
    if name not in (None, "") and not (isinstance(name, float) and math.isnan(name)):
        parts.append(f"名称 {name}")
    return f"第 {n} 个要素 ({', '.join(parts)})"


def validity_reason(geom: shapely.Geometry) -> str:
    """Why a geometry is invalid, in Chinese first (GEOS' reason after it)."""
    reason = shapely.is_valid_reason(geom)
    zh = "自相交" if "Self-intersection" in reason else "环自相交" if "Ring Self" in reason else \
        "洞在面外" if "Hole lies outside" in reason else "拓扑无效"
    return f"{zh} ({reason})"


# ---------------------------------------------------------------------------------------------------------------
# codes


def code_shape(code: str) -> str:
    """The shape of a code in words: '9 位数字', '12 位数字', '6 位字母数字', '含小数点/科学计数法'."""
    if re.fullmatch(r"[0-9]+", code):
        return f"{len(code)} 位数字"
    if re.fullmatch(r"[0-9.]+[eE][+-]?[0-9]+|[0-9]+\.[0-9]+", code):
        return "数字格式 (小数点或科学计数法)"
    if re.fullmatch(r"[A-Za-z0-9]+", code):
        return f"{len(code)} 位字母数字"
    return f"{len(code)} 个字符 (含其他符号)"


def shape_samples(codes: list[str], per_shape: int = 2, shapes: int = 6) -> str:
    """Samples of ``codes`` chosen to show every shape of code: '9 位数字 ×15: 330100101, …; 12 位数字 ×3: …'."""
    groups: dict[str, list[str]] = {}
    for code in sorted(set(codes)):
        groups.setdefault(code_shape(code), []).append(code)
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    parts = [f"{shape} ×{len(items)}: {', '.join(items[:per_shape])}" for shape, items in ordered[:shapes]]
    return "; ".join(parts) + ("; …" if len(ordered) > shapes else "")


# ---------------------------------------------------------------------------------------------------------------
# spatial sanity


def _metres(lon: float, lat: float, lon0: float, lat0: float) -> float:
    k = 111_320.0
    return math.hypot((lon - lon0) * k * math.cos(math.radians((lat + lat0) / 2)), (lat - lat0) * k)


def spatial_problems(geoms: list[shapely.Geometry], institutions: pd.DataFrame) -> list[str]:
    """Institutions (inst_code, name, lon, lat) outside every township, and a county far from the institutions.

    Empty when the mart has no coordinates (nothing to compare with)."""
    inst = institutions.dropna(subset=["lon", "lat"]) if len(institutions) else institutions
    if not len(inst):
        return []
    county = shapely.union_all([g for g in geoms if g is not None])
    lon0, lat0 = float(inst["lon"].mean()), float(inst["lat"].mean())
    nearest = shapely.ops.nearest_points(county, shapely.Point(lon0, lat0))[0]
    problems = []
    far_km = _metres(nearest.x, nearest.y, lon0, lat0) / 1000
    if far_km > FAR_KM:
        problems.append(f"县域边界距机构分布中心 ({lon0:.4f}, {lat0:.4f}) 约 {far_km:.0f} km: 文件、坐标系或坐标基准"
                        "可能不对 (GCJ-02/BD-09 用 --crs 指定)")
    tol = OUTSIDE_TOLERANCE_M / 111_320.0
    zone = county.buffer(tol)
    outside = [(r.inst_code, r.name, r.lon, r.lat) for r in inst.itertuples()
               if not zone.covers(shapely.Point(float(r.lon), float(r.lat)))]
    if outside:
        shown = ", ".join(f"{c} {n} ({x:.4f}, {y:.4f})" for c, n, x, y in outside[:15])
        more = f" …（共 {len(outside)} 个）" if len(outside) > 15 else ""
        problems.append(f"{len(outside)}/{len(inst)} 个机构不在任何乡镇边界内 (容差 {OUTSIDE_TOLERANCE_M} m): {shown}{more}")
    return problems
