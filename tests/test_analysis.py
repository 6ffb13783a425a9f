"""自助分析 /analysis through the real app (Flask test client, tiny demo mart): the grid's numbers and totals equal
``metrics.engine.compute``, a manager's pivot stays inside the scope, the URL is the whole view state, a cell
drills to the indicator page and the export carries the grid's numbers (and is audited)."""
from __future__ import annotations

import csv
import io

import pytest

from core import roles
from dashboard import urlstate
from dashboard.views import analysis as an
from dashboard.views import analysis_render as view
from layouts import _analysis_parts as A
from metrics.catalogue import INDICATORS
from metrics.scope import FULL_SCOPE
from tests.http_text import body_text
from tests.test_pages_callbacks import _payload, manager_institutions

IND = "op_cost_per_visit"

def call(client, outputs, trigger: tuple, search: str, extra_inputs=(), app=None, changed: str | None = None) -> dict:
    body = _payload(outputs, [trigger, *extra_inputs], [("url", "search", search)])
    if changed:
        body["changedPropIds"] = [changed]
    if app is not None:     # an output shared with another callback: Dash names it with a suffix
        first = f"{outputs[0][0]}.{outputs[0][1]}@"
        body["output"] = next(k for k, v in app.callback_map.items() if first in k
                              and trigger[0] in {i["id"] for i in v["inputs"]})
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code in (200, 204), body_text(resp)[:800]
    return resp.get_json()["response"] if resp.status_code == 200 else {}

def pivot(client, search: str) -> dict:
    return call(client, view.PIVOT_OUTPUTS, (A.READY, "data", True), search)

def controls(client, search: str) -> dict:
    return call(client, view.CONTROL_OUTPUTS, (A.READY, "data", True), search)

@pytest.fixture(scope="module")
def months(app_cfg, flask_app) -> tuple[str, str]:
    from queries.periods import last_complete_month
    end = last_complete_month(app_cfg.mart_url)
    return urlstate.add_months(end, -5), end

def engine(app_cfg, ind, level, grain, start, end, org=None, scope=FULL_SCOPE):
    from metrics.engine import compute
    return compute([ind], level, grain, start, end, org=org, scope=scope, mart_url=app_cfg.mart_url,
                   comparisons=False)

def test_page_roles_and_nav():
    assert roles.may_open("leader", "/analysis") and roles.may_open("manager", "/analysis")
    assert not roles.may_open("operator", "/analysis") and not roles.may_open("screen", "/analysis")
    assert roles.roles_for_callback_module("dashboard.callbacks.analysis") == roles.VIEWERS
    from layouts._nav import nav_items
    assert any(i.href == "/analysis" and i.label == "自助分析" for i in nav_items())

def test_grid_equals_engine_with_ratio_of_sums_totals(client_as, app_cfg, months):
    start, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&cols=period&from={start}"
    out = pivot(client_as("leader"), search)
    rows = out[A.GRID]["rowData"]
    cols = out[A.GRID]["columnDefs"]
    eng = engine(app_cfg, IND, "township", "month", start, end)
    periods = sorted(eng["period"].unique())
    assert [c["headerName"] for c in cols[1:-1]] == [f"{int(p[:4])}年{int(p[5:])}月" for p in periods]
    assert {r["row_code"] for r in rows} == set(eng["org_code"])
    dec = INDICATORS[IND].decimals
    for r in rows:
        for i, p in enumerate(periods):
            e = eng[(eng["org_code"] == r["row_code"]) & (eng["period"] == p)].iloc[0]
            assert r[f"c{i}"] == pytest.approx(round(float(e["value"]), dec))
        mine = eng[eng["org_code"] == r["row_code"]]
        assert r["total"] == pytest.approx(round(mine["numerator"].sum() / mine["denominator"].sum(), dec))
    total = out[A.GRID]["dashGridOptions"]["pinnedBottomRowData"][0]
    for i, p in enumerate(periods):
        col = eng[eng["period"] == p]
        assert total[f"c{i}"] == pytest.approx(round(col["numerator"].sum() / col["denominator"].sum(), dec))
        # a ratio of sums, not the mean of the townships' ratios
        assert total[f"c{i}"] != pytest.approx(round(col["value"].mean(), dec))
    assert total["total"] == pytest.approx(round(eng["numerator"].sum() / eng["denominator"].sum(), dec))
    heat = out[A.HEATMAP]["figure"]["data"][0]
    assert heat["type"] == "heatmap" and len(heat["z"]) == len(rows)

