"""Geometry import of what counties really hand over: GBK shapefiles with and without .cpg, GCJ-02/BD-09 web-map
coordinates, a county in the wrong place, unclosed rings, name matching and code shapes — against a real (tiny)
DuckDB mart and through the real CLI. The files are made at test time (nothing can be downloaded here)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import prcoords
import pytest
import shapely
from click.testing import CliRunner

from geo import checks
from geo.cli import geo_group
from geo.importer import GeoImportError, import_townships
from geo.samples import grid_townships, write_geojson
from geo.store import read_townships
from mart.db import writer
from queries.maps import township_areas
from tests.test_geo_import import CODES, NAMES, _snapshot, county_env  # noqa: F401 - county_env is a fixture

ORIGIN = (119.3, 29.0)          # the grid the boundary files draw (cell 0.08°: 3 × 3 townships ≈ 24 km square)


def _with_institutions(cfg, points: list[tuple[str, float, float]]) -> None:
    with writer(cfg) as con:
        for i, (code, lon, lat) in enumerate(points):
            con.execute("INSERT INTO institution VALUES (?, ?, 'township_center', 'township', ?, NULL, ?, 40, ?, ?)",
                        [code, f"{code}卫生院", CODES[i % len(CODES)], 1 if i == 0 else 0, lon, lat])


def _centres() -> list[tuple[str, float, float]]:
    return [(f"T{i:03d}", p.representative_point().x, p.representative_point().y)
            for i, (_, _, p) in enumerate(grid_townships(CODES, NAMES, origin=ORIGIN))]


def _shapefile(folder: Path, cpg: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = grid_townships(CODES, NAMES, origin=ORIGIN)
    gdf = gpd.GeoDataFrame({"乡镇代码": [c for c, _, _ in rows], "乡镇名称": [n for _, n, _ in rows]},
                           geometry=[p for _, _, p in rows], crs=4326)
    path = folder / "townships.shp"
    gdf.to_file(path, encoding="gbk")
    if not cpg:
        (folder / "townships.cpg").unlink()
    else:
        assert (folder / "townships.cpg").read_text().strip().upper() == "GBK"
    return path


def test_gbk_shapefile_with_cpg_imports(county_env, tmp_path):
    cfg = county_env
    path = _shapefile(tmp_path / "cpg", cpg=True)
    report = import_townships(path, "乡镇代码", township_areas(cfg.mart_url), cfg.geo_dir, name_field="乡镇名称")
    assert report.townships == len(CODES)
    assert sorted(read_townships(cfg.geo_dir)["name"]) == sorted(NAMES)


def test_gbk_shapefile_without_cpg_is_refused_then_imports_with_encoding(county_env, tmp_path):
    cfg = county_env
    path = _shapefile(tmp_path / "nocpg", cpg=False)
    before = _snapshot(cfg)
    with pytest.raises(GeoImportError) as err:
        import_townships(path, "乡镇代码", township_areas(cfg.mart_url), cfg.geo_dir, name_field="乡镇名称")
    text = str(err.value)
    assert "乱码" in text and "ÏçÕò´úÂë" in text and "乡镇代码" in text and "--encoding gbk" in text
    assert _snapshot(cfg) == before
    report = import_townships(path, "乡镇代码", township_areas(cfg.mart_url), cfg.geo_dir, name_field="乡镇名称",
                              encoding="gbk")
    assert report.townships == len(CODES) and "城关镇" in set(read_townships(cfg.geo_dir)["name"])


def _gcj_file(path: Path, datum: str) -> Path:
    """The grid's WGS-84 townships shifted into GCJ-02 or BD-09, the way a web-map vendor delivers them."""
    forward = prcoords.wgs_gcj if datum == "gcj02" else prcoords.wgs_bd
    rows = [(c, n, shapely.transform(p, lambda xy: [(q.lon, q.lat) for q in
                                                 (forward(prcoords.Coords(y, x)) for x, y in xy)]))
            for c, n, p in grid_townships(CODES, NAMES, origin=ORIGIN)]
    return write_geojson(path, rows)


@pytest.mark.parametrize("datum, crs", [("gcj02", "GCJ-02"), ("bd09", "BD-09")])
def test_gcj02_and_bd09_are_converted_to_wgs84(county_env, tmp_path, datum, crs):
    cfg = county_env
    src = _gcj_file(tmp_path / f"{datum}.geojson", datum)
    truth = {c: p for c, _, p in grid_townships(CODES, NAMES, origin=ORIGIN)}
    report = import_townships(src, "area_code", township_areas(cfg.mart_url), cfg.geo_dir, crs=crs)
    assert "GCJ-02" in report.source_crs or "BD-09" in report.source_crs
    got = read_townships(cfg.geo_dir).set_index("area_code").geometry
    worst = max(shapely.hausdorff_distance(got[c], truth[c]) for c in CODES) * 111_320
    assert worst < 1.0, f"{worst:.3f} m"          # the iterative inverse: well under a metre
    # without --crs the same file lands hundreds of metres off: the shift is real
    shifted = gpd.read_file(src).set_index("area_code").geometry
    assert min(shapely.hausdorff_distance(shifted[c], truth[c]) for c in CODES) * 111_320 > 200


