"""综合评价: the scoring method on hand-made engine rows, the page's scores recomputed from ``compute()``, the
admin's weight change (ranking changes, one audit row), refusals for everyone else, the manager's scope and the
CLI (real app, tiny demo mart, real app database)."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from layouts import _assessment_parts as A
from metrics.assessment import DEFAULT_WEIGHTS, AssessmentError, rank_points, score, target_points
from metrics.catalogue import INDICATORS
from metrics.scope import FULL_SCOPE
from metrics.status import WARNING_BAND
from tests.http_text import body_text
from tests.test_pages_callbacks import _find, _payload, manager_institutions

ORIGIN = {"Origin": "http://localhost"}
GRAIN, PERIOD, START, END = "year", "2025", "2025-01", "2025-12"
TYPE = "township_center"


# ---------------------------------------------------------------------------------------------- the method
def _rows(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Engine-shaped rows (institution level, one period) from {(org, indicator): value}."""
    return pd.DataFrame([{"indicator_id": i, "level": "institution", "org_code": o, "org_name": f"机构{o}",
                          "period": PERIOD, "value": v, "status": None} for (o, i), v in values.items()])


def test_method_targets_band_rank_and_renormalisation():
    insts = pd.DataFrame({"inst_code": ["A", "B", "C"], "inst_type": [TYPE] * 3, "level": ["township"] * 3})
    high = INDICATORS["op_antibiotic_rate"].target_high            # ≤ 20 %
    low = INDICATORS["tcm_visit_share"].target_low                 # ≥ 25 %
    half_miss = high + high * WARNING_BAND / 2                     # half way through the warning band
    values = {("A", "op_antibiotic_rate"): high, ("B", "op_antibiotic_rate"): half_miss,
              ("C", "op_antibiotic_rate"): high * 2,
              ("A", "tcm_visit_share"): low - 1, ("B", "tcm_visit_share"): low + 5, ("C", "tcm_visit_share"): low,
              ("A", "op_cost_per_visit"): 90.0, ("B", "op_cost_per_visit"): 100.0, ("C", "op_cost_per_visit"): 80.0,
              ("A", "ip_drug_share"): float("nan"), ("B", "ip_drug_share"): 10.0, ("C", "ip_drug_share"): 50.0}
    weights = {"op_antibiotic_rate": 2, "tcm_visit_share": 1, "op_cost_per_visit": 1, "ip_drug_share": 4}
    res = score(_rows(values), weights, insts)
    det = res.detail.set_index(["org_code", "indicator_id"])
    # met → full, half through the band → half, beyond → 0; direction comes from the target's bound
    assert det.loc[("A", "op_antibiotic_rate"), "points"] == pytest.approx(det.loc[("A", "op_antibiotic_rate"),
                                                                                    "max_points"])
    assert det.loc[("B", "op_antibiotic_rate"), "points"] == pytest.approx(
        det.loc[("B", "op_antibiotic_rate"), "max_points"] / 2, rel=0.05)
    assert det.loc[("C", "op_antibiotic_rate"), "points"] == 0
    assert det.loc[("B", "tcm_visit_share"), "points"] == pytest.approx(det.loc[("B", "tcm_visit_share"),
                                                                                "max_points"])
    # no target: rank among the type, lower cost best (C 80 → full, A 90 → half, B 100 → 0)
    assert det.loc[("C", "op_cost_per_visit"), "method"] == "同类排名"
    shares = {o: det.loc[(o, "op_cost_per_visit"), "points"] / det.loc[(o, "op_cost_per_visit"), "max_points"]
              for o in "ABC"}
    assert shares == pytest.approx({"C": 1.0, "A": 0.5, "B": 0.0})
    # A has no 住院药占比: left out, its weight re-normalised (the other three share 100 points)
    assert det.loc[("A", "ip_drug_share"), "method"] == "不适用"
    assert math.isnan(det.loc[("A", "ip_drug_share"), "points"])
    a = det.loc["A"]
    assert a["max_points"].sum() == pytest.approx(100)
    assert a.loc["op_antibiotic_rate", "max_points"] == pytest.approx(100 * 2 / (2 + 1 + 1))
    scores = res.scores.set_index("org_code")
    assert scores.loc["A", "indicators_scored"] == 3 and scores.loc["B", "indicators_scored"] == 4
    for org in "ABC":
        assert scores.loc[org, "score"] == pytest.approx(det.loc[org, "points"].sum(min_count=1))
    best = scores["score"].idxmax()
    assert scores.loc[best, "rank"] == 1 and set(scores["peers"]) == {3}


