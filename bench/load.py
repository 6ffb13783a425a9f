"""Load test: N concurrent logged-in sessions click through the dashboard against a multi-worker server.

    python -m bench.load [--data-dir DIR] [--scale 1] [--sessions 50] [--duration 120] [--workers 2]
                         [--think 1.0] [--url http://127.0.0.1:PORT]

Starts ``python app.py serve --workers N`` on a free loopback port (unless ``--url`` names a running server) with
DATA_DIR holding a demo of ``--scale`` (reused when present, see ``bench._common.prepare_data_dir``). Every
session logs in through the real /login form (csrf token, password) and loops until the duration is over,
POSTing the real ``/_dash-update-component`` payloads of the cockpit, the indicator page at county and township
drill levels, the three maps (render and clicks) and — for operator sessions, the role that sees it — the exchange
page; between two clicks a session waits a random think time of 0.5–1.5 × ``--think`` seconds (0 = flat out).

The login rate limit (10/min per IP) is raised for the bench through ``LOGIN_RATE_LIMIT`` in the server's
environment: all sessions come from 127.0.0.1. Loopback only; bounded in time (duration + 60 s at most).
Prints requests/s, p50/p95/max latency and errors per callback and in total, and the workers' peak RSS.
Target (issue 8): 50 sessions, 2 workers, 2 minutes, demo scale: 0 errors, p95 ≤ 1 s.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import child_pids, csrf_token, free_port, p50, percentile, prepare_data_dir, rss_mb  # noqa: E402


def _exchange_calls(node: str) -> list[tuple[str, dict]]:
    """Real payloads of the exchange page's data callbacks (overview, node detail, run table)."""
    from bench.maps import _payload
    from layouts import _exchange_parts as P
    from layouts import _ids as ids

    def payload(outputs: list[tuple], inputs: list[tuple], state: list[tuple]) -> dict:
        return _payload(outputs, inputs, state, inputs[0][:2])
    tick = [(P.EX_INTERVAL, "n_intervals", 0), (P.EX_TICK, "data", 0)]
    return [
        ("exchange.overview", payload(
            [(ids.echarts_option(P.EX_MAP), "data"), (P.EX_SUMMARY, "children"), (P.EX_SUBTITLE, "children"),
             (P.EX_NODES, "rowData"), (P.EX_R_NODE, "options")],
            [(P.EX_READY, "data", True)] + tick + [(P.EX_F_STATE, "value", None), (P.EX_F_TYPE, "value", None),
                                                   (P.EX_F_TEXT, "value", None)], [])),
        ("exchange.detail", payload([(P.EX_DETAIL, "children")], [(P.EX_NODE, "data", node)] + tick, [])),
        ("exchange.runs", payload(
            [(P.EX_RUNS, "rowData"), (P.EX_R_PAGER, "children"), (P.EX_R_PREV, "disabled"),
             (P.EX_R_NEXT, "disabled")],
            [(P.EX_PAGE, "data", 1)] + tick,
            [(P.EX_R_STATUS, "value", None), (P.EX_R_NODE, "value", None), (P.EX_R_JOB, "value", None),
             (P.EX_R_DATES, "start_date", None), (P.EX_R_DATES, "end_date", None)])),
    ]


