"""The alert store feeds the monthly report and the wall's ticker: after a real ``alerts run`` on a copy of the
tiny demo (real DuckDB mart, real SQLite app database), the report's alerts and statuses are the store's, the
fallback to computed alerts is marked 未登记, and a stored open alert's message rolls on /screen."""
from __future__ import annotations

import pytest


@pytest.fixture
def store_copy(demo_copy):
    """The demo copy with the alerts evaluated into the store."""
    from dashboard.alerts.run import run_alerts
    res = run_alerts(demo_copy, send=False)
    assert res.month
    return demo_copy, res.month


def _store(cfg, month: str, scope):
    from dashboard.alerts.store import list_alerts
    df = list_alerts(cfg.app_db_url, scope)
    return df[df["period"].astype(str).isin([month, month[:4]])]


def test_report_alerts_are_the_stores_with_lifecycle_status(store_copy) -> None:
    from dashboard.alerts.store import set_status
    from dashboard.reporting.alerts import month_alerts
    from metrics.scope import FULL_SCOPE, manager_scope
    from reports.content import build_report
    cfg, month = store_copy
    stored = _store(cfg, month, FULL_SCOPE)
    assert len(stored) > 0
    first = int(stored.iloc[0]["alert_id"])
    set_status(cfg.app_db_url, first, "acknowledged", FULL_SCOPE, ("tester", "", ""), "已知悉")
    alerts = month_alerts(cfg, month, None, FULL_SCOPE)
    assert {a["alert_id"] for a in alerts} == set(stored["alert_id"].astype(int))
    by_id = {a["alert_id"]: a for a in alerts}
    assert by_id[first]["status"] == "已确认"
    want = {"new": "新", "acknowledged": "已确认", "in_progress": "处置中", "closed": "已关闭"}
    for r in _store(cfg, month, FULL_SCOPE).to_dict("records"):
        a = by_id[int(r["alert_id"])]
        expected = "自动恢复" if r["status"] == "closed" and r["resolution"] == "auto" else want[r["status"]]
        assert (a["status"], a["message"], a["org_code"]) == (expected, r["message"], r["org_code"])
    ranks = [{"严重": 0, "一般": 1, "提示": 2}[a["severity"]] for a in alerts]
    assert ranks == sorted(ranks)                                   # worst first
    # the report files the store's alerts (with their statuses) under its sections
    report = build_report(month, alerts=alerts, mart_url=cfg.mart_url)
    filed = [a for s in report.sections for a in s.alerts]
    assert filed and all(a["status"] in set(want.values()) | {"自动恢复"} for a in filed)
    assert {a["alert_id"] for a in filed} <= set(by_id)
    assert by_id[first] in filed or not by_id[first]["indicator"]
    assert not any("未登记" in c for c in report.caveats)
    # a manager's report: only the alerts of their institutions
    inst = next(r["org_code"] for r in stored.to_dict("records") if r["level"] == "institution")
    mine = month_alerts(cfg, month, None, manager_scope([inst]))
    assert mine and {a["org_code"] for a in mine} == {inst}


def test_report_falls_back_to_computed_alerts_marked_unregistered(store_copy) -> None:
    from sqlalchemy import delete

    from dashboard.alerts.models import Alert, AlertEvent
    from dashboard.appdb import session_factory
    from dashboard.reporting.alerts import month_alerts
    from metrics.scope import FULL_SCOPE
    from reports.content import build_report
    cfg, month = store_copy
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(delete(AlertEvent))
        s.execute(delete(Alert))
    alerts = month_alerts(cfg, month, None, FULL_SCOPE)
    assert alerts and {a["status"] for a in alerts} == {"未登记"}
    report = build_report(month, alerts=alerts, mart_url=cfg.mart_url)
    assert any("未登记" in c for c in report.caveats)


def test_wall_ticker_rolls_the_stores_open_alerts(store_copy) -> None:
    from core.roles import SCREEN
    from dashboard.accounts.service import create_user, ensure_demo_accounts
    from dashboard.alerts.store import list_alerts
    from dashboard.app import create_app
    from metrics.scope import FULL_SCOPE
    from tests.fixtures_web import login_client
    from tests.test_screen import PW, _refresh_body
    cfg, _month = store_copy
    open_ = list_alerts(cfg.app_db_url, FULL_SCOPE, "open")
    assert len(open_) > 0
    ensure_demo_accounts(cfg)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    create_user(cfg, "wall-store", SCREEN, PW, is_demo=True)
    client, resp = login_client(app, "wall-store", PW)
    assert resp.status_code == 302
    r = client.post("/_dash-update-component", json=_refresh_body(app))
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "error-card" not in text
    assert str(open_.iloc[0]["message"]) in text
    assert "当前无超出目标的机构指标" not in text


def test_cockpit_cards_show_year_end_projection_once_cached(flask_app, app_cfg, client_as) -> None:
    """A cold cockpit starts the projection in the background and shows none; once cached, every card of an
    indicator with an annual target shows 预计全年 with the forecast module's value and status, the others none."""
    import time

    from bench.pages import _payload
    from dashboard.views.cards import projection_ids
    from layouts._pageparts import HEADLINE_IDS
    from layouts.formatting import fmt_value
    from metrics.catalogue import INDICATORS
    from metrics.forecast import year_end
    from metrics.scope import FULL_SCOPE
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    client = client_as("leader")
    body = _payload([("home-cards", "children"), ("home-subtitle", "children")], ("home-ready", "data", True),
                    f"?grain=month&period={month}")

    def cards() -> dict[str, str | None]:
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 200
        out = {}
        for c in r.get_json()["response"]["home-cards"]["children"]:
            kids = c["props"]["children"]
            cid = (c["props"].get("id") or {}).get("id")
            lines = [k["props"]["children"] for k in kids
                     if isinstance(k, dict) and k.get("props", {}).get("className") == "kpi-projection"]
            out[cid] = lines[0] if lines else None
        return out

    first = cards()
    deadline = time.time() + 120
    shown = first
    while time.time() < deadline and not any(shown.values()):
        time.sleep(0.5)
        shown = cards()
    pids = projection_ids(list(HEADLINE_IDS))
    assert pids
    expected = year_end(pids, "county", None, app_cfg.mart_url, FULL_SCOPE)
    assert str(int(expected["year"].iloc[0])) == month[:4]
    want = {}
    for r in expected.to_dict("records"):
        ind = INDICATORS[r["indicator_id"]]
        want[r["indicator_id"]] = f"预计全年 {fmt_value(r['projected'], ind.unit or '', ind.decimals)}（{r['status']}）"
    for iid, line in shown.items():
        if iid in want:
            assert line == want[iid], iid
        else:
            assert line is None, iid          # no annual target or not forecastable: nothing
    assert set(want) <= set(shown)
    # a period of an earlier year: no projection line
    body["state"][0]["value"] = f"?grain=month&period={int(month[:4]) - 1}{month[4:]}"
    assert not any(cards().values())
