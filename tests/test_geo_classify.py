"""Legend classification (quantile, equal interval, natural breaks), display simplification and option builders."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.classify import METHODS, NO_DATA_COLOR, NO_DATA_LABEL, classify, legend_decimals, palette
from geo.options import (
    FLOW_COLORS,
    STATUS_COLORS,
    health_option,
    institutions_option,
    label_points,
    option_size,
    px_per_degree,
    reform_option,
    select_flows,
    spread_colocated,
)
from geo.samples import grid_townships, write_geojson
from geo.store import build_display, clear_cache, display_geometry, read_townships


def test_quantile_puts_equal_counts_in_each_class():
    values = list(range(1, 21))
    c = classify(values, "quantile", 4)
    assert c.k == 4 and c.counts == [5, 5, 5, 5]
    assert c.bounds[0] == 1 and c.bounds[-1] == 20


def test_equal_interval_has_equal_widths():
    values = [0, 1, 2, 3, 50, 97, 100]
    c = classify(values, "equal_interval", 4)
    widths = np.diff(c.bounds)
    assert widths == pytest.approx([25, 25, 25, 25])
    assert c.classes == [0, 0, 0, 0, 1, 3, 3]


def test_natural_breaks_separates_clusters():
    values = [1.0, 1.2, 1.1, 5.0, 5.3, 5.1, 9.8, 10.0, 9.9]
    c = classify(values, "natural_breaks", 3)
    assert c.classes == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # quantile cuts the same data differently only where clusters are unequal; here they agree
    assert classify(values, "quantile", 3).classes == c.classes


def test_missing_values_get_the_no_data_class():
    c = classify([3.0, None, float("nan"), 7.0, 5.0, float("inf")], "quantile", 3)
    assert c.classes[1] == c.classes[2] == c.classes[5] == -1
    assert c.no_data == 3
    assert c.color_of(-1) == NO_DATA_COLOR
    legend = c.legend()
    assert legend[-1] == {"label": NO_DATA_LABEL, "color": NO_DATA_COLOR, "count": 3}
    assert NO_DATA_COLOR not in c.colors


def test_fewer_distinct_values_than_classes():
    c = classify([2.0, 2.0, 4.0, 4.0, 4.0], "natural_breaks", 5)
    assert c.k == 2 and c.counts == [2, 3]
    single = classify([7.5, 7.5, None], "equal_interval", 5)
    assert single.k == 1 and single.classes == [0, 0, -1] and single.labels == ["7.5"]
    none = classify([None, None], "quantile", 5)
    assert none.k == 0 and none.classes == [-1, -1] and none.legend()[0]["label"] == NO_DATA_LABEL


def test_tied_quantiles_never_make_empty_classes():
    values = [1.0] * 12 + [2.0, 3.0, 4.0, 5.0]
    c = classify(values, "quantile", 5)
    assert all(n > 0 for n in c.counts)
    assert sum(c.counts) == len(values)


def test_interpolated_quantile_never_leaves_an_empty_class():
    # found by hypothesis: the 40 % quantile of these falls between 0 and 1
    c = classify([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, -1.0], "quantile", 5)
    assert all(n > 0 for n in c.counts) and sum(c.counts) == 7


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="method"):
        classify([1, 2, 3], "jenks2", 3)
    with pytest.raises(ValueError, match="between"):
        classify([1, 2, 3], "quantile", 12)


def test_palette_runs_light_to_dark_and_by_direction():
    up, down = palette(5, "up"), palette(5, "down")
    assert len(set(up)) == 5 and up != down

    def lum(hex_color: str) -> float:
        r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
        return 0.299 * r + 0.587 * g + 0.114 * b
    assert all(lum(a) > lum(b) for a, b in zip(up, up[1:]))


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
                       min_size=1, max_size=40),
       method=st.sampled_from(sorted(METHODS)), k=st.integers(min_value=2, max_value=7))
def test_classes_are_ordered_and_contain_their_values(values, method, k):
    c = classify(values, method, k)
    valid = [v for v in values if v is not None]
    assert c.no_data == len(values) - len(valid)
    assert c.k <= min(k, len(set(valid)) or 0) or (c.k == 0 and not valid)
    assert sum(c.counts) == len(valid)
    if method == "equal_interval":
        # equal widths may leave a middle class empty; the end classes hold the min and the max
        assert not c.counts or (c.counts[0] > 0 and c.counts[-1] > 0)
    else:
        assert all(n > 0 for n in c.counts)
    assert c.bounds == sorted(c.bounds)
    for v, cls in zip(values, c.classes):
        if v is None:
            assert cls == -1
            continue
        lo, hi = c.bounds[cls], c.bounds[cls + 1]
        assert lo - 1e-9 <= v <= hi + 1e-9
    # a larger value never lands in a lower class
    pairs = sorted((v, cls) for v, cls in zip(values, c.classes) if v is not None)
    assert [cls for _, cls in pairs] == sorted(cls for _, cls in pairs)


# ---------------------------------------------------------------------------------------------- display geometry
CODES = [f"T{i:02d}" for i in range(16)]


def test_display_geometry_is_simplified_under_budget_and_cached(tmp_path):
    # a heavy file: 16 townships with 4000 points per edge (several MB)
    src = write_geojson(tmp_path / "townships.geojson", grid_townships(CODES, points_per_edge=4000))
    assert src.stat().st_size > 3_000_000
    clear_cache()
    disp = display_geometry(tmp_path)
    assert disp.nbytes < 1_000_000
    assert set(disp.code_to_name) == set(CODES)
    # coordinates rounded to 5 decimals
    ring = disp.geojson["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) > 4 and all(round(x, 5) == x and round(y, 5) == y for x, y in ring)
    assert display_geometry(tmp_path) is disp
    # the simplified coverage has no overlaps: areas add up to the union's
    import shapely
    from shapely.geometry import shape
    geoms = [shape(f["geometry"]) for f in disp.geojson["features"]]
    assert all(g.is_valid for g in geoms)
    assert sum(g.area for g in geoms) == pytest.approx(shapely.union_all(geoms).area, rel=1e-3)
    # a smaller budget forces a coarser tolerance
    tight = build_display(read_townships(tmp_path), None, budget_bytes=60_000)
    assert tight.nbytes <= 60_000 and tight.tolerance > disp.tolerance


def test_duplicate_township_names_stay_distinct(tmp_path):
    write_geojson(tmp_path / "townships.geojson", grid_townships(["A1", "A2", "A3"], ["新村镇", "新村镇", "东镇"]))
    clear_cache()
    disp = display_geometry(tmp_path)
    assert len(disp.name_to_code) == 3 and disp.name_to_code["东镇"] == "A3"


# ---------------------------------------------------------------------------------------------- option builders
@pytest.fixture()
def disp(tmp_path):
    write_geojson(tmp_path / "townships.geojson", grid_townships(CODES[:9], [f"镇{i}" for i in range(9)]))
    clear_cache()
    return display_geometry(tmp_path)


def test_institutions_option_symbols_sizes_and_status_colours(disp):
    insts = pd.DataFrame([
        dict(inst_code="H1", name="县医院", inst_type="general_hospital", township_name="镇0", lon=119.35, lat=28.95,
             volume=90000, op_visits=80000, discharges=10000, value=12.3, status="达标", target="≤ 20%"),
        dict(inst_code="T1", name="一号卫生院", inst_type="township_center", township_name="镇1", lon=119.43,
             lat=28.95, volume=9000, op_visits=9000, discharges=0, value=30.0, status="未达标", target="≤ 20%"),
        dict(inst_code="T2", name="二号卫生院", inst_type="township_center", township_name="镇2", lon=119.5,
             lat=28.95, volume=1000, op_visits=1000, discharges=0, value=None, status=None, target=None),
        dict(inst_code="V1", name="一村", inst_type="village_clinic", township_name="镇1", lon=None, lat=None,
             volume=10, op_visits=10, discharges=0, value=None, status=None, target=None),
    ])
    opt = institutions_option(disp, insts, "门诊抗菌药物使用率", "%", 1)
    assert opt["_geo"]["name"] == disp.map_name and opt["geo"]["map"] == disp.map_name
    scatter = {s["name"]: s for s in opt["series"] if s["type"] == "scatter"}
    assert scatter["县级医院"]["symbol"] == "pin" and scatter["乡镇卫生院/社区中心"]["symbol"] == "circle"
    h1 = scatter["县级医院"]["data"][0]
    assert h1["code"] == "H1" and h1["itemStyle"]["color"] == STATUS_COLORS["达标"]
    assert "12.3%" in h1["tooltip"]["formatter"] and "{" not in h1["tooltip"]["formatter"]
    centres = scatter["乡镇卫生院/社区中心"]["data"]
    assert centres[0]["symbolSize"] > centres[1]["symbolSize"]          # bigger volume, bigger symbol
    assert centres[0]["itemStyle"]["color"] == STATUS_COLORS["未达标"]
    assert centres[1]["itemStyle"]["color"] == STATUS_COLORS[None]
    assert scatter["村卫生室"]["data"] == []                              # no coordinates, not drawn
    json.dumps(opt)                                                     # JSON-able


def test_health_option_colours_regions_by_class(disp):
    codes = list(disp.code_to_name)
    values = pd.DataFrame({"area_code": codes, "value": [float(i) if i != 4 else None for i in range(9)],
                           "numerator": range(9), "denominator": [100] * 9})
    classes = classify(values["value"].tolist(), "quantile", 4)
    opt = health_option(disp, values, classes, "居民住院率", "%", 1)
    regions = {r["name"]: r for r in opt["geo"]["regions"]}
    assert len(regions) == 9
    assert regions[disp.code_to_name[codes[4]]]["itemStyle"]["areaColor"] == NO_DATA_COLOR
    assert regions[disp.code_to_name[codes[8]]]["itemStyle"]["areaColor"] == classes.colors[-1]
    assert regions[disp.code_to_name[codes[0]]]["itemStyle"]["areaColor"] == classes.colors[0]
    assert "8.0" in regions[disp.code_to_name[codes[8]]]["label"]["formatter"]


def test_select_flows_thresholds_per_direction():
    flows = pd.DataFrame({
        "direction": ["up"] * 5 + ["down"] * 3,
        "from_inst_code": list("ABCDE") + list("XYZ"), "to_inst_code": ["H"] * 5 + list("abc"),
        "referrals": [100, 60, 20, 4, 0, 10, 9, 1],
    })
    kept = select_flows(flows, top_n=2, min_share=0.05)
    assert sorted(kept[kept.direction == "up"].referrals) == [60, 100]
    assert sorted(kept[kept.direction == "down"].referrals) == [9, 10]
    loose = select_flows(flows, top_n=10, min_share=0.05)
    assert sorted(loose[loose.direction == "up"].referrals) == [20, 60, 100]    # 4 < 5 % of 100, 0 dropped
    assert sorted(loose[loose.direction == "down"].referrals) == [1, 9, 10]


def test_reform_option_has_two_animated_flow_series(disp):
    codes = list(disp.code_to_name)
    values = pd.DataFrame({"area_code": codes, "value": np.linspace(40, 80, 9), "numerator": 1, "denominator": 2})
    classes = classify(values["value"].tolist(), "equal_interval", 3)
    flows = pd.DataFrame({"direction": ["up", "up", "down"], "from_inst_code": ["T1", "T2", "H1"],
                          "to_inst_code": ["H1", "H1", "T1"], "referrals": [50, 10, 20]})
    pos = {"H1": (119.35, 28.95), "T1": (119.43, 28.9), "T2": (119.5, 28.85)}
    names = {"H1": "县医院", "T1": "一号卫生院", "T2": "二号卫生院"}
    opt = reform_option(disp, values, classes, "县域内基层诊疗人次占比", flows, pos, names, "%", 1)
    lines = {s["name"]: s for s in opt["series"] if s["type"] == "lines" and s.get("effect")}
    assert set(lines) == {"上转", "下转"}
    assert lines["上转"]["lineStyle"]["color"] == FLOW_COLORS["up"] != lines["下转"]["lineStyle"]["color"]
    up = lines["上转"]["data"]
    assert up[0]["lineStyle"]["width"] > up[1]["lineStyle"]["width"]
    assert lines["上转"]["effect"]["show"] is True
    assert option_size(opt) < 1_000_000
    assert all(not math.isnan(c) for d in up for pt in d["coords"] for c in pt)


# ---------------------------------------------------------------------------------------------- issue 6 audit
def _bounds_of(label: str) -> list[str]:
    return [part.strip() for part in label.split("–")]


def test_legend_labels_tell_close_class_bounds_apart():
    # 居民人均就诊次数 by township: the 4th quantile class read "0.60 – 0.60" at the indicator's 2 decimals
    values = [0.50, 0.52, 0.55, 0.56, 0.565, 0.58, 0.585, 0.59, 0.598, 0.599, 0.6004, 0.6012, 0.605, 0.62]
    c = classify(values, "quantile", 5, decimals=2)
    assert c.k == 5
    for label in c.labels:
        parts = _bounds_of(label)
        assert len(parts) == 1 or parts[0] != parts[1], c.labels
    printed = [_bounds_of(lab)[-1] for lab in c.labels]
    assert len(set(printed)) == len(printed), c.labels
    # no more decimals than needed: well separated bounds keep the indicator's own
    assert classify([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "quantile", 3, decimals=1).labels[0].count(".") and \
        all(len(p.split(".")[1]) == 1 for lab in classify([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "quantile", 3).labels
            for p in _bounds_of(lab))
    assert legend_decimals([0.5, 0.598, 0.6033, 0.62], 2) == 3
    assert c.decimals == 3


def test_township_value_labels_are_as_precise_as_the_legend(disp):
    codes = list(disp.code_to_name)
    values = pd.DataFrame({"area_code": codes, "value": [0.5, 0.55, 0.58, 0.597, 0.598, 0.6003, 0.601, 0.604, 0.62],
                           "numerator": 1, "denominator": 2})
    classes = classify(values["value"].tolist(), "quantile", 5, decimals=2)
    opt = health_option(disp, values, classes, "居民人均就诊次数", "次", 2)
    regions = {r["name"]: r for r in opt["geo"]["regions"]}
    assert classes.decimals == 3
    assert regions[disp.code_to_name[codes[4]]]["label"]["formatter"].endswith("0.598")


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=2000).map(lambda i: i / 1000), min_size=3, max_size=30),
       method=st.sampled_from(sorted(METHODS)), k=st.integers(min_value=2, max_value=7))
def test_adjacent_legend_bounds_never_print_alike(values, method, k):
    c = classify(values, method, k, decimals=1)
    printed = [b for lab in c.labels for b in _bounds_of(lab)]
    uppers = [_bounds_of(lab)[-1] for lab in c.labels]
    assert len(set(uppers)) == len(uppers), c.labels
    assert all(len(_bounds_of(lab)) == 1 or _bounds_of(lab)[0] != _bounds_of(lab)[1] for lab in c.labels)
    assert printed


def test_natural_breaks_of_many_values_is_fast_and_stable():
    import time
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(45, 1, 1500), rng.normal(95, 3, 80), rng.normal(220, 20, 6)]).tolist()
    t0 = time.perf_counter()
    a = classify(values, "natural_breaks", 5)
    assert time.perf_counter() - t0 < 1.0
    assert a == classify(values, "natural_breaks", 5)            # no random sampling
    # the clusters stay apart: every value near 45 below every value near 95
    assert max(a.classes[:1500]) < min(a.classes[1500:1580])


def test_palette_can_start_darker_for_small_symbols():
    light, dark = palette(5, "down"), palette(5, "down", lightest=3)
    assert dark[-1] == light[-1] and dark[0] != light[0]
    assert classify([1, 2, 3, 4, 5], "quantile", 5, direction="down", lightest=3).colors == dark


def test_colocated_symbols_are_spread_on_a_ring(disp):
    lon, lat = 119.5, 28.95
    pts = [("H1", lon, lat, 46.0), ("H2", lon + 0.0002, lat, 36.0), ("H3", lon, lat + 0.0001, 30.0),
           ("T1", lon + 0.2, lat + 0.1, 10.0)]
    out = spread_colocated(pts, disp)
    assert out == spread_colocated(pts, disp)                       # deterministic
    assert out["T1"] == (lon + 0.2, lat + 0.1)                       # a lone symbol keeps its place
    ppd, aspect = px_per_degree(disp), math.cos(math.radians((disp.bbox[1] + disp.bbox[3]) / 2))
    xy = {c: (out[c][0] * aspect * ppd, out[c][1] * ppd) for c in ("H1", "H2", "H3")}
    gaps = [math.dist(xy[a], xy[b]) for a, b in (("H1", "H2"), ("H1", "H3"), ("H2", "H3"))]
    assert min(gaps) >= 0.8 * 46 - 0.5                               # apart by most of the largest pin
    centre = np.mean([xy[c] for c in xy], axis=0)
    assert math.dist(centre, (lon * aspect * ppd, lat * ppd)) < 2     # around where they stand


def test_institutions_option_spreads_pins_but_not_the_data(disp):
    insts = pd.DataFrame([
        dict(inst_code=f"H{i}", name=f"医院{i}", inst_type="county_hospital", township_name="镇0", lon=119.5,
             lat=28.95, volume=1000 * (i + 1), op_visits=1000, discharges=0, value=1.0, status=None, target=None)
        for i in range(3)])
    before = insts.copy()
    opt = institutions_option(disp, insts, "x", "", 1)
    pins = next(s for s in opt["series"] if s["name"] == "县级医院")["data"]
    assert len({tuple(d["value"][:2]) for d in pins}) == 3
    pd.testing.assert_frame_equal(insts, before)


def test_township_labels_keep_clear_of_symbols(disp):
    from geo.options import LABEL_GAP_PX
    code = next(iter(disp.code_to_name))
    name = disp.code_to_name[code]
    cx, cy = disp.centroids[code]
    symbols = [(cx, cy, 30.0)]                                      # a big symbol where the label would go
    places = label_points(disp, symbols)
    ppd, aspect = px_per_degree(disp), math.cos(math.radians((disp.bbox[1] + disp.bbox[3]) / 2))
    lx, ly = places[name]
    half_w, half_h = (len(name) * 11 + 4) / 2, 15 / 2
    dx = max(abs(lx - cx) * aspect * ppd - half_w, 0)
    dy = max(abs(ly - cy) * ppd - half_h, 0)
    assert math.hypot(dx, dy) - 15 >= LABEL_GAP_PX - 0.01
    from shapely.geometry import Point, shape
    feature = next(f for f in disp.geojson["features"] if f["properties"]["area_code"] == code)
    assert shape(feature["geometry"]).contains(Point(lx, ly))
    # without symbols the label stays at the township's representative point (to the grid's 4 px)
    free = label_points(disp, [])[name]
    assert math.hypot((free[0] - cx) * aspect * ppd, (free[1] - cy) * ppd) <= 4


def test_reform_option_labels_ride_above_the_flows(disp):
    codes = list(disp.code_to_name)
    values = pd.DataFrame({"area_code": codes, "value": np.linspace(40, 80, 9), "numerator": 1, "denominator": 2})
    classes = classify(values["value"].tolist(), "equal_interval", 3)
    flows = pd.DataFrame({"direction": ["up", "down"], "from_inst_code": ["T1", "H1"], "to_inst_code": ["H1", "T1"],
                          "referrals": [50, 20]})
    pos = {"H1": (119.35, 28.95), "H2": (119.35, 28.95), "T1": (119.43, 28.9)}
    opt = reform_option(disp, values, classes, "x", flows, pos, {"H1": "县医院", "T1": "卫生院"}, "%", 1,
                        highlight="H1")
    labels = next(s for s in opt["series"] if s["name"] == "乡镇名称")
    flow_z = max(s.get("zlevel", 0) for s in opt["series"] if s["type"] == "lines")
    assert labels["zlevel"] > flow_z and labels["silent"] is True
    assert {d["name"] for d in labels["data"]} == set(disp.name_to_code)
    assert opt["geo"]["label"]["show"] is False
    assert all(r["label"]["show"] is False for r in opt["geo"]["regions"])
    dots = next(s for s in opt["series"] if s["name"] == "机构")["data"]
    assert next(d for d in dots if d["code"] == "H1")["itemStyle"]["color"]
    assert {d["direction"] for s in opt["series"] if s["type"] == "lines" and s.get("effect")
            for d in s["data"]} == {"up", "down"}