def build_clicks(cfg) -> dict[str, list[tuple[str, dict]]]:
    """role → list of (callback name, payload) a session of that role cycles through."""
    from bench.maps import calls as map_calls
    from bench.pages import CALLS, _payload
    from dashboard.urlstate import month_to_period
    from geo.store import display_geometry
    from queries.maps import institution_points
    from queries.org import org_tree
    from queries.periods import last_complete_month

    month = last_complete_month(cfg.mart_url)
    quarter = month_to_period(month, "quarter")
    tree = org_tree(cfg.mart_url)
    township = sorted(tree["township_code"].dropna().unique())[0]
    searches = {"county": f"?grain=quarter&period={quarter}",
                "township": f"?grain=quarter&period={quarter}&org={township}",
                "month": f"?grain=month&period={month}"}
    leader: list[tuple[str, dict]] = []
    for view, search in searches.items():
        for name, outputs, trigger in CALLS:
            if view != "county" and not name.startswith("indicator."):
                continue                      # drill views: the indicator page only
            leader.append((name if view == "county" else f"{name}@{view}", _payload(outputs, trigger, search)))
    disp = display_geometry(cfg.geo_dir)
    points = institution_points(cfg.mart_url).sort_values("is_lead", ascending=False)
    leader += map_calls(searches["month"], next(iter(disp.name_to_code)), points.iloc[0]["inst_code"])
    from dashboard.exchange.service import node_states
    nodes = node_states(cfg)
    node = str(nodes["code"].iloc[0]) if len(nodes) else "EX-H001"
    return {"leader": leader, "operator": _exchange_calls(node)}


