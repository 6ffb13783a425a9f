"""Dimension rollups and split engine calls on an existing demo mart: rows and build time of each dimension
rollup beside the outpatient/inpatient rollups, and engine time of typical pivot calls with ``by=``.

    python bench/dimensions.py --data-dir DIR [--repeat 5]

``DIR`` holds a demo mart (``DATA_DIR=DIR python app.py demo --scale 0.2``). Build time is the time of each
rollup's build SELECT (the aggregation of the facts, without writing), read-only on the mart. Prints tables;
nothing here passes or fails.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CALLS = [("county", "year", "2025-01", "2025-12"), ("township", "month", "2025-01", "2025-12"),
         ("institution", "year", "2025-01", "2025-12"), ("institution", "month", "2025-01", "2025-12")]


@click.command()
@click.option("--data-dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--repeat", default=5, show_default=True, type=int)
def main(data_dir: str, repeat: int) -> None:
    import os
    os.environ["DATA_DIR"] = str(Path(data_dir).resolve())
    import duckdb

    from mart.rollups import DIMENSION_TABLES, SPECS
    from metrics.dimensions import DIMENSIONS
    from metrics.engine import compute

    path = Path(data_dir).resolve() / "mart.duckdb"
    url = f"duckdb:///{path}"
    con = duckdb.connect(str(path), read_only=True)
    facts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("outpatient_visit",
                                                                                   "inpatient_discharge")}
    print(f"facts: {facts['outpatient_visit']:,} visits, {facts['inpatient_discharge']:,} discharges")
    print(f"{'rollup':28} {'rows':>10} {'build s':>8}")
    total_rows, total_s = 0, 0.0
    tables = [t for fine in ("r_op_month", "r_ip_month") for t in (fine, *DIMENSION_TABLES[fine].values())]
    for table in tables:
        t0 = time.perf_counter()
        con.execute(f"SELECT count(*) FROM ({SPECS[table].build_select()}) q").fetchone()
        seconds = time.perf_counter() - t0
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if "_dim_" in table:
            total_rows, total_s = total_rows + rows, total_s + seconds
        print(f"{table:28} {rows:>10,} {seconds:>8.2f}")
    print(f"{'all dimension rollups':28} {total_rows:>10,} {total_s:>8.2f}")
    con.close()

    print(f"\nengine, op_cost_per_visit + alos, median / max of {repeat} warm calls (ms)")
    print(f"{'call':28} {'by':14} {'rows':>7} {'median':>8} {'max':>8}")
    for level, grain, start, end in CALLS:
        for by in (None, *DIMENSIONS):
            ids = ["op_cost_per_visit"] + ([] if by == "visit_type" else ["alos"])
            compute(ids, level, grain, start, end, mart_url=url, by=by, use_cache=False)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                df = compute(ids, level, grain, start, end, mart_url=url, by=by, use_cache=False)
                times.append(1000 * (time.perf_counter() - t0))
            print(f"{level + ' × ' + grain:28} {by or '—':14} {len(df):>7,} {statistics.median(times):>8.0f} "
                  f"{max(times):>8.0f}")


if __name__ == "__main__":
    main()
