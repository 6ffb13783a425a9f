"""综合评价 timings: the one engine call of the indicator set (institution level, a year and a quarter) and the
scoring of its rows, on an existing demo mart. Prints a table; passes or fails nothing.

    python -m bench.assessment --data-dir /tmp/somewhere [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Time compute() (first call, then repeated calls) and score() for a year and a quarter."""
    from bench._common import make_config
    from metrics.assessment import DEFAULT_WEIGHTS, score
    from metrics.engine import compute
    from queries.org import org_tree
    from queries.periods import last_complete_month
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cfg = make_config(Path(args.data_dir))
    last = last_complete_month(cfg.mart_url)
    year = int(last[:4]) - (0 if last.endswith("-12") else 1)
    q_end = (int(last[5:7]) // 3) * 3 or 3
    cases = [("year", f"{year}-01", f"{year}-12"), ("quarter", f"{last[:4]}-{q_end - 2:02d}", f"{last[:4]}-{q_end:02d}")]
    tree = org_tree(cfg.mart_url)
    print(f"{'grain':8} {'period':17} {'insts':>6} {'first compute ms':>17} {'compute p50 ms':>15} {'score p50 ms':>13}")
    for grain, start, end in cases:
        t0 = time.perf_counter()
        frame = compute(list(DEFAULT_WEIGHTS), "institution", grain, start, end, mart_url=cfg.mart_url,
                        comparisons=False)
        first = (time.perf_counter() - t0) * 1000
        times, scoring = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            frame = compute(list(DEFAULT_WEIGHTS), "institution", grain, start, end, mart_url=cfg.mart_url,
                            comparisons=False)
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            res = score(frame, DEFAULT_WEIGHTS, tree)
            scoring.append((time.perf_counter() - t0) * 1000)
        print(f"{grain:8} {start + '..' + end:17} {len(res.scores):>6} {first:>17.0f} "
              f"{statistics.median(times):>15.0f} {statistics.median(scoring):>13.0f}")


if __name__ == "__main__":
    main()
