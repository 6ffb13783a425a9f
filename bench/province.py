"""Province bench: the demo built at a given scale, then its rollups computed by each engine; one table.

    python bench/province.py --scale 2 [--pg postgresql://…/bench_db] [--spark local[2]|spark://host:7077]
                             [--data-dir /tmp/prov] [--target-scale 12.5]

Steps: the demo facts generated into a DuckDB mart (no rollups), the DuckDB rollups built inside it
(``rollups`` on DuckDB), with ``--pg`` the facts copied into PostgreSQL (COPY, ANALYZE) and the rollups built
there (the database given is emptied), with ``--spark`` ``python app.py rollups --engine spark --master …`` (lake
export included: the facts written as Parquet, every rollup computed by Spark and written back into the DuckDB
mart). Prints every step the moment it ends (the generator's and PostgreSQL builder's phases included, so a run
stopped half-way keeps what it measured), then seconds, rows (fact rows read; rows written for the copy) and rows/s
per step, the stores' sizes, the
machine load (``uptime``) before and after, and a linear extrapolation to ``--target-scale`` (12.5 ≈ 100M visits),
labelled as such: the rollups are scans and hash aggregates, roughly linear in the fact rows while the working set
fits in memory, which a shared two-core machine cannot show for the target itself.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FACTS = ("outpatient_visit", "inpatient_discharge", "lab_order", "referral", "outside_settlement",
         "resource_month", "chronic_patient")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _say(engine: str, step: str, seconds: float, n: int, rate: bool = True) -> None:
    """One measured step, printed the moment it ends (a run stopped half-way keeps what it measured); ``rate``
    False for a builder phase whose rows are rows written (a rollup's output), not rows read."""
    from bench.engines import _uptime
    rate_text = f"{n / seconds:,.0f} rows/s" if rate and seconds > 0 and n else ""
    print(f"[{time.strftime('%H:%M:%S')}] {engine:<9} {step:<58} {seconds:>9.1f} s {n:>13,} {rate_text:>16}   "
          f"{_uptime().split('load average:')[-1].strip()}", flush=True)


def _watch(phases: list, engine: str, stop: threading.Event) -> threading.Thread:
    """Print the entries a builder appends to its ``PHASES`` list (seconds, rows) while it runs."""
    def run() -> None:
        seen = 0
        while True:
            done = stop.wait(2.0)
            while seen < len(phases):
                name, seconds, n = phases[seen]
                _say(engine, f"  {name}", seconds, n, rate=name.startswith(("copy ", "dimensions", "outpatient",
                                                                          "inpatient", "lab_order", "referral",
                                                                          "outside", "chronic")))
                seen += 1
            if done:
                return
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _pg_size(url: str) -> int:
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(url))
    with conn.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
    conn.close()
    return int(size)


@click.command()
@click.option("--scale", default=0.3, show_default=True, type=float)
@click.option("--pg", "pg_url", default=None, help="PostgreSQL URL of a database this bench may empty")
@click.option("--spark", "spark_master", default=None, help="time `rollups --engine spark` on this master")
@click.option("--data-dir", "data_dir", default=None, type=click.Path(path_type=Path),
              help="where the DuckDB mart and the lake go (default: a new temporary directory)")
