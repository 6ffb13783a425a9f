"""Load test: N concurrent logged-in sessions click through the dashboard against a multi-worker server.

    python -m bench.load [--data-dir DIR] [--scale 1] [--sessions 50] [--duration 120] [--workers 2[,1]]
                         [--think 1.0] [--compare OLD_CHECKOUT] [--no-load] [--profile DIR]

Starts ``python app.py serve --workers N`` on a loopback port of 18800–18899 (unless ``--url`` names a running
server) with DATA_DIR holding a demo of ``--scale`` (reused when present, see ``bench._common.prepare_data_dir``).
Every session logs in through the real /login form (csrf token, password) and loops until the duration is over,
POSTing the real ``/_dash-update-component`` payloads of the cockpit, the indicator page at county and township
drill levels, the three maps (render and clicks) and — for operator sessions, the role that sees it — the exchange
page; between two clicks a session waits a random think time of 0.5–1.5 × ``--think`` seconds (0 = flat out).

Honest counting: a failed login (wrong answer, timeout) is an error and ends that session; every click that
times out (60 s) or answers an error is an error; a session still running 60 s after the end counts as stuck.
Phases, by the time a click started: ``start`` (the first 30 % of the duration: login burst, caches cold after the
server start), ``warm`` (until 65 %), then a real load (``python app.py load`` of one month's visits, replacing
the same rows, with the server's own code) and ``after load`` (the rest: what a load costs the pages). Each phase
prints throughput, p50/p95 and errors; beside the server's throughput the CPU seconds the server processes and
this load generator used (they share the machine), and the load average.

``--compare DIR`` runs, in the same invocation, the same sessions against a checkout of an older commit (its own
``app.py``; a copy of the same mart in DATA_DIR-old with its own app database) before the current code, and prints
both throughputs and their ratio. ``--workers 1,2`` runs each worker count in turn (what one more core buys).
Capacity is compared with ``--think 0``: with think time T, N sessions ask at most ~N/T requests/s, so a ratio of
two servers that both keep up measures the sessions, not the servers (50 sessions at think 1 cannot show 2× over a
server doing 25+ req/s). ``--threads`` defaults to each code's own ``serve`` default.

``--profile DIR`` records every worker with py-spy (``py-spy record -f raw``, when installed) during the warm
phase, keeps the raw stacks in DIR and prints the frames with the largest inclusive share of busy samples.
The login rate limit (10/min per IP) is raised for the bench through ``LOGIN_RATE_LIMIT`` in the server's
environment: all sessions come from 127.0.0.1. Loopback only; bounded in time (duration + 60 s at most per run).
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

from bench._common import child_pids, csrf_token, p50, percentile, prepare_data_dir, rss_mb  # noqa: E402


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


PHASES = ("start", "warm", "after load")
START_SHARE, LOAD_AT = 0.30, 0.65          # phase boundaries as shares of --duration
PORTS = range(18800, 18900)


class Stats:
    """Latencies and errors per (phase, callback name), shared by the session threads."""

    def __init__(self, t0: float, duration: float) -> None:
        self.lock = threading.Lock()
        self.t0, self.duration = t0, duration
        self.load_started: float | None = None
        self.times: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.errors: dict[tuple[str, str], int] = defaultdict(int)
        self.ends: dict[str, list[float]] = defaultdict(list)    # completion times of the phase's clicks
        self.samples: list[str] = []
        self.bytes: dict[str, int] = {}

    def phase(self, started: float) -> str:
        if self.load_started is not None and started >= self.load_started:
            return "after load"
        return "start" if started - self.t0 < START_SHARE * self.duration else "warm"

    def add(self, name: str, started: float, seconds: float, ok: bool, size: int, detail: str = "") -> None:
        with self.lock:
            key = (self.phase(started), name)
            self.times[key].append(seconds)
            self.ends[key[0]].append(started + seconds)
            self.bytes[name] = max(size, self.bytes.get(name, 0))
            if not ok:
                self.errors[key] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{name}: {detail[:200]}")


def _session(base: str, user: str, password: str, clicks: list[tuple[str, dict]], deadline: float, think: float,
             stats: Stats, seed: int) -> None:
    import requests
    rnd = random.Random(seed)
    s = requests.Session()
    t0 = time.time()
    try:
        token = csrf_token(s.get(f"{base}/login", timeout=60).text)
        r = s.post(f"{base}/login", data={"username": user, "password": password, "csrf_token": token},
                   allow_redirects=False, timeout=60)
        ok = r.status_code in (302, 303) and "ygt_session" in s.cookies
        stats.add("login", t0, time.time() - t0, ok, len(r.content), f"HTTP {r.status_code}")
        if not ok:
            return
    except Exception as exc:  # noqa: BLE001 — a failed login is an error of the run, reported below
        stats.add("login", t0, time.time() - t0, False, 0, repr(exc))
        return
    order = list(clicks)
    rnd.shuffle(order)
    i = 0
    while time.time() < deadline:
        name, payload = order[i % len(order)]
        i += 1
        t0 = time.time()
        try:
            r = s.post(f"{base}/_dash-update-component", json=payload, timeout=60)
            body = r.content
            ok = r.status_code in (200, 204) and b"error-card" not in body
            stats.add(name, t0, time.time() - t0, ok, len(body), f"HTTP {r.status_code} {body[:120]!r}")
        except Exception as exc:  # noqa: BLE001 — a timeout is an error too
            stats.add(name, t0, time.time() - t0, False, 0, repr(exc))
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


def start_server(data_dir: Path, port: int, workers: int, threads: int | None, log_path: Path,
                 extra_env: dict[str, str] | None = None, root: Path = ROOT) -> subprocess.Popen:
    """``python app.py serve --workers N`` (the code of ``root``) on 127.0.0.1:port with DATA_DIR and a raised
    login rate limit."""
    env = dict(os.environ, DATA_DIR=str(data_dir), LOGIN_RATE_LIMIT="100000 per minute", PYTHONUNBUFFERED="1")
    env.pop("MART_URL", None)        # the files of DATA_DIR unless the caller names other databases
    env.pop("APP_DB_URL", None)
    env.update({k: v for k, v in (extra_env or {}).items() if v})
    log = open(log_path, "wb")
    return subprocess.Popen([sys.executable, str(root / "app.py"), "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), *(["--threads", str(threads)] if threads else [])],
                            cwd=str(root), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the gunicorn master we started (it stops its workers), by its own pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (from /proc; 0 for a process that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def load_month_dir(cfg, out_dir: Path, rows: int = 5000) -> Path:
    """``outpatient_visit.csv`` of the last complete month's first ``rows`` visits, unchanged: loading it
    replaces the same rows, as a nightly upload of that month would (the data stays as it was)."""
    from mart.connection import read_df
    from queries.periods import last_complete_month
    month = last_complete_month(cfg.mart_url)
    df = read_df(cfg.mart_url, "SELECT * FROM outpatient_visit WHERE strftime(visit_time, '%Y-%m') = :m "
                               "ORDER BY visit_id LIMIT :n", {"m": month, "n": rows})
    for col in df.columns:
        if df[col].dtype == bool:
            df[col] = df[col].astype(int)
        elif df[col].dtype.kind == "f" and df[col].dropna().mod(1).eq(0).all():
            df[col] = df[col].astype("Int64")     # a nullable whole number (birth year) read back as float
    df["visit_time"] = df["visit_time"].astype("datetime64[ns]").dt.strftime("%Y-%m-%dT%H:%M:%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "outpatient_visit.csv", index=False)
    return out_dir


def run_load(root: Path, data_dir: Path, load_dir: Path) -> float:
    """``python app.py load`` of ``load_dir`` into DATA_DIR with the code of ``root``; seconds it took."""
    env = dict(os.environ, DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("MART_URL", None)
    env.pop("APP_DB_URL", None)
    t0 = time.time()
    # the warning-rule evaluation after a load (newer code) is not what this measures: both codes load only
    cli = root / "mart" / "loader_cli.py"
    quiet = ["--no-alerts"] if cli.exists() and "--no-alerts" in cli.read_text(encoding="utf-8") else []
    done = subprocess.run([sys.executable, str(root / "app.py"), "load", str(load_dir), *quiet], cwd=str(root),
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(f"  load failed ({root}): {(done.stdout + done.stderr)[-400:]}")
    return time.time() - t0


def free_port() -> int:
    """A free loopback port of this bench's range (18800–18899)."""
    import socket
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 18800-18899")


