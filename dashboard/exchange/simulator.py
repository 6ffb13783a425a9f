"""Simulated exchange nodes: every node as a real HTTP client of the node API, so the exchange map is live.

Time: ``speed`` compresses the schedules and run durations (speed 60 → an hourly job runs every real minute and
a 3-minute extraction takes 3 s) while every timestamp sent is the real clock (the server checks times and
judges liveness by its own clock). Heartbeats go at the node's real interval (liveness is real time).
One node (the last village / township node by code) falls silent after ``offline_after`` real seconds and
stays silent, so the map shows an offline node after 3 intervals. Each node polls its commands and executes
re-runs: ack picked → a new run → ack done with the new run_id (or failed). Log lines carry ``seq`` (a counter
per run), so a log POST that timed out is sent once more without storing lines twice.

Failures are the seed's (``seed.pick_failure``: every error names its own system). A transient one is retried
like a real node does: a WARN line, ``retry_s`` real seconds of waiting (30 s, as the line says; not compressed
by ``speed``, since the timestamps are the real clock), RETRIES times, and only then the failed run with its ERROR.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import select

from core.config import Config
from dashboard.appdb import init_app_db, session_factory
from dashboard.county_clock import county_now
from dashboard.exchange.models import ExchangeJob, ExchangeNode
from dashboard.exchange.seed import DAILY_VISITS, RETRIES, RETRY_S, pick_failure, retry_message, rows_for
from dashboard.exchange.service import ensure_nodes, issue_tokens

FAIL_RATE = 0.04


@dataclass
class SimNode:
    code: str
    token: str
    inst_type: str
    interval_s: int
    level: str
    version: str
    jobs: list[tuple[str, int | None, str | None]]          # (job_code, every_minutes, daily_at)
    silent: bool = False
    active_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    busy_commands: set[int] = field(default_factory=set)
    log_seq: dict[str, int] = field(default_factory=dict)   # run_id → seq of its next log line
    failing: dict[str, str] = field(default_factory=dict)   # run_id → error of a run between its retries


@dataclass
class SimStats:
    heartbeats: int = 0
    runs: int = 0
    failures: int = 0
    reruns: int = 0
    errors: int = 0
    silent_node: str | None = None
    last_error: str | None = None


def _iso(t: dt.datetime | None = None) -> str:
    return (t or county_now()).replace(microsecond=0).isoformat()


class Simulator:
    """A single-threaded event loop driving every node (a heap of due actions; blocking HTTP is fine at this
    volume: ~25 nodes, a few requests a second at speed 60)."""

    def __init__(self, cfg: Config, url: str, speed: float = 60.0, seed: int | None = None,
                 heartbeat_s: float | None = None, poll_s: float = 5.0, offline_after: float | None = 120.0,
                 create_nodes: bool = True, echo: Callable[[str], None] | None = None,
                 fail_rate: float = FAIL_RATE, retry_s: float = RETRY_S) -> None:
        self.cfg, self.url, self.speed = cfg, url.rstrip("/"), max(0.01, float(speed))
        self.fail_rate, self.retry_s = fail_rate, retry_s
        self.rng = random.Random(seed)
        self.heartbeat_s, self.poll_s, self.offline_after = heartbeat_s, poll_s, offline_after
        self.echo = echo or (lambda _m: None)
        self.stats = SimStats()
        self.http = requests.Session()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        init_app_db(cfg.app_db_url)
        if create_nodes:
            ensure_nodes(cfg)
        self.nodes = self._load_nodes()

    # ------------------------------------------------------------ setup
    def _load_nodes(self) -> list[SimNode]:
        tokens = issue_tokens(self.cfg)        # the simulator runs on the server: it may issue tokens directly
        factory = session_factory(self.cfg.app_db_url)
        with factory() as s:
            nodes = list(s.scalars(select(ExchangeNode).order_by(ExchangeNode.code)))
            jobs: dict[int, list[tuple[str, int | None, str | None]]] = {}
            for j in s.scalars(select(ExchangeJob).where(ExchangeJob.enabled == 1).order_by(ExchangeJob.id)):
                jobs.setdefault(j.node_id, []).append((j.job_code, j.every_minutes, j.daily_at))
            out = [SimNode(code=n.code, token=tokens[n.code], inst_type=n.inst_type or "", level=n.inst_level or "",
                           interval_s=n.heartbeat_interval_s, version=n.version or "2.3.1",
                           jobs=jobs.get(n.id, [])) for n in nodes]
        lower = [n for n in out if n.level != "county"] or out
        if lower and self.offline_after is not None and len(out) > 1:
            lower[-1].silent = True
            self.stats.silent_node = lower[-1].code
        return out

    def _at(self, delay_s: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay_s), next(self._seq), action))

    # ------------------------------------------------------------ HTTP
    def _call(self, node: SimNode, method: str, path: str, body: Any = None, retries: int = 0
              ) -> requests.Response | None:
        """One API request; ``retries`` more attempts after a network error or timeout (only for idempotent
        requests: the server may have stored the first attempt)."""
        for attempt in range(retries + 1):
            try:
                resp = self.http.request(method, self.url + "/api/exchange" + path, json=body, timeout=10,
                                         headers={"Authorization": f"Bearer {node.token}"})
                break
            except requests.RequestException as exc:
                if attempt < retries:
                    continue
                self.stats.errors += 1
                self.stats.last_error = f"{node.code} {path}: {exc}"
                return None
        if resp.status_code >= 400:
            self.stats.errors += 1
            self.stats.last_error = f"{node.code} {path}: {resp.status_code} {resp.text[:200]}"
            return None
        return resp

    def _is_silent(self, node: SimNode) -> bool:
        return node.silent and (time.monotonic() - self.t0) >= (self.offline_after or 0)

    # ------------------------------------------------------------ actions
    def _heartbeat(self, node: SimNode) -> None:
        if self._is_silent(node):
            return                                        # the node's network went away: it stays silent
        backlog = sum(1 for _ in node.active_runs)
        if self._call(node, "POST", "/heartbeat", {
                "ts": _iso(), "version": node.version, "cpu": round(self.rng.uniform(8, 65), 1),
                "mem": round(self.rng.uniform(30, 75), 1), "disk": round(self.rng.uniform(40, 80), 1),
                "backlog": backlog}) is not None:
            self.stats.heartbeats += 1
        self._at(self.heartbeat_s or node.interval_s, lambda: self._heartbeat(node))

    def _sim_minutes_to_s(self, minutes: float) -> float:
        return minutes * 60.0 / self.speed

    def _schedule_job(self, node: SimNode, job: tuple[str, int | None, str | None], first: bool = False) -> None:
        code, every, _daily = job
        period_min = every or 1440
        # spread the first runs over one period so the nodes do not fire together
        delay_min = self.rng.uniform(0.05, 1.0) * period_min if first else period_min
        self._at(self._sim_minutes_to_s(delay_min), lambda: self._start_run(node, job))

    def _start_run(self, node: SimNode, job: tuple[str, int | None, str | None], rerun: dict | None = None
                   ) -> None:
        if self._is_silent(node):
            return
        code, every, _daily = job
        sim_now = self.sim_clock()
        visits = DAILY_VISITS.get(node.inst_type, 200)
        extracted = rows_for(code, visits, sim_now, every, self.rng)
        run_id = f"{node.code}-{code}-{dt.datetime.now():%Y%m%d%H%M%S}-{self.rng.randrange(16**4):04x}"
        started = _iso()
        run = {"run_id": run_id, "job_code": code, "started_at": started, "status": "running"}
        if self._call(node, "POST", "/runs", run) is None:
            if not rerun:
                self._schedule_job(node, job)
            return
        self.stats.runs += 1
        node.active_runs[run_id] = run
        self._post_logs(node, run_id, [{"ts": started, "level": "INFO", "message": f"开始抽取 {code} 增量数据"}])
        fail = (not rerun) and self.rng.random() < self.fail_rate
        duration_min = 1 + extracted / 4000 + self.rng.uniform(0, 3)
        self._at(self._sim_minutes_to_s(duration_min), lambda: self._finish_run(node, run, extracted, fail, rerun))
        if not rerun:
            self._schedule_job(node, job)

    def _finish_run(self, node: SimNode, run: dict[str, Any], extracted: int, fail: bool,
                    rerun: dict | None) -> None:
        if self._is_silent(node):
            node.active_runs.pop(run["run_id"], None)
            node.log_seq.pop(run["run_id"], None)
            return                                        # it went silent mid-run: the run stays open
        if fail:
            error, note = pick_failure(run["job_code"], self.rng)
            if note:
                self._retry(node, run, extracted, error, note, 1, rerun)
            else:
                self._give_up(node, run, extracted, error, rerun)
            return
        node.active_runs.pop(run["run_id"], None)
        body = dict(run, finished_at=_iso())
        rejected = int(extracted * self.rng.choice([0, 0, 0.0005, 0.002]))
        body.update(status="success", rows_extracted=extracted, rows_loaded=extracted - rejected,
                    rows_rejected=rejected)
        logs = [{"ts": _iso(), "level": "INFO", "message": f"抽取 {extracted} 行"},
                {"ts": _iso(), "level": "INFO", "message": f"入库 {extracted - rejected} 行，拒收 {rejected} 行"}]
        self._report(node, run, body, logs, rerun, ok_state="done")

    def _retry(self, node: SimNode, run: dict[str, Any], extracted: int, error: str, note: str, attempt: int,
               rerun: dict | None) -> None:
        """A transient fault: log it, wait ``retry_s`` and try again; after RETRIES attempts give up."""
        if self._is_silent(node):
            node.active_runs.pop(run["run_id"], None)
            node.failing.pop(run["run_id"], None)
            node.log_seq.pop(run["run_id"], None)
            return
        if attempt > RETRIES:
            self._give_up(node, run, extracted, error, rerun)
            return
        node.failing[run["run_id"]] = error
        self._post_logs(node, run["run_id"], [{"ts": _iso(), "level": "WARN",
                                               "message": retry_message(note, attempt, self.retry_s)}])
        self._at(self.retry_s, lambda: self._retry(node, run, extracted, error, note, attempt + 1, rerun))

    def _give_up(self, node: SimNode, run: dict[str, Any], extracted: int, error: str, rerun: dict | None) -> None:
        node.active_runs.pop(run["run_id"], None)
        node.failing.pop(run["run_id"], None)
        body = dict(run, finished_at=_iso(), status="failed",
                    rows_extracted=int(extracted * self.rng.uniform(0, 0.6)), rows_loaded=0, rows_rejected=0,
                    error=error)
        self.stats.failures += 1
        self._report(node, run, body, [{"ts": body["finished_at"], "level": "ERROR", "message": error}], rerun,
                     ok_state="failed")

    def _report(self, node: SimNode, run: dict[str, Any], body: dict[str, Any], logs: list[dict[str, Any]],
                rerun: dict | None, ok_state: str) -> None:
        """POST the finished run and its last log lines; ack the re-run command it executed (if any)."""
        ok = self._call(node, "POST", "/runs", body) is not None
        if ok:
            self._post_logs(node, run["run_id"], logs)
        node.log_seq.pop(run["run_id"], None)            # the run is over: no more lines
        if rerun is not None:
            state = "done" if ok and ok_state == "done" else "failed"
            self._call(node, "POST", f"/commands/{rerun['id']}/ack",
                       {"state": state, "run_id": run["run_id"],
                        "message": f"重跑 {rerun['run_id']} → {run['run_id']}"})
            node.busy_commands.discard(rerun["id"])
            self.stats.reruns += int(state == "done")

    def _post_logs(self, node: SimNode, run_id: str, lines: list[dict[str, Any]]) -> None:
        """POST log lines numbered by the run's counter; resent once after a timeout (the seqs make it safe)."""
        first = node.log_seq.get(run_id, 0)
        node.log_seq[run_id] = first + len(lines)
        self._call(node, "POST", f"/runs/{run_id}/logs",
                   [dict(line, seq=first + i) for i, line in enumerate(lines)], retries=1)

    def _poll(self, node: SimNode) -> None:
        if self._is_silent(node):
            return
        resp = self._call(node, "GET", "/commands")
        if resp is not None:
            for cmd in resp.json().get("commands", []):
                if cmd["id"] in node.busy_commands or cmd.get("kind") != "rerun":
                    continue
                node.busy_commands.add(cmd["id"])
                if cmd["state"] == "requested" and self._call(
                        node, "POST", f"/commands/{cmd['id']}/ack", {"state": "picked"}) is None:
                    node.busy_commands.discard(cmd["id"])
                    continue
                job = next((j for j in node.jobs if j[0] == cmd["job_code"]), (cmd["job_code"], None, None))
                self._start_run(node, job, rerun=cmd)
        self._at(self.poll_s, lambda: self._poll(node))

    # ------------------------------------------------------------ loop
    def sim_clock(self) -> dt.datetime:
        """Simulated wall clock (drives the daily volume curve)."""
        return self.sim_start + dt.timedelta(seconds=(time.monotonic() - self.t0) * self.speed)

    def run(self, duration: float | None = None, stop: threading.Event | None = None) -> SimStats:
        """Run until ``duration`` real seconds pass, ``stop`` is set, or Ctrl+C; returns counters."""
        stop = stop or threading.Event()
        self.t0 = time.monotonic()
        self.sim_start = county_now()
        for node in self.nodes:
            self._at(self.rng.uniform(0, 0.5), lambda n=node: self._heartbeat(n))
            self._at(self.rng.uniform(0, 1.0), lambda n=node: self._poll(n))
            for job in node.jobs:
                self._schedule_job(node, job, first=True)
        deadline = None if duration is None else self.t0 + duration
        try:
            while not stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if not self._heap:
                    break
                due, _, action = self._heap[0]
                if due > now:
                    wait = due - now if deadline is None else min(due - now, deadline - now)
                    stop.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._heap)
                action()
        except KeyboardInterrupt:
            pass
        finally:
            self._close_open_runs()
            self.http.close()
        return self.stats

    def _close_open_runs(self) -> None:
        """On exit, report in-flight runs of live nodes as finished so no run stays 'running' forever."""
        for node in self.nodes:
            if self._is_silent(node):
                continue
            for run in list(node.active_runs.values()):
                error = node.failing.get(run["run_id"])
                if error:                                 # stopped between retries: it did fail
                    self._call(node, "POST", "/runs", dict(run, status="failed", finished_at=_iso(),
                                                           rows_extracted=0, rows_loaded=0, rows_rejected=0,
                                                           error=error))
                    self._post_logs(node, run["run_id"], [{"ts": _iso(), "level": "ERROR", "message": error}])
                else:
                    self._call(node, "POST", "/runs", dict(run, status="success", finished_at=_iso(),
                                                           rows_extracted=0, rows_loaded=0, rows_rejected=0))
            node.active_runs.clear()
            node.failing.clear()
            node.log_seq.clear()


def run_simulator(cfg: Config, url: str = "http://127.0.0.1:8050", speed: float = 60.0,
                  duration: float | None = None, stop: threading.Event | None = None, **kwargs: Any) -> SimStats:
    """Create missing nodes, issue tokens and simulate every node against the server at ``url``."""
    return Simulator(cfg, url, speed=speed, **kwargs).run(duration=duration, stop=stop)