@click.option("--target-scale", default=12.5, show_default=True, type=float)
@click.option("--reuse", is_flag=True, help="keep the facts of a mart built before in --data-dir (same --scale)")
def main(scale: float, pg_url: str | None, spark_master: str | None, data_dir: Path | None,
         target_scale: float, reuse: bool) -> None:
    from bench.engines import _reset_pg, _uptime
    from core.config import Config
    from mart import demo, pg
    from mart.cli import _rebuild_in_mart
    from mart.connection import dispose_engines

    print(f"load before: {_uptime()}")
    tmp = data_dir or Path(tempfile.mkdtemp(prefix="bench_province_"))
    tmp.mkdir(parents=True, exist_ok=True)
    duck_path = tmp / "mart.duckdb"
    cfg = Config(data_dir=tmp, mart_url=f"duckdb:///{duck_path}", app_db_url="sqlite://", cache_url="")
    rows: list[tuple[str, str, float, int]] = []

    if reuse and duck_path.exists():
        import duckdb

        from mart.schema import LOAD_ORDER
        with duckdb.connect(str(duck_path), read_only=True) as con:
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in LOAD_ORDER}
        facts = sum(counts.get(t, 0) for t in FACTS)
    else:
        t0 = time.perf_counter()
        stop = threading.Event()
        watcher = _watch(demo.PHASES, "duckdb", stop)
        counts = demo.build_demo(cfg, scale=scale, quiet=True, rollups=False)
        stop.set()
        watcher.join()
        facts = sum(counts.get(t, 0) for t in FACTS)
        rows.append(("duckdb", "generate facts (demo, no rollups)", time.perf_counter() - t0, facts))
        _say(*rows[-1])
    print(f"size DuckDB mart file (facts only): {_size(duck_path) / 2**20:,.0f} MiB", flush=True)
    t0 = time.perf_counter()
    rollup_rows = _rebuild_in_mart(cfg)
    rows.append(("duckdb", f"rollups ({len(rollup_rows)} tables, {sum(rollup_rows.values()):,} rows)",
                 time.perf_counter() - t0, facts))
    _say(*rows[-1])
    dispose_engines()
    sizes = [("DuckDB mart file (facts + rollups)", _size(duck_path))]
    print(f"size {sizes[0][0]}: {sizes[0][1] / 2**20:,.0f} MiB", flush=True)

    if pg_url:
        _reset_pg(pg_url)
        t0 = time.perf_counter()
        stop = threading.Event()
        watcher = _watch(pg.PHASES, "postgres", stop)
        try:
            pg.copy_mart_to_pg(duck_path, pg_url)
        finally:
            stop.set()
            watcher.join()
        total = time.perf_counter() - t0
        copy_s = sum(s for p, s, _n in pg.PHASES if p.startswith(("copy ", "analyze facts")))
        roll_s = sum(s for p, s, _n in pg.PHASES if not p.startswith(("copy ", "analyze facts")))
        rows.append(("postgres", "COPY facts in + ANALYZE", copy_s, sum(counts.values())))
        rows.append(("postgres", "rollups (set-based SQL) + ANALYZE", roll_s, facts))
        rows.append(("postgres", "total (one transaction)", total, facts))
        sizes.append(("PostgreSQL mart database", _pg_size(pg_url)))

    if spark_master:
        if importlib.util.find_spec("pyspark") is None:
            rows.append(("spark", "skipped: pyspark is not installed (pip install -r requirements-spark.txt)",
                         0.0, 0))
        else:
            env = {**os.environ, "MART_URL": cfg.mart_url, "DATA_DIR": str(tmp)}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "app.py", "rollups", "--engine", "spark", "--master", spark_master],
                           check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            rows.append(("spark", f"rollups ({spark_master}), lake export + write-back", time.perf_counter() - t0,
                         facts))
            lake = tmp / "lake"
            sizes.append(("Parquet lake", sum(_size(p) for p in lake.rglob("*.parquet")) if lake.exists() else 0))

    print(f"\nscale {scale:g}: {counts.get('outpatient_visit', 0):,} visits, "
          f"{counts.get('inpatient_discharge', 0):,} discharges, {facts:,} fact rows")
    factor = target_scale / scale
    print(f"{'engine':<9} {'step':<58} {'seconds':>9} {'rows':>13} {'rows/s':>11} "
          f"{'≈ s @ ' + format(target_scale, 'g'):>11}")
    for engine, step, seconds, n in rows:
        rate = f"{n / seconds:>11,.0f}" if seconds > 0 and n else f"{'':>11}"
        est = f"{seconds * factor:>11,.0f}" if seconds > 0 else f"{'':>11}"
        print(f"{engine:<9} {step:<58} {seconds:>9.1f} {n:>13,} {rate} {est}")
    print(f"(last column: linear extrapolation × {factor:g} to scale {target_scale:g}, "
          f"≈ {counts.get('outpatient_visit', 0) * factor / 1e6:,.0f}M visits — an estimate, not a measurement)")
    for name, size in sizes:
        print(f"size {name:<40} {size / 2**20:>10,.0f} MiB   ≈ {size * factor / 2**30:>8,.1f} GiB @ "
              f"{target_scale:g}")
    print(f"load after: {_uptime()}")


if __name__ == "__main__":
    main()