def test_misplaced_county_is_refused_unless_forced(county_env, tmp_path):
    cfg = county_env
    _with_institutions(cfg, _centres())
    far = write_geojson(tmp_path / "far.geojson", grid_townships(CODES, NAMES, origin=(113.0, 23.0)))
    before = _snapshot(cfg)
    runner = CliRunner()
    r = runner.invoke(geo_group, ["import", str(far), "--key", "area_code"])
    assert r.exit_code == 1 and "空间检查未通过" in r.output and "km" in r.output and "T000" in r.output
    assert "--force" in r.output and _snapshot(cfg) == before
    r = runner.invoke(geo_group, ["import", str(far), "--key", "area_code", "--force"])
    assert r.exit_code == 0 and "警告 (--force)" in r.output
    # the right place passes the check
    good = write_geojson(tmp_path / "good.geojson", grid_townships(CODES, NAMES, origin=ORIGIN))
    r = runner.invoke(geo_group, ["import", str(good), "--key", "area_code"])
    assert r.exit_code == 0, r.output


def test_institution_outside_every_township_is_listed(county_env, tmp_path):
    cfg = county_env
    _with_institutions(cfg, _centres() + [("X999", ORIGIN[0] + 0.5, ORIGIN[1] + 0.2)])
    src = write_geojson(tmp_path / "good.geojson", grid_townships(CODES, NAMES, origin=ORIGIN))
    r = CliRunner().invoke(geo_group, ["import", str(src), "--key", "area_code"])
    assert r.exit_code == 1 and "1/10 个机构不在任何乡镇边界内" in r.output and "X999" in r.output


def test_unclosed_ring_is_reported_per_feature(county_env, tmp_path):
    cfg = county_env
    src = write_geojson(tmp_path / "ring.geojson", grid_townships(CODES, NAMES, origin=ORIGIN))
    data = json.loads(src.read_text(encoding="utf-8"))
    data["features"][2]["geometry"]["coordinates"][0].pop()          # drop the closing point
    src.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(GeoImportError) as err:
        import_townships(src, "area_code", township_areas(cfg.mart_url), cfg.geo_dir, name_field="name")
    assert f"第 3 个要素 (代码 {CODES[2]}, 名称 {NAMES[2]}): 环未闭合" in str(err.value)


def test_self_intersection_is_named_with_code_and_name(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES, origin=ORIGIN)
    x, y = ORIGIN
    bow = shapely.Polygon([(x, y), (x + 0.08, y - 0.08), (x + 0.08, y), (x, y - 0.08), (x, y)])
    rows[0] = (rows[0][0], rows[0][1], bow)
    src = write_geojson(tmp_path / "bow.geojson", rows)
    report = import_townships(src, "area_code", township_areas(cfg.mart_url), cfg.geo_dir, name_field="name")
    assert report.repaired == [CODES[0]]
    assert report.repair_notes[0].startswith(f"第 1 个要素 (代码 {CODES[0]}, 名称 {NAMES[0]}): 自相交")


def test_match_by_name_with_a_table_both_ways(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES, origin=ORIGIN)
    # the vendor's file uses 12-digit village-style codes for three townships and adds one that is not ours
    rows = [(c + "000" if i < 3 else c, n, p) for i, (c, n, p) in enumerate(rows)]
    rows.append(("330100999000", "外县镇", shapely.box(ORIGIN[0] + 0.3, ORIGIN[1] - 0.1, ORIGIN[0] + 0.35,
                                                     ORIGIN[1] - 0.05)))
    src = write_geojson(tmp_path / "vendor.geojson", rows)
    with pytest.raises(GeoImportError) as err:           # by code: refused, the code shapes say why
        import_townships(src, "area_code", township_areas(cfg.mart_url), cfg.geo_dir, name_field="name")
    assert "12 位数字 ×4" in str(err.value) and "9 位数字 ×6" in str(err.value) and "--match name" in str(err.value)
    r = CliRunner().invoke(geo_group, ["import", str(src), "--key", "area_code", "--name", "name", "--match", "name"])
    assert r.exit_code == 0, r.output
    assert f"{CODES[0]} | {NAMES[0]} | {CODES[0]}000 | {NAMES[0]} | 名称" in r.output
    assert f"{CODES[5]} | {NAMES[5]} | {CODES[5]} | {NAMES[5]} | 代码" in r.output
    assert "— | — | 330100999000 | 外县镇 | 未匹配" in r.output
    assert set(read_townships(cfg.geo_dir)["area_code"]) == set(CODES)


def test_code_shapes_and_mojibake_units() -> None:
    assert checks.code_shape("330100101") == "9 位数字" and checks.code_shape("3.31099E+08").startswith("数字格式")
    assert checks.shape_samples(["330100101", "330100102", "330100101001"]) == \
        "9 位数字 ×2: 330100101, 330100102; 12 位数字 ×1: 330100101001"
    assert checks.unmangle("ÏçÕò´úÂë") == ("乡镇代码", "gbk")
    assert checks.unmangle("Café") is None and checks.unmangle("城关镇") is None
    assert checks.china_datum("gcj02") == "gcj02" and checks.china_datum("BD-09") == "bd09"
    assert checks.china_datum("EPSG:4326") is None
    # the round trip of the datum conversion (what the accuracy note in docs/maps.md quotes)
    worst = 0.0
    for lon in (119.3, 119.65, 120.1):
        for lat in (28.8, 29.08, 29.4):
            g = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
            back = prcoords.gcj_wgs_bored(g)
            worst = max(worst, math.hypot((back.lon - lon) * 97_000, (back.lat - lat) * 111_320))
    assert worst < 0.5
