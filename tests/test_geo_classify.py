"""Legend classification (quantile, equal interval, natural breaks), display simplification and option builders."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.classify import METHODS, NO_DATA_COLOR, NO_DATA_LABEL, classify, palette
from geo.options import (
    FLOW_COLORS, STATUS_COLORS, health_option, institutions_option, option_size, reform_option, select_flows,
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
