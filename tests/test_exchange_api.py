"""The exchange-node REST API on the real Flask app with a real SQLite app DB."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from dashboard.appdb import session_factory
from dashboard.exchange.models import ExchangeCommand, ExchangeNode, Heartbeat, JobRun, RunLog
from dashboard.exchange.service import request_rerun, run_logs
from tests.exchange_fixtures import client, ex_app, ex_cfg, token_for  # noqa: F401
from tests.http_text import body_text

NOW = dt.datetime.now().replace(microsecond=0)


def _count(cfg, model) -> int:
    with session_factory(cfg.app_db_url)() as s:
        return s.scalar(select(func.count()).select_from(model))


def _run(run_id: str = "R1", **kw) -> dict:
    body = {"run_id": run_id, "job_code": "HIS_OP", "started_at": (NOW - dt.timedelta(minutes=5)).isoformat(),
            "status": "running"}
    body.update(kw)
    return body


def test_missing_or_wrong_token_is_401(client, ex_cfg):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer "}):
        r = client.post("/api/exchange/heartbeat", json={"ts": NOW.isoformat()}, headers=headers)
        assert r.status_code == 401, headers
        assert r.get_json()["errors"][0]["field"] == "Authorization"
    assert client.get("/api/exchange/commands").status_code == 401
    assert _count(ex_cfg, Heartbeat) == 0


def test_new_token_invalidates_old(client, ex_cfg):
    old = token_for(ex_cfg, "EX-H001")
    assert client.post("/api/exchange/heartbeat", json={"ts": NOW.isoformat()}, headers=old).status_code == 204
    new = token_for(ex_cfg, "EX-H001")
    assert client.post("/api/exchange/heartbeat", json={"ts": NOW.isoformat()}, headers=old).status_code == 401
    assert client.post("/api/exchange/heartbeat", json={"ts": NOW.isoformat()}, headers=new).status_code == 204
    with session_factory(ex_cfg.app_db_url)() as s:
        node = s.scalar(select(ExchangeNode).where(ExchangeNode.code == "EX-H001"))
        assert node.token_hash and len(node.token_hash) == 64 and new["Authorization"][7:] not in node.token_hash


def test_heartbeat_stores_figures(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    r = client.post("/api/exchange/heartbeat", headers=h,
                    json={"ts": NOW.isoformat(), "version": "2.4.0", "cpu": 12.5, "mem": 40, "disk": 55,
                          "backlog": 3})
    assert r.status_code == 204 and r.data == b""
    with session_factory(ex_cfg.app_db_url)() as s:
        node = s.scalar(select(ExchangeNode).where(ExchangeNode.code == "EX-T001"))
        assert node.version == "2.4.0" and node.last_cpu == 12.5 and node.last_backlog == 3
        assert node.last_heartbeat_at is not None
    assert _count(ex_cfg, Heartbeat) == 1


@pytest.mark.parametrize("path,body,field", [
    ("/api/exchange/heartbeat", {}, "ts"),
    ("/api/exchange/heartbeat", {"ts": "yesterday"}, "ts"),
    ("/api/exchange/heartbeat", {"ts": "1999-12-31T23:00:00"}, "ts"),
    ("/api/exchange/heartbeat", {"ts": (NOW + dt.timedelta(days=2)).isoformat()}, "ts"),
    ("/api/exchange/heartbeat", {"ts": NOW.isoformat(), "cpu": 140}, "cpu"),
    ("/api/exchange/heartbeat", {"ts": NOW.isoformat(), "backlog": -1}, "backlog"),
    ("/api/exchange/heartbeat", {"ts": NOW.isoformat(), "version": "x" * 33}, "version"),
    ("/api/exchange/heartbeat", {"ts": NOW.isoformat(), "colour": "red"}, "colour"),
    ("/api/exchange/runs", _run(job_code="XRAY"), "job_code"),
    ("/api/exchange/runs", _run(status="done"), "status"),
    ("/api/exchange/runs", _run(run_id="bad id with spaces"), "run_id"),
    ("/api/exchange/runs", {k: v for k, v in _run().items() if k != "started_at"}, "started_at"),
    ("/api/exchange/runs", _run(status="success"), "finished_at"),
    ("/api/exchange/runs", _run(status="success", finished_at=(NOW - dt.timedelta(hours=1)).isoformat()),
     "finished_at"),
    ("/api/exchange/runs", _run(rows_extracted=10, rows_loaded=11), "rows_loaded"),
    ("/api/exchange/runs", _run(rows_extracted="many"), "rows_extracted"),
    ("/api/exchange/runs", _run(error="e" * 4001), "error"),
    ("/api/exchange/runs", _run(job_code="EMR"), "job_code"),           # T001 has no EMR system
    ("/api/exchange/commands/1/ack", {"state": "finished"}, "state"),
])
def test_bad_fields_are_400_naming_the_field(client, ex_cfg, path, body, field):
    h = token_for(ex_cfg, "EX-T001")
    if "ack" in path:
        _failed_run_with_command(client, ex_cfg, h)
    r = client.post(path, json=body, headers=h)
    assert r.status_code == 400, body_text(r)
    fields = [e["field"] for e in r.get_json()["errors"]]
    assert any(f == field or f.endswith("." + field) for f in fields), fields
    assert all(e["message"] for e in r.get_json()["errors"])


def test_bad_json_is_400(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    for data in (b"{not json", b"[1, 2]", b"\"text\"", b"\xff\xfe"):
        r = client.post("/api/exchange/runs", data=data, headers=dict(h, **{"Content-Type": "application/json"}))
        assert r.status_code == 400
        assert r.get_json()["errors"][0]["field"] == "body"
    assert _count(ex_cfg, JobRun) == 0


def test_run_create_update_and_replay(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    r = client.post("/api/exchange/runs", json=_run(), headers=h)
    assert r.status_code == 201 and r.get_json()["status"] == "running"
    assert client.post("/api/exchange/runs", json=_run(), headers=h).status_code == 200
    done = _run(status="success", finished_at=NOW.isoformat(), rows_extracted=100, rows_loaded=98,
                rows_rejected=2)
    r1 = client.post("/api/exchange/runs", json=done, headers=h)
    r2 = client.post("/api/exchange/runs", json=done, headers=h)
    assert r1.status_code == r2.status_code == 200
    assert r1.get_json() == r2.get_json()
    assert r1.get_json()["rows_loaded"] == 98
    # a late "running" replay does not reopen it; a different outcome is a conflict
    assert client.post("/api/exchange/runs", json=_run(), headers=h).get_json()["status"] == "success"
    r = client.post("/api/exchange/runs", json=dict(done, status="failed"), headers=h)
    assert r.status_code == 409 and r.get_json()["errors"][0]["field"] == "status"
    assert _count(ex_cfg, JobRun) == 1


def test_run_ids_are_per_node_and_commands_stay_with_their_node(client, ex_cfg):
    """Issue 13 item 8: node B using run id "A-1" that node A already used gets its own run (201), its logs go to
    its run; A's command stays A's (403 for B), and an ack names a run of the acking node only."""
    from dashboard.exchange.service import RerunRefused
    a, b = token_for(ex_cfg, "EX-T001"), token_for(ex_cfg, "EX-T002")
    cmd_id = _failed_run_with_command(client, ex_cfg, a, run_id="A-1")
    r = client.post("/api/exchange/runs", json=_run("A-1"), headers=b)
    assert r.status_code == 201 and r.get_json()["status"] == "running"
    assert client.post("/api/exchange/runs", json=_run("A-1"), headers=b).status_code == 200     # B's own run
    line = {"ts": NOW.isoformat(), "level": "INFO", "message": "B 的日志", "seq": 0}
    r = client.post("/api/exchange/runs/A-1/logs", headers=b, json=[line])
    assert r.status_code == 201 and r.get_json() == {"run_id": "A-1", "stored": 1, "duplicates": 0}
    r = client.post("/api/exchange/runs/A-1/logs", headers=a, json=[dict(line, message="A 的日志")])
    assert r.get_json() == {"run_id": "A-1", "stored": 1, "duplicates": 0}    # same seq, other run: stored
    assert run_logs(ex_cfg, "A-1", node_code="EX-T001")["message"].tolist() == ["A 的日志"]
    assert run_logs(ex_cfg, "A-1", node_code="EX-T002")["message"].tolist() == ["B 的日志"]
    with session_factory(ex_cfg.app_db_url)() as s:
        runs = s.execute(select(ExchangeNode.code, JobRun.status).join(JobRun, JobRun.node_id == ExchangeNode.id)
                         .where(JobRun.run_id == "A-1").order_by(ExchangeNode.code)).all()
    assert [tuple(r) for r in runs] == [("EX-T001", "failed"), ("EX-T002", "running")]
    # A's command is A's: B may not acknowledge it nor sees it
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "picked"}, headers=b).status_code == 403
    assert client.get("/api/exchange/commands", headers=b).get_json() == {"commands": []}
    # an ack names a run of the acking node: B's run B-1 is unknown to A
    client.post("/api/exchange/runs", json=_run("B-1"), headers=b)
    r = client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "done", "run_id": "B-1"}, headers=a)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "run_id"
    # A's re-run reported as A-2 marks A's A-2 only
    client.post("/api/exchange/runs", json=_run("A-2"), headers=a)
    client.post("/api/exchange/runs", json=_run("A-2"), headers=b)
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "done", "run_id": "A-2"},
                       headers=a).status_code == 200
    with session_factory(ex_cfg.app_db_url)() as s:
        marked = s.execute(select(ExchangeNode.code, JobRun.rerun_of).join(JobRun, JobRun.node_id == ExchangeNode.id)
                           .where(JobRun.run_id == "A-2").order_by(ExchangeNode.code)).all()
    assert [tuple(r) for r in marked] == [("EX-T001", "A-1"), ("EX-T002", None)]
    # the operator's re-run of a run id two nodes use must say which node
    with pytest.raises(RerunRefused, match="多台前置机"):
        request_rerun(ex_cfg, "A-2", "operator")
    with pytest.raises(RerunRefused, match="只能重跑失败的任务"):         # B's A-1 is running, A's failed
        request_rerun(ex_cfg, "A-1", "operator", node_code="EX-T002")


def test_logs_all_or_nothing_and_limits(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("L-1"), headers=h)
    good = {"ts": NOW.isoformat(), "level": "info", "message": "开始抽取"}
    r = client.post("/api/exchange/runs/L-1/logs", json=[good, dict(good, message="")], headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "logs.1.message"
    assert _count(ex_cfg, RunLog) == 0
    r = client.post("/api/exchange/runs/L-1/logs", json=[good] * 1001, headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "logs"
    r = client.post("/api/exchange/runs/L-1/logs", json=[dict(good, level="LOUD")], headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "logs.0.level"
    r = client.post("/api/exchange/runs/NOPE/logs", json=[good], headers=h)
    assert r.status_code == 404
    r = client.post("/api/exchange/runs/L-1/logs", json=[good] * 1000, headers=h)
    assert r.status_code == 201 and r.get_json()["stored"] == 1000
    logs = run_logs(ex_cfg, "L-1")
    assert len(logs) == 1000 and set(logs["level"]) == {"INFO"}


def _line(seq: int | None = None, message: str = "抽取中", ts: dt.datetime = NOW, level: str = "INFO") -> dict:
    line = {"ts": ts.isoformat(), "level": level, "message": message}
    if seq is not None:
        line["seq"] = seq
    return line


def test_retried_log_post_with_seqs_stores_nothing_new(client, ex_cfg):
    """A node that resends a POST after a timeout: the lines whose seq the run has are skipped and counted."""
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("S-1"), headers=h)
    body = [_line(0, "开始抽取"), _line(1, "抽取 120 行"), _line(2, "入库 120 行")]
    r = client.post("/api/exchange/runs/S-1/logs", json=body, headers=h)
    assert r.status_code == 201 and r.get_json() == {"run_id": "S-1", "stored": 3, "duplicates": 0}
    r = client.post("/api/exchange/runs/S-1/logs", json={"logs": body}, headers=h)
    assert r.status_code == 201 and r.get_json() == {"run_id": "S-1", "stored": 0, "duplicates": 3}
    # a retry that overlaps the next batch stores only the new lines
    r = client.post("/api/exchange/runs/S-1/logs", json=body[2:] + [_line(3, "完成")], headers=h)
    assert r.get_json() == {"run_id": "S-1", "stored": 1, "duplicates": 1}
    assert run_logs(ex_cfg, "S-1")["message"].tolist() == ["开始抽取", "抽取 120 行", "入库 120 行", "完成"]
    # seqs number the lines of one run: another run may use the same numbers
    client.post("/api/exchange/runs", json=_run("S-2"), headers=h)
    r = client.post("/api/exchange/runs/S-2/logs", json=body, headers=h)
    assert r.get_json()["stored"] == 3
    assert _count(ex_cfg, RunLog) == 7


def test_lines_without_seq_are_stored_every_time(client, ex_cfg):
    """Documented: without seq the server cannot tell a retry from new lines, so a resent POST stores them twice."""
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("N-1"), headers=h)
    body = [_line(message="开始抽取"), _line(message="开始抽取")]
    for _ in range(2):
        r = client.post("/api/exchange/runs/N-1/logs", json=body, headers=h)
        assert r.status_code == 201 and r.get_json() == {"run_id": "N-1", "stored": 2, "duplicates": 0}
    assert len(run_logs(ex_cfg, "N-1")) == 4


def test_same_seq_twice_in_one_body_is_stored_once(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("D-1"), headers=h)
    r = client.post("/api/exchange/runs/D-1/logs", headers=h,
                    json=[_line(0, "第一次"), _line(1, "下一行"), _line(0, "重复的行号"), _line(message="无行号")])
    assert r.status_code == 201 and r.get_json() == {"run_id": "D-1", "stored": 3, "duplicates": 1}
    assert run_logs(ex_cfg, "D-1")["message"].tolist() == ["第一次", "下一行", "无行号"]   # the first one wins


@pytest.mark.parametrize("seq", [-1, 10**9 + 1, "3", 1.5, True])
def test_bad_seq_is_400_and_stores_nothing(client, ex_cfg, seq):
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("B-1"), headers=h)
    r = client.post("/api/exchange/runs/B-1/logs", json=[_line(0), dict(_line(), seq=seq)], headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "logs.1.seq"
    assert _count(ex_cfg, RunLog) == 0
    r = client.post("/api/exchange/runs/B-1/logs", json=[_line(10**9)], headers=h)        # the largest allowed
    assert r.status_code == 201 and r.get_json()["stored"] == 1


def test_run_logs_order_by_time_then_seq_then_arrival(client, ex_cfg):
    """Lines of one second keep the node's order by seq even when they arrive in another order; lines without seq
    follow them in arrival order; an earlier ts still comes first."""
    h = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/runs", json=_run("O-1"), headers=h)
    earlier = NOW - dt.timedelta(seconds=30)
    for body in ([_line(message="无行号 a"), _line(2, "行 2"), _line(message="无行号 b")],
                 [_line(1, "行 1"), _line(0, "行 0")],
                 [_line(9, "更早的行", ts=earlier, level="warning")]):
        assert client.post("/api/exchange/runs/O-1/logs", json=body, headers=h).status_code == 201
    logs = run_logs(ex_cfg, "O-1")
    assert list(logs.columns) == ["ts", "level", "message"]
    assert logs["message"].tolist() == ["更早的行", "行 0", "行 1", "行 2", "无行号 a", "无行号 b"]
    assert logs["level"].iloc[0] == "WARN"


def _failed_run_with_command(client, cfg, headers, run_id: str = "F-1") -> int:
    body = _run(run_id, status="failed", finished_at=NOW.isoformat(), error="ORA-12541: TNS:no listener")
    assert client.post("/api/exchange/runs", json=body, headers=headers).status_code == 201
    return request_rerun(cfg, run_id, "operator").id


def test_commands_poll_and_ack_flow(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    cmd_id = _failed_run_with_command(client, ex_cfg, h)
    cmds = client.get("/api/exchange/commands", headers=h).get_json()["commands"]
    assert [(c["id"], c["run_id"], c["job_code"], c["state"]) for c in cmds] == [(cmd_id, "F-1", "HIS_OP",
                                                                                   "requested")]
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "picked"}, headers=h).status_code == 200
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "picked"}, headers=h).status_code == 200
    assert client.post("/api/exchange/commands/99999/ack", json={"state": "picked"}, headers=h).status_code == 404
    r = client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "done", "run_id": "NOPE"}, headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "run_id"
    client.post("/api/exchange/runs", json=_run("F-1-R", status="success", finished_at=NOW.isoformat()), headers=h)
    r = client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "done", "run_id": "F-1-R"}, headers=h)
    assert r.status_code == 200 and r.get_json()["result_run_id"] == "F-1-R"
    # replay is harmless; going back is refused
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "done", "run_id": "F-1-R"},
                       headers=h).status_code == 200
    assert client.post(f"/api/exchange/commands/{cmd_id}/ack", json={"state": "picked"}, headers=h).status_code == 409
    assert client.get("/api/exchange/commands", headers=h).get_json() == {"commands": []}
    with session_factory(ex_cfg.app_db_url)() as s:
        cmd = s.get(ExchangeCommand, cmd_id)
        assert cmd.state == "done" and cmd.picked_at and cmd.finished_at
        assert s.scalar(select(JobRun.rerun_of).where(JobRun.run_id == "F-1-R")) == "F-1"


def test_body_too_large_is_refused(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    big = json.dumps({"ts": NOW.isoformat(), "version": "x" * (3 * 1024 * 1024)})
    r = client.post("/api/exchange/heartbeat", data=big, headers=dict(h, **{"Content-Type": "application/json"}))
    assert r.status_code == 413
    assert _count(ex_cfg, Heartbeat) == 0


def test_public_prefix_constant_matches_routes(ex_app):
    from dashboard.exchange.api import PUBLIC_PREFIX
    rules = [r.rule for r in ex_app.server.url_map.iter_rules() if r.endpoint.startswith("exchange_api.")]
    assert len(rules) == 5 and all(rule.startswith(PUBLIC_PREFIX) for rule in rules)


def test_api_prefix_answers_json_never_the_page_shell(client, ex_cfg):
    """No login is needed under the API prefix, so it must not fall through to the dashboard's page route."""
    for path in ("/api/exchange/nope", "/api/exchange/", "/api/exchange/runs/R1"):
        r = client.get(path)
        assert r.status_code == 404 and r.is_json, path
        assert r.get_json()["errors"][0]["field"] == "path"
        assert b"<html" not in r.data.lower()
    r = client.get("/api/exchange/heartbeat")
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and r.get_json()["errors"][0]["field"] == "method"
    r = client.post("/api/exchange/commands", json={})
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    h = token_for(ex_cfg, "EX-H001")
    assert client.get("/api/exchange/commands", headers=h).status_code == 200      # real routes unaffected


