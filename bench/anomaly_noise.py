"""How noisy the anomaly rule is: anomaly findings per month and level over the last months of a demo, with the
rule as stored by default (R05). Prints a table; passes nothing.

    python -m bench.anomaly_noise [--data-dir DIR] [--scale 1] [--months 6] [--params '{"noise_floor": false}']

The engine is asked once per level (history through the last complete month); each month is then judged on the
rows up to it, exactly as ``alerts run --month`` would (findings only, nothing written).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--params", default="{}", help="JSON merged into the rule's default parameters")
    args = parser.parse_args()
    from bench._common import prepare_data_dir
    cfg = prepare_data_dir(Path(args.data_dir or f"/tmp/bench-alerts-{args.scale:g}"), scale=args.scale)

    from dashboard.alerts.defaults import DEFAULT_RULES
    from metrics.alert_rules import LEVELS, RuleSpec, evaluate_rows, rule_indicators
    from metrics.engine import compute
    from metrics.forecast import month_index, month_label
    from queries import periods as qperiods
    r05 = next(r for r in DEFAULT_RULES if r["kind"] == "anomaly")
    rule = RuleSpec(r05["code"], "anomaly", r05["severity"], tuple(r05["levels"].split(",")),
                    tuple(r05["indicator_ids"].split(",")), {**r05["params"], **json.loads(args.params)})
    last = qperiods.last_complete_month(cfg.mart_url)
    first, _ = qperiods.data_range(cfg.mart_url)
    ids = rule_indicators(rule)
    rows = {}
    for level in LEVELS:
        df = compute(ids, level, "month", first, last, mart_url=cfg.mart_url, comparisons=False)
        rows[level] = df[df["period"].str.len() == 7]
    months = [month_label(month_index(last) - k) for k in range(args.months - 1, -1, -1)]
    counts: dict[str, Counter] = {}
    orgs = {lv: rows[lv]["org_code"].nunique() for lv in LEVELS}
    t0, cpu0 = time.perf_counter(), os.times()
    for m in months:
        found = evaluate_rows([rule], {lv: r[r["period"] <= m] for lv, r in rows.items()}, m)
        counts[m] = Counter(f.level for f in found)
    wall, cpu = time.perf_counter() - t0, os.times()
    print(f"\nanomaly rule {rule.code} {rule.params} at {cfg.mart_url} ({len(ids)} indicators)")
    print(f"{'month':<8}" + "".join(f"{lv:>13}" for lv in LEVELS) + f"{'total':>8}")
    for m in months:
        print(f"{m:<8}" + "".join(f"{counts[m].get(lv, 0):>13}" for lv in LEVELS)
              + f"{sum(counts[m].values()):>8}")
    mean = {lv: sum(counts[m].get(lv, 0) for m in months) / len(months) for lv in LEVELS}
    print(f"{'mean':<8}" + "".join(f"{mean[lv]:>13.1f}" for lv in LEVELS) + f"{sum(mean.values()):>8.1f}")
    print(f"{'orgs':<8}" + "".join(f"{orgs[lv]:>13}" for lv in LEVELS))
    print(f"judging {len(months)} months: wall {wall:.1f} s, CPU {cpu.user - cpu0.user + cpu.system - cpu0.system:.1f} s,"
          f" load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