def test_stock_indicator_gets_no_totals_over_months(client_as, app_cfg, months):
    """病床周转次数 divides by the monthly average of beds: summing over months would be wrong, over orgs is right."""
    start, end = months
    out = pivot(client_as("leader"), f"?grain=month&period={end}&ind=bed_turnover&rows=township&from={start}")
    assert all(c["field"] != "total" for c in out[A.GRID]["columnDefs"])
    assert "不跨期合计" in out[A.GRID_TITLE]["children"]
    eng = engine(app_cfg, "bed_turnover", "township", "month", start, end)
    total = out[A.GRID]["dashGridOptions"]["pinnedBottomRowData"][0]
    col = eng[eng["period"] == end]
    last = len(eng["period"].unique()) - 1
    assert total[f"c{last}"] == pytest.approx(round(col["numerator"].sum() / col["denominator"].sum(), 2))

def test_manager_never_sees_departments_or_doctors_outside_scope(client_as, app_cfg, months):
    from queries.org import all_departments, org_tree
    mine = manager_institutions(app_cfg)
    client = client_as("manager")
    start, end = months
    out = pivot(client, f"?grain=month&period={end}&ind={IND}&rows=department&from={start}")
    depts = all_departments(app_cfg.mart_url)
    own = set(depts.loc[depts["inst_code"].isin(mine), "dept_code"].astype(str))
    got = {r["row_code"] for r in out[A.GRID]["rowData"]}
    assert got and got <= own
    # another institution's doctors by URL: the scope is dropped (notice), no doctor row of it is shown
    tree = org_tree(app_cfg.mart_url)
    other = str(tree.loc[~tree["inst_code"].isin(mine), "inst_code"].iloc[0])
    search = f"?grain=month&period={end}&ind={IND}&rows=doctor&org={other}&from={start}"
    ctl = controls(client, search)
    assert "无权查看" in body_text_of(ctl[A.NOTICE]["children"])
    assert ctl[A.ORG]["value"] == an.COUNTY
    rows = pivot(client, search)[A.GRID]["rowData"]
    assert not ({r["row_code"] for r in rows} - {str(c) for c in tree["township_code"]})
    # the org picker offers only the manager's institutions
    offered = {o["value"] for o in ctl[A.ORG]["options"] if o["label"].startswith("机构")}
    assert offered == {str(c) for c in mine}

def body_text_of(node) -> str:
    import json
    return json.dumps(node, ensure_ascii=False)

def test_url_is_the_view_state(client_as, flask_app, months):
    start, end = months
    client = client_as("leader")
    search = f"?grain=quarter&period={urlstate.month_to_period(end, 'quarter')}&ind=alos&rows=institution" \
             f"&from={urlstate.month_to_period(start, 'quarter')}"
    ctl = controls(client, search)
    assert (ctl[A.IND]["value"], ctl[A.ROWS]["value"], ctl[A.GRAIN]["value"]) == ("alos", "institution", "quarter")
    assert ctl[A.TO]["value"] == urlstate.month_to_period(end, "quarter")
    values = [ctl[c]["value"] for c in A.CONTROLS]
    # the pickers mirroring the URL write nothing (no second render) …
    assert call(client, [("url", "search")], (A.IND, "value", "alos"), search,
                [(c, "value", v) for c, v in zip(A.CONTROLS[1:], values[1:])], flask_app) == {}
    # … a change writes the whole state, normalised, and parsing it again gives the same view
    values[A.CONTROLS.index(A.ROWS)] = "township"
    out = call(client, [("url", "search")], (A.IND, "value", "alos"), search,
               [(c, "value", v) for c, v in zip(A.CONTROLS[1:], values[1:])], flask_app)
    new = out["url"]["search"]
    assert "rows=township" in new and "ind=alos" in new and "grain=quarter" in new
    again = controls(client, new)
    assert (again[A.IND]["value"], again[A.ROWS]["value"], again[A.GRAIN]["value"]) == ("alos", "township", "quarter")
    # a bad value falls back with a Chinese note, never an error
    bad = controls(client, "?ind=nope&rows=planet&grain=decade")
    assert bad[A.IND]["value"] == IND and "未找到" in body_text_of(bad[A.NOTICE]["children"])

