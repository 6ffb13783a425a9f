"""Exchange services: tokens, node creation, the node API's writes, node states and the page queries.

No Dash code here. The pages (/exchange, /quality) call:

* ``node_states(cfg, now=None)``                → DataFrame, one row per node with its state
* ``node_detail(cfg, code, now=None)``          → dict: node fields, state, jobs (DataFrame), heartbeats (DataFrame)
* ``job_runs(cfg, ..., page, page_size)``       → (DataFrame, total)
* ``run_logs(cfg, run_id, node_code=…)``       → DataFrame
* ``request_rerun(cfg, run_id, requester, node_code=…)`` → CommandInfo (the page records the audit, see below)

Run ids are the node's own (unique per node, migration 0012): a run is (node, run_id); the page names it
``run_key(node_code, run_id)`` = ``<node code>/<run id>``.
* ``pending_commands(cfg, node_code=None)``     → DataFrame
* ``update_node_settings(cfg, code, ...)``      → dict of changed fields {field: (old, new)} (the page audits)

State rule (DESIGN §7): offline when now − last heartbeat > 3 × interval (never heard of counts as offline);
else failed when some job's latest failed run is later than its latest success; else running when a run is
running (started within RUNNING_STALE_AFTER; a run left "running" longer is ignored: its node crashed or was
stopped, which the heartbeat rule reports); else normal.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from core.config import Config
from core.masking import mask_text
from dashboard.appdb import init_app_db, session_factory
from dashboard.county_clock import county_now
from dashboard.exchange.models import (
    COMMAND_STATE_ZH,
    JOB_NAMES_ZH,
    RUN_STATUS_ZH,
    ExchangeCommand,
    ExchangeJob,
    ExchangeNode,
    Heartbeat,
    JobRun,
    NodePresenceHour,
    RunLog,
)
from dashboard.exchange.schemas import NodeSettingsIn

OFFLINE_AFTER_INTERVALS = 3
RUNNING_STALE_AFTER = dt.timedelta(hours=12)
# A re-run command its node has not finished within this time is shown as 超时 and may be asked again.
COMMAND_TIMEOUT = dt.timedelta(minutes=10)
COMMAND_TIMEOUT_TEXT = f"超时：前置机 {int(COMMAND_TIMEOUT.total_seconds() // 60)} 分钟内未执行"
HEARTBEAT_KEEP_DAYS = 7
DEFAULT_HEARTBEAT_S = 60

STATE_ZH = {"normal": "正常", "running": "运行中", "failed": "失败", "offline": "离线"}
STATE_ORDER = ("offline", "failed", "running", "normal")

# Job schedules by source system: (every_minutes, daily_at, window_minutes). Incremental extractions of the
# busy systems run through the day; EMR and public-health archives are nightly batches.
JOB_SCHEDULES: dict[str, tuple[int | None, str | None, int]] = {
    "HIS_OP": (60, None, 30),
    "HIS_IP": (120, None, 60),
    "LIS": (60, None, 30),
    "PACS": (240, None, 90),
    "EMR": (None, "01:30", 120),
    "PH": (None, "02:30", 120),
}

# Which source systems an institution runs, by type (every node has HIS_OP).
JOBS_BY_INST_TYPE: dict[str, tuple[str, ...]] = {
    "general_hospital": ("HIS_OP", "HIS_IP", "LIS", "PACS", "EMR", "PH"),
    "county_hospital": ("HIS_OP", "HIS_IP", "LIS", "PACS", "EMR", "PH"),
    "tcm_hospital": ("HIS_OP", "HIS_IP", "LIS", "PACS", "EMR", "PH"),
    "maternal_child": ("HIS_OP", "HIS_IP", "LIS", "EMR", "PH"),
    "community_center": ("HIS_OP", "LIS", "PH"),
    "township_center": ("HIS_OP", "HIS_IP", "LIS", "PH"),
    "village_clinic": ("HIS_OP", "PH"),
}

# Village clinics of a 医共体 normally record in the township centre's (cloud) HIS, so their data reaches the
# platform through the township node; only a few pilot clinics run their own 前置机. Giving all ~200 clinics a
# node would bury the ~23 real ones on the map, so we add nodes for this many clinics only.
VILLAGE_NODES = 5


def now_local() -> dt.datetime:
    """County wall time (MART_TIMEZONE), naive, to the second: every stored and shown time uses this clock,
    whatever the server's OS time zone (``dashboard.county_clock``)."""
    return county_now()


def _session(cfg: Config) -> Session:
    return session_factory(cfg.app_db_url)()


