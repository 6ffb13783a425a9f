"""The indicator trend shows the forecast: a dashed line and a shaded 95 % band for the coming months."""
from __future__ import annotations

from layouts import _pageparts as L
from tests.test_pages_callbacks import _find, call


def _trend(client, indicator_id: str, search: str) -> list[dict]:
    out = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", indicator_id), search)
    figs = _find(out, lambda n: n.get("type") == "Graph")
    assert len(figs) == 1
    return figs[0]["props"]["figure"]["data"]


def test_trend_at_the_last_month_has_forecast_band(client_as, app_cfg) -> None:
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    client = client_as("leader")
    traces = _trend(client, "op_antibiotic_rate", f"?grain=month&period={month}&org=T007")
    names = [t.get("name") for t in traces]
    assert "预测" in names and "预测区间 95%" in names
    line = traces[names.index("预测")]
    band = traces[names.index("预测区间 95%")]
    assert line["line"]["dash"] == "dash" and band["fill"] == "toself"
    assert len(line["x"]) == 4 and len(band["x"]) == 6          # last actual month + 3 forecast months
    # an earlier period: history only, no forecast
    y, m = int(month[:4]), int(month[5:])
    earlier = f"{y - 1}-{m:02d}"
    names = [t.get("name") for t in _trend(client, "op_antibiotic_rate", f"?grain=month&period={earlier}")]
    assert "预测" not in names


def test_cockpit_alert_list_reads_the_alert_store(client_as, app_cfg) -> None:
    """With open alerts in the store, the cockpit lists them (worst first) and links to 预警中心."""
    from dashboard.alerts.store import sync_findings
    from dashboard.appdb import session_factory
    from metrics.alert_rules import Finding
    from tests.test_pages_callbacks import _find
    with session_factory(app_cfg.app_db_url)() as s, s.begin():
        sync_findings(s, [Finding("TSTC", "anomaly", "op_antibiotic_rate", "institution", "T007", "石门镇卫生院",
                                  "2026-10", "high", 39.2, 18.1, "石门镇卫生院 门诊抗菌药物使用率 39.2%，高于预期区间上限 "
                                  "18.1%（2026年10月）")], ["TSTC"], "2026-10")
    out = call(client_as("leader"), [(L.ALERTS, "children")], (L.READY, "data", True), "")
    links = _find(out, lambda n: n.get("type") == "Link")
    hrefs = [n["props"]["href"] for n in links]
    assert "/indicator/op_antibiotic_rate?grain=month&period=2026-10&org=T007" in hrefs
    assert hrefs[-1] == "/alerts"
