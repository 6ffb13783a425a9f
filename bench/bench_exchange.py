"""Exchange back end timings: demo-history seed and the page service functions (prints a table).

    python bench/bench_exchange.py [--townships 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from dashboard.exchange.quality import behind_schedule, last_upload, quality_daily
    from dashboard.exchange.seed import seed_demo_history
    from dashboard.exchange.service import job_runs, node_detail, node_states
    from mart import tiny
    cfg = tiny.make_cfg(Path(tempfile.mkdtemp(prefix="bench-exchange-")))
    tiny.build_tiny_mart(cfg, townships=args.townships)
    t0 = time.perf_counter()
    counts = seed_demo_history(cfg, days=30)
    rows = [("seed_demo_history 30 days", (time.perf_counter() - t0) * 1000, str(counts))]
    today = dt.date.today()
    cases = {
        "node_states": lambda: node_states(cfg),
        "node_detail": lambda: node_detail(cfg, "EX-H001"),
        "job_runs page 1 (50)": lambda: job_runs(cfg, page=1, page_size=50),
        "job_runs failed only": lambda: job_runs(cfg, status="failed"),
        "quality_daily 30 d inst×day": lambda: quality_daily(cfg, today - dt.timedelta(days=29), today),
        "quality_daily 7 d inst×job": lambda: quality_daily(cfg, today - dt.timedelta(days=6), today,
                                                             by=["inst_code", "job_code"]),
        "last_upload": lambda: last_upload(cfg),
        "behind_schedule": lambda: behind_schedule(cfg),
    }
    for name, fn in cases.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        rows.append((name, statistics.median(times), f"max {max(times):.0f} ms"))
    print(f"{'what':32s} {'median ms':>10s}  note")
    for name, ms, note in rows:
        print(f"{name:32s} {ms:10.1f}  {note}")


if __name__ == "__main__":
    main()
