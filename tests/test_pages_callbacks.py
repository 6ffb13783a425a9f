"""Callbacks of the indicator pages called directly through the Flask test client (real app, tiny demo mart).

Each test POSTs the payload the browser sends to ``/_dash-update-component`` as a logged-in leader or manager and
checks the answer against ``metrics.engine.compute`` (the numbers) or the scope rules (what a manager may see).
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re

import openpyxl
import pytest

from dashboard.urlstate import month_to_period
from layouts import _pageparts as L
from metrics.scope import FULL_SCOPE
from tests.http_text import body_text

IND = "op_antibiotic_rate"
RATE_MODE = [(L.BREAKDOWN_MODE, "value", "rate")]     # the breakdown's 按比率 view (an Input, sent before url)


def _payload(outputs: list[tuple[str, str]], inputs: list[tuple], states: list[tuple]) -> dict:
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = (".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{outputs[0][0]}.{outputs[0][1]}"
    return {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in states],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"]}


def call(client, outputs: list[tuple[str, str]], trigger: tuple, search: str, extra_states=()) -> dict:
    """POST one callback; returns {component id: {property: value}}."""
    resp = client.post("/_dash-update-component",
                       json=_payload(outputs, [trigger], [*extra_states, ("url", "search", search)]))
    assert resp.status_code == 200, body_text(resp)[:500]
    return resp.get_json()["response"]


def breakdown(client, search: str) -> dict:
    return call(client, [(L.BREAKDOWN_BOX, "children"), (L.BREAKDOWN_TITLE, "children"), (L.TABLE_BOX, "children")],
                (L.ID, "data", IND), search, RATE_MODE)


def _find(tree, pred) -> list[dict]:
    """Every dict in a JSON component tree for which ``pred`` is true, in document order."""
    found: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if pred(node):
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(tree)
    return found


def _grid_rows(tree) -> list[dict]:
    grids = _find(tree, lambda n: n.get("type") == "AgGrid")
    assert len(grids) == 1, "expected one table"
    return grids[0]["props"]["rowData"]


def manager_institutions(cfg) -> set[str]:
    """The demo manager's institutions, giving it the intended demo scope (lead hospital + first township centre)
    when the shared fixture left it empty (``mart_exists`` cannot open the mart a second time in this process)."""
    from dashboard.accounts.service import get_user_view, read_demo_accounts, update_user
    from queries.org import org_tree
    username = read_demo_accounts(cfg)["manager"][0]
    codes = set(get_user_view(cfg, username).inst_codes)
    if not codes:
        tree = org_tree(cfg.mart_url)
        wanted = (tree[tree["is_lead"] == 1]["inst_code"].tolist()[:1]
                  + tree[tree["inst_type"] == "township_center"]["inst_code"].tolist()[:1])
        update_user(cfg, username, inst_codes=wanted, actor=("test:pages", "", ""))
        codes = set(wanted)
    return codes


@pytest.fixture(scope="module")
def ctx(app_cfg, flask_app):
    """The quarter of the mart's last complete month, a township, its centre and the manager's institutions."""
    from queries.org import org_tree
    from queries.periods import last_complete_month
    url = app_cfg.mart_url
    tree = org_tree(url)
    mine = manager_institutions(app_cfg)
    centres = tree[tree["inst_type"] == "township_center"]
    other = centres[~centres["inst_code"].isin(mine)].iloc[0]
    own = tree[tree["inst_code"].isin(mine)].iloc[0]
    return {"url": url, "period": month_to_period(last_complete_month(url), "quarter"),
            "township": str(other["township_code"]), "other": str(other["inst_code"]),
            "own": str(own["inst_code"]), "mine": mine}


def _search(ctx: dict, org: str | None = None, period: str | None = None) -> str:
    s = f"?grain=quarter&period={period or ctx['period']}"
    return s + (f"&org={org}" if org else "")


def test_leader_table_equals_engine_and_bars_carry_drill_links(client_as, ctx):
    import pandas as pd

    from dashboard.urlstate import period_bounds
    from metrics.engine import compute
    out = breakdown(client_as("leader"), _search(ctx, ctx["township"]))
    rows = _grid_rows(out[L.TABLE_BOX]["children"])
    start, end = period_bounds("quarter", ctx["period"])
    eng = compute([IND], "institution", "quarter", start, end, org=ctx["township"], scope=FULL_SCOPE,
                  mart_url=ctx["url"]).set_index("org_code")
    kids = [r for r in rows if r["level_zh"] == "机构"]
    assert {r["org_code"] for r in kids} == set(eng.index)
    for r in kids:
        e = eng.loc[r["org_code"]]
        assert r["numerator"] == pytest.approx(float(e["numerator"]))
        assert r["denominator"] == pytest.approx(float(e["denominator"]))
        assert r["value"] == pytest.approx(round(float(e["value"]), 1))
        # 同比 of a % indicator in percentage points, as on its card (issue 14), not the relative change
        if pd.notna(e["yoy_value"]) and pd.notna(e["value"]):
            assert r["yoy_rel"] == pytest.approx(round(float(e["value"]) - float(e["yoy_value"]), 1), abs=1e-9)
    assert "按机构" in out[L.BREAKDOWN_TITLE]["children"]
    # each bar carries the query string of its drill (followed in the browser without a server call)
    bars = _find(out[L.BREAKDOWN_BOX]["children"], lambda n: n.get("type") == "bar" and "customdata" in n)
    assert len(bars) == 1
    links = {cd[0]: cd[1] for cd in bars[0]["customdata"]}
    assert set(links) == set(eng.dropna(subset=["value"]).index)
    code = next(iter(links))
    assert links[code] == f"?grain=quarter&period={ctx['period']}&org={code}"
    # the pinned name column shows a name it cuts ("石门镇卫生院（合…" at 1366 px) whole on hover (review 7)
    grid = _find(out[L.TABLE_BOX]["children"], lambda n: n.get("type") == "AgGrid")[0]
    first = grid["props"]["columnDefs"][0]
    assert first["field"] == "org_name" and first.get("tooltipField") == "org_name"


def test_manager_gets_no_detail_of_another_institution(client_as, ctx):
    client = client_as("manager")
    search = _search(ctx, ctx["other"])
    out = breakdown(client, search)
    text = json.dumps(out, ensure_ascii=False)
    assert "无权查看该机构明细" in text
    grids = _find(out, lambda n: n.get("type") == "AgGrid")
    # at most the institution's own aggregate row, never its departments
    assert all(r["org_code"] == ctx["other"] for g in grids for r in g["props"]["rowData"])
    crumbs = call(client, [(L.CRUMBS, "children"), (L.SUBTITLE, "children"), (L.NOTICE, "children")],
                  (L.ID, "data", IND), search)
    assert "无权查看该机构明细" in json.dumps(crumbs[L.NOTICE], ensure_ascii=False)
    # the trend of that institution says why it is empty instead of "本期无数据"
    trend = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", IND), search)
    trend_text = json.dumps(trend, ensure_ascii=False)
    assert "无权查看该机构明细" in trend_text and "本期无数据" not in trend_text
    # a department of that institution (drill below it by URL) is refused outright
    from queries.org import departments
    dept = departments(ctx["url"], ctx["other"])
    code = str(dept.iloc[0]["dept_code"])
    deep = breakdown(client, _search(ctx, code))
    assert "无权查看该机构明细" in json.dumps(deep, ensure_ascii=False)
    assert not _find(deep, lambda n: n.get("type") == "AgGrid")
    # the export of that view is refused with the page's explanation (was: a header-only CSV), and a hand-built
    # export of the department below it is refused too (was: an unhandled PermissionError → HTTP 500)
    for org in (ctx["other"], code):
        for fmt in ("csv", "xlsx"):
            out = _export_call(client, _search(ctx, org), fmt)
            assert L.DOWNLOAD not in out, org
            assert "无权" in out[L.EXPORT_MSG]["children"], org


def test_manager_sees_departments_of_own_institution(client_as, ctx):
    out = breakdown(client_as("manager"), _search(ctx, ctx["own"]))
    rows = _grid_rows(out[L.TABLE_BOX]["children"])
    assert any(r["level_zh"] == "科室" for r in rows)
    assert "无权查看" not in json.dumps(out, ensure_ascii=False)


def _export_call(client, search: str, fmt: str, indicator: str = IND) -> dict:
    """POST the export callback as the buttons do; returns the response's outputs (download data, message)."""
    trigger_id = L.EXPORT_XLSX if fmt == "xlsx" else L.EXPORT_CSV
    payload = _payload([(L.DOWNLOAD, "data"), (L.EXPORT_MSG, "children")],
                       [(L.EXPORT_CSV, "n_clicks", 1 if fmt == "csv" else 0),
                        (L.EXPORT_XLSX, "n_clicks", 1 if fmt == "xlsx" else 0)],
                       [(L.ID, "data", indicator), ("url", "search", search)])
    payload["changedPropIds"] = [f"{trigger_id}.n_clicks"]
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200, body_text(resp)[:300]
    return resp.get_json()["response"]


