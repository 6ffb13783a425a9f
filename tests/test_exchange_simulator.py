"""The node simulator against a real HTTP server: heartbeats, runs, an offline node and the re-run flow."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
from sqlalchemy import select, update
from werkzeug.serving import make_server

from dashboard.appdb import session_factory
from dashboard.exchange.models import ExchangeCommand, ExchangeNode, JobRun
from dashboard.exchange.service import job_runs, node_states, request_rerun, run_logs
from dashboard.exchange.simulator import Simulator
from tests.exchange_fixtures import ex_app, ex_cfg  # noqa: F401


def test_simulator_end_to_end_with_rerun(ex_app, ex_cfg):
    server = make_server("127.0.0.1", 0, ex_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        now = dt.datetime.now().replace(microsecond=0)
        with session_factory(ex_cfg.app_db_url)() as s, s.begin():
            # short heartbeat intervals so that "silent for 3 intervals" happens within the test
            s.execute(update(ExchangeNode).values(heartbeat_interval_s=1))
            node_id = s.scalar(select(ExchangeNode.id).where(ExchangeNode.code == "EX-H001"))
            s.add(JobRun(run_id="H001-LIS-old", node_id=node_id, job_code="LIS", status="failed",
                         started_at=now - dt.timedelta(minutes=30), finished_at=now - dt.timedelta(minutes=28),
                         rows_extracted=5, rows_loaded=0, rows_rejected=0, error="ORA-12541: TNS:no listener"))
        cmd = request_rerun(ex_cfg, "H001-LIS-old", "operator")
        url = f"http://127.0.0.1:{server.server_port}"
        sim = Simulator(ex_cfg, url, speed=600, seed=3, poll_s=0.5, offline_after=1.0)
        stats = sim.run(duration=6.0)
    finally:
        server.shutdown()
        thread.join(5)

    assert stats.errors == 0, stats.last_error
    assert stats.heartbeats >= len(sim.nodes) * 3
    assert stats.runs >= len(sim.nodes)                      # hourly jobs fire every 6 s at 600×
    assert stats.reruns == 1
    with session_factory(ex_cfg.app_db_url)() as s:
        done = s.get(ExchangeCommand, cmd.id)
        assert done.state == "done" and done.result_run_id
        new = s.scalar(select(JobRun).where(JobRun.run_id == done.result_run_id))
        assert new.status == "success" and new.node_id == node_id and new.job_code == "LIS"
        assert new.rerun_of == "H001-LIS-old"
    assert len(run_logs(ex_cfg, done.result_run_id)) >= 2
    states = node_states(ex_cfg).set_index("code")
    assert states.loc[stats.silent_node, "state"] == "offline"
    assert (states["state"] != "offline").sum() == len(states) - 1
    runs, total = job_runs(ex_cfg, page_size=500)
    assert total == stats.runs + 1 and set(runs["status"]) <= {"running", "success", "failed"}
    # every run the simulator reported was closed on exit (none left running by live nodes)
    live = runs[runs["node_code"] != stats.silent_node]
    assert (live["status"] != "running").all()


def test_simulated_failures_retry_apart_and_name_their_system(ex_app, ex_cfg):
    """Every run fails (fail_rate 1): transient faults log their retries retry_s apart before the ERROR, and each
    error names the run's own system."""
    from tests.test_exchange_service import _assert_names_own_system
    server = make_server("127.0.0.1", 0, ex_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sim = Simulator(ex_cfg, f"http://127.0.0.1:{server.server_port}", speed=1200, seed=5, poll_s=5,
                        offline_after=None, fail_rate=1.0, retry_s=1.0)
        stats = sim.run(duration=7.0)
    finally:
        server.shutdown()
        thread.join(5)
    assert stats.errors == 0, stats.last_error
    runs, total = job_runs(ex_cfg, status="failed", page_size=500)
    assert stats.failures > 0 and total >= stats.failures
    retried = 0
    for r in runs.itertuples(index=False):
        _assert_names_own_system(r.job_code, r.error)
        lines = run_logs(ex_cfg, r.run_id)
        assert lines["level"].iloc[-1] == "ERROR" and lines["message"].iloc[-1] == r.error
        warns = lines[lines["level"] == "WARN"]
        if len(warns) == 3:                          # a transient fault that ran its course
            retried += 1
            assert [m[-5:] for m in warns["message"]] == ["(1/3)", "(2/3)", "(3/3)"]
            assert all("1 秒后重试" in m for m in warns["message"])
            # three waits of at least 1 s between the first warning and the error (timestamps are whole seconds;
            # a busy event loop may wait longer, never shorter)
            span = (pd.Timestamp(lines["ts"].iloc[-1]) - pd.Timestamp(warns["ts"].iloc[0])).total_seconds()
            assert span >= 2, lines
    assert retried > 0