def run(label: str, root: Path, data_dir: Path, cfg, args: argparse.Namespace,
        clicks: dict, load_dir: Path | None, workers: int) -> dict:
    """One server (code of ``root``, DATA_DIR ``data_dir``) under the sessions; returns its summary row."""
    from dashboard.accounts.service import read_demo_accounts
    accounts = read_demo_accounts(cfg)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(data_dir, port, workers, args.threads or None, data_dir / "load-server.log",
                        extra_env={"CACHE_URL": args.cache_url}, root=root)
    try:
        t_start = time.time()
        _wait_ready(base, proc)
        print(f"\n== {label}: {base} workers={workers}×{args.threads or 'default'} threads, ready in "
              f"{time.time() - t_start:.1f} s"
              f" ({root})")
        pids = [proc.pid, *child_pids(proc.pid)]
        peak: dict[int, float] = {}
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.is_set():
                for pid in child_pids(proc.pid):
                    peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
                stop.wait(1.0)
        threading.Thread(target=sample_rss, daemon=True).start()
        n_ops = int(round(args.sessions * args.operators))
        t0 = time.time()
        stats = Stats(t0, args.duration)
        deadline = t0 + args.duration
        threads = [threading.Thread(target=_session, daemon=True, args=(
            base, *accounts["operator" if n < n_ops else "leader"], clicks["operator" if n < n_ops else "leader"],
            deadline, args.think, stats, n)) for n in range(args.sessions)]
        server_cpu0, cpu0, load0 = cpu_seconds(pids), time.process_time(), os.getloadavg()[0]
        for t in threads:
            t.start()
        profiles: list = []
        if args.profile:
            from bench._common import start_profiles
            warm_at = t0 + START_SHARE * args.duration
            timer = threading.Timer(max(0.0, warm_at - time.time()), lambda: profiles.extend(start_profiles(
                child_pids(proc.pid), (LOAD_AT - START_SHARE) * args.duration, Path(args.profile),
                f"{label}-w{workers}")))
            timer.daemon = True
            timer.start()
        load_seconds = None
        if load_dir is not None:
            time.sleep(max(0.0, t0 + LOAD_AT * args.duration - time.time()))
            stats.load_started = time.time()
            load_seconds = run_load(root, data_dir, load_dir)
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time() + 60))   # bounded: a stuck request cannot hang us
        stuck = sum(t.is_alive() for t in threads)
        wall = time.time() - t0
        server_cpu = cpu_seconds(sorted(set(pids + child_pids(proc.pid)))) - server_cpu0   # each process once
        client_cpu = time.process_time() - cpu0
        stop.set()
        if profiles:
            from bench._common import finish_profiles
            finish_profiles(profiles)
    finally:
        stop_server(proc)
    return _report(label, workers, stats, wall, stuck, server_cpu, client_cpu, load0, load_seconds, peak)


