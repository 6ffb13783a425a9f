"""Time the engine: all computable indicators × all institutions × 12 months (plus county and doctor levels),
the cockpit call, an indicator-page call and a cached repeat.

    python bench/indicators.py [--scale 1] [--keep DIR] [--skip-rollups] [--repeat 5]

Builds the demo county at ``--scale`` into a temporary folder (or reuses ``--keep DIR/mart.duckdb`` when it
exists, e.g. a scale-30 mart built once), times the rollup build (unless ``--skip-rollups``), then prints a table
of engine timings (median and max of ``--repeat`` warm calls) against the budget (DESIGN §8: 300 ms a page call
at scale 1, 1 s at province scale).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COCKPIT_IDS = ["op_antibiotic_rate", "bed_occupancy", "alos", "op_cost_per_visit", "ip_cost_per_discharge",
               "op_drug_share", "ip_mortality", "readmission_31d", "surgery_share", "lab_timeliness",
               "beds_per_1k", "doctors_per_1k"]


@click.command()
@click.option("--scale", default=1.0, show_default=True, type=float)
@click.option("--keep", default=None, type=click.Path(file_okay=False), help="reuse/keep the mart in this folder")
@click.option("--repeat", default=5, show_default=True, type=int)
@click.option("--skip-rollups", is_flag=True, help="do not time a rollup rebuild (reuse the mart as it is)")
def main(scale: float, keep: str | None, repeat: int, skip_rollups: bool) -> None:
    import os

    from core.config import load_config
    from mart.connection import dispose_engines
    from mart.db import connect_writer
    from mart.rollups import build_rollups
    from metrics import cache as result_cache
    from metrics.catalogue import INDICATORS, computable_ids
    from metrics.engine import compute
    from queries import org as qorg
    from queries.periods import last_complete_month

    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-ind-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(folder)
    os.environ.pop("MART_URL", None)
    cfg = load_config()
    if not (folder / "mart.duckdb").exists():
        from mart.demo import build_demo
        t0 = time.perf_counter()
        build_demo(cfg, scale=scale, quiet=True)
        print(f"demo build (scale {scale:g}): {time.perf_counter() - t0:.1f} s")
    con = connect_writer(cfg.mart_url)
    rollup_s = None
    if not skip_rollups:
        t0 = time.perf_counter()
        build_rollups(con)
        rollup_s = time.perf_counter() - t0
    sizes = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("outpatient_visit", "r_op_month", "r_ip_month", "r_lab_month")}
    con.close()
    dispose_engines()
    visits = sizes["outpatient_visit"]
    print(f"mart {folder / 'mart.duckdb'} (scale ~{visits / 7.9e6:.2g}, {visits:,} visits); rollup rebuild: "
          + (f"{rollup_s:.2f} s" if rollup_s is not None else "skipped")
          + "; rows: " + ", ".join(f"{k}={v:,}" for k, v in sizes.items() if k != "outpatient_visit"))
    budget_ms = 300 if visits <= 1.5 * 7.9e6 else 1000

    end = last_complete_month(cfg.mart_url)
    y, m = int(end[:4]), int(end[5:7])
    start = f"{y - 1:04d}-{m + 1:02d}" if m < 12 else f"{y:04d}-01"
    start24 = f"{y - 2:04d}-{m + 1:02d}" if m < 12 else f"{y - 1:04d}-01"
    town = qorg.townships(cfg.mart_url)["area_code"].iloc[0]
    cockpit = [i for i in COCKPIT_IDS if i in INDICATORS and i in computable_ids("county")]
    cases = [(f"{lv} × {gr}", computable_ids(lv), lv, gr, start, None)
             for lv, gr in [("institution", "month"), ("county", "month"), ("township", "quarter"),
                            ("department", "year"), ("doctor", "year")]]
    cases += [("cockpit 24 mo", cockpit, "county", "month", start24, None),
              ("indicator page", ["op_antibiotic_rate"], "institution", "month", start, town)]
    print(f"\nperiod {start}..{end}; budget {budget_ms} ms a call\n{'case':<24} {'ids':>4} {'rows':>8} "
          f"{'median ms':>10} {'max ms':>8} {'cached ms':>10}")
    from cachelib import SimpleCache
    for name, ids, level, grain, lo, org in cases:
        times = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            df = compute(ids, level, grain, lo, end, org=org, mart_url=cfg.mart_url)
            times.append((time.perf_counter() - t0) * 1000)
        times = times[1:]   # first call warms the connection
        result_cache.install(SimpleCache())
        compute(ids, level, grain, lo, end, org=org, mart_url=cfg.mart_url)
        t0 = time.perf_counter()
        compute(ids, level, grain, lo, end, org=org, mart_url=cfg.mart_url)
        cached = (time.perf_counter() - t0) * 1000
        result_cache.install(None)
        flag = "" if statistics.median(times) <= budget_ms else "  over budget"
        print(f"{name:<24} {len(ids):>4} {len(df):>8} {statistics.median(times):>10.0f} {max(times):>8.0f} "
              f"{cached:>10.1f}{flag}")


if __name__ == "__main__":
    main()
