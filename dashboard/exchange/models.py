"""App-database models of the data exchange: nodes (前置机), jobs, runs, logs, heartbeats, re-run commands.

All times are naive local server time (aware times from nodes are converted on input), which keeps SQLite
and PostgreSQL behaving the same. Indexes follow the page queries: node states (latest run per job and status,
running runs), run lists filtered by node / job / status / time, logs of one run, heartbeats of one node.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.labels import JOB_NAMES_ZH as JOB_NAMES_ZH  # re-exported: one definition in core
from dashboard.appdb import Base
from dashboard.county_clock import county_now

# Source systems a node extracts from (DESIGN §7); every node has HIS_OP.
JOB_CODES: tuple[str, ...] = ("HIS_OP", "HIS_IP", "LIS", "PACS", "EMR", "PH")
RUN_STATUSES: tuple[str, ...] = ("running", "success", "failed")
RUN_STATUS_ZH: dict[str, str] = {"running": "运行中", "success": "成功", "failed": "失败"}
COMMAND_STATES: tuple[str, ...] = ("requested", "picked", "done", "failed")
COMMAND_STATE_ZH: dict[str, str] = {"requested": "已请求", "picked": "已领取", "done": "已完成", "failed": "失败"}


def _now() -> dt.datetime:
    return county_now()     # county wall time (MART_TIMEZONE), not the server's OS zone


class ExchangeNode(Base):
    """One exchange node (前置机) per institution."""
    __tablename__ = "exchange_node"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    inst_code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    inst_name: Mapped[str | None] = mapped_column(String(200))
    inst_type: Mapped[str | None] = mapped_column(String(32))
    inst_level: Mapped[str | None] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(32))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    zoom: Mapped[int | None] = mapped_column(Integer)
    city: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_cpu: Mapped[float | None] = mapped_column(Float)
    last_mem: Mapped[float | None] = mapped_column(Float)
    last_disk: Mapped[float | None] = mapped_column(Float)
    last_backlog: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=_now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ExchangeJob(Base):
    """One extraction job of a node (one per source system) and its schedule.

    ``every_minutes`` set → runs at every multiple of N minutes after midnight; else ``daily_at`` 'HH:MM'.
    A scheduled slot counts as on time when a successful run finishes within ``window_minutes`` after it.
    """
    __tablename__ = "exchange_job"
    __table_args__ = (UniqueConstraint("node_id", "job_code", name="uq_exchange_job_node_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("exchange_node.id", ondelete="CASCADE"), nullable=False)
    job_code: Mapped[str] = mapped_column(String(16), nullable=False)
    every_minutes: Mapped[int | None] = mapped_column(Integer)
    daily_at: Mapped[str | None] = mapped_column(String(5))
    window_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    enabled: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=_now)

    @property
    def schedule_zh(self) -> str:
        if self.every_minutes:
            return f"每{self.every_minutes}分钟"
        return f"每日 {self.daily_at}"


class JobRun(Base):
    """One run of a job, reported by its node (``run_id`` is chosen by the node and unique per node: two nodes
    may both use "R1" and each has its own run; a run is named by (node, run_id) everywhere)."""
    __tablename__ = "exchange_run"
    __table_args__ = (
        UniqueConstraint("node_id", "run_id", name="uq_exchange_run_node_run"),
        Index("ix_exchange_run_node_job_status_start", "node_id", "job_code", "status", "started_at"),
        Index("ix_exchange_run_status_start", "status", "started_at"),
        Index("ix_exchange_run_start", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), nullable=False)
    node_id: Mapped[int] = mapped_column(ForeignKey("exchange_node.id", ondelete="CASCADE"), nullable=False)
    job_code: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    rows_extracted: Mapped[int | None] = mapped_column(BigInteger)
    rows_loaded: Mapped[int | None] = mapped_column(BigInteger)
    rows_rejected: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    rerun_of: Mapped[str | None] = mapped_column(String(64))      # run_id (same node) this run re-ran (command ack)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=_now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RunLog(Base):
    """Log lines of one run.

    ``seq`` is the node's line number within the run (optional): a line whose seq is already stored for the run
    is a retried POST and is skipped; the unique index makes that hold under concurrent retries too (NULLs never
    collide, so lines without seq are stored every time).
    """
    __tablename__ = "exchange_run_log"
    __table_args__ = (Index("ix_exchange_run_log_run_ts", "run_pk", "ts"),
                      Index("ux_exchange_run_log_run_seq", "run_pk", "seq", unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("exchange_run.id", ondelete="CASCADE"), nullable=False)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    seq: Mapped[int | None] = mapped_column(Integer)


class Heartbeat(Base):
    """Heartbeat history (bounded: older than HEARTBEAT_KEEP_DAYS is pruned on insert)."""
    __tablename__ = "exchange_heartbeat"
    __table_args__ = (Index("ix_exchange_heartbeat_node_received", "node_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("exchange_node.id", ondelete="CASCADE"), nullable=False)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)          # node clock
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)  # server clock (drives states)
    version: Mapped[str | None] = mapped_column(String(32))
    cpu: Mapped[float | None] = mapped_column(Float)
    mem: Mapped[float | None] = mapped_column(Float)
    disk: Mapped[float | None] = mapped_column(Float)
    backlog: Mapped[int | None] = mapped_column(BigInteger)


class NodePresenceHour(Base):
    """One row per node and clock hour in which at least one heartbeat arrived (kept for the daily online rate
    after the raw heartbeats are pruned)."""
    __tablename__ = "exchange_presence_hour"
    __table_args__ = (UniqueConstraint("node_id", "hour", name="uq_exchange_presence_node_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("exchange_node.id", ondelete="CASCADE"), nullable=False)
    hour: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ExchangeCommand(Base):
    """A re-run request of a failed run: requested → picked → done/failed. The run is (node_id, run_id), and
    ``result_run_id`` names a run of the same node."""
    __tablename__ = "exchange_command"
    __table_args__ = (Index("ix_exchange_command_node_state", "node_id", "state"),
                      Index("ix_exchange_command_node_run", "node_id", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("exchange_node.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="rerun")
    run_id: Mapped[str] = mapped_column(String(64), nullable=False)
    job_code: Mapped[str] = mapped_column(String(16), nullable=False)
    requester: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="requested")
    picked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(Text)
    result_run_id: Mapped[str | None] = mapped_column(String(64))