def test_cell_click_drills_to_indicator_page(client_as, flask_app, months):
    start, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&from={start}"
    client = client_as("leader")
    rows = pivot(client, search)[A.GRID]["rowData"]
    code = rows[0]["row_code"]
    out = call(client, [("url", "href"), (A.PANEL, "children")],
               (A.GRID, "cellClicked", {"colId": "c5", "rowId": code, "rowIndex": 0, "value": 1}), search,
               [(A.HEATMAP, "clickData", None)], flask_app)
    assert out["url"]["href"] == f"/indicator/{IND}?grain=month&period={end}&org={code}"
    # the pinned total row has no drill
    out = call(client, [("url", "href"), (A.PANEL, "children")],
               (A.GRID, "cellClicked", {"colId": "c5", "rowId": "b-0", "rowPinned": "bottom"}), search,
               [(A.HEATMAP, "clickData", None)], flask_app)
    assert "url" not in out and "合计" in body_text_of(out[A.PANEL]["children"])

def test_export_csv_carries_the_grid_and_is_audited(client_as, app_cfg, months):
    start, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&from={start}"
    client = client_as("leader")
    out = pivot(client, search)
    grid = {r["row"]: r for r in out[A.GRID]["rowData"]}
    resp = call(client, [(A.DOWNLOAD, "data"), (A.EXPORT_MSG, "children")], (A.EXPORT_CSV, "n_clicks", 1), search,
                [(A.EXPORT_XLSX, "n_clicks", 0)])
    import base64
    data = resp[A.DOWNLOAD]["data"]
    text = (base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "乡镇" and table[0][-1] == "合计" and table[-1][0] == "合计"
    for line in table[1:-1]:
        assert float(line[1]) == pytest.approx(grid[line[0]]["c0"])
        assert float(line[-1]) == pytest.approx(grid[line[0]]["total"])
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    with create_engine(app_cfg.app_db_url).connect() as con:
        last = con.execute(sql("SELECT action, target FROM audit_log ORDER BY id DESC LIMIT 1")).one()
    assert last[0] == "data.export" and "自助分析" in last[1]

def test_township_by_icd_chapter_equals_engine_and_totals_equal_undivided_rows(client_as, app_cfg, months):
    from metrics.dimensions import DIMENSIONS
    _, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&cols=icd_chapter"
    out = pivot(client_as("leader"), search)
    members = DIMENSIONS["icd_chapter"].members
    assert [c["headerName"] for c in out[A.GRID]["columnDefs"][1:-1]] == [n for _c, n in members]
    from metrics.engine import compute
    split = compute([IND], "township", "month", end, end, scope=FULL_SCOPE, mart_url=app_cfg.mart_url,
                    comparisons=False, by="icd_chapter")
    whole = engine(app_cfg, IND, "township", "month", end, end).set_index("org_code")
    dec = INDICATORS[IND].decimals
    rows = out[A.GRID]["rowData"]
    assert {r["row_code"] for r in rows} == set(whole.index)
    for r in rows:
        mine = split[split["org_code"] == r["row_code"]].set_index("member")
        for i, (code, _n) in enumerate(members):
            v = mine.loc[code, "value"]
            assert r[f"c{i}"] == (None if v != v else pytest.approx(round(float(v), dec)))
        # the members add up to the undivided row: the row total is the township's own value
        assert r["total"] == pytest.approx(round(float(whole.loc[r["row_code"], "value"]), dec))
    county = engine(app_cfg, IND, "county", "month", end, end).iloc[0]
    grand = out[A.GRID]["dashGridOptions"]["pinnedBottomRowData"][0]["total"]
    assert grand == pytest.approx(round(float(county["value"]), dec))

def test_dimension_rows_member_drill_and_refusal(client_as, flask_app, app_cfg, months):
    start, end = months
    client = client_as("leader")
    search = f"?grain=month&period={end}&ind={IND}&rows=insurance&from={start}"
    out = pivot(client, search)
    rows = out[A.GRID]["rowData"]
    from metrics.dimensions import DIMENSIONS
    assert [r["row_code"] for r in rows] == [c for c, _n in DIMENSIONS["insurance"].members]
    code = next(r["row_code"] for r in rows if r["c0"] is not None)
    got = call(client, [("url", "href"), (A.PANEL, "children")],
               (A.GRID, "cellClicked", {"colId": "c0", "rowId": code}), search, [(A.HEATMAP, "clickData", None)],
               flask_app)
    panel = body_text_of(got[A.PANEL]["children"])

    assert "url" not in got and DIMENSIONS["insurance"].member_name(code) in panel and "各乡镇" in panel
    assert f"/indicator/{IND}?grain=month&period={start}" in panel
    # an indicator that has no patients cannot be split: the page says so and shows periods
    ctl = controls(client, f"?grain=month&period={end}&ind=beds_per_1k&rows=township&cols=icd_chapter")
    assert ctl[A.COLS]["value"] == "period" and "一个维度" in body_text_of(ctl[A.NOTICE]["children"])
    assert all(o["value"] == "period" for o in ctl[A.COLS]["options"])

def test_filter_by_member(client_as, app_cfg, months):
    from metrics.engine import compute
    start, end = months
    out = pivot(client_as("leader"),
                f"?grain=month&period={end}&ind={IND}&rows=township&from={start}&fdim=insurance&fmem=insured")
    split = compute([IND], "township", "month", start, end, scope=FULL_SCOPE, mart_url=app_cfg.mart_url,
                    comparisons=False, by="insurance")
    split = split[split["member"] == "insured"]
    r = out[A.GRID]["rowData"][0]
    e = split[(split["org_code"] == r["row_code"]) & (split["period"] == end)].iloc[0]
    assert r[f"c{len(split['period'].unique()) - 1}"] == pytest.approx(round(float(e["value"]), 2))


def test_heatmap_click_drills_like_the_grid(client_as, flask_app, months):
    start, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&from={start}"
    client = client_as("leader")
    fig = pivot(client, search)[A.HEATMAP]["figure"]
    row, col = fig["data"][0]["y"][1], fig["data"][0]["x"][2]
    out = call(client, [("url", "href"), (A.PANEL, "children")], (A.GRID, "cellClicked", None), search,
               [(A.HEATMAP, "clickData", {"points": [{"x": col, "y": row, "z": 1.0}]})], flask_app)
    assert out["url"]["href"] == f"/indicator/{IND}?grain=month&period={col}&org={row}"


def test_export_xlsx_has_numbers_and_totals(client_as, months):
    import base64

    from openpyxl import load_workbook
    start, end = months
    search = f"?grain=month&period={end}&ind={IND}&rows=township&cols=sex"
    client = client_as("leader")
    grid = pivot(client, search)[A.GRID]
    resp = call(client, [(A.DOWNLOAD, "data"), (A.EXPORT_MSG, "children")], (A.EXPORT_CSV, "n_clicks", 0), search,
                [(A.EXPORT_XLSX, "n_clicks", 1)], changed=f"{A.EXPORT_XLSX}.n_clicks")
    data = resp[A.DOWNLOAD]["data"]
    assert data["filename"].endswith(".xlsx")
    ws = load_workbook(io.BytesIO(base64.b64decode(data["content"]))).active
    values = list(ws.iter_rows(values_only=True))
    header = values[1]                      # row 1 is the title
    assert header[0] == "乡镇" and header[-1] == "合计" and "男" in "".join(str(h) for h in header)
    first = grid["rowData"][0]
    assert values[2][0] == first["row"] and values[2][-1] == pytest.approx(first["total"])
    total = grid["dashGridOptions"]["pinnedBottomRowData"][0]
    assert values[-1][0] == "合计" and values[-1][-1] == pytest.approx(total["total"])