def test_method_helpers_and_refusals():
    assert target_points(95, 95, None) == 1 and target_points(100, 75, 93) == 0
    assert target_points(0.1, None, 0) == 0                 # a target of 0 has no warning band
    assert list(rank_points(pd.Series([3.0, 1.0]), "up")) == [1.0, 0.0]
    assert list(rank_points(pd.Series([5.0]), "down")) == [1.0]
    insts = pd.DataFrame({"inst_code": ["A"], "inst_type": [TYPE], "level": ["township"]})
    for bad, message in [({"alos": 0}, "必须大于 0"), ({"alos": -2}, "必须大于 0"), ({"nope": 1}, "未知指标"),
                         ({"surgeries": 1}, "不能按机构评价"), ({}, "至少启用")]:
        with pytest.raises(AssessmentError, match=message):
            score(_rows({("A", "alos"): 5.0}), bad, insts)


# ---------------------------------------------------------------------------------------------- the page
def ranking(client, inst_type: str = TYPE) -> tuple[list[dict], str]:
    resp = client.post("/_dash-update-component", json=_payload(
        [(A.CHART_BOX, "children"), (A.TABLE_BOX, "children"), (A.SUBTITLE, "children")],
        [(A.PERIOD, "value", PERIOD), (A.TYPE, "value", inst_type)], [(A.GRAIN, "value", GRAIN),
                                                                       (A.SELECTED, "data", None)]))
    assert resp.status_code == 200, body_text(resp)[:500]
    out = resp.get_json()["response"]
    grids = _find(out[A.TABLE_BOX]["children"], lambda n: n.get("type") == "AgGrid")
    return (grids[0]["props"]["rowData"] if grids else []), out[A.SUBTITLE]["children"]


def detail(client, org: str) -> list:
    resp = client.post("/_dash-update-component", json=_payload(
        [(A.DETAIL_TITLE, "children"), (A.DETAIL_BOX, "children")],
        [(A.SELECTED, "data", org), (A.PERIOD, "value", PERIOD)], [(A.GRAIN, "value", GRAIN)]))
    assert resp.status_code == 200, body_text(resp)[:500]
    return resp.get_json()["response"][A.DETAIL_BOX]["children"]


def engine_assessment(cfg, weights):
    from metrics.engine import compute
    from queries.org import org_tree
    frame = compute(list(weights), "institution", GRAIN, START, END, scope=FULL_SCOPE, mart_url=cfg.mart_url,
                    comparisons=False)
    return frame, score(frame, weights, org_tree(cfg.mart_url))


def test_page_scores_recompute_from_engine(client_as, app_cfg):
    rows, subtitle = ranking(client_as("leader"))
    frame, res = engine_assessment(app_cfg, DEFAULT_WEIGHTS)
    expected = res.scores[res.scores["inst_type"] == TYPE].set_index("org_code")
    assert len(rows) == len(expected) >= 3 and f"共 {len(expected)} 家" in subtitle
    for row in rows:
        assert row["score"] == pytest.approx(round(expected.loc[row["org_code"], "score"], 1))
        assert row["rank"] == expected.loc[row["org_code"], "rank"]
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    # the points agree with the engine's own status: 达标 → full marks, 未达标 → 0
    eng = frame.set_index(["org_code", "indicator_id"])
    det = res.detail[res.detail["inst_type"] == TYPE]
    judged = 0
    for d in det.itertuples(index=False):
        status = eng.loc[(d.org_code, d.indicator_id), "status"] if (d.org_code, d.indicator_id) in eng.index \
            else None
        if status == "达标":
            assert d.points == pytest.approx(d.max_points)
            judged += 1
        elif status == "未达标":
            assert d.points == 0
            judged += 1
        elif d.method == "不适用":
            assert pd.isna(eng.loc[(d.org_code, d.indicator_id), "value"]) if (d.org_code, d.indicator_id) in \
                eng.index else True
    assert judged > 20


def test_manager_sees_ranking_but_details_only_of_own(client_as, app_cfg):
    own = manager_institutions(app_cfg)
    client = client_as("manager")
    rows, _subtitle = ranking(client)
    assert rows, "the manager sees the ranking of township centres"
    others = [r["org_code"] for r in rows if r["org_code"] not in own]
    mine = [r["org_code"] for r in rows if r["org_code"] in own]
    assert others and mine
    assert {r["detail"] for r in rows if r["org_code"] in others} == {"无权查看"}
    assert {r["detail"] for r in rows if r["org_code"] in mine} == {"查看"}
    refused = detail(client, others[0])
    assert "无权查看该机构明细" in str(refused) and not _find(refused, lambda n: n.get("type") == "AgGrid")
    shown = detail(client, mine[0])
    grid = _find(shown, lambda n: n.get("type") == "AgGrid")[0]["props"]["rowData"]
    assert len(grid) == len(DEFAULT_WEIGHTS)
    assert all(f"org={mine[0]}" in g["indicator"] for g in grid)       # links to the indicator page, this org


