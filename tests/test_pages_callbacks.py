"""Callbacks of the indicator pages called directly through the Flask test client (real app, tiny demo mart).

Each test POSTs the payload the browser sends to ``/_dash-update-component`` as a logged-in leader or manager and
checks the answer against ``metrics.engine.compute`` (the numbers) or the scope rules (what a manager may see).
"""
from __future__ import annotations

import base64
import csv
import io
import json

import openpyxl
import pytest

from dashboard.urlstate import month_to_period
from layouts import _pageparts as L
from metrics.scope import FULL_SCOPE

IND = "op_antibiotic_rate"


def _payload(outputs: list[tuple[str, str]], inputs: list[tuple], states: list[tuple]) -> dict:
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = (".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{outputs[0][0]}.{outputs[0][1]}"
    return {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in states],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"]}


def call(client, outputs: list[tuple[str, str]], trigger: tuple, search: str, extra_states=()) -> dict:  # noqa: ANN001
    """POST one callback; returns {component id: {property: value}}."""
    resp = client.post("/_dash-update-component",
                       json=_payload(outputs, [trigger], [*extra_states, ("url", "search", search)]))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_json()["response"]


def breakdown(client, search: str) -> dict:  # noqa: ANN001
    return call(client, [(L.BREAKDOWN_BOX, "children"), (L.BREAKDOWN_TITLE, "children"), (L.TABLE_BOX, "children")],
                (L.ID, "data", IND), search)


def _find(tree, pred) -> list[dict]:  # noqa: ANN001
    """Every dict in a JSON component tree for which ``pred`` is true, in document order."""
    found: list[dict] = []

    def walk(node) -> None:  # noqa: ANN001
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


def _grid_rows(tree) -> list[dict]:  # noqa: ANN001
    grids = _find(tree, lambda n: n.get("type") == "AgGrid")
    assert len(grids) == 1, "expected one table"
    return grids[0]["props"]["rowData"]


def manager_institutions(cfg) -> set[str]:  # noqa: ANN001
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
def ctx(app_cfg, flask_app):  # noqa: ANN001, ANN201
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
    assert "按机构" in out[L.BREAKDOWN_TITLE]["children"]
    # each bar carries the query string of its drill (followed in the browser without a server call)
    bars = _find(out[L.BREAKDOWN_BOX]["children"], lambda n: n.get("type") == "bar" and "customdata" in n)
    assert len(bars) == 1
    links = {cd[0]: cd[1] for cd in bars[0]["customdata"]}
    assert set(links) == set(eng.dropna(subset=["value"]).index)
    code = next(iter(links))
    assert links[code] == f"?grain=quarter&period={ctx['period']}&org={code}"


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
    # the export of that view holds no department either
    exp = _export(client, _search(ctx, ctx["other"]), "csv")
    assert all(r["代码"] == ctx["other"] for r in exp)
    assert not any(r["层级"] in ("科室", "医生") for r in exp)


def test_manager_sees_departments_of_own_institution(client_as, ctx):
    out = breakdown(client_as("manager"), _search(ctx, ctx["own"]))
    rows = _grid_rows(out[L.TABLE_BOX]["children"])
    assert any(r["level_zh"] == "科室" for r in rows)
    assert "无权查看" not in json.dumps(out, ensure_ascii=False)


def _download(client, search: str, fmt: str) -> dict:  # noqa: ANN001
    trigger_id = L.EXPORT_XLSX if fmt == "xlsx" else L.EXPORT_CSV
    payload = _payload([(L.DOWNLOAD, "data")],
                       [(L.EXPORT_CSV, "n_clicks", 1 if fmt == "csv" else 0),
                        (L.EXPORT_XLSX, "n_clicks", 1 if fmt == "xlsx" else 0)],
                       [(L.ID, "data", IND), ("url", "search", search)])
    payload["changedPropIds"] = [f"{trigger_id}.n_clicks"]
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200
    return resp.get_json()["response"][L.DOWNLOAD]["data"]


def _export(client, search: str, fmt: str) -> list[dict]:  # noqa: ANN001
    data = _download(client, search, fmt)
    raw = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode("utf-8")
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
            if r["指标值"] not in (None, ""):
                assert float(r["指标值"]) == pytest.approx(float(e["value"]), rel=1e-9), fmt


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
    if role == "manager":      # a manager's alerts name only their own institutions
        assert all(any(f"org={c}" in h for c in ctx["mine"]) for h in links)
    assert all(h.startswith("/indicator/") for h in links)


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
