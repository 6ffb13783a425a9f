"""Time the engine: all computable indicators × all institutions × 12 months (plus county and doctor levels).

    python bench/indicators.py [--scale 1] [--keep DIR]

Builds the demo county at ``--scale`` into a temporary folder (or reuses ``--keep DIR/mart.duckdb`` when it
exists), times the rollup build, then prints a table of engine timings (median of 5 warm calls).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@click.command()
@click.option("--scale", default=1.0, show_default=True, type=float)
@click.option("--keep", default=None, type=click.Path(file_okay=False), help="reuse/keep the mart in this folder")
@click.option("--repeat", default=5, show_default=True, type=int)
def main(scale: float, keep: str | None, repeat: int) -> None:
    import os

    from dashboard.config import load_config
    from mart.db import connect_writer
    from mart.rollups import build_rollups
    from metrics.catalogue import computable_ids
    from metrics.engine import compute
    from queries.connection import dispose_engines
    from queries.periods import last_complete_month

    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-ind-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(folder)
    os.environ.pop("MART_URL", None)
    cfg = load_config()
    if not (folder / "mart.duckdb").exists():
        from mart.demo import build_demo
        t0 = time.perf_counter()
        build_demo(cfg, scale=scale)
        print(f"demo build (scale {scale:g}): {time.perf_counter() - t0:.1f} s")
    con = connect_writer(cfg.mart_url)
    t0 = time.perf_counter()
    build_rollups(con)
    rollup_s = time.perf_counter() - t0
    sizes = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("outpatient_visit", "r_op_month", "r_ip_month", "r_lab_month")}
    con.close()
    dispose_engines()
    print(f"rollup rebuild: {rollup_s:.2f} s; rows: " + ", ".join(f"{k}={v:,}" for k, v in sizes.items()))

    end = last_complete_month(cfg.mart_url)
    y, m = int(end[:4]), int(end[5:7])
    start = f"{y - 1:04d}-{m + 1:02d}" if m < 12 else f"{y:04d}-01"
    cases = [("institution", "month"), ("county", "month"), ("township", "quarter"), ("department", "year"),
             ("doctor", "year")]
    print(f"\nperiod {start}..{end}\n{'level':<12} {'grain':<8} {'ids':>4} {'rows':>8} {'median ms':>10} "
          f"{'max ms':>8}")
    for level, grain in cases:
        ids = computable_ids(level)
        times = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            df = compute(ids, level, grain, start, end, mart_url=cfg.mart_url)
            times.append((time.perf_counter() - t0) * 1000)
        times = times[1:]   # first call warms the connection
        print(f"{level:<12} {grain:<8} {len(ids):>4} {len(df):>8} {statistics.median(times):>10.0f} "
              f"{max(times):>8.0f}")


if __name__ == "__main__":
    main()