# ---------------------------------------------------------------------------------------------- the weights
def _form(cfg, override: dict[str, tuple[float, bool]]) -> tuple[list, list, list]:
    from dashboard.assessment.store import weight_table
    rows = weight_table(cfg)
    ids = [{"type": A.W_WEIGHT, "id": r.indicator_id} for r in rows]
    weights = [override.get(r.indicator_id, (r.weight, r.enabled))[0] for r in rows]
    enabled = [["on"] if override.get(r.indicator_id, (r.weight, r.enabled))[1] else [] for r in rows]
    return ids, weights, enabled


def save_key(flask_app) -> str:
    """The save callback's output key as the server registered it (allow_duplicate adds a hash)."""
    return next(k for k, v in flask_app.callback_map.items()
                if any(i.get("id") == A.W_CONFIRM_SAVE for i in v.get("inputs", [])))


def save_payload(flask_app, cfg, override) -> dict:
    ids, weights, enabled = _form(cfg, override)
    e_ids = [{"type": A.W_ENABLED, "id": i["id"]} for i in ids]
    return {"output": save_key(flask_app),
            "outputs": [{"id": A.W_MSG, "property": "children"}, {"id": A.W_TICK, "property": "data"}],
            "inputs": [{"id": A.W_CONFIRM_SAVE, "property": "submit_n_clicks", "value": 1}],
            "state": [[{"id": i, "property": "id", "value": i} for i in ids],
                      [{"id": i, "property": "value", "value": w} for i, w in zip(ids, weights)],
                      [{"id": i, "property": "value", "value": e} for i, e in zip(e_ids, enabled)],
                      {"id": A.W_TICK, "property": "data", "value": 0}],
            "changedPropIds": [f"{A.W_CONFIRM_SAVE}.submit_n_clicks"]}


def _audits(cfg, action: str) -> int:
    from dashboard.accounts.logs import audit_log
    return int((audit_log(cfg, days=1)["action_code"] == action).sum())


def test_admin_change_reranks_and_is_audited_once(client_as, app_cfg, flask_app):
    from dashboard.assessment.store import current_weights, reset_weights
    before_rows, _ = ranking(client_as("leader"))
    admin = client_as("admin")
    assert admin.get("/admin/assessment").status_code == 200
    # only 县域内中医类诊疗量占比 and 门诊次均费用 count: a ranking of those two
    keep = {"tcm_visit_share": (3.0, True), "op_cost_per_visit": (1.0, True)}
    override = {i: (w, False) for i, w in DEFAULT_WEIGHTS.items()} | keep
    audits = _audits(app_cfg, "assessment.weights")
    try:
        resp = admin.post("/_dash-update-component", json=save_payload(flask_app, app_cfg, override), headers=ORIGIN)
        assert resp.status_code == 200, body_text(resp)[:500]
        assert "已保存" in str(resp.get_json()["response"][A.W_MSG]["children"])
        assert _audits(app_cfg, "assessment.weights") == audits + 1
        assert current_weights(app_cfg) == {"tcm_visit_share": 3.0, "op_cost_per_visit": 1.0}
        after_rows, _ = ranking(client_as("leader"))
        _frame, res = engine_assessment(app_cfg, {"tcm_visit_share": 3.0, "op_cost_per_visit": 1.0})
        expected = res.scores.set_index("org_code")
        for row in after_rows:
            assert row["score"] == pytest.approx(round(expected.loc[row["org_code"], "score"], 1))
        assert [(r["org_code"], r["rank"]) for r in after_rows] != [(r["org_code"], r["rank"]) for r in before_rows]
        # saving the same form again changes nothing and writes no audit row
        resp = admin.post("/_dash-update-component", json=save_payload(flask_app, app_cfg, override), headers=ORIGIN)
        assert "未变化" in str(resp.get_json()["response"][A.W_MSG]["children"])
        assert _audits(app_cfg, "assessment.weights") == audits + 1
        # a weight ≤ 0 is refused in Chinese and changes nothing
        resp = admin.post("/_dash-update-component",
                          json=save_payload(flask_app, app_cfg, override | {"tcm_visit_share": (0, True)}), headers=ORIGIN)
        assert "权重必须大于 0" in str(resp.get_json()["response"][A.W_MSG]["children"])
        assert current_weights(app_cfg)["tcm_visit_share"] == 3.0
    finally:
        reset_weights(app_cfg)
    assert current_weights(app_cfg) == DEFAULT_WEIGHTS


@pytest.mark.parametrize("role", ["leader", "manager", "operator", "auditor"])
def test_others_cannot_change_weights(client_as, app_cfg, flask_app, role):
    from dashboard.assessment.store import current_weights
    client = client_as(role)
    assert client.get("/admin/assessment").status_code in (302, 403)
    override = {"alos": (50.0, True)}
    resp = client.post("/_dash-update-component", json=save_payload(flask_app, app_cfg, override), headers=ORIGIN)
    assert resp.status_code == 403
    assert current_weights(app_cfg) == DEFAULT_WEIGHTS


