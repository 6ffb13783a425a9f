"""Benchmark: build the demo county from nothing in a temp folder and print a table of phases.

    python bench/build.py [--scale 1] [--seed 42] [--years 3] [--keep]

Prints phase, seconds, rows (rows of the table the phase fills), then the total wall time and CPU time of this
process (the machine may be shared: CPU time shows the work, wall time what a user waits).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.config import Config  # noqa: E402
from mart import demo  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder and print its path")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_build_"))
    cfg = Config(data_dir=tmp, mart_url=f"duckdb:///{tmp / 'mart.duckdb'}", app_db_url=f"sqlite:///{tmp / 'app.db'}",
                 cache_url="")
    t0, c0 = time.perf_counter(), _cpu()
    counts = demo.build_demo(cfg, scale=args.scale, seed=args.seed, years=args.years, quiet=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    print(f"demo build  scale={args.scale}  seed={args.seed}  years={args.years}")
    print(f"{'phase':<28} {'seconds':>9} {'rows':>12}")
    for phase, seconds, rows in demo.PHASES:
        print(f"{phase:<28} {seconds:>9.2f} {rows:>12,}")
    print(f"{'total (wall)':<28} {wall:>9.2f} {sum(counts.values()):>12,}")
    print(f"{'total (cpu, all threads)':<28} {cpu:>9.2f}")
    size = (tmp / "mart.duckdb").stat().st_size / 1e6
    print(f"mart file {size:,.0f} MB; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    if args.keep:
        print(f"kept in {tmp}")
    else:
        for p in sorted(tmp.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        tmp.rmdir()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    main()