def _download(client, search: str, fmt: str, indicator: str = IND) -> dict:
    out = _export_call(client, search, fmt, indicator)
    assert L.DOWNLOAD in out, f"no download: {out}"
    assert out[L.EXPORT_MSG]["children"] == ""
    return out[L.DOWNLOAD]["data"]


def _raw_export(client, search: str, fmt: str, indicator: str = IND) -> tuple[dict, bytes]:
    data = _download(client, search, fmt, indicator)
    return data, base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode("utf-8")


def _export(client, search: str, fmt: str, indicator: str = IND) -> list[dict]:
    data, raw = _raw_export(client, search, fmt, indicator)
    if fmt == "csv":
        assert data["filename"].endswith(".csv")
        assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert data["filename"].endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(raw)).active
    values = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(values) if r and "代码" in r)
    header = values[header_at]
    return [dict(zip(header, r)) for r in values[header_at + 1:]]


def test_csv_and_xlsx_exports_equal_engine(client_as, ctx):
    from dashboard.urlstate import period_bounds
    from metrics.engine import compute
    client = client_as("leader")
    start, end = period_bounds("quarter", ctx["period"])
    eng = compute([IND], "township", "quarter", start, end, scope=FULL_SCOPE,
                  mart_url=ctx["url"]).set_index("org_code")
    for fmt in ("csv", "xlsx"):
        rows = _export(client, _search(ctx), fmt)
        towns = [r for r in rows if r["层级"] == "乡镇"]
        assert {r["代码"] for r in towns} == set(eng.index), fmt
        for r in towns:
            e = eng.loc[r["代码"]]
            assert float(r["分子"]) == pytest.approx(float(e["numerator"])), fmt
            assert float(r["分母"]) == pytest.approx(float(e["denominator"])), fmt
            if r["指标值（%）"] not in (None, ""):
                # the engine's value rounded to the indicator's 1 decimal, as the page shows it
                assert float(r["指标值（%）"]) == round(float(e["value"]), 1), fmt