def test_admin_save_needs_same_origin(client_as, app_cfg, flask_app):
    from dashboard.assessment.store import current_weights
    resp = client_as("admin").post("/_dash-update-component", json=save_payload(flask_app, app_cfg, {"alos": (50.0, True)}),
                                   headers={"Origin": "http://evil.example"})
    assert resp.status_code == 403
    assert current_weights(app_cfg) == DEFAULT_WEIGHTS


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.fixture
def cli_env(app_cfg, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(app_cfg.data_dir))
    monkeypatch.setenv("MART_URL", app_cfg.mart_url)
    monkeypatch.setenv("APP_DB_URL", app_cfg.app_db_url)
    return app_cfg


def test_cli_header_and_scores(cli_env):
    from app import cli
    out = CliRunner().invoke(cli, ["assessment", "--period", PERIOD, "--type", "township", "--format", "csv"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0] == "org_code,org_name,inst_type,score,rank,indicators_scored"
    _frame, res = engine_assessment(cli_env, DEFAULT_WEIGHTS)
    expected = res.scores[res.scores["inst_type"] == TYPE].set_index("org_code")
    assert len(lines) - 1 == len(expected)
    for line in lines[1:]:
        code, _name, inst_type, value, rank, scored = line.split(",")
        assert inst_type == TYPE and float(value) == pytest.approx(round(expected.loc[code, "score"], 2))
        assert int(rank) == expected.loc[code, "rank"] and int(scored) == expected.loc[code, "indicators_scored"]
    bad = CliRunner().invoke(cli, ["assessment", "--period", "2025Q3"])
    assert bad.exit_code == 2 and "期间" in bad.output


def test_cli_weights_audited_and_refusals_change_nothing(cli_env):
    from app import cli
    from dashboard.assessment.store import current_weights
    audits = _audits(cli_env, "assessment.weights")
    try:
        out = CliRunner().invoke(cli, ["assessment", "weights", "--set", "alos=12"])
        assert out.exit_code == 0 and "已修改 1 项" in out.output
        assert current_weights(cli_env)["alos"] == 12
        assert _audits(cli_env, "assessment.weights") == audits + 1
        for args, message in [(["--set", "alos=-1"], "必须大于 0"), (["--set", "alos"], "ID=权重"),
                              (["--set", "surgeries=2"], "不能按机构评价")]:
            bad = CliRunner().invoke(cli, ["assessment", "weights", *args])
            assert bad.exit_code == 2 and message in bad.output
        assert current_weights(cli_env)["alos"] == 12
        assert _audits(cli_env, "assessment.weights") == audits + 1
    finally:
        out = CliRunner().invoke(cli, ["assessment", "weights", "--reset"])
    assert "已恢复默认权重" in out.output and current_weights(cli_env) == DEFAULT_WEIGHTS


def test_docs_list_the_default_set():
    from pathlib import Path

    from metrics.assessment import DEFAULT_SET
    text = (Path(__file__).resolve().parent.parent / "docs" / "assessment.md").read_text(encoding="utf-8")
    for iid, weight, dimension in DEFAULT_SET:
        assert f"| `{iid}` | {INDICATORS[iid].zh} | {dimension} | {weight:g} |" in text, iid
    assert "(assessment.md)" in (Path(__file__).resolve().parent.parent / "docs" / "indicators.md").read_text(
        encoding="utf-8")


def test_export_csv_holds_the_ranking_and_is_audited(client_as, app_cfg):
    import base64
    import csv
    import io
    client = client_as("manager")
    rows, _ = ranking(client)
    exports = _audits(app_cfg, "data.export")
    resp = client.post("/_dash-update-component", json=_payload(
        [(A.DOWNLOAD, "data"), (A.EXPORT_MSG, "children")],
        [(A.EXPORT_CSV, "n_clicks", 1), (A.EXPORT_XLSX, "n_clicks", 0)],
        [(A.GRAIN, "value", GRAIN), (A.PERIOD, "value", PERIOD), (A.TYPE, "value", TYPE)]))
    assert resp.status_code == 200, body_text(resp)[:500]
    data = resp.get_json()["response"][A.DOWNLOAD]["data"]
    assert data["filename"].endswith(".csv")
    text = base64.b64decode(data["content"]).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["机构编码"] for r in table] == [r["org_code"] for r in rows]
    assert [float(r["综合得分"]) for r in table] == pytest.approx([r["score"] for r in rows], abs=0.051)
    assert _audits(app_cfg, "data.export") == exports + 1