def test_heartbeat_backlog_beyond_32_bits_is_stored(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    r = client.post("/api/exchange/heartbeat", headers=h, json={"ts": NOW.isoformat(), "backlog": 3_000_000_000})
    assert r.status_code == 204
    with session_factory(ex_cfg.app_db_url)() as s:
        assert s.scalar(select(ExchangeNode).where(ExchangeNode.code == "EX-T001")).last_backlog == 3_000_000_000


def test_node_failure_alert_names_the_failed_system_in_chinese(client, ex_cfg):
    """A failed job raises a node-failure finding that names the system as operators read it (HIS门诊, not
    HIS_OP)."""
    from dashboard.alerts.run import node_failure_findings
    from metrics.alert_rules import RuleSpec
    headers = token_for(ex_cfg, "EX-T001")
    client.post("/api/exchange/heartbeat", json={"ts": NOW.isoformat()}, headers=headers)
    body = _run("NF-1", status="failed", finished_at=NOW.isoformat(), error="ORA-12541")
    assert client.post("/api/exchange/runs", json=body, headers=headers).status_code == 201
    findings = node_failure_findings(ex_cfg, RuleSpec("R07", "node_failure"), None)
    mine = [f for f in findings if "作业失败" in f.message]
    assert mine and all("HIS门诊" in f.message and "HIS_OP" not in f.message for f in mine), findings
