"""What comparing a running period with the same days of last year costs: the day rollups' build and the engine.

    python -m bench.day_rollups [--data-dir DIR] [--scale 0.05] [--repeat 5]

Builds (or reuses) a demo in DATA_DIR, then prints two tables (never a pass/fail):

1. build: for each fact rollup, rows and seconds (median of ``--repeat`` DELETE + INSERT rebuilds in one
   transaction rolled back) of its month table beside its day table (``mart.rollups.DAY_TABLES``), and the day
   tables' share of the whole month-table build;
2. engine: median ms of ``compute()`` calls over the running period (county, township, institution, doctor; month
   and quarter) with the cut twin (now) and without it (the pro-rata base from before), interleaved A/B in one
   process, result cache off, and their ratio.

The machine may be shared: ``uptime`` is printed before and after, and only the ratios of one run mean much.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

CASES = [("county", "month"), ("township", "month"), ("institution", "month"), ("institution", "quarter"),
         ("doctor", "month")]
IDS = ["op_er_visits", "op_antibiotic_rate", "discharges", "bed_occupancy", "up_referrals", "lab_orders",
       "hospitalization_rate"]


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _median_s(con, statements: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        con.execute("BEGIN TRANSACTION")
        t0 = time.perf_counter()
        for stmt in statements:
            con.execute(stmt)
        times.append(time.perf_counter() - t0)
        con.execute("ROLLBACK")
    return statistics.median(times)


def build_table(mart_path: str, repeat: int) -> None:
    import duckdb

    from mart.rollups import DAY_TABLES, SPECS, fine_insert_sql
    con = duckdb.connect(mart_path, read_only=False)
    try:
        print(f"{'rollup':<14}{'rows':>10}{'s':>8}   {'day table':<12}{'rows':>10}{'s':>8}")
        total_month = total_day = 0.0
        for month_table, day_table in DAY_TABLES.items():
            out = []
            for table in (month_table, day_table):
                rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                secs = _median_s(con, [f"DELETE FROM {table}",
                                       fine_insert_sql(table, list(SPECS[table].measures), None)], repeat)
                out.append((table, rows, secs))
            total_month += out[0][2]
            total_day += out[1][2]
            print(f"{out[0][0]:<14}{out[0][1]:>10,}{out[0][2]:>8.2f}   {out[1][0]:<12}{out[1][1]:>10,}"
                  f"{out[1][2]:>8.2f}")
        print(f"day tables add {total_day:.2f} s to {total_month:.2f} s of their month tables "
              f"({100 * total_day / total_month:.0f} %)")
    finally:
        con.close()


def engine_table(mart_url: str, repeat: int) -> None:
    from metrics import engine
    from queries.periods import last_data_date
    last = last_data_date(mart_url)
    month = f"{last.year:04d}-{last.month:02d}"
    quarter_start = f"{last.year:04d}-{(last.month - 1) // 3 * 3 + 1:02d}"
    real = engine.cut_twins
    print(f"data end {last} (running month {month})")
    print(f"{'level':<12}{'grain':<9}{'cut ms':>8}{'pro-rata ms':>12}{'ratio':>7}")
    for level, grain in CASES:
        start = month if grain == "month" else quarter_start
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeat):
            for cut in (True, False):
                engine.cut_twins = real if cut else (lambda plan, specs: {})
                t0 = time.perf_counter()
                engine.compute(IDS, level, grain, start, month, mart_url=mart_url, use_cache=False)
                times[cut].append((time.perf_counter() - t0) * 1000)
        engine.cut_twins = real
        a, b = statistics.median(times[True]), statistics.median(times[False])
        print(f"{level:<12}{grain:<9}{a:>8.0f}{b:>12.0f}{a / b:>7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "/tmp/bench-day-rollups"))
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from bench._common import prepare_data_dir
    from mart.connection import dispose_engines
    cfg = prepare_data_dir(args.data_dir, args.scale)
    print(f"load before: {_uptime()}")
    print(f"mart {cfg.mart_url} (scale {args.scale})")
    dispose_engines()
    build_table(str(cfg.data_dir / "mart.duckdb"), args.repeat)
    engine_table(cfg.mart_url, args.repeat)
    print(f"load after: {_uptime()}")


if __name__ == "__main__":
    main()