def test_exports_are_formatted_for_people(client_as, ctx):
    """期间 in Chinese, 数据完整 是/否, values with the indicator's decimals, numeric Excel cells with a number
    format of those decimals, columns wide enough for their contents."""
    client = client_as("leader")
    year, q = ctx["period"].split("Q")
    period_zh = f"{year}年第{q}季度"
    rows = _export(client, _search(ctx), "csv")
    assert rows and all(r["期间"] == period_zh for r in rows)
    assert {r["数据完整"] for r in rows} <= {"是", "否"} and rows[0]["数据完整"]
    for r in rows:
        for col in ("指标值（%）", "去年同期值", "同比差值"):
            if r[col]:
                assert len(r[col].split(".")[1]) == 1, (col, r[col])     # op_antibiotic_rate: 1 decimal
        assert "." not in r["分子"] and "." not in r["分母"]               # counts are whole numbers
        if r["同比增减率（%）"]:
            assert abs(float(r["同比增减率（%）"])) < 100                  # in percent, 1 decimal
    assert rows[0]["机构/单位"].endswith("（合计）") and rows[0]["层级"] == "全县"
    data, raw = _raw_export(client, _search(ctx), "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(raw)).active
    header_row = next(r for r in ws.iter_rows(min_row=1, max_row=5) if any(c.value == "代码" for c in r))
    col = {c.value: c.column_letter for c in header_row}
    first = header_row[0].row + 1
    value_cell = ws[f"{col['指标值（%）']}{first}"]
    assert isinstance(value_cell.value, float) and value_cell.number_format == "#,##0.0"
    assert round(value_cell.value, 1) == value_cell.value
    assert ws[f"{col['分子']}{first}"].number_format == "#,##0"
    assert ws[f"{col['期间']}{first}"].value == period_zh
    assert ws[f"{col['数据完整']}{first}"].value in ("是", "否")
    name_width = ws.column_dimensions[col["机构/单位"]].width
    assert name_width >= 2 * len("丰安县（合计）"), name_width          # CJK counted double


@pytest.mark.parametrize("role", ["leader", "manager"])
def test_cockpit_cards_and_alerts_render_for_both_roles(client_as, ctx, role):
    client = client_as(role)
    search = _search(ctx)
    cards = call(client, [(L.CARDS, "children"), (L.HOME_SUBTITLE, "children")], (L.READY, "data", True), search)
    ids_ = [n["props"]["id"]["id"] for n in _find(cards[L.CARDS]["children"],
                                                  lambda n: isinstance(n.get("props", {}).get("id"), dict)
                                                  and n["props"]["id"].get("type") == "home-card")]
    from dashboard.callbacks.cockpit import headline_ids
    assert ids_ == headline_ids() and 8 <= len(ids_) <= 12
    assert "出错了" not in json.dumps(cards, ensure_ascii=False)
    alerts = call(client, [(L.ALERTS, "children")], (L.READY, "data", True), search)
    links = [n["props"]["href"] for n in _find(alerts, lambda n: n.get("type") == "Link")]
    # the list reads the alert store when it holds alerts (then it ends with a link to 预警中心), else computes it
    drills = [h for h in links if h not in ("/alerts", "/quality")]
    if role == "manager":      # a manager's alerts name only their own institutions
        assert all(any(f"org={c}" in h for c in ctx["mine"]) for h in drills)
    assert all(h.startswith("/indicator/") for h in drills)


def test_empty_period_shows_no_data(client_as, ctx):
    client = client_as("leader")
    search = "?grain=month&period=2001-01"
    trend = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", IND), search)
    assert "本期无数据" in json.dumps(trend, ensure_ascii=False)
    assert not _find(trend, lambda n: n.get("type") == "scatter" and any(v is not None for v in n.get("y", [])))
    out = breakdown(client, search)
    assert "本期无数据" in json.dumps(out[L.TABLE_BOX], ensure_ascii=False)
    cards = call(client, [(L.CARDS, "children"), (L.HOME_SUBTITLE, "children")], (L.READY, "data", True), search)
    assert json.dumps(cards, ensure_ascii=False).count("本期无数据") >= 8
    board = call(client, [(L.TOPIC_TABS, "children"), (L.TOPIC_GRID, "children"), (L.TOPIC_SUBTITLE, "children")],
                 (L.TOPIC_ID, "data", "quality"), search)
    assert "本期无数据" in json.dumps(board, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- issue 5 audit
def _texts(tree) -> list[str]:
    """Every text a person reads in a component tree: string children, figure annotations and bar labels."""
    out: list[str] = []

    def walk(node, key=None) -> None:
        if isinstance(node, str):
            if key in ("children", "text", "hovertext", "ticktext", "title", "headerName"):
                out.append(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
    walk(tree)
    return out


def _tree(component) -> dict:
    """A Dash component as the JSON the browser receives."""
    from plotly.utils import PlotlyJSONEncoder
    return json.loads(json.dumps(component, cls=PlotlyJSONEncoder))


def _ranking(client, indicator: str, search: str) -> dict:
    return call(client, [(L.RANKING_BOX, "children"), (L.RANKING_TITLE, "children")],
                (L.ID, "data", indicator), search)


def _towns_with_value(ctx: dict, iid: str) -> int:
    from dashboard.urlstate import period_bounds
    from metrics.engine import compute
    start, end = period_bounds("quarter", ctx["period"])
    df = compute([iid], "township", "quarter", start, end, scope=FULL_SCOPE, mart_url=ctx["url"])
    return int(df["value"].notna().sum())


def _numbers(arr) -> list:
    """A figure array as the browser gets it (Plotly sends numeric arrays base64-encoded)."""
    import numpy as np
    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"]).tolist()
    return list(arr)


def test_every_indicator_ranking_is_a_ranking_or_a_calm_note(client_as, ctx):
    """17 residence/county-based indicators used to show the red 同类机构排名加载失败 card (the engine refuses the
    institution level): they rank the townships when computed by township, else say why there is no ranking."""
    from metrics.catalogue import INDICATORS, computable_ids
    client = client_as("leader")
    n_towns: dict[str, int] = {}
    for iid in computable_ids():
        for org in (None, ctx["township"], ctx["other"]):
            out = _ranking(client, iid, _search(ctx, org))
            text = json.dumps(out, ensure_ascii=False)
            assert "出错了" not in text and "加载失败" not in text, (iid, org)
            levels = INDICATORS[iid].levels
            bars = _find(out, lambda n: n.get("type") == "bar")
            if "institution" in levels:
                continue
            title = out[L.RANKING_TITLE]["children"]
            if "township" in levels and org is None:      # the breakdown ranks the townships already
                assert not bars and "各乡镇排名见下级分布" in text, iid
            elif "township" in levels:
                assert bars and "各乡镇" in title, (iid, title)
                expected = n_towns.setdefault(iid, _towns_with_value(ctx, iid))
                assert expected and len(bars[0]["customdata"]) == expected, iid
            else:
                assert not bars and "不做机构或乡镇排名" in text, iid
    out = _ranking(client, "primary_visit_share", _search(ctx, ctx["township"]))
    assert "按居民居住乡镇" in out[L.RANKING_TITLE]["children"]
    # the township of the view is outlined
    bar = _find(out, lambda n: n.get("type") == "bar")[0]
    widths = dict(zip((cd[0] for cd in bar["customdata"]), bar["marker"]["line"]["width"]))
    assert widths[ctx["township"]] > 0 and sum(1 for w in widths.values() if w) == 1


def test_indicator_not_counted_at_the_orgs_level_explains_itself(client_as, ctx):
    """primary_visit_share with an institution picked in the toolbar: calm notes, no error card anywhere."""
    client = client_as("leader")
    search = _search(ctx, ctx["other"])
    outs = [call(client, [(L.TREND_BOX, "children")], (L.ID, "data", "primary_visit_share"), search),
            call(client, [(L.BREAKDOWN_BOX, "children"), (L.BREAKDOWN_TITLE, "children"),
                          (L.TABLE_BOX, "children")], (L.ID, "data", "primary_visit_share"), search, RATE_MODE),
            call(client, [(L.CRUMBS, "children"), (L.SUBTITLE, "children"), (L.NOTICE, "children")],
                 (L.ID, "data", "primary_visit_share"), search)]
    text = json.dumps(outs, ensure_ascii=False)
    assert "出错了" not in text
    assert text.count("按居民居住乡镇统计") >= 3 and "不能按机构查看" in text
    exp = _export_call(client, search, "csv", "primary_visit_share")
    assert L.DOWNLOAD not in exp and "不能按机构查看" in exp[L.EXPORT_MSG]["children"]


def _toolbar(client, search: str) -> dict:
    outputs = [("url", "search"), ("shell-grain", "value"), ("shell-period", "options"), ("shell-period", "value"),
               ("shell-township", "options"), ("shell-township", "value"), ("shell-inst", "options"),
               ("shell-inst", "value"), ("shell-org-label", "children")]
    payload = _payload(outputs, [("url", "search", search), ("shell-grain", "value", None),
                                 ("shell-period", "value", None), ("shell-township", "value", None),
                                 ("shell-inst", "value", None)], [])
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200, body_text(resp)[:300]
    out = resp.get_json()["response"]
    return {"township": out["shell-township"]["value"], "inst": out["shell-inst"]["value"],
            "note": out["shell-org-label"]["children"]}


def test_toolbar_follows_a_drill_to_department_and_doctor(client_as, ctx):
    """A leader drilling to a department, then a doctor, keeps its institution and township in the pickers with
    no note (was: 全县/全部机构 and "所选机构不在可选范围内"); the note is only for orgs outside the scope."""
    from queries.org import departments, doctors, org_tree
    tree = org_tree(ctx["url"]).set_index("inst_code")
    dept = str(departments(ctx["url"], ctx["other"]).iloc[0]["dept_code"])
    doctor = str(doctors(ctx["url"], dept).iloc[0]["doctor_code"])
    town = str(tree.loc[ctx["other"], "township_code"])
    leader = client_as("leader")
    for org in (ctx["other"], dept, doctor):
        got = _toolbar(leader, _search(ctx, org))
        assert got == {"township": town, "inst": ctx["other"], "note": ""}, (org, got)
    manager = client_as("manager")
    own_dept = str(departments(ctx["url"], ctx["own"]).iloc[0]["dept_code"])
    got = _toolbar(manager, _search(ctx, own_dept))
    assert got["inst"] == ctx["own"] and got["note"] == ""
    for org in (ctx["other"], dept):          # outside the manager's institutions: the note, no institution
        got = _toolbar(manager, _search(ctx, org))
        assert got["inst"] is None and "不在可选范围内" in got["note"], org
        assert got["township"] == town


def _centre_without_down_referrals(ctx: dict) -> str:
    from dashboard.urlstate import period_bounds
    from metrics.engine import compute
    from queries.org import org_tree
    start, end = period_bounds("quarter", ctx["period"])
    tree = org_tree(ctx["url"])
    centres = set(tree.loc[tree["inst_type"] == "township_center", "inst_code"])
    have = compute(["down_referrals"], "institution", "quarter", start, end, scope=FULL_SCOPE,
                   mart_url=ctx["url"])
    with_rows = set(have.loc[have["value"] > 0, "org_code"])
    return sorted(centres - with_rows)[0]


def test_zero_count_is_a_value_and_count_formula_has_no_denominator(client_as, ctx):
    from layouts._pageparts import definition_panel
    from metrics.catalogue import INDICATORS
    client = client_as("leader")
    centre = _centre_without_down_referrals(ctx)
    search = _search(ctx, centre)
    out = call(client, [(L.BREAKDOWN_BOX, "children"), (L.BREAKDOWN_TITLE, "children"), (L.TABLE_BOX, "children")],
               (L.ID, "data", "down_referrals"), search, RATE_MODE)
    rows = _grid_rows(out[L.TABLE_BOX]["children"])
    assert [(r["org_code"], r["value"]) for r in rows] == [(centre, 0)]
    trend = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", "down_referrals"), search)
    assert "本期无数据" not in json.dumps(trend, ensure_ascii=False)
    line = _find(trend, lambda n: n.get("type") == "scatter" and n.get("name") == "本期")[0]
    ys = [y for y in _numbers(line["y"]) if y is not None]
    assert len(ys) >= 19 and set(ys) == {0}         # every month of the window inside the mart's months
    # the month still running (the tiny demo ends on the 24th) is drawn hollow on a dashed segment, also 0
    running = _find(trend, lambda n: n.get("type") == "scatter" and n.get("name") == "未结束")
    assert running and _numbers(running[0]["y"])[-1] == 0 and running[0]["line"]["dash"] == "dash"
    ranking = _ranking(client, "down_referrals", search)
    bar = _find(ranking, lambda n: n.get("type") == "bar")[0]
    assert centre in [cd[0] for cd in bar["customdata"]]
    kpis = call(client, [(L.REF_KPIS, "children"), (L.REF_SUBTITLE, "children")], (L.REF_READY, "data", True),
                search)
    assert "0 人次" in json.dumps(kpis, ensure_ascii=False)
    # an empty period stays empty: only the mart's months hold zeros
    empty = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", "down_referrals"),
                 f"?grain=month&period=2001-01&org={centre}")
    assert "本期无数据" in json.dumps(empty, ensure_ascii=False)
    panel = json.dumps(_tree(definition_panel(INDICATORS["down_referrals"])), ensure_ascii=False)
    assert "÷" not in panel and "分母" not in panel and "下转人次" in panel


def test_total_row_is_pinned_on_top(client_as, ctx):
    out = breakdown(client_as("leader"), _search(ctx))
    grid = _find(out[L.TABLE_BOX]["children"], lambda n: n.get("type") == "AgGrid")[0]["props"]
    pinned = grid["dashGridOptions"]["pinnedTopRowData"]
    assert len(pinned) == 1 and pinned[0]["org_name"].endswith("（合计）")
    assert grid["rowData"] and not any(r["org_name"].endswith("（合计）") for r in grid["rowData"])


ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
ALLOWED_WORDS = {"DDD", "DDDs", "CSV", "Excel"}


def _english(texts: list[str]) -> list[str]:
    return [t for t in texts if set(ASCII_WORD.findall(t)) - ALLOWED_WORDS]


def test_no_english_reaches_the_pages(client_as, ctx):
    """Topic boards (the unavailable reasons were English), the cockpit, every indicator page's definition
    panel and a table's 说明 column (the engine's notes carry English asides) read Chinese only."""
    from layouts._pageparts import definition_panel
    from metrics.catalogue import INDICATORS
    client = client_as("leader")
    texts: list[str] = []
    for topic in L.BOARD_TOPICS:
        texts += _texts(call(client, [(L.TOPIC_TABS, "children"), (L.TOPIC_GRID, "children"),
                                      (L.TOPIC_SUBTITLE, "children")], (L.TOPIC_ID, "data", topic), _search(ctx)))
    health = call(client, [(L.TOPIC_TABS, "children"), (L.TOPIC_GRID, "children"), (L.TOPIC_SUBTITLE, "children")],
                  (L.TOPIC_ID, "data", "health"), _search(ctx))
    assert "死因监测" in json.dumps(health, ensure_ascii=False)
    texts += _texts(call(client, [(L.CARDS, "children"), (L.HOME_SUBTITLE, "children")], (L.READY, "data", True),
                         _search(ctx)))
    texts += _texts(call(client, [(L.ALERTS, "children")], (L.READY, "data", True), _search(ctx)))
    for iid in INDICATORS:
        texts += _texts(_tree(definition_panel(INDICATORS[iid])))
    # a month still running: the engine notes "部分期间 (partial period)"
    from queries.periods import data_range
    last = data_range(ctx["url"])[1]
    table = breakdown(client, f"?grain=year&period={last[:4]}")
    rows = _grid_rows(table[L.TABLE_BOX]["children"])
    flags = [r["flags"] for r in rows if r.get("flags")]
    assert any("部分期间" in f for f in flags), flags
    texts += flags
    assert texts and not _english(texts), _english(texts)[:10]


def test_cards_say_flat_and_no_target(app_cfg, flask_app):
    """A YoY change that rounds to 0.0% reads 同比 持平 (was "–0.0%"); a bare "参考" target reads 无目标值."""
    import pandas as pd

    from dashboard.urlstate import ViewState
    from dashboard.views.cards import card as _card
    state = ViewState("quarter", "2026Q3", None)
    with flask_app.server.app_context():
        card = _card("op_antibiotic_rate", pd.Series({"value": 14.4, "yoy_value": 14.4004, "status": "达标"}),
                     pd.DataFrame(columns=["period", "value"]), state)
        text = " ".join(_texts(_tree(card)))
        assert "持平" in text and "0.0%" not in text.replace("14.4%", "")
        card = _card("chronic_hospitalization_rate", pd.Series({"value": 1.4, "yoy_value": 1.5, "status": None}),
                     pd.DataFrame(columns=["period", "value"]), state)
        text = " ".join(_texts(_tree(card)))
        assert "无目标值" in text and "目标 参考" not in text and "▼" in text


def test_cards_of_percentage_indicators_change_in_points(app_cfg, flask_app):
    """Issue 14: a growth rate going from +3 % to −2.8 % read 同比 ▼192.5 %. A % indicator's card (rates,
    growth rates) shows 同比/环比 in percentage points (环比 here: the tiny mart has no growth rate a year back), the difference of the engine's two values; a count or
    money indicator keeps the relative change."""
    import pandas as pd

    from dashboard.urlstate import ViewState
    from dashboard.views.cards import card as _card
    from layouts.formatting import fmt_pct_change, fmt_pp_change
    from metrics.engine import compute
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    rows = compute(["op_cost_growth", "op_cost_per_visit"], "county", "month", month, month,
                   mart_url=app_cfg.mart_url).set_index("indicator_id")
    state = ViewState("month", month, None)
    texts = {}
    with flask_app.server.app_context():
        for iid, points in (("op_cost_growth", True), ("op_cost_per_visit", False)):
            r = rows.loc[iid]
            assert pd.notna(r["value"]) and pd.notna(r["mom_value"]), r
            want = (fmt_pp_change(r["value"] - r["mom_value"]) if points
                    else fmt_pct_change((r["value"] - r["mom_value"]) / abs(r["mom_value"])))
            text = texts[iid] = " ".join(_texts(_tree(_card(iid, r, pd.DataFrame(columns=["period", "value"]),
                                                            state))))
            assert "环比" in text and want.lstrip("+-") in text, (iid, want, text)
            assert ("个百分点" in text) is points, text
    # the growth rate's change read as a relative change is not what its card says
    r = rows.loc["op_cost_growth"]
    relative = fmt_pct_change((r["value"] - r["mom_value"]) / abs(r["mom_value"])).lstrip("+-")
    assert relative not in texts["op_cost_growth"].replace(f"{r['value']:.1f}%", ""), texts
