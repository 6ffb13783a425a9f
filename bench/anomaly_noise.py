"""How noisy the anomaly rule is: anomaly findings per month and level over the last months of a demo, with the
rule as stored by default (R05), judged once with the forecast's own 95 % band and once with the sampling-noise
floor (the default). Prints tables; passes nothing.

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
    from metrics.alert_rules import LEVELS, RuleSpec, anomaly_inputs, judge_anomalies, rule_indicators
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
    months = [month_label(month_index(last) - k) for k in range(args.months)]       # newest first
    # one forecast per month and level, judged with the forecast's own band ("before") and with the noise floor
    variants = {"band only": {**rule.params, "noise_floor": False}, "noise floor": {**rule.params, "noise_floor": True}}
    counts: dict[tuple[str, str], Counter] = {}
    judged: Counter = Counter()
    orgs = {lv: rows[lv]["org_code"].nunique() for lv in LEVELS}
    t0, cpu0 = time.perf_counter(), os.times()
    for m in months:
        for lv in LEVELS:
            cur, fc = anomaly_inputs(rule, rows[lv][rows[lv]["period"] <= m], m)
            judged[m, lv] = len(cur)
            for name, params in variants.items():
                spec = RuleSpec(rule.code, rule.kind, rule.severity, rule.levels, rule.indicator_ids, params)
                counts.setdefault((name, m), Counter())[lv] = len(judge_anomalies(spec, cur, fc, m))
        print(f"  {m} ({time.perf_counter() - t0:.0f} s): " + "; ".join(
            f"{name} " + " ".join(f"{lv} {counts[name, m].get(lv, 0)}" for lv in LEVELS) for name in variants)
            + " | judged " + " ".join(f"{lv} {judged[m, lv]}" for lv in LEVELS), flush=True)
    wall, cpu = time.perf_counter() - t0, os.times()
    print(f"\nanomaly rule {rule.code} {rule.params} at {cfg.mart_url} ({len(ids)} indicators)")
    for name in variants:
        print(f"\n{name}:")
        print(f"{'month':<8}" + "".join(f"{lv:>13}" for lv in LEVELS) + f"{'total':>8}")
        for m in months:
            c = counts[name, m]
            print(f"{m:<8}" + "".join(f"{c.get(lv, 0):>13}" for lv in LEVELS) + f"{sum(c.values()):>8}")
        mean = {lv: sum(counts[name, m].get(lv, 0) for m in months) / len(months) for lv in LEVELS}
        print(f"{'mean':<8}" + "".join(f"{mean[lv]:>13.1f}" for lv in LEVELS) + f"{sum(mean.values()):>8.1f}")
    print(f"\n{'judged':<8}" + "".join(f"{judged[months[0], lv]:>13}" for lv in LEVELS)
          + "   (indicator × org pairs of the newest month with enough cases)")
    print(f"{'orgs':<8}" + "".join(f"{orgs[lv]:>13}" for lv in LEVELS))
    print(f"judging {len(months)} months: wall {wall:.1f} s, CPU {cpu.user - cpu0.user + cpu.system - cpu0.system:.1f} s,"
          f" load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