class Stats:
    """Latencies and errors per callback name, shared by the session threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.bytes: dict[str, int] = {}

    def add(self, name: str, seconds: float, ok: bool, size: int, detail: str = "") -> None:
        with self.lock:
            self.times[name].append(seconds)
            self.bytes[name] = max(size, self.bytes.get(name, 0))
            if not ok:
                self.errors[name] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{name}: {detail[:200]}")


def _session(base: str, user: str, password: str, clicks: list[tuple[str, dict]], deadline: float, think: float,
             stats: Stats, seed: int) -> None:
    import requests
    rnd = random.Random(seed)
    s = requests.Session()
    try:
        token = csrf_token(s.get(f"{base}/login", timeout=30).text)
        t0 = time.perf_counter()
        r = s.post(f"{base}/login", data={"username": user, "password": password, "csrf_token": token},
                   allow_redirects=False, timeout=30)
        ok = r.status_code in (302, 303) and "ygt_session" in s.cookies
        stats.add("login", time.perf_counter() - t0, ok, len(r.content), f"HTTP {r.status_code}")
        if not ok:
            return
    except Exception as exc:  # noqa: BLE001 — a failed login is an error of the run, reported below
        stats.add("login", 0.0, False, 0, repr(exc))
        return
    order = list(clicks)
    rnd.shuffle(order)
    i = 0
    while time.time() < deadline:
        name, payload = order[i % len(order)]
        i += 1
        t0 = time.perf_counter()
        try:
            r = s.post(f"{base}/_dash-update-component", json=payload, timeout=60)
            body = r.content
            ok = r.status_code in (200, 204) and b"error-card" not in body
            stats.add(name, time.perf_counter() - t0, ok, len(body), f"HTTP {r.status_code} {body[:120]!r}")
        except Exception as exc:  # noqa: BLE001
            stats.add(name, time.perf_counter() - t0, False, 0, repr(exc))
        if think > 0:
            time.sleep(min(max(0.0, deadline - time.time()), think * rnd.uniform(0.5, 1.5)))


def _wait_ready(base: str, proc: subprocess.Popen | None, timeout: float = 90) -> None:
    import requests
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            if requests.get(f"{base}/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server at {base} not ready after {timeout:.0f} s")


def start_server(data_dir: Path, port: int, workers: int, threads: int, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python app.py serve --workers N`` on 127.0.0.1:port with DATA_DIR and a raised login rate limit."""
    env = dict(os.environ, DATA_DIR=str(data_dir), LOGIN_RATE_LIMIT="100000 per minute", PYTHONUNBUFFERED="1")
    env.pop("MART_URL", None)        # the files of DATA_DIR unless the caller names other databases
    env.pop("APP_DB_URL", None)
    env.update({k: v for k, v in (extra_env or {}).items() if v})
    log = open(log_path, "wb")
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), "--threads", str(threads)],
                            cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the gunicorn master we started (it stops its workers), by its own pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", "/tmp/h13bench/scale1"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--operators", type=float, default=0.2, help="share of sessions logged in as operator")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of clicking")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4, help="threads per worker")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between clicks, seconds")
    ap.add_argument("--url", default="", help="a running server on loopback instead of starting one")
    ap.add_argument("--cache-url", default=os.environ.get("CACHE_URL", ""),
                    help="CACHE_URL of the started server (redis://… shares results between workers)")
    args = ap.parse_args(argv)
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        ap.error("loopback only: --url must be http://127.0.0.1:PORT or http://localhost:PORT")

    data_dir = Path(args.data_dir).resolve()
    cfg = prepare_data_dir(data_dir, args.scale)
    from dashboard.accounts.service import read_demo_accounts
    accounts = read_demo_accounts(cfg)
    clicks = build_clicks(cfg)

    proc = None
    base = args.url.rstrip("/")
    if not base:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(data_dir, port, args.workers, args.threads, data_dir / "load-server.log",
                            extra_env={"CACHE_URL": args.cache_url})
    try:
        t_start = time.time()
        _wait_ready(base, proc)
        print(f"server {base}  workers={args.workers}×{args.threads} threads  ready in "
              f"{time.time() - t_start:.1f} s  (log {data_dir / 'load-server.log'})")
        stats = Stats()
        peak: dict[int, float] = {}
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.is_set():
                if proc is not None:
                    for pid in child_pids(proc.pid):
                        peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
                stop.wait(1.0)
        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()

        n_ops = int(round(args.sessions * args.operators))
        deadline = time.time() + args.duration
        threads = []
        for n in range(args.sessions):
            role = "operator" if n < n_ops else "leader"
            user, password = accounts[role]
            t = threading.Thread(target=_session, args=(base, user, password, clicks[role], deadline, args.think,
                                                        stats, n), daemon=True)
            threads.append(t)
        t0 = time.time()
        cpu0 = time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time() + 60))   # bounded: a stuck request cannot hang us
        wall = time.time() - t0
        client_cpu = time.process_time() - cpu0
        stop.set()
        sampler.join(timeout=5)
    finally:
        if proc is not None:
            stop_server(proc)

    print(f"{args.sessions} sessions ({n_ops} operator, {args.sessions - n_ops} leader), think "
          f"{args.think:g} s, duration {args.duration:g} s, wall {wall:.1f} s, mart {cfg.mart_url}, "
          f"cache {args.cache_url or 'per worker'}")
    print(f"{'callback':<30}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'max bytes':>11}")
    names = sorted(stats.times, key=lambda k: (k != "login", k))
    for name in names:
        ts = stats.times[name]
        print(f"{name:<30}{len(ts):>9}{stats.errors.get(name, 0):>8}{p50(ts) * 1000:>9.0f}"
              f"{percentile(ts, 0.95) * 1000:>9.0f}{max(ts) * 1000:>9.0f}{stats.bytes.get(name, 0):>11,}")
    clicks_all = [t for k, v in stats.times.items() if k != "login" for t in v]
    errors = sum(stats.errors.values())
    print(f"{'total (callbacks)':<30}{len(clicks_all):>9}{errors:>8}{p50(clicks_all) * 1000:>9.0f}"
          f"{percentile(clicks_all, 0.95) * 1000:>9.0f}{max(clicks_all, default=0) * 1000:>9.0f}")
    print(f"throughput {len(clicks_all) / max(wall, 1e-9):.1f} requests/s; errors {errors}; "
          f"p95 {percentile(clicks_all, 0.95) * 1000:.0f} ms (target: 0 errors, p95 ≤ 1000 ms)")
    print(f"load generator CPU {client_cpu:.1f} s over {wall:.0f} s wall (it shares the machine with the server); "
          f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if peak:
        print("worker peak RSS: " + ", ".join(f"pid {pid} {mb:,.0f} MB" for pid, mb in sorted(peak.items()))
              + " (budget ≤ 1,536 MB)")
    for sample in stats.samples:
        print(f"  error sample: {sample}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
