"""Demo history of the exchange nodes: heartbeats, runs (a few failures, runs in progress, one silent node), logs.

Deterministic for a given ``now`` and ``seed``; bulk inserts in one transaction (replaces the previous history).
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import delete, func, select, update

from core.config import Config
from dashboard.appdb import init_app_db, session_factory
from dashboard.exchange.models import (
    ExchangeCommand,
    ExchangeJob,
    ExchangeNode,
    Heartbeat,
    JobRun,
    NodePresenceHour,
    RunLog,
)
from dashboard.exchange.service import ensure_nodes, now_local

# Typical outpatient visits a day by institution type (the HIS_OP volume); other systems scale from it.
DAILY_VISITS = {"general_hospital": 2600, "county_hospital": 1500, "tcm_hospital": 900, "maternal_child": 500,
                "community_center": 320, "township_center": 220, "village_clinic": 30}
ROWS_PER_VISIT = {"HIS_OP": 1.0, "HIS_IP": 0.12, "LIS": 1.3, "PACS": 0.18, "EMR": 0.35, "PH": 0.25}
# Share of a day's activity by hour (clinics are busy 8–11 and 14–17).
HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 5.0, 6.0, 5.5, 4.0, 1.5, 2.5, 4.5, 4.5, 3.5, 2.0, 1.2,
                1.0, 0.8, 0.6, 0.4, 0.3]
_HW_SUM = sum(HOUR_WEIGHTS)

# How runs fail, per source system: (error, retry note). A retry note marks a transient fault (connection,
# timeout, upstream 5xx): the node logs it, waits RETRY_S and tries again, RETRIES times, then gives up with the
# error. Faults without a note (bad data, full disk) fail at once. Every text names its own system, so a run's
# error never points at another system's database or interface.
RETRY_S = 30
RETRIES = 3
FAILURES: dict[str, list[tuple[str, str | None]]] = {
    "HIS_OP": [("ORA-12541: TNS:no listener (HIS 门诊库监听未启动)", "连接 HIS 门诊库失败"),
               ("读取 HIS 门诊视图 V_MZ_GHXX 超时 (timeout after 300 s)", "读取 HIS 门诊视图超时"),
               ("ORA-00001: 违反唯一约束条件 (HISDB.PK_MZ_CFMX，HIS 门诊处方明细)", None)],
    "HIS_IP": [("ORA-12541: TNS:no listener (HIS 住院库监听未启动)", "连接 HIS 住院库失败"),
               ("读取 HIS 住院视图 V_ZY_YZXX 超时 (timeout after 300 s)", "读取 HIS 住院视图超时"),
               ("ORA-00001: 违反唯一约束条件 (HISDB.PK_ZY_FYMX，HIS 住院费用明细)", None)],
    "LIS": [("java.net.SocketTimeoutException: Read timed out (LIS 接口 /lis/report)", "调用 LIS 接口超时"),
            ("SQLServer 错误 1205: LIS 库 LIS_RESULT 事务与另一个进程发生死锁，已被选作死锁牺牲品", "LIS 库死锁"),
            ("LIS 检验结果缺少标本条码 (LIS_RESULT.BARCODE 为空)", None)],
    "PACS": [("PACS 报告库连接被拒绝: Connection refused (PACS 报告视图 V_PACS_REPORT)", "连接 PACS 报告库失败"),
             ("PACS 影像索引查询超时 (timeout after 300 s)", "查询 PACS 影像索引超时")],
    "EMR": [("EMR 文档服务返回 HTTP 500 (EMR 病历 CDA 文档导出失败)", "调用 EMR 文档服务失败"),
            ("ORA-01555: 快照过旧 (EMR 病历文书表 EMR_DOC 读取中断)", None)],
    "PH": [("公共卫生平台接口认证失败: 访问令牌已过期", None),
           ("读取公共卫生慢病随访表 PH_FOLLOWUP 超时 (timeout after 300 s)", "读取公共卫生随访表超时")],
}
# Faults of the node itself, worded for the system whose run hit them.
NODE_FAILURES: list[tuple[str, str | None]] = [
    ("前置机磁盘空间不足: /data 可用 0.8%，{system} 暂存文件无法写入", None),
    ("上传平台失败: HTTP 502 Bad Gateway ({system} 数据批次)", "上传 {system} 数据失败"),
]
SYSTEM_ZH = {"HIS_OP": "HIS 门诊", "HIS_IP": "HIS 住院", "LIS": "LIS 检验", "PACS": "PACS 影像",
             "EMR": "EMR 电子病历", "PH": "公共卫生"}


def pick_failure(job_code: str, rng: random.Random) -> tuple[str, str | None]:
    """(error, retry note or None) of one failed run of ``job_code`` (see FAILURES)."""
    system = SYSTEM_ZH.get(job_code, job_code)
    error, note = rng.choice(FAILURES.get(job_code, []) + NODE_FAILURES)
    return error.format(system=system), (note.format(system=system) if note else None)


def retry_message(note: str, attempt: int, retry_s: float = RETRY_S) -> str:
    """The WARN line of a transient fault: '连接 HIS 门诊库失败，30 秒后重试 (1/3)'."""
    return f"{note}，{retry_s:g} 秒后重试 ({attempt}/{RETRIES})"


def failure_logs(start: dt.datetime, finish: dt.datetime, error: str, note: str | None,
                 retry_s: float = RETRY_S) -> list[tuple[dt.datetime, str, str]]:
    """(ts, level, message) of a failed run after its start line: up to RETRIES retry warnings ``retry_s``
    apart, the last one ``retry_s`` before the ERROR at ``finish`` (only as many as fit after ``start``)."""
    out: list[tuple[dt.datetime, str, str]] = []
    if note:
        fit = int((finish - start).total_seconds() // retry_s)
        n = max(0, min(RETRIES, fit))
        for attempt in range(1, n + 1):
            out.append((finish - dt.timedelta(seconds=retry_s * (n - attempt + 1)), "WARN",
                        retry_message(note, attempt, retry_s)))
    out.append((finish, "ERROR", error))
    return out


FAIL_RATE = 0.025
LATE_RATE = 0.03


def rows_for(job_code: str, visits: int, start: dt.datetime, minutes: int | None, rng: random.Random) -> int:
    """Rows one run extracts: the day's volume × the share of the covered hours, with ±15% noise."""
    day_rows = visits * ROWS_PER_VISIT[job_code]
    if minutes is None:                                  # nightly batch covers the previous day
        share = 1.0
    else:
        hours = max(1, minutes // 60)
        share = sum(HOUR_WEIGHTS[(start.hour - 1 - k) % 24] for k in range(hours)) / _HW_SUM
    return max(0, int(day_rows * share * rng.uniform(0.85, 1.15)))


def _slots(job: ExchangeJob, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    out = []
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= last:
        if job.every_minutes:
            times = [day + dt.timedelta(minutes=m) for m in range(0, 1440, job.every_minutes)]
        else:
            hh, mm = (int(x) for x in (job.daily_at or "02:00").split(":"))
            times = [day + dt.timedelta(hours=hh, minutes=mm)]
        out.extend(t for t in times if first <= t <= last)
        day += dt.timedelta(days=1)
    return out


def seed_demo_history(cfg: Config, days: int = 30, now: dt.datetime | None = None, seed: int = 7) -> dict[str, int]:
    """Create one node per chosen institution and seed ``days`` days of heartbeats, runs and logs.

    The node with the highest code below county level falls silent 5 hours before ``now`` (offline); two nodes
    have a job whose latest run failed; two have a run in progress. Returns row counts.
    """
    init_app_db(cfg.app_db_url)
    ensure_nodes(cfg)
    now = (now or now_local()).replace(second=0, microsecond=0)
    start = (now - dt.timedelta(days=days)).replace(hour=0, minute=0)
    factory = session_factory(cfg.app_db_url)
    with factory() as s, s.begin():
        nodes = list(s.scalars(select(ExchangeNode).order_by(ExchangeNode.code)))
        if not nodes:
            return {"nodes": 0, "runs": 0, "logs": 0, "heartbeats": 0}
        for model in (RunLog, ExchangeCommand, JobRun, Heartbeat, NodePresenceHour):
            s.execute(delete(model))
        s.execute(update(ExchangeJob).values(created_at=start))
        s.execute(update(ExchangeNode).values(created_at=start))
        jobs_by_node: dict[int, list[ExchangeJob]] = {}
        for job in s.scalars(select(ExchangeJob).order_by(ExchangeJob.id)):
            jobs_by_node.setdefault(job.node_id, []).append(job)

        lower = [n for n in nodes if n.inst_level != "county"] or nodes
        silent = lower[-1]
        with_jobs = [n for n in nodes if n is not silent]
        failing = {n.id for n in with_jobs[1:3]}
        running = {n.id for n in with_jobs[3:5]}

        run_pk = (s.scalar(select(func.max(JobRun.id))) or 0)
        runs: list[dict[str, Any]] = []
        logs: list[dict[str, Any]] = []
        heartbeats: list[dict[str, Any]] = []
        presence: list[dict[str, Any]] = []
        for node in nodes:
            rng = random.Random(f"{seed}-{node.code}")
            visits = DAILY_VISITS.get(node.inst_type or "", 200)
            end = now - dt.timedelta(hours=5) if node is silent else now
            for job in jobs_by_node.get(node.id, []):
                slots = _slots(job, start, end)
                for i, slot in enumerate(slots):
                    begin = slot + dt.timedelta(seconds=rng.randint(5, 150))
                    if begin > end:
                        continue
                    extracted = rows_for(job.job_code, visits, slot, job.every_minutes, rng)
                    minutes = 1 + extracted / 4000 + rng.uniform(0, 3)
                    if rng.random() < LATE_RATE:
                        minutes += job.window_minutes + rng.uniform(5, 30)
                    finish = begin + dt.timedelta(minutes=minutes)
                    last_slot = i == len(slots) - 1
                    fail = rng.random() < FAIL_RATE
                    if last_slot and job.job_code == "LIS" and node.id in failing:
                        fail = True
                    status = "failed" if fail else "success"
                    failure = pick_failure(job.job_code, rng) if fail else None
                    if failure and failure[1]:
                        # the first attempt fails part-way, then RETRIES waits of RETRY_S before giving up
                        finish = begin + dt.timedelta(minutes=minutes * rng.uniform(0.1, 0.6),
                                                      seconds=RETRY_S * RETRIES)
                    if last_slot and node.id in running and job.job_code == "HIS_OP" and node is not silent:
                        begin = now - dt.timedelta(minutes=2)
                        status, finish = "running", None
                    elif finish > end:
                        status, finish = ("running", None) if node is not silent else ("failed", end)
                    run_pk += 1
                    run_id = f"{node.code}-{job.job_code}-{slot:%Y%m%d%H%M}"
                    if status == "failed" and failure is None:       # cut off when the node fell silent
                        failure = pick_failure(job.job_code, rng)
                    runs.append(_run(run_pk, run_id, node, job, begin, finish, status, extracted, rng,
                                     failure[0] if status == "failed" and failure else None))
                    logs.extend(_logs(run_pk, runs[-1], failure[1] if failure else None))
                    if fail and status == "failed" and not last_slot and rng.random() < 0.6:
                        # an operator re-ran it later the same hour
                        rb = (finish or begin) + dt.timedelta(minutes=rng.randint(10, 40))
                        if rb < end:
                            run_pk += 1
                            rerun = _run(run_pk, run_id + "-R1", node, job, rb,
                                         rb + dt.timedelta(minutes=minutes), "success", extracted, rng)
                            rerun["rerun_of"] = run_id
                            runs.append(rerun)
                            logs.extend(_logs(run_pk, rerun, None))
            # heartbeats: presence for every hour (a few short outages), raw rows for the last 6 hours
            hour = start
            while hour < end:
                if rng.random() > 0.01:
                    presence.append({"node_id": node.id, "hour": hour})
                hour += dt.timedelta(hours=1)
            step = dt.timedelta(seconds=node.heartbeat_interval_s)
            t = max(start, end - dt.timedelta(hours=6))
            cpu = rng.uniform(10, 40)
            last_hb = None
            while t <= end:
                cpu = min(95.0, max(3.0, cpu + rng.uniform(-5, 5)))
                heartbeats.append({"node_id": node.id, "ts": t, "received_at": t, "version": node.version,
                                   "cpu": round(cpu, 1), "mem": round(rng.uniform(35, 70), 1),
                                   "disk": round(rng.uniform(40, 75), 1), "backlog": rng.randint(0, 50)})
                last_hb = heartbeats[-1]
                t += step + dt.timedelta(seconds=rng.randint(-3, 3))
            if last_hb:
                if presence and presence[-1]["node_id"] == node.id and presence[-1]["hour"] != \
                        last_hb["received_at"].replace(minute=0, second=0):
                    presence.append({"node_id": node.id,
                                     "hour": last_hb["received_at"].replace(minute=0, second=0)})
                node.last_heartbeat_at = last_hb["received_at"]
                node.last_cpu, node.last_mem = last_hb["cpu"], last_hb["mem"]
                node.last_disk, node.last_backlog = last_hb["disk"], last_hb["backlog"]
        presence = list({(p["node_id"], p["hour"]): p for p in presence}.values())
        conn = s.connection()
        for model, rows in ((JobRun, runs), (RunLog, logs), (Heartbeat, heartbeats), (NodePresenceHour, presence)):
            _bulk_insert(conn, model.__table__, rows)
    return {"nodes": len(nodes), "runs": len(runs), "logs": len(logs), "heartbeats": len(heartbeats)}


def _bulk_insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows. On SQLite the statement SQLAlchemy compiles goes straight to the DB-API cursor with
    datetimes pre-formatted in SQLAlchemy's SQLite storage format (5× faster than per-row bind processing);
    other databases take the ordinary Core executemany."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(rows[0]))
    order = compiled.positiontup

    def cell(v: Any) -> Any:
        return v.isoformat(" ", "microseconds") if isinstance(v, dt.datetime) else v
    conn.connection.driver_connection.executemany(
        str(compiled), [tuple(cell(r[k]) for k in order) for r in rows])


def _run(pk: int, run_id: str, node: ExchangeNode, job: ExchangeJob, begin: dt.datetime,
         finish: dt.datetime | None, status: str, extracted: int, rng: random.Random,
         error: str | None = None) -> dict[str, Any]:
    rejected = int(extracted * rng.choice([0, 0, 0.0005, 0.001, 0.004])) if status == "success" else 0
    return {"id": pk, "run_id": run_id, "node_id": node.id, "job_code": job.job_code,
            "started_at": begin.replace(microsecond=0),
            "finished_at": finish.replace(microsecond=0) if finish else None, "status": status,
            "rows_extracted": extracted if status != "failed" else int(extracted * rng.uniform(0, 0.6)),
            "rows_loaded": (extracted - rejected) if status == "success" else (None if status == "running" else 0),
            "rows_rejected": rejected if status == "success" else (None if status == "running" else 0),
            "error": error, "rerun_of": None, "received_at": begin.replace(microsecond=0),
            "updated_at": finish.replace(microsecond=0) if finish else None}


def _logs(pk: int, run: dict[str, Any], retry_note: str | None) -> list[dict[str, Any]]:
    t = run["started_at"]
    out = [{"run_pk": pk, "ts": t, "level": "INFO", "message": f"开始抽取 {run['job_code']} 增量数据"}]
    if run["status"] == "running":
        return out
    fin = run["finished_at"]
    if run["status"] == "failed":
        out += [{"run_pk": pk, "ts": ts, "level": level, "message": msg}
                for ts, level, msg in failure_logs(t, fin, run["error"], retry_note)]
        return out
    if run["rows_rejected"]:
        out.append({"run_pk": pk, "ts": fin, "level": "WARN",
                    "message": f"{run['rows_rejected']} 行未通过校验 (必填字段为空或代码不在值域内)，已拒收"})
    out.append({"run_pk": pk, "ts": fin, "level": "INFO",
                "message": f"抽取 {run['rows_extracted']} 行，入库 {run['rows_loaded']} 行，"
                           f"拒收 {run['rows_rejected']} 行，用时 "
                           f"{int((fin - t).total_seconds())} 秒"})
    return out
