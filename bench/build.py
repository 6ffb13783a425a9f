"""Benchmark: build the demo county from nothing in a temp folder and print a table of phases, then load that
county back through the loader and print its throughput.

    python bench/build.py [--scale 1] [--seed 42] [--years 3] [--keep] [--no-load]

Prints phase, seconds, rows (rows of the table the phase fills), then the total wall time and CPU time of this
process (the machine may be shared: CPU time shows the work, wall time what a user waits). Then every table of
the built mart is exported as Parquet (``python app.py export``) and loaded into a fresh mart with the loader
(``python app.py load``): rows, seconds and rows/s of the whole county in one transaction, rollups included.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Config
from mart import demo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder and print its path")
    ap.add_argument("--no-load", action="store_true", help="skip the export + loader round of the built county")
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
    if not args.no_load:
        _load_round(cfg, tmp)
    if args.keep:
        print(f"kept in {tmp}")
    else:
        for p in sorted(tmp.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        tmp.rmdir()


def _load_round(cfg: Config, tmp: Path) -> None:
    """Export the built county as Parquet and load it into a fresh mart; print the loader's throughput."""
    from mart.export import export_mart
    from mart.loader import load_directory

    exported = export_mart(cfg, tmp / "export", fmt="parquet")
    fresh = Config(data_dir=tmp / "reload", mart_url=f"duckdb:///{tmp / 'reload' / 'mart.duckdb'}",
                   app_db_url="sqlite://", cache_url="")
    c0 = _cpu()
    report = load_directory(fresh, tmp / "export")
    cpu = _cpu() - c0
    print(f"export to Parquet {exported.seconds:.1f} s; loader (fresh mart, one transaction, rollups included):")
    print(f"{'table':<28} {'rows':>12}")
    for table, rows in report.rows.items():
        print(f"{table:<28} {rows:>12,}")
    print(f"{'loader total':<28} {report.total_rows:>12,}  {report.seconds:.2f} s  "
          f"{report.rows_per_second:,.0f} rows/s  (cpu {cpu:.1f} s)")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    main()
