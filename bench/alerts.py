"""Cost of the early-warning work: one forecast (county, headline indicators), its cached repeat, the backtest
of the 10 headline county indicators (median MASE), and one ``alerts run``. Prints tables; passes nothing.

    python -m bench.alerts [--scale 0.05] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

HEADLINE10 = ["primary_visit_share", "in_county_ip_share", "insurance_in_county_share", "insured_ip_cost_in_county",
              "tcm_visit_share", "chronic_hospitalization_rate", "bed_occupancy", "alos", "op_cost_per_visit",
              "op_antibiotic_rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    from bench._common import prepare_data_dir
    data_dir = Path(args.data_dir or f"/tmp/bench-alerts-{args.scale:g}")
    cfg = prepare_data_dir(data_dir, scale=args.scale)

    from cachelib import SimpleCache

    from dashboard.alerts.run import run_alerts
    from metrics import cache as result_cache
    from metrics.backtest import backtest_from_rows
    from metrics.forecast import forecast, history_rows

    rows = []
    t = time.perf_counter()
    fc = forecast(HEADLINE10, "county", horizon=3, mart_url=cfg.mart_url)
    rows.append(("forecast, 10 county indicators, 3 months (no cache)", time.perf_counter() - t, len(fc)))
    result_cache.install(SimpleCache())
    forecast(HEADLINE10, "county", horizon=3, mart_url=cfg.mart_url)
    t = time.perf_counter()
    forecast(HEADLINE10, "county", horizon=3, mart_url=cfg.mart_url)
    rows.append(("same forecast again (cached per data version)", time.perf_counter() - t, len(fc)))
    result_cache.install(None)
    t = time.perf_counter()
    hist, through = history_rows(HEADLINE10, "county", None, mart_url=cfg.mart_url)
    bt = backtest_from_rows(hist, through)
    rows.append(("backtest, 10 county indicators × 12 origins × h1–3", time.perf_counter() - t, len(bt)))
    t = time.perf_counter()
    res = run_alerts(cfg, send=False)
    rows.append((f"alerts run ({res.month}, {res.findings} findings)", time.perf_counter() - t,
                 sum(len(v) for v in res.counts.values())))

    print(f"\nearly warnings at scale {args.scale:g} ({data_dir})")
    print(f"{'what':<58} {'seconds':>9} {'rows':>7}")
    for what, sec, n in rows:
        print(f"{what:<58} {sec:>9.2f} {n:>7}")
    per_ind = bt.groupby("indicator_id")["mase"].mean()
    print(f"\n{'indicator':<32} {'MASE h1':>8} {'h2':>6} {'h3':>6} {'mean':>6}")
    for iid in HEADLINE10:
        part = bt[bt["indicator_id"] == iid].set_index("horizon")["mase"]
        print(f"{iid:<32} " + " ".join(f"{part.get(h, float('nan')):>6.2f}" for h in (1, 2, 3)).rjust(22)
              + f" {per_ind.get(iid, float('nan')):>6.2f}")
    print(f"median MASE over the 10 headline county indicators: {statistics.median(per_ind):.3f} "
          f"(all rows: {bt['mase'].median():.3f})")


if __name__ == "__main__":
    main()
