"""Personal data sent by exchange nodes is masked before it is stored (个人信息保护法: minimise).

Through the real node API (bearer token, real Flask app, real SQLite app DB): a failed run's ``error`` and its log
lines quoting an ID-card number or a mobile number are stored masked, the pages' readers return them masked, and
a replay of the same run or lines stays idempotent.
"""
from __future__ import annotations

import datetime as dt
import sqlite3

from sqlalchemy import select

from core.masking import has_unmasked
from dashboard.appdb import session_factory
from dashboard.exchange.models import JobRun, RunLog
from dashboard.exchange.service import job_runs, run_logs
from tests.exchange_fixtures import client, ex_app, ex_cfg, token_for  # noqa: F401
from tests.http_text import body_text

NOW = dt.datetime.now().replace(microsecond=0)
ID_NO, MOBILE = "110105199001011234", "13812345678"
ERROR = f"患者 {ID_NO} 联系电话 {MOBILE} 写入失败: ORA-00001 unique constraint"
MASKED_ERROR = "患者 110105********1234 联系电话 138****5678 写入失败: ORA-00001 unique constraint"


def _failed(run_id: str, error: str = ERROR) -> dict:
    return {"run_id": run_id, "job_code": "HIS_OP", "started_at": (NOW - dt.timedelta(minutes=5)).isoformat(),
            "finished_at": NOW.isoformat(), "status": "failed", "error": error}


def _db_text(cfg) -> str:
    """Every row of the app database as text (what a copy of the file would leak)."""
    path = cfg.app_db_url.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_failed_run_error_is_masked_on_ingest_and_replay_is_idempotent(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    r = client.post("/api/exchange/runs", json=_failed("PII-1"), headers=h)
    assert r.status_code == 201, body_text(r)
    assert r.get_json()["error"] == MASKED_ERROR
    with session_factory(ex_cfg.app_db_url)() as s:
        assert s.scalar(select(JobRun.error).where(JobRun.run_id == "PII-1")) == MASKED_ERROR
    # the node resends the very same finished run (timeout): same answer, no 409 because the stored text differs
    r = client.post("/api/exchange/runs", json=_failed("PII-1"), headers=h)
    assert r.status_code == 200 and r.get_json()["error"] == MASKED_ERROR
    # already masked text is left as it is (idempotent), also as a replay of the stored row
    r = client.post("/api/exchange/runs", json=_failed("PII-1", MASKED_ERROR), headers=h)
    assert r.status_code == 200
    # a different outcome is still a conflict
    assert client.post("/api/exchange/runs", json=_failed("PII-1", "另一个错误"), headers=h).status_code == 409
    runs, _total = job_runs(ex_cfg)
    assert MASKED_ERROR in runs["error"].tolist()


def test_running_run_finishing_with_personal_data_is_masked(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    running = {k: v for k, v in _failed("PII-2").items() if k not in ("finished_at", "error")}
    assert client.post("/api/exchange/runs", json=dict(running, status="running"), headers=h).status_code == 201
    r = client.post("/api/exchange/runs", json=_failed("PII-2"), headers=h)
    assert r.status_code == 200 and r.get_json()["error"] == MASKED_ERROR


def test_log_lines_are_masked_on_ingest(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T001")
    assert client.post("/api/exchange/runs", json=_failed("PII-3"), headers=h).status_code == 201
    lines = [{"ts": NOW.isoformat(), "level": "ERROR", "message": f"拒绝记录 身份证={ID_NO}", "seq": 0},
             {"ts": NOW.isoformat(), "level": "WARN", "message": f"手机号 +86 {MOBILE} 格式异常", "seq": 1},
             {"ts": NOW.isoformat(), "level": "INFO", "message": "身份证 11010519900101123X 已跳过"},
             {"ts": NOW.isoformat(), "level": "INFO", "message": "已脱敏 110105********1234 138****5678"}]
    r = client.post("/api/exchange/runs/PII-3/logs", json=lines, headers=h)
    assert r.status_code == 201 and r.get_json()["stored"] == 4
    messages = run_logs(ex_cfg, "PII-3")["message"].tolist()
    assert messages == ["拒绝记录 身份证=110105********1234", "手机号 +86 138****5678 格式异常",
                        "身份证 110105********123X 已跳过", "已脱敏 110105********1234 138****5678"]
    # a retried POST with the same seqs stores nothing twice
    r = client.post("/api/exchange/runs/PII-3/logs", json=lines[:2], headers=h)
    assert r.get_json() == {"run_id": "PII-3", "stored": 0, "duplicates": 2}
    with session_factory(ex_cfg.app_db_url)() as s:
        stored = list(s.scalars(select(RunLog.message)))
    assert stored and not any(has_unmasked(m) for m in stored)


def test_nothing_unmasked_anywhere_in_the_app_database(client, ex_cfg):
    h = token_for(ex_cfg, "EX-T002")
    client.post("/api/exchange/runs", json=_failed("PII-4"), headers=h)
    client.post("/api/exchange/runs/PII-4/logs", headers=h,
                json=[{"ts": NOW.isoformat(), "level": "ERROR", "message": ERROR}])
    dump = _db_text(ex_cfg)
    assert "PII-4" in dump and "110105********1234" in dump
    assert ID_NO not in dump and MOBILE not in dump and not has_unmasked(dump)
