"""指标目录 /indicators through the real app (Flask test client, tiny demo mart): every indicator is listed, the
county values equal ``metrics.engine.compute``, the text filter filters and each entry links to its page."""
from __future__ import annotations

import pytest

from layouts import _pageparts as L
from layouts.formatting import fmt_value
from metrics.catalogue import INDICATORS
from metrics.scope import FULL_SCOPE
from tests.http_text import body_text
from tests.test_pages_callbacks import _find, _payload


def catalogue(client, query: str = "") -> dict:
    resp = client.post("/_dash-update-component", json=_payload(
        [(L.CATALOG_LIST, "children"), (L.CATALOG_SUBTITLE, "children")], [(L.CATALOG_SEARCH, "value", query)], []))
    assert resp.status_code == 200, body_text(resp)[:500]
    return resp.get_json()["response"]


def rows_of(out: dict) -> dict[str, dict]:
    rows = _find(out[L.CATALOG_LIST]["children"], lambda n: isinstance(n.get("props"), dict)
                 and isinstance(n["props"].get("id"), dict) and n["props"]["id"].get("type") == "catalog-row")
    return {r["props"]["id"]["id"]: r for r in rows}


def texts(node) -> list[str]:
    out: list[str] = []

    def walk(n) -> None:
        if isinstance(n, str):
            out.append(n)
        elif isinstance(n, dict):
            walk(n.get("props", {}).get("children"))
        elif isinstance(n, list):
            for x in n:
                walk(x)
    walk(node)
    return out


def test_page_is_served_and_nav_opens_it(client_as):
    resp = client_as("leader").get("/indicators")
    assert resp.status_code == 200
    from layouts._nav import nav_items
    assert next(i for i in nav_items() if i.label == "指标目录").href == "/indicators"


@pytest.mark.parametrize("role", ["leader", "manager"])
def test_lists_every_indicator_with_links(client_as, role):
    rows = rows_of(catalogue(client_as(role)))
    assert set(rows) == set(INDICATORS)
    for ind_id, row in rows.items():
        links = _find(row, lambda n: n.get("type") == "Link")
        assert [lk["props"]["href"] for lk in links] == [f"/indicator/{ind_id}"]
        assert INDICATORS[ind_id].zh in texts(row)


def test_values_equal_engine_and_unavailable_show_reason(client_as, app_cfg):
    from dashboard.views.catalogue import computable_ids
    from metrics.engine import compute
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    out = catalogue(client_as("leader"))
    rows = rows_of(out)
    assert f"{int(month[5:7])}月" in out[L.CATALOG_SUBTITLE]["children"]
    ids_ = computable_ids()
    assert len(ids_) > 10
    eng = compute(ids_, "county", "month", month, month, scope=FULL_SCOPE, mart_url=app_cfg.mart_url,
                  comparisons=False).set_index("indicator_id")
    checked = 0
    for ind_id in ids_:
        row_text = texts(rows[ind_id])
        value = eng.loc[ind_id, "value"]
        if value == value and value is not None:     # not NaN
            ind = INDICATORS[ind_id]
            assert fmt_value(float(value), ind.unit, ind.decimals) in row_text, ind_id
            status = eng.loc[ind_id, "status"]
            if isinstance(status, str):
                assert status in row_text, ind_id
            checked += 1
        else:
            assert "本期无数据" in row_text
    assert checked > 10
    for ind_id, ind in INDICATORS.items():
        if not ind.available:
            assert (ind.unavailable_zh or "暂不可计算") in texts(rows[ind_id])
            assert "暂不可计算" in texts(rows[ind_id]) or ind.unavailable_zh in texts(rows[ind_id])


def test_search_filters_by_name_id_and_theme(client_as):
    client = client_as("leader")
    some = next(iter(INDICATORS.values()))
    by_name = rows_of(catalogue(client, some.zh))
    assert some.id in by_name and len(by_name) < len(INDICATORS)
    assert all(some.zh in INDICATORS[i].zh or some.zh in " ".join(texts(r)) for i, r in by_name.items())
    assert set(rows_of(catalogue(client, some.id))) >= {some.id}
    out = catalogue(client, "没有这种指标xyz")
    assert rows_of(out) == {} and "没有与" in " ".join(texts(out[L.CATALOG_LIST]["children"]))
    cost = rows_of(catalogue(client, "费用"))
    assert {i for i, e in INDICATORS.items() if e.topic == "cost"} <= set(cost)
