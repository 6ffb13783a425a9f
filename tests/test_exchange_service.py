"""Exchange services: node creation, states, re-run requests, node settings, run lists, demo seed, CLI."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from dashboard.appdb import session_factory
from dashboard.exchange.models import ExchangeCommand, ExchangeJob, ExchangeNode, JobRun
from dashboard.exchange.service import (
    RerunRefused,
    SettingsInvalid,
    ensure_nodes,
    job_runs,
    node_detail,
    node_states,
    pending_commands,
    request_rerun,
    update_node_settings,
)
from tests.exchange_fixtures import TOWNSHIPS, client, ex_app, ex_cfg, token_for  # noqa: F401


def _add_run(cfg, code: str, run_id: str, status: str, start: dt.datetime, job: str = "HIS_OP") -> None:
    with session_factory(cfg.app_db_url)() as s, s.begin():
        node_id = s.scalar(select(ExchangeNode.id).where(ExchangeNode.code == code))
        s.add(JobRun(run_id=run_id, node_id=node_id, job_code=job, started_at=start, status=status,
                     finished_at=None if status == "running" else start + dt.timedelta(minutes=2),
                     rows_extracted=10, rows_loaded=10 if status == "success" else 0, rows_rejected=0))


def _heartbeat_at(cfg, code: str, when: dt.datetime) -> None:
    with session_factory(cfg.app_db_url)() as s, s.begin():
        s.execute(update(ExchangeNode).where(ExchangeNode.code == code).values(last_heartbeat_at=when))


def test_nodes_for_upper_levels_and_a_few_villages(ex_cfg):
    states = node_states(ex_cfg)
    codes = set(states["code"])
    assert {"EX-H001", "EX-H002", "EX-H003"} <= codes
    assert sum(c.startswith("EX-T") for c in codes) == TOWNSHIPS
    villages = sorted(c for c in codes if c.startswith("EX-V"))
    assert len(villages) == 5 and len({v[:7] for v in villages}) == 5      # spread over five townships
    assert ensure_nodes(ex_cfg) == 0                                          # idempotent
    with session_factory(ex_cfg.app_db_url)() as s:
        jobs = set(s.scalars(select(ExchangeJob.job_code).join(ExchangeNode, ExchangeNode.id == ExchangeJob.node_id)
                             .where(ExchangeNode.code == "EX-V00101")))
        assert jobs == {"HIS_OP", "PH"}
        assert s.scalar(select(func.count()).select_from(ExchangeNode).where(
            ~ExchangeNode.id.in_(select(ExchangeJob.node_id).where(ExchangeJob.job_code == "HIS_OP")))) == 0


def test_silent_for_three_intervals_is_offline(ex_cfg):
    now = dt.datetime(2025, 6, 1, 12, 0, 0)
    _heartbeat_at(ex_cfg, "EX-T001", now - dt.timedelta(seconds=180))     # interval 60 s: exactly 3 intervals
    _heartbeat_at(ex_cfg, "EX-T002", now - dt.timedelta(seconds=181))
    st = node_states(ex_cfg, now=now).set_index("code")
    assert st.loc["EX-T001", "state"] == "normal" and st.loc["EX-T001", "state_zh"] == "正常"
    assert st.loc["EX-T002", "state"] == "offline" and st.loc["EX-T002", "state_zh"] == "离线"
    assert st.loc["EX-T003", "state"] == "offline"                            # never heard of


def test_state_rule_failed_running_normal(ex_cfg):
    now = dt.datetime(2025, 6, 1, 12, 0, 0)
    for code in ("EX-H001", "EX-H002", "EX-H003", "EX-T001"):
        _heartbeat_at(ex_cfg, code, now - dt.timedelta(seconds=10))
    _add_run(ex_cfg, "EX-H001", "a1", "failed", now - dt.timedelta(hours=2))
    _add_run(ex_cfg, "EX-H001", "a2", "running", now - dt.timedelta(minutes=1), job="LIS")
    _add_run(ex_cfg, "EX-H002", "b1", "failed", now - dt.timedelta(hours=2))
    _add_run(ex_cfg, "EX-H002", "b2", "success", now - dt.timedelta(hours=1))     # recovered
    _add_run(ex_cfg, "EX-H002", "b3", "running", now - dt.timedelta(minutes=1))
    _add_run(ex_cfg, "EX-H003", "c1", "running", now - dt.timedelta(hours=13))    # stale: ignored
    _add_run(ex_cfg, "EX-T001", "d1", "success", now - dt.timedelta(hours=3), job="LIS")
    _add_run(ex_cfg, "EX-T001", "d2", "failed", now - dt.timedelta(hours=2), job="LIS")
    _add_run(ex_cfg, "EX-T001", "d3", "success", now - dt.timedelta(hours=1))     # other job: LIS stays failed
    st = node_states(ex_cfg, now=now).set_index("code")
    assert st.loc["EX-H001", "state"] == "failed" and st.loc["EX-H001", "running_jobs"] == ["LIS"]
    assert st.loc["EX-H002", "state"] == "running" and st.loc["EX-H002", "running_jobs"] == ["HIS_OP"]
    assert st.loc["EX-H003", "state"] == "normal"
    assert st.loc["EX-T001", "state"] == "failed" and st.loc["EX-T001", "failed_jobs"] == ["LIS"]
    detail = node_detail(ex_cfg, "EX-T001", now=now)
    jobs = detail["jobs"].set_index("job_code")
    assert jobs.loc["LIS", "last_status"] == "failed" and jobs.loc["HIS_OP", "last_status"] == "success"
    assert jobs.loc["HIS_OP", "schedule_zh"] == "每60分钟" and jobs.loc["PH", "schedule_zh"] == "每日 02:30"
    assert node_detail(ex_cfg, "EX-NOPE") is None


def test_request_rerun_only_failed_and_idempotent(ex_cfg):
    now = dt.datetime.now().replace(microsecond=0)
    _add_run(ex_cfg, "EX-T001", "ok-1", "success", now - dt.timedelta(hours=1))
    _add_run(ex_cfg, "EX-T001", "bad-1", "failed", now - dt.timedelta(hours=1))
    with pytest.raises(RerunRefused, match="失败"):
        request_rerun(ex_cfg, "ok-1", "op")
    with pytest.raises(RerunRefused, match="不存在"):
        request_rerun(ex_cfg, "nope", "op")
    first = request_rerun(ex_cfg, "bad-1", "op")
    again = request_rerun(ex_cfg, "bad-1", "op2")
    assert first.created and not again.created and first.id == again.id and again.requester == "op"
    assert first.node_code == "EX-T001" and first.state == "requested"
    pending = pending_commands(ex_cfg)
    assert list(pending["run_id"]) == ["bad-1"] and pending["state_zh"].iloc[0] == "已请求"
    with session_factory(ex_cfg.app_db_url)() as s, s.begin():
        s.execute(update(ExchangeCommand).values(state="done"))
    assert pending_commands(ex_cfg).empty
    assert request_rerun(ex_cfg, "bad-1", "op").id != first.id                # a finished one allows a new request


def test_update_node_settings_validated(ex_cfg):
    changes = update_node_settings(ex_cfg, "EX-T001", lon=119.7, lat=29.2, zoom=12, city="金华市",
                                   address="城关镇卫生路1号", actor="admin")
    assert changes["lon"][1] == 119.7 and changes["city"] == (None, "金华市")
    row = node_states(ex_cfg).set_index("code").loc["EX-T001"]
    assert (row["lon"], row["lat"], row["zoom"], row["city"]) == (119.7, 29.2, 12, "金华市")
    with pytest.raises(SettingsInvalid) as exc:
        update_node_settings(ex_cfg, "EX-T001", lon=200, lat="north", zoom=40, actor="admin")
    assert {e["field"] for e in exc.value.errors} == {"lon", "lat", "zoom"}
    with pytest.raises(LookupError):
        update_node_settings(ex_cfg, "EX-NOPE", lon=119, lat=29, actor="admin")
    assert node_states(ex_cfg).set_index("code").loc["EX-T001", "lon"] == 119.7    # unchanged by refusals
    assert update_node_settings(ex_cfg, "EX-T001", lon=119.7, lat=29.2, zoom=12, city="金华市",
                                address="城关镇卫生路1号", actor="admin") == {}


def test_job_runs_filters_and_pages(ex_cfg):
    base = dt.datetime(2025, 6, 1, 8, 0)
    for i in range(7):
        _add_run(ex_cfg, "EX-T001", f"r{i}", "failed" if i % 3 == 0 else "success", base + dt.timedelta(hours=i))
    _add_run(ex_cfg, "EX-T002", "other", "success", base)
    df, total = job_runs(ex_cfg, node_code="EX-T001", page=2, page_size=3)
    assert total == 7 and list(df["run_id"]) == ["r3", "r2", "r1"]
    df, total = job_runs(ex_cfg, status="failed")
    assert total == 3 and set(df["run_id"]) == {"r0", "r3", "r6"} and set(df["status_zh"]) == {"失败"}
    df, total = job_runs(ex_cfg, start=base + dt.timedelta(hours=5), end=base + dt.timedelta(hours=7))
    assert total == 2
    df, total = job_runs(ex_cfg, inst_codes=["T002"])
    assert total == 1 and df["duration_s"].iloc[0] == 120


def test_seed_history_fast_deterministic_and_shaped(ex_cfg):
    from dashboard.exchange.seed import seed_demo_history
    now = dt.datetime(2025, 6, 1, 15, 30)
    t0 = time.perf_counter()
    counts = seed_demo_history(ex_cfg, days=30, now=now)
    took = time.perf_counter() - t0
    assert counts["runs"] > 10000 and counts["logs"] > counts["runs"]
    assert took < 10, took                        # generous bound for a shared machine; budget 5 s
    first, _ = job_runs(ex_cfg, page_size=500)
    assert seed_demo_history(ex_cfg, days=30, now=now) == counts           # re-seeding replaces, not appends
    again, _ = job_runs(ex_cfg, page_size=500)
    assert first.equals(again)
    st = node_states(ex_cfg, now=now)
    assert (st["state"] == "offline").sum() == 1
    assert (st["state"] == "failed").sum() >= 2
    assert st["running_jobs"].map(len).sum() >= 2
    _, failed = job_runs(ex_cfg, status="failed")
    assert failed > 0
    with session_factory(ex_cfg.app_db_url)() as s:
        assert s.scalar(select(func.max(JobRun.started_at))) <= now


def test_cli_list_and_token(ex_cfg, client, monkeypatch):
    from app import cli
    monkeypatch.setenv("DATA_DIR", str(ex_cfg.data_dir))
    monkeypatch.delenv("MART_URL", raising=False)
    monkeypatch.delenv("APP_DB_URL", raising=False)
    runner = CliRunner()
    out = runner.invoke(cli, ["nodes", "list"])
    assert out.exit_code == 0, out.output
    assert "EX-H001" in out.output and "离线" in out.output
    out = runner.invoke(cli, ["nodes", "token", "EX-T001"])
    assert out.exit_code == 0
    token = out.output.strip().splitlines()[-1]
    r = client.post("/api/exchange/heartbeat", json={"ts": dt.datetime.now().isoformat()},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    out = runner.invoke(cli, ["nodes", "token", "EX-NOPE"])
    assert out.exit_code != 0 and "EX-NOPE" in out.output


# Words that name each source system; a failed run's error must name its own system and no other.
SYSTEM_WORDS = {"HIS_OP": ("HIS", "门诊"), "HIS_IP": ("HIS", "住院"), "LIS": ("LIS",), "PACS": ("PACS",),
                "EMR": ("EMR",), "PH": ("公共卫生",)}


def _assert_names_own_system(job_code: str, error: str) -> None:
    own = set(SYSTEM_WORDS[job_code])
    foreign = {w for j, words in SYSTEM_WORDS.items() if j != job_code for w in words} - own
    assert all(w in error for w in own), (job_code, error)
    assert not any(w in error for w in foreign), (job_code, error)


def test_seeded_failures_name_their_system_and_retries_are_30_s_apart(ex_cfg):
    from dashboard.exchange.models import RunLog
    from dashboard.exchange.seed import seed_demo_history
    now = dt.datetime(2025, 6, 1, 12, 0)
    seed_demo_history(ex_cfg, days=20, now=now)
    with session_factory(ex_cfg.app_db_url)() as s:
        failed = s.execute(select(JobRun.id, JobRun.job_code, JobRun.error, JobRun.started_at, JobRun.finished_at)
                           .where(JobRun.status == "failed")).all()
        logs: dict[int, list] = {}
        for pk, ts, level, message in s.execute(select(RunLog.run_pk, RunLog.ts, RunLog.level, RunLog.message)
                                                .order_by(RunLog.ts, RunLog.id)):
            logs.setdefault(pk, []).append((ts, level, message))
    assert len({f.job_code for f in failed}) >= 4, "too few systems failed to test the texts"
    retried = 0
    for f in failed:
        _assert_names_own_system(f.job_code, f.error)
        lines = logs[f.id]
        assert lines[-1][1:] == ("ERROR", f.error) and lines[-1][0] == f.finished_at
        warns = [ln for ln in lines if ln[1] == "WARN"]
        if warns:
            retried += 1
            # each retry is announced "30 秒后重试 (k/3)" and the next line comes 30 s later
            times = [ln[0] for ln in warns] + [lines[-1][0]]
            assert all((b - a).total_seconds() == 30 for a, b in zip(times, times[1:])), lines
            assert [ln[2][-5:] for ln in warns] == [f"({k}/3)" for k in range(1, len(warns) + 1)]
            assert all("30 秒后重试" in ln[2] for ln in warns) and warns[0][0] >= f.started_at
    assert retried > 0
