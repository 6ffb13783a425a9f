"""Geometry import: good and bad boundary files against a real (tiny) DuckDB mart, through the real CLI."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, Polygon

from core.config import load_config
from geo.importer import GeoImportError, import_townships, read_boundaries
from geo.samples import grid_townships, write_geojson
from geo.store import COUNTY_FILE, TOWNSHIPS_FILE, clear_cache, display_geometry, read_townships
from mart.connection import dispose_engines
from mart.db import writer
from queries.maps import township_areas

CODES = [f"3301001{i:02d}" for i in range(1, 10)]
NAMES = ["城关镇", "东岭镇", "西溪乡", "南湖镇", "北山乡", "青石镇", "白沙乡", "梅岭镇", "龙泉乡"]


@pytest.fixture()
def county_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A DATA_DIR with a mart holding the county and 9 townships, and the demo-like geometry already there."""
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.delenv("MART_URL", raising=False)
    cfg = load_config()
    with writer(cfg) as con:
        con.execute("INSERT INTO area VALUES ('330100', '示范县', 'county', NULL, 300000)")
        for code, name in zip(CODES, NAMES):
            con.execute("INSERT INTO area VALUES (?, ?, 'township', '330100', 20000)", [code, name])
    write_geojson(cfg.geo_dir / TOWNSHIPS_FILE, grid_townships(CODES, NAMES, origin=(100.0, 10.0), cell=0.3))
    clear_cache()
    yield cfg
    dispose_engines()
    clear_cache()


def _townships(cfg):
    return township_areas(cfg.mart_url)


def _snapshot(cfg) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cfg.geo_dir.iterdir())}


def test_good_file_replaces_geometry(county_env, tmp_path):
    cfg = county_env
    src = write_geojson(tmp_path / "real.geojson", grid_townships(CODES, [f"真{n}" for n in NAMES]),
                        key="XZQDM", name_key="XZQMC")
    report = import_townships(src, "XZQDM", _townships(cfg), cfg.geo_dir, name_field="XZQMC")
    assert report.townships == len(CODES) and not report.extra_codes and not report.repaired
    gdf = read_townships(cfg.geo_dir)
    assert sorted(gdf["area_code"]) == CODES
    assert set(gdf["name"]) == {f"真{n}" for n in NAMES}
    # the demo geometry sat near (100, 10); the real one near (119.3, 29)
    assert 119 < gdf.total_bounds[0] < 120
    county = gpd.read_file(cfg.geo_dir / COUNTY_FILE)
    assert len(county) == 1
    assert county.geometry[0].area == pytest.approx(shapely.union_all(gdf.geometry.values).area, rel=1e-6)
    # the previous files are kept
    assert (cfg.geo_dir / (TOWNSHIPS_FILE + ".bak")).exists()
    disp = display_geometry(cfg.geo_dir)
    assert set(disp.code_to_name) == set(CODES)


def test_names_default_to_the_mart_and_numeric_codes_match(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES)
    gdf = gpd.GeoDataFrame({"code": [int(c) for c, _, _ in rows]}, geometry=[p for _, _, p in rows], crs=4326)
    src = tmp_path / "numeric.geojson"
    gdf.to_file(src, driver="GeoJSON")
    report = import_townships(src, "code", _townships(cfg), cfg.geo_dir)
    assert report.townships == len(CODES)
    assert dict(zip(read_townships(cfg.geo_dir)["area_code"], read_townships(cfg.geo_dir)["name"])) == \
        dict(zip(CODES, NAMES))


def test_projected_crs_is_converted_to_wgs84(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES, origin=(119.3, 29.0))
    wgs = gpd.GeoDataFrame({"dm": CODES}, geometry=[p for _, _, p in rows], crs=4326)
    src = tmp_path / "cgcs.gpkg"
    wgs.to_crs(4549).to_file(src, driver="GPKG")        # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    report = import_townships(src, "dm", _townships(cfg), cfg.geo_dir)
    assert "4549" in report.source_crs
    back = read_townships(cfg.geo_dir)
    assert back.total_bounds == pytest.approx(wgs.total_bounds, abs=1e-6)


def test_shapefile_without_crs_needs_crs_option(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES)
    projected = gpd.GeoDataFrame({"dm": CODES}, geometry=[p for _, _, p in rows], crs=4326).to_crs(4549)
    src = tmp_path / "shp" / "towns.shp"
    src.parent.mkdir()
    projected.to_file(src)
    src.with_suffix(".prj").unlink()                    # a shapefile that lost its .prj
    before = _snapshot(cfg)
    with pytest.raises(GeoImportError, match="--crs"):
        import_townships(src, "dm", _townships(cfg), cfg.geo_dir)
    assert _snapshot(cfg) == before
    report = import_townships(src, "dm", _townships(cfg), cfg.geo_dir, crs="EPSG:4549")
    assert report.townships == len(CODES)
    assert 119 < read_townships(cfg.geo_dir).total_bounds[0] < 120


