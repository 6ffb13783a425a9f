"""Server time of the /exchange and /quality page sections on 30 days of seeded history (prints a table).

    python bench/bench_exchange_pages.py [--townships 20] [--repeat 7]

Each section is the function its callback calls, inside the app's request context. Quality sections are timed
cold (empty cache: the minute's first request) and warm (the other sections of the same page view).
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


def _time(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data", help="reuse an existing data dir (app.db with exchange history)")
    args = parser.parse_args()
    from dashboard.app import create_app
    from dashboard.callbacks import quality as q
    from dashboard.exchange.quality import quality_daily
    from dashboard.exchange.seed import seed_demo_history
    from dashboard.exchange.service import job_runs, now_local
    from dashboard.views import exchange_page as ex
    from mart import tiny
    if args.data:
        cfg = tiny.make_cfg(Path(args.data))
    else:
        cfg = tiny.make_cfg(Path(tempfile.mkdtemp(prefix="bench-expages-")))
        tiny.build_tiny_mart(cfg, townships=args.townships)
        seed_demo_history(cfg, days=30)
    app = create_app(cfg)
    failed = job_runs(cfg, status="failed", page_size=1)[0]["run_id"].iloc[0]
    rows = []
    with app.server.test_request_context("/"):
        now = now_local()
        today = now.date()
        cases = {
            "exchange overview (map+list)": lambda: ex.refresh_overview(False, None, None, None),
            "exchange overview first (+geo)": lambda: ex.refresh_overview(True, None, None, None),
            "exchange node detail": lambda: ex.detail_panel("EX-H001"),
            "exchange runs page 1": lambda: ex.runs_view(None, None, None, None, None, 1),
            "exchange runs failed+node": lambda: ex.runs_view("failed", "EX-H001", None, None, None, 1),
            "exchange log + re-run box": lambda: ex.log_view(failed, "operator"),
            "quality_daily 30 d (service)": lambda: quality_daily(cfg, today - dt.timedelta(days=29), today),
            "quality_daily 14 d (service)": lambda: quality_daily(cfg, today - dt.timedelta(days=13), today),
        }
        for name, fn in cases.items():
            rows.append((name, *_time(fn, args.repeat)))
        for days in (14, 30):
            def cold(days=days):
                q._cache().clear()
                return q.kpis(days, now, None)
            rows.append((f"quality kpis {days} d, cold cache", *_time(cold, args.repeat)))
            minutes = iter(range(1, 10_000))

            def new_minute(days=days):
                # the minute's first request: today recomputed, settled past days served from the 10-min bucket
                later = now.replace(minute=0) + dt.timedelta(minutes=next(minutes) % 9 + 1)
                return q.kpis(days, later, None)
            q.kpis(days, now.replace(minute=1), None)
            rows.append((f"quality kpis {days} d, new minute", *_time(new_minute, args.repeat)))
            q.kpis(days, now, None)
            rows.append((f"quality kpis {days} d, warm", *_time(lambda: q.kpis(days, now, None), args.repeat)))
            rows.append((f"quality trend {days} d, warm", *_time(lambda: q.trend(days, now, None), args.repeat)))
            rows.append((f"quality heat {days} d, warm",
                         *_time(lambda: q.heat(days, "upload_timeliness", now, None), args.repeat)))
            rows.append((f"quality by inst {days} d, warm",
                         *_time(lambda: q.by_institution(days, now, None), args.repeat)))
        rows.append(("quality uploads, warm", *_time(lambda: q.uploads(now, None), args.repeat)))
    print(f"{'section':36s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, med, p95 in rows:
        print(f"{name:36s} {med:10.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
