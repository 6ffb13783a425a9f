"""Helpers shared by the benchmark scripts: a prepared demo DATA_DIR, logging in, callback payloads, a free port.

Nothing here times anything; the scripts do and print tables.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from core.config import Config

# A scale-1 demo mart another benchmark may already have built on this machine: copied, never written.
REUSABLE_MARTS = {1.0: Path("/tmp/h4bench")}


def make_config(data_dir: Path) -> Config:
    """A Config whose every file lives in ``data_dir``."""
    return Config(data_dir=data_dir, mart_url=f"duckdb:///{data_dir / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{data_dir / 'app.db'}", cache_url="")


def prepare_data_dir(data_dir: Path, scale: float = 1.0, quiet: bool = True) -> Config:
    """A DATA_DIR holding a demo mart of ``scale`` plus app DB, demo accounts and exchange history.

    The mart is reused when present, copied from a known scale-1 build when one exists (saves ~90 s), otherwise
    built from nothing. The app-database side (accounts, exchange nodes) is filled when missing.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = make_config(data_dir)
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.pop("MART_URL", None)
    os.environ.pop("APP_DB_URL", None)
    from mart.db import mart_exists
    if not mart_exists(cfg):
        src = REUSABLE_MARTS.get(float(scale))
        if src is not None and (src / "mart.duckdb").exists() and (src / "geo").is_dir():
            shutil.copyfile(src / "mart.duckdb", data_dir / "mart.duckdb")
            shutil.copytree(src / "geo", data_dir / "geo", dirs_exist_ok=True)
        else:
            from dashboard.bootstrap import build_demo_everything
            build_demo_everything(cfg, scale=scale, quiet=quiet)
            return cfg
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import init_app_db
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    from dashboard.accounts.service import count_rows
    from dashboard.exchange.models import ExchangeNode
    if count_rows(cfg, ExchangeNode) == 0:
        from dashboard.exchange.seed import seed_demo_history
        seed_demo_history(cfg, days=30)
    return cfg


def csrf_token(html: str) -> str:
    """The csrf_token hidden field of the login form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("login form has no csrf_token field")
    return match.group(1)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of ``values``; NaN when empty."""
    data = sorted(values)
    if not data:
        return float("nan")
    return data[min(len(data) - 1, int(round(q * (len(data) - 1))))]


def p50(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux /proc), NaN when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn workers of a master)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(out))


def logged_in_client(data_dir: Path | str, scale: float = 1.0, role: str = "leader"):
    """(cfg, app, Flask test client logged in as the demo ``role`` through the real /login form).

    The configuration comes from the environment with DATA_DIR set to ``data_dir`` (so ``MART_URL`` may name a
    PostgreSQL mart); a missing demo is built at ``scale``. The login rate limit is raised (every bench login
    comes from one address)."""
    os.environ["DATA_DIR"] = str(data_dir)
    from core.config import load_config
    from dashboard.accounts.service import ensure_demo_accounts, read_demo_accounts
    from dashboard.app import create_app
    from dashboard.appdb import init_app_db
    from mart.db import mart_exists
    cfg = load_config()
    if not mart_exists(cfg):
        from dashboard.bootstrap import build_demo_everything
        build_demo_everything(cfg, scale=scale, quiet=True)
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    user, password = read_demo_accounts(cfg)[role]
    client = app.server.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    return cfg, app, client


def start_profiles(pids: list[int], seconds: float, out_dir: Path, tag: str) -> list[tuple[subprocess.Popen, Path]]:
    """``py-spy record -f raw`` of each process for ``seconds`` into ``out_dir`` (nothing when py-spy is missing).

    Returns the running recorders and their output files; :func:`finish_profiles` waits for them.
    """
    import shutil
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (py-spy is not installed: no profile)")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        out = out_dir / f"{tag}-{pid}.txt"
        procs.append((subprocess.Popen([spy, "record", "-p", str(pid), "-f", "raw", "-r", "50", "-d",
                                        str(max(1, int(seconds))), "-o", str(out), "--nonblocking"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return procs


def finish_profiles(procs: list[tuple[subprocess.Popen, Path]], top: int = 25) -> None:
    """Wait for the recorders and print the frames with the largest inclusive share of busy samples."""
    files = []
    for proc, out in procs:
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out.exists():
            files.append(out)
    if not files:
        return
    inclusive, total = top_frames(files)
    print(f"\nprofile ({total} busy samples, {len(files)} workers; raw stacks in {files[0].parent}):")
    print(f"{'share':>7}  frame (inclusive)")
    shown = [(f, n) for f, n in inclusive if n < 0.95 * total][:top]     # not the thread/server scaffolding
    for frame, n in shown:
        print(f"{100 * n / max(total, 1):>6.1f}%  {frame[:150]}")


def top_frames(files: list[Path]) -> tuple[list[tuple[str, int]], int]:
    """(frames by inclusive sample count, total samples) of py-spy raw (folded) stack files; a frame counts once
    per stack however often it recurs."""
    from collections import Counter
    counts: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack or not n.isdigit():
                continue
            total += int(n)
            for frame in set(stack.split(";")):
                counts[frame] += int(n)
    return counts.most_common(), total
