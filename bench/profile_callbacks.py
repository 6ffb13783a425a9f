"""cProfile of single callbacks in-process: where the CPU of one click goes, cold (empty cache) and warm.

    python -m bench.profile_callbacks [--data-dir DIR] [--scale 1] [--top 15] [--names cockpit.cards,indicator.trend]

Builds the app on DATA_DIR (a demo of ``--scale``, see ``bench._common.prepare_data_dir``), logs in as the demo
leader through the real /login form of a Flask test client and POSTs each named callback of ``bench.pages.CALLS``
twice: cold (a fresh app: nothing cached) and warm (the same call again). Prints wall and CPU per call, then the
functions with the largest cumulative time of the cold call (the part spent in Plotly figure validation is summed
separately, since the issue asks whether it is a large share).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import csrf_token, prepare_data_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", "/tmp/h13bench/scale1"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--names", default="cockpit.cards,indicator.trend,indicator.breakdown,indicator.ranking")
    args = ap.parse_args(argv)
    cfg = prepare_data_dir(Path(args.data_dir), args.scale)
    from bench.pages import CALLS, SEARCH, _payload
    from dashboard.accounts.service import read_demo_accounts
    from dashboard.app import create_app
    from dashboard.urlstate import month_to_period
    from queries.periods import last_complete_month
    search = SEARCH.format(period=month_to_period(last_complete_month(cfg.mart_url), "quarter"))
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    client = app.server.test_client()
    user, password = read_demo_accounts(cfg)["leader"]
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    wanted = [n.strip() for n in args.names.split(",") if n.strip()]
    print(f"{'callback':<24}{'cold wall ms':>13}{'cold CPU ms':>12}{'plotly %':>9}{'warm wall ms':>13}")
    profiles = {}
    for name, outputs, trigger in CALLS:
        if name not in wanted:
            continue
        body = _payload(outputs, trigger, search)
        prof = cProfile.Profile()
        t0, c0 = time.perf_counter(), time.process_time()
        prof.enable()
        resp = client.post("/_dash-update-component", json=body)
        prof.disable()
        cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert resp.status_code == 200, resp.status_code
        t0 = time.perf_counter()
        client.post("/_dash-update-component", json=body)
        warm = time.perf_counter() - t0
        stats = pstats.Stats(prof)
        total = max(stats.total_tt, 1e-9)
        plotly = sum(v[3] for k, v in stats.stats.items()           # cumulative time of plotly's entry points
                     if "plotly" in k[0] and k[2] in ("__init__", "update", "update_layout", "update_xaxes",
                                                       "update_yaxes", "add_trace", "add_hline", "add_shape")
                     and not any("plotly" in c[0] for c in v[4]))
        print(f"{name:<24}{cold * 1000:>13.0f}{cold_cpu * 1000:>12.0f}{100 * plotly / total:>9.0f}"
              f"{warm * 1000:>13.1f}")
        profiles[name] = stats
    for name, stats in profiles.items():
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\n--- {name}, cold: top {args.top} by cumulative time ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-4000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