# ---------------------------------------------------------------- tokens

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(cfg: Config, code: str) -> str:
    """Give node ``code`` a new random token (the old one stops working); returns the token (stored hashed)."""
    init_app_db(cfg.app_db_url)
    with _session(cfg) as s, s.begin():
        node = s.scalar(select(ExchangeNode).where(ExchangeNode.code == code))
        if node is None:
            raise LookupError(f"no exchange node {code!r}")
        token = new_token()
        node.token_hash = hash_token(token)
        node.token_issued_at = now_local()
    return token


def issue_tokens(cfg: Config, codes: Iterable[str] | None = None) -> dict[str, str]:
    """New tokens for several nodes (all when ``codes`` is None) in one transaction: {code: token}."""
    with _session(cfg) as s, s.begin():
        q = select(ExchangeNode)
        if codes is not None:
            q = q.where(ExchangeNode.code.in_(list(codes)))
        out = {}
        for node in s.scalars(q):
            token = new_token()
            node.token_hash = hash_token(token)
            node.token_issued_at = now_local()
            out[node.code] = token
    return out


def node_for_token(s: Session, token: str) -> ExchangeNode | None:
    """The node a bearer token names, or None (hash lookup, then a constant-time compare of the hashes)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    node = s.scalar(select(ExchangeNode).where(ExchangeNode.token_hash == digest))
    if node is None or not hmac.compare_digest(node.token_hash or "", digest):
        return None
    return node


# ---------------------------------------------------------------- nodes

def node_code_for(inst_code: str) -> str:
    return f"EX-{inst_code}"


def _pick_institutions(insts: pd.DataFrame) -> pd.DataFrame:
    """Township level and above, plus the first VILLAGE_NODES village clinics (by code, spread over parents)."""
    upper = insts[insts["level"] != "village"]
    villages = insts[insts["level"] == "village"].sort_values("inst_code")
    if len(villages):
        # one clinic per township first, so the pilots are spread over the county
        key = villages["parent_inst_code"] if "parent_inst_code" in villages else villages["inst_code"]
        firsts = villages.loc[~key.duplicated()]
        villages = pd.concat([firsts, villages.drop(firsts.index)]).head(VILLAGE_NODES)
    return pd.concat([upper, villages]).sort_values("inst_code")


def ensure_nodes(cfg: Config, institutions: pd.DataFrame | None = None) -> int:
    """Create a node (with its jobs) for every chosen institution of the mart that has none; returns how many.

    ``institutions`` (inst_code, name, inst_type, level, lon, lat[, parent_inst_code]) defaults to the mart's.
    """
    if institutions is None:
        from queries.org import org_tree
        institutions = org_tree(cfg.mart_url)
    chosen = _pick_institutions(institutions)
    init_app_db(cfg.app_db_url)
    created = 0
    with _session(cfg) as s, s.begin():
        have = set(s.scalars(select(ExchangeNode.inst_code)))
        ts = now_local()
        for i, row in enumerate(chosen.itertuples(index=False)):
            if row.inst_code in have:
                continue
            node = ExchangeNode(
                code=node_code_for(row.inst_code), inst_code=row.inst_code, name=f"{row.name}前置机",
                inst_name=row.name, inst_type=row.inst_type, inst_level=row.level,
                host=f"10.{20 + i // 200}.{i % 200 + 1}.10",
                version="2.3.1", lon=_float(row.lon), lat=_float(row.lat), zoom=None, city=None, address=None,
                heartbeat_interval_s=DEFAULT_HEARTBEAT_S, created_at=ts)
            s.add(node)
            s.flush()
            for job_code in JOBS_BY_INST_TYPE.get(row.inst_type, ("HIS_OP",)):
                every, daily, window = JOB_SCHEDULES[job_code]
                s.add(ExchangeJob(node_id=node.id, job_code=job_code, every_minutes=every, daily_at=daily,
                                  window_minutes=window, created_at=ts))
            created += 1
    return created


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(out) else out


def list_nodes(cfg: Config) -> pd.DataFrame:
    """Nodes with their state (for the CLI and the node list)."""
    return node_states(cfg)


# ---------------------------------------------------------------- node API writes (one session per request)

def record_heartbeat(s: Session, node: ExchangeNode, body: Any, received_at: dt.datetime | None = None) -> None:
    """Store one heartbeat: node's last figures, history row, presence hour; prune history older than 7 days."""
    received_at = received_at or now_local()
    node.last_heartbeat_at = received_at
    if body.version:
        node.version = body.version
    node.last_cpu, node.last_mem, node.last_disk, node.last_backlog = body.cpu, body.mem, body.disk, body.backlog
    s.add(Heartbeat(node_id=node.id, ts=body.ts, received_at=received_at, version=body.version, cpu=body.cpu,
                    mem=body.mem, disk=body.disk, backlog=body.backlog))
    hour = received_at.replace(minute=0, second=0, microsecond=0)
    if s.scalar(select(NodePresenceHour.id).where(NodePresenceHour.node_id == node.id,
                                                 NodePresenceHour.hour == hour)) is None:
        s.add(NodePresenceHour(node_id=node.id, hour=hour))
    s.execute(delete(Heartbeat).where(Heartbeat.node_id == node.id,
                                      Heartbeat.received_at < received_at - dt.timedelta(days=HEARTBEAT_KEEP_DAYS)))


