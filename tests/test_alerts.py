"""Warning rules, the alert store and its lifecycle on a copy of the tiny demo (real DuckDB mart, real SQLite app
database), and the CLI."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select


def _alerts(cfg):
    from dashboard.alerts.store import list_alerts
    from metrics.scope import FULL_SCOPE
    return list_alerts(cfg.app_db_url, FULL_SCOPE)


def _loosen_for_tiny_demo(cfg) -> None:
    """The tiny demo (scale 0.01) has a hundredth of the cases: the admin lowers the sample floors."""
    from dashboard.alerts.admin import save_rule
    for code in ("R02", "R04", "R05"):
        save_rule(cfg, code, {"params": '{"min_denominator": 20, "n": 3, "min_change": 15, '
                                         '"direction": {"doctor_daily_visits": "up"}}'})


def test_run_raises_planted_problems_and_rerun_updates(demo_copy) -> None:
    from dashboard.alerts.run import run_alerts
    _loosen_for_tiny_demo(demo_copy)
    res = run_alerts(demo_copy, send=False)
    assert res.month == "2026-10"                  # the tiny demo runs to 2026-11-24
    df = _alerts(demo_copy)
    assert len(df) == len(res.counts["opened"]) > 0
    keyed = {(r.rule, r.org_code, r.indicator_id) for r in df.itertuples()}
    assert ("R02", "T007", "op_antibiotic_rate") in keyed           # antibiotic outlier
    assert ("R04", "T010", "doctor_daily_visits") in keyed          # falling visits
    assert ("R06", "T005", "") in keyed                             # upload gap
    t007 = df[(df["org_code"] == "T007") & (df["indicator_id"] == "op_antibiotic_rate")].iloc[0]
    assert t007["message"].startswith("石门镇卫生院 门诊抗菌药物使用率 ")
    assert "高于目标上限 20.0%（2026年10月）" in t007["message"]
    county = df[(df["level"] == "county") & (df["period"].isin(["2026-10", "2026"]))]
    assert len(county) <= 15
    again = run_alerts(demo_copy, send=False)
    new = _alerts(demo_copy)
    assert again.counts["opened"] == [], new[new["alert_id"].isin(again.counts["opened"])][["rule", "org_code",
                                                                                         "message"]].to_dict("records")
    assert len(again.counts["updated"]) == len(df)
    assert len(_alerts(demo_copy)) == len(df)                       # never duplicated


def _inject_jump(cfg, tmp_path: Path, inst: str, month: str, n: int) -> None:
    """Load ``n`` extra outpatient visits of ``inst`` in ``month`` at 20× the usual cost (a real load)."""
    from mart.connection import duckdb_read_cursor
    from mart.loader import load_directory
    with duckdb_read_cursor(cfg.mart_url) as con:
        row = con.execute("SELECT * FROM outpatient_visit WHERE inst_code = ? AND strftime(visit_time, '%Y-%m') = ? "
                          "LIMIT 1", [inst, month]).fetchdf()
    base = row.iloc[0].to_dict()
    rows = []
    for k in range(n):
        r = dict(base)
        r["visit_id"] = f"JUMP{k:05d}"
        r["visit_time"] = f"{month}-{1 + k % 28:02d} 10:00:00"
        r["total_cost"] = 3000.0
        r["drug_cost"], r["material_cost"], r["insurance_paid"] = 100.0, 0.0, 0.0
        rows.append(r)
    folder = tmp_path / "jump"
    folder.mkdir()
    import pandas as pd
    frame = pd.DataFrame(rows)
    frame["visit_time"] = frame["visit_time"].astype(str)
    frame.to_csv(folder / "outpatient_visit.csv", index=False)
    load_directory(cfg, str(folder))


def test_injected_jump_raises_an_anomaly_alert(demo_copy, tmp_path: Path) -> None:
    from dashboard.alerts.admin import save_rule
    from dashboard.alerts.run import run_alerts
    save_rule(demo_copy, "R05", {"indicators": "op_cost_per_visit", "levels": "institution",
                                 "params": '{"min_denominator": 20}'})
    save_rule(demo_copy, "R02", {"enable": False})
    run_alerts(demo_copy, send=False)
    before = _alerts(demo_copy)
    assert before[(before["rule"] == "R05") & (before["org_code"] == "T003")].empty
    _inject_jump(demo_copy, tmp_path, "T003", "2026-10", 60)
    res = run_alerts(demo_copy, send=False)
    after = _alerts(demo_copy)
    hit = after[(after["rule"] == "R05") & (after["org_code"] == "T003")]
    assert len(hit) == 1 and hit.iloc[0]["alert_id"] in res.counts["opened"]
    assert "高于预期区间上限" in hit.iloc[0]["message"] and "门诊次均费用" in hit.iloc[0]["message"]
    assert "较预期变差" in hit.iloc[0]["message"]          # a dearer visit than expected: worse, not better


def test_an_anomaly_says_which_way_it_went() -> None:
    """Review 7: "病床使用率 63.4%，低于目标下限 75.0%" beside "…高于预期区间上限 61.9%" read as a contradiction;
    the anomaly now says the surprise was for the better (towards the band) or the worse."""
    from metrics.alert_rules import _versus_expected
    from metrics.catalogue import INDICATORS
    occupancy, cost = INDICATORS["bed_occupancy"], INDICATORS["op_cost_per_visit"]      # band 75–93 %, down
    assert _versus_expected(occupancy, 63.4, True, None) == "，较预期向好"      # below the band, rising
    assert _versus_expected(occupancy, 63.4, False, None) == "，较预期变差"
    assert _versus_expected(occupancy, 96.0, True, None) == "，较预期变差"      # above the band, rising
    assert _versus_expected(occupancy, 80.0, True, None) == ""                  # within the band: neither
    assert _versus_expected(cost, 300.0, True, None) == "，较预期变差"
    assert _versus_expected(cost, 100.0, False, None) == "，较预期向好"


def test_lifecycle_scope_audit_and_auto_close(demo_copy) -> None:
    from dashboard.accounts.models import AuditLog
    from dashboard.alerts.models import AlertEvent
    from dashboard.alerts.store import AlertError, set_status, sync_findings
    from dashboard.appdb import init_app_db, session_factory
    from metrics.alert_rules import Finding
    from metrics.scope import FULL_SCOPE, manager_scope
    init_app_db(demo_copy.app_db_url)
    f = Finding("R06", "upload_gap", "", "institution", "T005", "桃源镇卫生院", "2026-10", "high", 70.0, 90.0,
                "桃源镇卫生院 数据上传不完整")
    other = Finding("R06", "upload_gap", "", "institution", "T009", "马岭乡卫生院", "2026-10", "high", 70.0, 90.0,
                    "马岭乡卫生院 数据上传不完整")
    Session = session_factory(demo_copy.app_db_url)
    with Session() as s, s.begin():
        ids = sync_findings(s, [f, other], ["R06"], "2026-10")["opened"]
    mine, theirs = ids
    manager = manager_scope({"T005"})
    actor = ("mgr", "manager", "127.0.0.1")
    with pytest.raises(AlertError, match="管辖范围"):
        set_status(demo_copy.app_db_url, theirs, "acknowledged", manager, actor)
    with pytest.raises(AlertError, match="未知状态"):
        set_status(demo_copy.app_db_url, mine, "new", manager, actor)
    set_status(demo_copy.app_db_url, mine, "acknowledged", manager, actor, "已知悉")
    with pytest.raises(AlertError, match="不能改为"):
        set_status(demo_copy.app_db_url, mine, "acknowledged", manager, actor)
    set_status(demo_copy.app_db_url, mine, "in_progress", manager, actor, "联系信息科补传")
    with pytest.raises(AlertError, match="处置说明"):
        set_status(demo_copy.app_db_url, mine, "closed", manager, actor, "  ")
    done = set_status(demo_copy.app_db_url, mine, "closed", manager, actor, "已补传")
    assert done["status"] == "closed" and done["resolution"] == "manual" and done["handler"] == "mgr"
    with Session() as s:
        steps = [e.to_status for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == mine)
                                                .order_by(AlertEvent.id))]
        audit = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.target.like(f"alert:{mine} %"))
                                             .order_by(AuditLog.id))]
    assert steps == ["new", "acknowledged", "in_progress", "closed"]
    assert audit == ["alert.new", "alert.acknowledged", "alert.in_progress", "alert.closed"]   # each once
    # the other alert's condition clears: closed by itself, 自动恢复; comes back: reopened
    with Session() as s, s.begin():
        res = sync_findings(s, [], ["R06"], "2026-10")
    assert res["auto_closed"] == [theirs]
    from dashboard.alerts.store import list_alerts
    row = list_alerts(demo_copy.app_db_url, FULL_SCOPE).set_index("alert_id").loc[theirs]
    assert row["status"] == "closed" and row["resolution"] == "auto"
    with Session() as s, s.begin():
        assert sync_findings(s, [other], ["R06"], "2026-10")["reopened"] == [theirs]
    assert set(list_alerts(demo_copy.app_db_url, manager)["alert_id"]) == {mine}     # manager's view


def test_cli_list_rules_and_refusals(demo_copy) -> None:
    from app import cli
    runner = CliRunner()
    res = runner.invoke(cli, ["alerts", "run", "--no-notify"])
    assert res.exit_code == 0, res.output
    assert "预警评估 2026-10" in res.output
    res = runner.invoke(cli, ["alerts", "list", "--status", "open", "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert list(rows[0]) == ["alert_id", "rule", "kind", "indicator_id", "level", "org_code", "period", "severity",
                             "status", "value", "expected", "message"]
    assert [r["severity"] for r in rows] == sorted((r["severity"] for r in rows),
                                                    key=["high", "medium", "low"].index)   # worst first
    first = rows[0]["alert_id"]
    assert runner.invoke(cli, ["alerts", "ack", first]).exit_code == 0
    bad = runner.invoke(cli, ["alerts", "ack", first])
    assert bad.exit_code != 0 and "不能改为" in bad.output
    bad = runner.invoke(cli, ["alerts", "rule-set", "R01", "--levels", "planet"])
    assert bad.exit_code != 0 and "层级无效" in bad.output
    bad = runner.invoke(cli, ["alerts", "rule-set", "R01", "--params", "{oops"])
    assert bad.exit_code != 0 and "JSON" in bad.output
    assert runner.invoke(cli, ["alerts", "rule-set", "R01", "--severity", "low"]).exit_code == 0
    assert "R01\t启用\ttarget_breach\tlow" in runner.invoke(cli, ["alerts", "rules"]).output


def test_only_one_runner_at_a_time(demo_copy) -> None:
    """While one process holds the runner lock, a scheduled run skips instead of evaluating twice."""
    from dashboard.alerts.run import _runner_lock, run_alerts
    with _runner_lock(demo_copy) as mine:
        assert mine
        assert run_alerts(demo_copy, send=False, wait=False).skipped
    assert not run_alerts(demo_copy, send=False, wait=False).skipped


def test_scheduler_starts_once_per_process(demo_copy, monkeypatch) -> None:
    from dashboard.alerts import scheduler
    monkeypatch.setenv("ALERTS_SCHEDULE_MINUTES", "0")
    assert scheduler.start_scheduler(demo_copy) is None
    monkeypatch.setenv("ALERTS_SCHEDULE_MINUTES", "30")
    first = scheduler.start_scheduler(demo_copy)
    try:
        assert first is scheduler.start_scheduler(demo_copy)
        assert [j.id for j in first.get_jobs()] == ["alerts-run"]
    finally:
        first.shutdown(wait=False)
        scheduler._started.clear()


def test_scheduled_job_also_writes_the_monthly_report_once(demo_copy) -> None:
    """The scheduled job evaluates the rules and, in the worker that evaluated, generates the county report of the
    last complete month once (a second run finds it and generates nothing)."""
    from dashboard.alerts import scheduler
    from dashboard.reporting.service import AUTO_FORMATS, list_reports
    from metrics.scope import FULL_SCOPE
    from queries.periods import last_complete_month
    month = last_complete_month(demo_copy.mart_url)
    scheduler._job(demo_copy)
    rows = [r for r in list_reports(demo_copy, FULL_SCOPE) if r.month == month and r.org_code is None]
    assert sorted(r.fmt for r in rows) == sorted(AUTO_FORMATS)
    assert all(r.state == "done" for r in rows)
    scheduler._job(demo_copy)
    again = [r for r in list_reports(demo_copy, FULL_SCOPE) if r.month == month and r.org_code is None]
    assert len(again) == len(rows)


def test_a_tick_already_evaluated_is_skipped(demo_copy) -> None:
    """The schedule's ticks are shared wall-clock boundaries: a run in the half interval before a tick makes that
    tick's scheduled run skip; the next tick evaluates again."""
    import datetime as dt

    from dashboard.alerts.lock import aligned_start, tick_already_run
    from dashboard.alerts.run import run_alerts
    minutes = 60.0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start = aligned_start(minutes, now)
    assert start <= now < start + dt.timedelta(minutes=minutes) and start.minute == 0 and start.second == 0
    assert not run_alerts(demo_copy, send=False, wait=False).skipped      # e.g. `alerts run` after a load
    ran = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert tick_already_run(demo_copy, minutes, now=ran)
    assert run_alerts(demo_copy, send=False, wait=False, tick_minutes=minutes).skipped or \
        not tick_already_run(demo_copy, minutes)      # (only when the clock crossed a half-hour meanwhile)
    assert not tick_already_run(demo_copy, minutes, now=ran + dt.timedelta(minutes=minutes))