def test_invalid_polygon_is_repaired(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES)
    code, name, poly = rows[4]
    minx, miny, maxx, maxy = poly.bounds
    bowtie = Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy), (minx, miny)])
    assert not bowtie.is_valid
    rows[4] = (code, name, bowtie)
    src = write_geojson(tmp_path / "bowtie.geojson", rows)
    report = import_townships(src, "area_code", _townships(cfg), cfg.geo_dir)
    assert report.repaired == [code]
    stored = read_townships(cfg.geo_dir)
    assert stored.geometry.is_valid.all()
    assert stored.set_index("area_code").geometry[code].geom_type in ("Polygon", "MultiPolygon")


def test_missing_townships_are_listed_and_nothing_written(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES, NAMES)
    src = write_geojson(tmp_path / "partial.geojson", rows[:-2])
    before = _snapshot(cfg)
    with pytest.raises(GeoImportError) as err:
        import_townships(src, "area_code", _townships(cfg), cfg.geo_dir)
    assert CODES[-1] in str(err.value) and CODES[-2] in str(err.value)
    assert CODES[0] + "," not in str(err.value).split("文件中的代码 (按形式)")[0]
    assert _snapshot(cfg) == before


def test_extra_codes_are_ignored_and_split_townships_merged(county_env, tmp_path):
    cfg = county_env
    rows = grid_townships(CODES + ["999999999"], NAMES + ["邻县某镇"])
    # township 1 drawn as two features (e.g. an enclave)
    island = Point(119.0, 29.2).buffer(0.01)
    rows.append((CODES[0], NAMES[0], island))
    src = write_geojson(tmp_path / "wide.geojson", rows)
    report = import_townships(src, "area_code", _townships(cfg), cfg.geo_dir)
    assert report.extra_codes == ["999999999"]
    assert report.merged_codes == [CODES[0]]
    stored = read_townships(cfg.geo_dir).set_index("area_code")
    assert "999999999" not in stored.index
    assert stored.geometry[CODES[0]].geom_type == "MultiPolygon"


@pytest.mark.parametrize("case", ["no_key", "points", "empty_code", "not_geo", "no_features"])
def test_bad_files_are_refused(county_env, tmp_path, case):
    cfg = county_env
    rows = grid_townships(CODES, NAMES)
    src = tmp_path / f"{case}.geojson"
    key = "area_code"
    if case == "no_key":
        write_geojson(src, rows, key="CODE")
        match = "CODE"
    elif case == "points":
        pts = [(c, n, p.centroid) for c, n, p in rows]
        write_geojson(src, pts)
        match = "不是有效的面"
    elif case == "empty_code":
        rows[3] = ("", rows[3][1], rows[3][2])
        write_geojson(src, rows)
        match = "为空"
    elif case == "not_geo":
        src.write_text("this is not json", encoding="utf-8")
        match = "无法读取"
    else:
        src.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
        match = "没有要素|无法读取"
    before = _snapshot(cfg)
    with pytest.raises(GeoImportError, match=match if case != "no_key" else "CODE|area_code"):
        import_townships(src, key, _townships(cfg), cfg.geo_dir)
    assert _snapshot(cfg) == before


def test_read_boundaries_reports_missing_field_with_the_fields_present(tmp_path):
    src = write_geojson(tmp_path / "f.geojson", grid_townships(CODES[:2], NAMES[:2]), key="XZQDM")
    with pytest.raises(GeoImportError) as err:
        read_boundaries(src, "code")
    assert "XZQDM" in str(err.value)


def test_cli_import_good_and_bad(county_env, tmp_path):
    from app import cli

    cfg = county_env
    runner = CliRunner()
    bad = write_geojson(tmp_path / "bad.geojson", grid_townships(CODES[:5], NAMES[:5]))
    before = _snapshot(cfg)
    res = runner.invoke(cli, ["geo", "import", str(bad), "--key", "area_code"])
    assert res.exit_code != 0
    assert "未做任何修改" in res.output and CODES[-1] in res.output
    assert _snapshot(cfg) == before

    good = write_geojson(tmp_path / "good.geojson", grid_townships(CODES, NAMES), key="XZQDM")
    res = runner.invoke(cli, ["geo", "import", str(good), "--key", "XZQDM"])
    assert res.exit_code == 0, res.output
    assert f"已导入 {len(CODES)} 个乡镇边界" in res.output
    res = runner.invoke(cli, ["geo", "info"])
    assert res.exit_code == 0 and f"乡镇 {len(CODES)} 个" in res.output


def test_institution_points_file_overrides_positions(tmp_path):
    from geo.store import institution_overrides
    assert institution_overrides(tmp_path) == {}
    pts = gpd.GeoDataFrame({"inst_code": ["H001", "T001"]},
                           geometry=[Point(119.6, 29.1), Point(119.7, 29.2)], crs=4326).to_crs(4549)
    pts.to_file(tmp_path / "institutions.geojson", driver="GeoJSON")
    got = institution_overrides(tmp_path)
    assert got["H001"] == pytest.approx((119.6, 29.1), abs=1e-6)
    assert got["T001"] == pytest.approx((119.7, 29.2), abs=1e-6)