class ApiError(Exception):
    """An answer other than success: HTTP status and field errors."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [{"field": field, "message": message}]


RUN_FIELDS = ("started_at", "finished_at", "status", "rows_extracted", "rows_loaded", "rows_rejected", "error")


def upsert_run(s: Session, node: ExchangeNode, body: Any) -> tuple[JobRun, bool]:
    """Insert or update a run by run_id; returns (run, created). Finished runs are final: a late 'running'
    replay changes nothing, a different outcome is a conflict (409)."""
    job = s.scalar(select(ExchangeJob.id).where(ExchangeJob.node_id == node.id,
                                                ExchangeJob.job_code == body.job_code))
    if job is None:
        raise ApiError(400, "job_code", f"node {node.code} has no job {body.job_code}")
    # A node's error text can quote a patient's ID or mobile number (个人信息保护法: store the least): masked
    # before it is stored or compared, so a replay of the same run still matches the stored (masked) row.
    values = {f: getattr(body, f) for f in RUN_FIELDS}
    values["error"] = mask_text(values["error"])
    run = s.scalar(select(JobRun).where(JobRun.node_id == node.id, JobRun.run_id == body.run_id))
    if run is None:      # run ids are the node's own: another node's run of the same id is another run
        run = JobRun(run_id=body.run_id, node_id=node.id, job_code=body.job_code, received_at=now_local(),
                     **values)
        s.add(run)
        s.flush()
        return run, True
    if run.job_code != body.job_code:
        raise ApiError(409, "job_code", f"run {run.run_id} is a {run.job_code} run")
    if run.status != "running":
        if body.status == "running":
            return run, False
        # mask the stored side too: a row stored before masking existed still equals its own replay
        same = all((mask_text(getattr(run, f)) if f == "error" else getattr(run, f)) == values[f]
                   for f in RUN_FIELDS)
        if not same:
            raise ApiError(409, "status", f"run {run.run_id} already finished ({run.status})")
        return run, False
    for f in RUN_FIELDS:
        value = values[f]
        if value is not None or f in ("finished_at",):
            setattr(run, f, value)
    run.updated_at = now_local()
    return run, False


def add_logs(s: Session, node: ExchangeNode, run_id: str, lines: list[Any]) -> tuple[int, int]:
    """Store the log lines of a run; returns (stored, duplicates).

    A line with a ``seq`` the run already has — from an earlier POST or earlier in this one — is a duplicate and
    is skipped (a node's retried POST stores nothing twice). Lines without seq are always stored.
    """
    run = s.scalar(select(JobRun).where(JobRun.node_id == node.id, JobRun.run_id == run_id))
    if run is None:
        raise ApiError(404, "run_id", f"unknown run {run_id}")
    rows, seen = [], set()
    for line in lines:
        if line.seq is not None:
            if line.seq in seen:
                continue
            seen.add(line.seq)
        rows.append({"run_pk": run.id, "ts": line.ts, "level": "WARN" if line.level == "WARNING" else line.level,
                     "message": mask_text(line.message), "seq": line.seq})   # masked as the run's error
    stored = _insert_new_log_lines(s, rows)
    return stored, len(lines) - stored


def _insert_new_log_lines(s: Session, rows: list[dict[str, Any]]) -> int:
    """INSERT the rows, skipping those whose (run_pk, seq) is stored; returns how many were inserted.

    ON CONFLICT DO NOTHING on the unique index rather than a look-up before inserting: two copies of one POST in
    flight at once (the node timed out while the first was still being handled) would both pass a look-up and the
    second would then fail on the index.
    """
    if not rows:
        return 0
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        raise NotImplementedError(f"app database {dialect}: only SQLite and PostgreSQL are supported")
    table = RunLog.__table__
    stmt = (dialect_insert(table).on_conflict_do_nothing(index_elements=[table.c.run_pk, table.c.seq])
            .returning(table.c.id))
    return len(s.execute(stmt, rows).all())     # RETURNING yields the inserted rows only


def commands_for_node(s: Session, node: ExchangeNode) -> list[dict[str, Any]]:
    """Commands not finished yet (requested, or picked and not acknowledged done/failed)."""
    rows = s.scalars(select(ExchangeCommand).where(ExchangeCommand.node_id == node.id,
                                                   ExchangeCommand.state.in_(("requested", "picked")))
                     .order_by(ExchangeCommand.id))
    return [command_json(c) for c in rows]


def command_json(c: ExchangeCommand) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "run_id": c.run_id, "job_code": c.job_code,
            "requested_at": c.requested_at.isoformat(), "state": c.state, "message": c.message,
            "result_run_id": c.result_run_id}


_ACK_FROM = {"picked": ("requested",), "done": ("requested", "picked"), "failed": ("requested", "picked")}


def ack_command(s: Session, node: ExchangeNode, command_id: int, body: Any) -> ExchangeCommand:
    cmd = s.get(ExchangeCommand, command_id)
    if cmd is None:
        raise ApiError(404, "id", f"unknown command {command_id}")
    if cmd.node_id != node.id:
        raise ApiError(403, "id", "command belongs to another node")
    if body.run_id is not None:
        run = s.scalar(select(JobRun).where(JobRun.node_id == node.id, JobRun.run_id == body.run_id))
        if run is None:
            raise ApiError(400, "run_id", f"unknown run {body.run_id}")
    if cmd.state == body.state:
        return cmd                                   # replay of the same acknowledgement
    if cmd.state not in _ACK_FROM[body.state]:
        raise ApiError(409, "state", f"command is {cmd.state}, cannot become {body.state}")
    ts = now_local()
    cmd.state = body.state
    if body.message is not None:
        cmd.message = mask_text(body.message)       # node text may quote patient data, as run errors do
    if body.state == "picked":
        cmd.picked_at = ts
    else:
        cmd.finished_at = ts
        cmd.picked_at = cmd.picked_at or ts
    if body.run_id is not None:
        cmd.result_run_id = body.run_id
        s.execute(update(JobRun).where(JobRun.node_id == node.id, JobRun.run_id == body.run_id)
                  .values(rerun_of=cmd.run_id))
    return cmd


def run_json(run: JobRun) -> dict[str, Any]:
    def iso(v: dt.datetime | None) -> str | None:
        return v.isoformat() if v else None
    return {"run_id": run.run_id, "job_code": run.job_code, "status": run.status,
            "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "rows_extracted": run.rows_extracted, "rows_loaded": run.rows_loaded,
            "rows_rejected": run.rows_rejected, "error": run.error}


# ---------------------------------------------------------------- re-run requests (page)

@dataclass(frozen=True)
class CommandInfo:
    """A re-run command as the page sees it (``created`` False when an open one already existed)."""
    id: int
    node_code: str
    run_id: str
    job_code: str
    requester: str
    requested_at: dt.datetime
    state: str
    created: bool


def _run_where(run_id: str, node_code: str | None) -> list[Any]:
    """WHERE terms of the run ``run_id`` of node ``node_code`` (of any node when None)."""
    where: list[Any] = [JobRun.run_id == run_id]
    if node_code is not None:
        where.append(JobRun.node_id == select(ExchangeNode.id).where(ExchangeNode.code == node_code)
                     .scalar_subquery())
    return where


RUN_KEY_SEP = "/"     # never in a run id (RUN_ID_PATTERN), so the last one splits a key


def run_key(node_code: str, run_id: str) -> str:
    """The page's name of one run, ``<node code>/<run id>`` (run ids are unique per node only)."""
    return f"{node_code}{RUN_KEY_SEP}{run_id}"


def split_run_key(key: str) -> tuple[str | None, str]:
    """(node code or None, run id) of a :func:`run_key`; a bare run id gives (None, run id)."""
    node, _, run_id = key.rpartition(RUN_KEY_SEP)
    return (node or None), run_id


class RerunRefused(ValueError):
    """The run cannot be re-run (unknown, or not failed); the message is shown to the operator (Chinese)."""


def request_rerun(cfg: Config, run_id: str, requester: str,
                  on_created: Callable[[Session, CommandInfo], None] | None = None,
                  node_code: str | None = None) -> CommandInfo:
    """Ask the run's node to re-run a failed run. One open command per run: asking again returns it.

    A run is (node, run_id): ``node_code`` names the node; without it the run id must be used by one node only
    (else RerunRefused asks which one).

    ``on_created(session, info)`` runs inside the same transaction when a command is created (the page adds its
    audit row there, so a command is never stored without its audit row; the service stays free of the
    accounts package). Concurrent requests for the same run are serialised by a no-op write on the run row
    (SQLite: the database write lock; PostgreSQL: the row lock), so two clicks never create two commands.
    """
    if not requester:
        raise RerunRefused("缺少操作人")
    with _session(cfg) as s, s.begin():
        # take the write lock before reading the open commands (see docstring)
        where = _run_where(run_id, node_code)
        s.execute(update(JobRun).where(*where).values(run_id=JobRun.run_id))
        runs = s.scalars(select(JobRun).where(*where).limit(2)).all()
        if not runs:
            raise RerunRefused(f"任务运行 {run_id} 不存在")
        if len(runs) > 1:
            raise RerunRefused(f"多台前置机都有运行 {run_id}，请在运行记录中选择具体的一次")
        run = runs[0]
        if run.status != "failed":
            raise RerunRefused(f"只能重跑失败的任务（当前状态：{RUN_STATUS_ZH.get(run.status, run.status)}）")
        node = s.get(ExchangeNode, run.node_id)
        cmd = s.scalar(select(ExchangeCommand).where(ExchangeCommand.node_id == run.node_id,
                                                     ExchangeCommand.run_id == run_id,
                                                     ExchangeCommand.state.in_(("requested", "picked"))))
        if cmd is not None and command_timed_out(cmd.state, cmd.requested_at):
            # the node never ran it: close it as failed (超时) and ask again
            cmd.state, cmd.finished_at, cmd.message = "failed", now_local(), COMMAND_TIMEOUT_TEXT
            cmd = None
        created = cmd is None
        if created:
            cmd = ExchangeCommand(node_id=run.node_id, kind="rerun", run_id=run_id, job_code=run.job_code,
                                  requester=requester[:64], requested_at=now_local(), state="requested")
            s.add(cmd)
            s.flush()
        info = CommandInfo(id=cmd.id, node_code=node.code, run_id=run_id, job_code=cmd.job_code,
                           requester=cmd.requester, requested_at=cmd.requested_at, state=cmd.state,
                           created=created)
        if created and on_created is not None:
            on_created(s, info)
        return info


def command_timed_out(state: str, requested_at: Any, now: dt.datetime | None = None) -> bool:
    """True when an open command (requested/picked) was asked more than :data:`COMMAND_TIMEOUT` ago."""
    if state not in ("requested", "picked") or requested_at is None or pd.isna(requested_at):
        return False
    return (now or now_local()) - pd.Timestamp(requested_at).to_pydatetime() > COMMAND_TIMEOUT


def offline_node_of_run(cfg: Config, run_id: str, now: dt.datetime | None = None,
                        node_code: str | None = None) -> dict[str, Any] | None:
    """The node of run ``run_id`` (of node ``node_code`` when given) when it is offline now ({code, name,
    last_heartbeat_at}), else None: a re-run command sent to it could not be picked up."""
    with _session(cfg) as s:
        code = s.scalar(select(ExchangeNode.code).join(JobRun, JobRun.node_id == ExchangeNode.id)
                        .where(*_run_where(run_id, node_code)).limit(1))
    if code is None:
        return None
    states = node_states(cfg, now, codes=[code])
    if states.empty or states.iloc[0]["state"] != "offline":
        return None
    row = states.iloc[0]
    return {"code": code, "name": row["name"], "last_heartbeat_at": row["last_heartbeat_at"]}


def offline_note(node: dict[str, Any]) -> str:
    """'节点离线：<name>（最后心跳 MM-DD HH:MM）' for a node of :func:`offline_node_of_run`."""
    last = node.get("last_heartbeat_at")
    when = "从未上报" if last is None or pd.isna(last) else pd.Timestamp(last).strftime("%m-%d %H:%M")
    return f"节点离线：{node.get('name') or node.get('code')}（最后心跳 {when}）"


def pending_commands(cfg: Config, node_code: str | None = None, include_finished: bool = False,
                     limit: int = 200) -> pd.DataFrame:
    """Re-run commands (open ones unless ``include_finished``), newest first, with zh state labels."""
    with _session(cfg) as s:
        q = (select(ExchangeCommand.id, ExchangeNode.code.label("node_code"), ExchangeNode.inst_code,
                    ExchangeNode.name.label("node_name"), ExchangeCommand.run_id, ExchangeCommand.job_code,
                    ExchangeCommand.requester, ExchangeCommand.requested_at, ExchangeCommand.state,
                    ExchangeCommand.picked_at, ExchangeCommand.finished_at, ExchangeCommand.message,
                    ExchangeCommand.result_run_id)
             .join(ExchangeNode, ExchangeNode.id == ExchangeCommand.node_id)
             .order_by(ExchangeCommand.id.desc()).limit(limit))
        if not include_finished:
            q = q.where(ExchangeCommand.state.in_(("requested", "picked")))
        if node_code:
            q = q.where(ExchangeNode.code == node_code)
        df = _frame(s.execute(q))
    df["state_zh"] = df["state"].map(COMMAND_STATE_ZH)
    return df


# ---------------------------------------------------------------- states and page queries

def _frame(result: Any) -> pd.DataFrame:
    # plain tuples: building a DataFrame from Row objects probes each row's attributes (slow on 50k rows)
    keys = list(result.keys())
    return pd.DataFrame([tuple(r) for r in result.fetchall()], columns=keys)


NODE_STATE_COLUMNS = ["code", "inst_code", "name", "inst_name", "inst_type", "inst_level", "lon", "lat", "zoom",
                      "city", "address", "host", "version", "heartbeat_interval_s", "last_heartbeat_at", "state",
                      "state_zh", "running_jobs", "failed_jobs", "last_cpu", "last_mem", "last_disk",
                      "last_backlog"]


def node_states(cfg: Config, now: dt.datetime | None = None, inst_codes: Iterable[str] | None = None,
                codes: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per node: identity, map settings, state (normal/running/failed/offline) with zh label,
    last heartbeat, version, host, running and failed job codes (lists). ``inst_codes`` / ``codes`` (node
    codes) limit the nodes (and the run queries, so one node's state is cheap)."""
    now = now or now_local()
    with _session(cfg) as s:
        nq = select(ExchangeNode.id, ExchangeNode.code, ExchangeNode.inst_code, ExchangeNode.name,
                    ExchangeNode.inst_name,
                    ExchangeNode.inst_type, ExchangeNode.inst_level, ExchangeNode.lon, ExchangeNode.lat,
                    ExchangeNode.zoom, ExchangeNode.city, ExchangeNode.address, ExchangeNode.host,
                    ExchangeNode.version, ExchangeNode.heartbeat_interval_s, ExchangeNode.last_heartbeat_at,
                    ExchangeNode.last_cpu, ExchangeNode.last_mem, ExchangeNode.last_disk,
                    ExchangeNode.last_backlog).order_by(ExchangeNode.code)
        if inst_codes is not None:
            nq = nq.where(ExchangeNode.inst_code.in_(list(inst_codes)))
        if codes is not None:
            nq = nq.where(ExchangeNode.code.in_(list(codes)))
        nodes = _frame(s.execute(nq))
        one = [] if inst_codes is None and codes is None else [JobRun.node_id.in_(nodes["id"].tolist())]
        # no WHERE on status/time: the conditional max lets SQLite scan the covering index
        # (node_id, job_code, status, started_at) instead of a status/time range plus a temp B-tree (3-5x slower)
        latest = _frame(s.execute(
            select(JobRun.node_id, JobRun.job_code, JobRun.status,
                   func.max(case((JobRun.started_at <= now, JobRun.started_at))).label("last"))
            .where(*one).group_by(JobRun.node_id, JobRun.job_code, JobRun.status)))
        latest = latest[latest["status"].isin(("success", "failed")) & latest["last"].notna()]
        running = _frame(s.execute(
            select(JobRun.node_id, JobRun.job_code)
            .where(JobRun.status == "running", JobRun.started_at >= now - RUNNING_STALE_AFTER,
                   JobRun.started_at <= now, *one).distinct()))
    failed_map = _failed_jobs(latest)
    running_map: dict[int, list[str]] = {}
    for node_id, job_code in running.itertuples(index=False):
        running_map.setdefault(int(node_id), []).append(job_code)
    states, running_col, failed_col = [], [], []
    for row in nodes.itertuples(index=False):
        run_jobs = sorted(running_map.get(int(row.id), []))
        fail_jobs = sorted(failed_map.get(int(row.id), []))
        state = _state(row.last_heartbeat_at, row.heartbeat_interval_s, fail_jobs, run_jobs, now)
        states.append(state)
        # a silent node's "running" runs are its last word, not work in progress: the list and the map must not
        # say 离线 and 运行中 of one node at once
        running_col.append([] if state == "offline" else run_jobs)
        failed_col.append(fail_jobs)
    nodes["state"] = pd.Series(states, index=nodes.index, dtype=object)
    nodes["state_zh"] = nodes["state"].map(STATE_ZH)
    nodes["running_jobs"] = pd.Series(running_col, index=nodes.index, dtype=object)
    nodes["failed_jobs"] = pd.Series(failed_col, index=nodes.index, dtype=object)
    return nodes.reindex(columns=NODE_STATE_COLUMNS)


def _failed_jobs(latest: pd.DataFrame) -> dict[int, list[str]]:
    """Jobs whose latest failed run started after their latest success, per node id."""
    out: dict[int, list[str]] = {}
    if latest.empty:
        return out
    # a plain loop over (node, job, status) rows: a pandas pivot of these few hundred rows cost ~100 ms
    last: dict[tuple[int, str, str], Any] = {}
    for node_id, job_code, status, t in latest[["node_id", "job_code", "status", "last"]].itertuples(index=False):
        last[(int(node_id), job_code, status)] = pd.Timestamp(t)
    for (node_id, job_code, status), t in last.items():
        if status != "failed":
            continue
        success = last.get((node_id, job_code, "success"))
        if success is None or t > success:
            out.setdefault(node_id, []).append(job_code)
    return out


def _state(last_hb: Any, interval_s: int, failed: list[str], running: list[str], now: dt.datetime) -> str:
    if last_hb is None or pd.isna(last_hb):
        return "offline"
    if now - pd.Timestamp(last_hb).to_pydatetime() > dt.timedelta(seconds=OFFLINE_AFTER_INTERVALS * interval_s):
        return "offline"
    if failed:
        return "failed"
    if running:
        return "running"
    return "normal"


def node_detail(cfg: Config, code: str, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """Everything the node panel shows: node fields and state, its jobs (schedule, last run, last success,
    state of each) and the last heartbeats (≤ 60). None when the node does not exist."""
    now = now or now_local()
    states = node_states(cfg, now, codes=[code])
    match = states[states["code"] == code]
    if match.empty:
        return None
    info = match.iloc[0].to_dict()
    with _session(cfg) as s:
        node_id = s.scalar(select(ExchangeNode.id).where(ExchangeNode.code == code))
        jobs = _frame(s.execute(select(ExchangeJob.job_code, ExchangeJob.every_minutes, ExchangeJob.daily_at,
                                       ExchangeJob.window_minutes, ExchangeJob.enabled)
                                .where(ExchangeJob.node_id == node_id).order_by(ExchangeJob.id)))
        last = {}
        for job_code in jobs["job_code"]:
            r = s.scalar(select(JobRun).where(JobRun.node_id == node_id, JobRun.job_code == job_code)
                         .order_by(JobRun.started_at.desc()).limit(1))
            ok = s.scalar(select(func.max(JobRun.finished_at)).where(
                JobRun.node_id == node_id, JobRun.job_code == job_code, JobRun.status == "success"))
            last[job_code] = (r, ok)
        heartbeats = _frame(s.execute(
            select(Heartbeat.received_at, Heartbeat.ts, Heartbeat.version, Heartbeat.cpu, Heartbeat.mem,
                   Heartbeat.disk, Heartbeat.backlog)
            .where(Heartbeat.node_id == node_id).order_by(Heartbeat.received_at.desc()).limit(60)))
    jobs["job_name"] = jobs["job_code"].map(JOB_NAMES_ZH)
    jobs["schedule_zh"] = [f"每{int(e)}分钟" if pd.notna(e) and e else f"每日 {d}"
                           for e, d in zip(jobs["every_minutes"], jobs["daily_at"])]
    jobs["last_run_id"] = [last[j][0].run_id if last[j][0] else None for j in jobs["job_code"]]
    jobs["last_status"] = [last[j][0].status if last[j][0] else None for j in jobs["job_code"]]
    jobs["last_status_zh"] = jobs["last_status"].map(RUN_STATUS_ZH)
    jobs["last_started_at"] = [last[j][0].started_at if last[j][0] else None for j in jobs["job_code"]]
    jobs["last_success_at"] = [last[j][1] for j in jobs["job_code"]]
    info["jobs"] = jobs
    info["heartbeats"] = heartbeats
    return info


RUN_COLUMNS = ["run_key", "run_id", "node_code", "inst_code", "node_name", "job_code", "job_name", "status", "status_zh",
               "started_at", "finished_at", "duration_s", "rows_extracted", "rows_loaded", "rows_rejected", "error",
               "rerun_of"]


def job_runs(cfg: Config, node_code: str | None = None, job_code: str | None = None, status: str | None = None,
             start: dt.datetime | None = None, end: dt.datetime | None = None,
             inst_codes: Iterable[str] | None = None, page: int = 1, page_size: int = 50,
             run_id: str | None = None) -> tuple[pd.DataFrame, int]:
    """Runs newest first, filtered (node, job, status, started in [start, end), institutions, one run_id), one
    page of them and the total count. page is 1-based; page_size is capped at 500."""
    page = max(1, int(page))
    page_size = max(1, min(500, int(page_size)))
    conds = []
    if node_code:
        conds.append(ExchangeNode.code == node_code)
    if job_code:
        conds.append(JobRun.job_code == job_code)
    if status:
        conds.append(JobRun.status == status)
    if start is not None:
        conds.append(JobRun.started_at >= start)
    if end is not None:
        conds.append(JobRun.started_at < end)
    if inst_codes is not None:
        conds.append(ExchangeNode.inst_code.in_(list(inst_codes)))
    if run_id is not None:
        conds.append(JobRun.run_id == run_id)
    where = and_(True, *conds)
    with _session(cfg) as s:
        total = s.scalar(select(func.count()).select_from(JobRun)
                         .join(ExchangeNode, ExchangeNode.id == JobRun.node_id).where(where))
        df = _frame(s.execute(
            select(JobRun.run_id, ExchangeNode.code.label("node_code"), ExchangeNode.inst_code,
                   ExchangeNode.name.label("node_name"), JobRun.job_code, JobRun.status, JobRun.started_at,
                   JobRun.finished_at, JobRun.rows_extracted, JobRun.rows_loaded, JobRun.rows_rejected,
                   JobRun.error, JobRun.rerun_of)
            .join(ExchangeNode, ExchangeNode.id == JobRun.node_id).where(where)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .offset((page - 1) * page_size).limit(page_size)))
    df["run_key"] = [run_key(n, r) for n, r in zip(df["node_code"], df["run_id"])]
    df["job_name"] = df["job_code"].map(JOB_NAMES_ZH)
    df["status_zh"] = df["status"].map(RUN_STATUS_ZH)
    started = pd.to_datetime(df["started_at"])
    finished = pd.to_datetime(df["finished_at"])
    df["duration_s"] = (finished - started).dt.total_seconds()
    return df.reindex(columns=RUN_COLUMNS), int(total or 0)


def run_logs(cfg: Config, run_id: str, limit: int = 5000, node_code: str | None = None) -> pd.DataFrame:
    """Log lines of one run in time order (ts, level, message); empty when the run is unknown. The run is
    ``run_id`` of node ``node_code`` (any node's run of that id when None: tests and single-node tools).

    Lines of one second keep the node's order by seq (lines without seq after them, SQLite and PostgreSQL alike),
    then the order they arrived in.
    """
    with _session(cfg) as s:
        return _frame(s.execute(
            select(RunLog.ts, RunLog.level, RunLog.message).join(JobRun, JobRun.id == RunLog.run_pk)
            .where(*_run_where(run_id, node_code))
            .order_by(RunLog.ts, RunLog.seq.asc().nulls_last(), RunLog.id).limit(limit)))


class SettingsInvalid(ValueError):
    """Node settings refused; ``errors`` lists {field, message}."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def update_node_settings(cfg: Config, code: str, lon: Any, lat: Any, zoom: Any = None, city: Any = None,
                         address: Any = None, actor: str = "",
                         on_change: Callable[[Session, dict[str, tuple[Any, Any]]], None] | None = None
                         ) -> dict[str, tuple[Any, Any]]:
    """Validate and save a node's map settings; returns the changed fields {field: (old, new)}.

    Raises SettingsInvalid (field errors) or LookupError (no such node). ``on_change(session, changes)`` runs in
    the same transaction when something changed (the page adds its ``node.settings`` audit row there).
    """
    from pydantic import ValidationError

    from dashboard.exchange.schemas import field_errors
    try:
        data = NodeSettingsIn(lon=lon, lat=lat, zoom=zoom, city=city or None, address=address or None)
    except ValidationError as exc:
        raise SettingsInvalid(field_errors(exc)) from None
    with _session(cfg) as s, s.begin():
        node = s.scalar(select(ExchangeNode).where(ExchangeNode.code == code))
        if node is None:
            raise LookupError(f"no exchange node {code!r}")
        changes = {}
        for field in ("lon", "lat", "zoom", "city", "address"):
            old, new = getattr(node, field), getattr(data, field)
            if old != new:
                changes[field] = (old, new)
                setattr(node, field, new)
        if changes:
            node.updated_at = now_local()
            node.updated_by = actor[:64] or None
            if on_change is not None:       # e.g. the page's audit row, committed with the change
                on_change(s, changes)
    return changes