def _phase_bounds(stats: Stats, wall: float) -> dict[str, tuple[float, float]]:
    load_at = stats.load_started if stats.load_started is not None else stats.t0 + wall
    cut = stats.t0 + START_SHARE * stats.duration
    return {"start": (stats.t0, cut), "warm": (cut, load_at), "after load": (load_at, stats.t0 + stats.duration)}


def _report(label: str, workers: int, stats: Stats, wall: float, stuck: int, server_cpu: float,
            client_cpu: float, load0: float, load_seconds: float | None, peak: dict[int, float]) -> dict:
    print(f"{'phase':<11}{'callback':<30}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    names = sorted({n for _p, n in stats.times}, key=lambda k: (k != "login", k))
    for name in names:
        for phase in PHASES:
            ts = stats.times.get((phase, name))
            if ts:
                print(f"{phase:<11}{name:<30}{len(ts):>9}{stats.errors.get((phase, name), 0):>8}"
                      f"{p50(ts) * 1000:>9.0f}{percentile(ts, 0.95) * 1000:>9.0f}{max(ts) * 1000:>9.0f}")
    bounds = _phase_bounds(stats, wall)
    row: dict = {"label": label, "workers": workers}
    print(f"{'phase':<11}{'seconds':>8}{'clicks':>8}{'req/s':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for phase in PHASES:
        ts = [t for (p, n), v in stats.times.items() if p == phase and n != "login" for t in v]
        errs = sum(v for (p, n), v in stats.errors.items() if p == phase and n != "login")
        lo, hi = bounds[phase]
        seconds = max(hi - lo, 1e-9)
        rate = sum(1 for (p, n), v in stats.times.items() if p == phase and n != "login" for _ in v) / seconds
        if ts:
            print(f"{phase:<11}{seconds:>8.0f}{len(ts):>8}{rate:>8.1f}{errs:>8}{p50(ts) * 1000:>9.0f}"
                  f"{percentile(ts, 0.95) * 1000:>9.0f}")
        row[phase] = {"rps": rate if ts else 0.0, "p95": percentile(ts, 0.95) if ts else 0.0, "errors": errs}
    logins = [t for (p, n), v in stats.times.items() if n == "login" for t in v]
    failed_logins = sum(v for (p, n), v in stats.errors.items() if n == "login")
    clicks = [t for (p, n), v in stats.times.items() if n != "login" for t in v]
    errors = sum(stats.errors.values()) + stuck
    row.update(errors=errors, failed_logins=failed_logins, stuck=stuck, rps=len(clicks) / max(wall, 1e-9),
               p95=percentile(clicks, 0.95) if clicks else 0.0, server_cpu=server_cpu, client_cpu=client_cpu,
               wall=wall, load0=load0, load1=os.getloadavg()[0])
    print(f"logins {len(logins)} (failed {failed_logins}, p95 {percentile(logins, 0.95) * 1000:.0f} ms); "
          f"stuck sessions {stuck}; errors in total {errors}")
    print(f"throughput {row['rps']:.1f} requests/s over {wall:.0f} s; p95 {row['p95'] * 1000:.0f} ms; "
          f"server CPU {server_cpu:.0f} s, load generator CPU {client_cpu:.0f} s (same machine); "
          f"load average {load0:.1f} → {row['load1']:.1f}"
          + (f"; the load took {load_seconds:.1f} s" if load_seconds is not None else ""))
    if peak:
        print("worker peak RSS: " + ", ".join(f"pid {pid} {mb:,.0f} MB" for pid, mb in sorted(peak.items())))
    for sample in stats.samples:
        print(f"  error sample: {sample}")
    return row


def clicks_of(root: Path, data_dir: Path) -> dict:
    """``build_clicks`` of the code in ``root`` (its own component ids and callback signatures), as JSON."""
    import json
    env = dict(os.environ, DATA_DIR=str(data_dir))
    env.pop("MART_URL", None)
    env.pop("APP_DB_URL", None)
    code = ("import json; from pathlib import Path; from bench._common import make_config; "
            f"from bench.load import build_clicks; print(json.dumps(build_clicks(make_config(Path({str(data_dir)!r})))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=str(root), env=env, capture_output=True, text=True,
                          check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _old_data_dir(data_dir: Path, old_root: Path) -> Path:
    """DATA_DIR-old: the same mart and geometry, and the old code's own app database and demo accounts."""
    import shutil
    old = data_dir.with_name(data_dir.name + "-old")
    old.mkdir(exist_ok=True)
    shutil.copyfile(data_dir / "mart.duckdb", old / "mart.duckdb")
    shutil.copytree(data_dir / "geo", old / "geo", dirs_exist_ok=True)
    env = dict(os.environ, DATA_DIR=str(old))
    env.pop("MART_URL", None)
    env.pop("APP_DB_URL", None)
    subprocess.run([sys.executable, "-c", "from pathlib import Path; from bench._common import prepare_data_dir; "
                    f"prepare_data_dir(Path({str(old)!r}))"], cwd=str(old_root), env=env, check=True, timeout=600)
    return old


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", "/tmp/h13bench/scale1"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--operators", type=float, default=0.2, help="share of sessions logged in as operator")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of clicking per run")
    ap.add_argument("--workers", default="2", help="worker processes; a list (1,2) runs each in turn")
    ap.add_argument("--threads", type=int, default=0, help="threads per worker (0: each code's serve default)")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between clicks, seconds")
    ap.add_argument("--compare", default="", help="checkout of an older commit to run first, same sessions")
    ap.add_argument("--no-load", action="store_true", help="no load during the run (no 'after load' phase)")
    ap.add_argument("--profile", default="", help="py-spy every worker during the warm phase; raw stacks here")
    ap.add_argument("--cache-url", default=os.environ.get("CACHE_URL", ""),
                    help="CACHE_URL of the started server (redis://… shares results between workers)")
    args = ap.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    cfg = prepare_data_dir(data_dir, args.scale)
    clicks = build_clicks(cfg)
    load_dir = None if args.no_load else load_month_dir(cfg, data_dir.with_name(data_dir.name + "-load"))
    rows = []
    for workers in [int(w) for w in str(args.workers).split(",") if w.strip()]:
        if args.compare:
            old_root = Path(args.compare).resolve()
            old_dir = _old_data_dir(data_dir, old_root)
            from bench._common import make_config
            rows.append(run("before", old_root, old_dir, make_config(old_dir), args, clicks_of(old_root, old_dir),
                            load_dir, workers))
        rows.append(run("now", ROOT, data_dir, cfg, args, clicks, load_dir, workers))
    print(f"\n{args.sessions} sessions, think {args.think:g} s, {args.duration:g} s per run, mart {cfg.mart_url}, "
          f"cache {args.cache_url or 'each code’s default (now: shared DATA_DIR/cache with 2+ workers)'}")
    print(f"{'code':<8}{'workers':>8}{'req/s':>8}{'warm':>8}{'after load':>11}{'p95 ms':>8}{'warm p95':>9}"
          f"{'errors':>7}{'failed logins':>14}{'server CPU s':>13}{'client CPU s':>13}{'load avg':>12}")
    for r in rows:
        print(f"{r['label']:<8}{r['workers']:>8}{r['rps']:>8.1f}{r['warm']['rps']:>8.1f}"
              f"{r['after load']['rps']:>11.1f}{r['p95'] * 1000:>8.0f}{r['warm']['p95'] * 1000:>9.0f}"
              f"{r['errors']:>7}{r['failed_logins']:>14}{r['server_cpu']:>13.0f}{r['client_cpu']:>13.0f}"
              f"{r['load0']:>6.1f}→{r['load1']:<5.1f}")
    for workers in sorted({r["workers"] for r in rows}):
        pair = {r["label"]: r for r in rows if r["workers"] == workers}
        if "before" in pair and pair["before"]["rps"] > 0:
            print(f"workers {workers}: throughput now / before = {pair['now']['rps'] / pair['before']['rps']:.2f}×")
    now = {r["workers"]: r for r in rows if r["label"] == "now"}
    if 1 in now and 2 in now and now[1]["rps"] > 0:
        print(f"scaling: 2 workers / 1 worker = {now[2]['rps'] / now[1]['rps']:.2f}× throughput")
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
