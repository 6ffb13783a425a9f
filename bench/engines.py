"""Benchmark the engines side by side in one run: the demo county built on DuckDB and on PostgreSQL (and the
rollups recomputed by Spark when asked), then the same engine calls against both marts; one table.

    python bench/engines.py --pg postgresql://postgres@127.0.0.1:5432/prov_bench [--scale 0.3] [--repeat 3]
                            [--spark local[2]] [--explain]
    python bench/engines.py --pg URL --calls-only duckdb:///path/mart.duckdb [--repeat 5] [--explain]

``--calls-only`` skips the builds and times the engine calls of marts built before (the same demo on both).

The PostgreSQL database given is emptied (its mart tables replaced). Prints per phase seconds and rows for each
engine, the build ratio PostgreSQL / DuckDB, the engine-call medians and their ratio, ``EXPLAIN ANALYZE`` of the
widest rollup reads, of a one-month rollup rebuild and of a month-range fact read (with the fact partitions each
touches) with ``--explain``, and the machine load (``uptime``) before and after: the machine may be
shared, so the ratios of one run matter more than absolute seconds.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CASES = [("institution", "month"), ("county", "month"), ("township", "quarter"), ("department", "year"),
         ("doctor", "year")]


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _reset_pg(url: str) -> None:
    """Drop every table of the public schema (the bench database only)."""
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.close()


@click.command()
@click.option("--pg", "pg_url", required=True, help="PostgreSQL URL of a database this bench may empty")
@click.option("--scale", default=0.3, show_default=True, type=float)
@click.option("--repeat", default=3, show_default=True, type=int)
@click.option("--spark", "spark_master", default=None, help="also time `rollups --engine spark` on this master")
@click.option("--explain", is_flag=True, help="print EXPLAIN ANALYZE of the widest rollup reads, a one-month rollup rebuild and a month-range "
              "fact read on PostgreSQL, with the partitions each touches")
@click.option("--calls-only", "calls_only", default=None,
              help="DuckDB mart URL of a build made before: skip the builds, time only the engine calls")
def main(pg_url: str, scale: float, repeat: int, spark_master: str | None, explain: bool,
         calls_only: str | None) -> None:
    from mart.connection import dispose_engines

    print(f"load before: {_uptime()}")
    duck_url = calls_only or _builds(pg_url, scale, spark_master)
    start, end = _engine_calls(duck_url, pg_url, repeat)
    if explain:
        _explain(pg_url, start, end)
    dispose_engines()
    print(f"load after: {_uptime()}")


def _builds(pg_url: str, scale: float, spark_master: str | None) -> str:
    """Build the demo on DuckDB and on PostgreSQL (and the Spark rollups when asked), print the phase table;
    returns the DuckDB mart URL."""
    from core.config import Config
    from mart import demo, pg

    tmp = Path(tempfile.mkdtemp(prefix="bench_engines_"))
    duck_url = f"duckdb:///{tmp / 'mart.duckdb'}"
    duck_cfg = Config(data_dir=tmp, mart_url=duck_url, app_db_url="sqlite://", cache_url="")
    rows: list[tuple[str, str, float, int]] = []

    t0 = time.perf_counter()
    counts = demo.build_demo(duck_cfg, scale=scale, quiet=True)
    duck_s = time.perf_counter() - t0
    rows += [("duckdb", p, s, n) for p, s, n in demo.PHASES]
    rows.append(("duckdb", "TOTAL build", duck_s, sum(counts.values())))

    _reset_pg(pg_url)
    pg_cfg = Config(data_dir=tmp / "pg", mart_url=pg_url, app_db_url="sqlite://", cache_url="")
    pg_cfg.data_dir.mkdir()
    t0 = time.perf_counter()
    demo.build_demo(pg_cfg, scale=scale, quiet=True)
    pg_s = time.perf_counter() - t0
    rows += [("postgres", f"generate: {p}", s, n) for p, s, n in demo.PHASES]
    rows += [("postgres", p, s, n) for p, s, n in pg.PHASES]
    rows.append(("postgres", "TOTAL build", pg_s, sum(counts.values())))

    spark_s = None
    if spark_master:
        env = {**os.environ, "MART_URL": duck_url, "DATA_DIR": str(tmp)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "app.py", "rollups", "--engine", "spark", "--master", spark_master],
                       check=True, env=env, cwd=Path(__file__).resolve().parent.parent)
        spark_s = time.perf_counter() - t0
        rows.append(("spark", f"rollups --engine spark ({spark_master}), lake export included", spark_s, 0))

    print(f"\nscale {scale:g}: {counts.get('outpatient_visit', 0):,} visits, "
          f"{counts.get('inpatient_discharge', 0):,} discharges")
    print(f"{'engine':<9} {'phase':<48} {'seconds':>9} {'rows':>12}")
    for engine, phase, seconds, n in rows:
        print(f"{engine:<9} {phase:<48} {seconds:>9.2f} {n:>12,}")
    print(f"build ratio postgres / duckdb: {pg_s / duck_s:.2f}"
          + (f"; spark rollups / duckdb build: {spark_s / duck_s:.2f}" if spark_s else ""))
    return duck_url


def _engine_calls(duck_url: str, pg_url: str, repeat: int) -> tuple[str, str]:
    """The engine-call table: per case the median of ``repeat`` warm calls on each mart, the two marts called in
    turn (so a change of the machine's load hits both alike); returns the period (start, end) used."""
    from metrics.catalogue import computable_ids
    from metrics.engine import compute
    from queries.periods import last_complete_month

    end = last_complete_month(duck_url)
    y, m = int(end[:4]), int(end[5:7])
    start = f"{y - 1:04d}-{m + 1:02d}" if m < 12 else f"{y:04d}-01"
    print(f"\nengine calls {start}..{end}, median of {repeat} warm calls (ms)")
    print(f"{'case':<24} {'ids':>4} {'rows':>7} {'duckdb':>8} {'postgres':>9} {'ratio':>6}")
    ratios = []
    for level, grain in CASES:
        ids = computable_ids(level)
        times: dict[str, list[float]] = {duck_url: [], pg_url: []}
        for _ in range(repeat + 1):
            for url in (duck_url, pg_url):
                t0 = time.perf_counter()
                df = compute(ids, level, grain, start, end, mart_url=url, use_cache=False)
                times[url].append((time.perf_counter() - t0) * 1000)
        med = {url: statistics.median(t[1:]) for url, t in times.items()}
        ratio = med[pg_url] / med[duck_url]
        ratios.append(ratio)
        print(f"{level + ' × ' + grain:<24} {len(ids):>4} {len(df):>7} {med[duck_url]:>8.0f} {med[pg_url]:>9.0f} "
              f"{ratio:>6.2f}")
    print(f"engine ratio postgres / duckdb: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}")
    return start, end


def _explain(url: str, start: str, end: str) -> None:
    """EXPLAIN ANALYZE of the widest rollup read (every fine outpatient row of 12 months)."""
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(url))
    with conn.cursor() as cur:
        for sql in (("SELECT month, inst_code, res_area, sum(visits), sum(total_cost) FROM r_op_month_inst "
                     "WHERE month BETWEEN %s AND %s GROUP BY 1, 2, 3"),
                    ("SELECT month, inst_code, dept_code, doctor_code, sum(discharges), sum(readmit31) "
                     "FROM r_ip_month_doc WHERE month BETWEEN %s AND %s GROUP BY 1, 2, 3, 4")):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, [start, end])
            print("\n" + "\n".join(r[0] for r in cur.fetchall()))
        _explain_partitions(cur, start, end)
    conn.rollback()            # the rollup rebuild explained above ran inside this transaction: undone
    conn.close()


def _explain_partitions(cur, start: str, end: str) -> None:
    """EXPLAIN ANALYZE of a one-month rollup rebuild (r_op_month and r_ip_month of ``end``, executed and rolled back
    by the caller) and of a month-range fact read (``start``..``end``), each followed by the fact partitions its
    plan touches: partition pruning by the month filters (mart/pg_partitions.py)."""
    from core.periods import add_months
    from mart.pg import build_session_settings, to_postgres
    from mart.pg_partitions import is_partitioned, month_partitions
    from mart.rollups import SPECS, fine_insert_sql
    cases = []
    for rollup in ("r_op_month", "r_ip_month"):
        cases.append((f"one-month rebuild of {rollup} ({end})", SPECS[rollup].source[0],
                      f"DELETE FROM {rollup} WHERE month = '{end}'",
                      to_postgres(fine_insert_sql(rollup, list(SPECS[rollup].measures), [end]))))
    cases.append((f"fact read {start}..{end}", "outpatient_visit", None,
                  f"SELECT inst_code, count(*), sum(total_cost) FROM outpatient_visit WHERE visit_time >= "
                  f"TIMESTAMP '{start}-01' AND visit_time < TIMESTAMP '{add_months(end, 1)}-01' GROUP BY 1"))
    build_session_settings(cur)         # as a build runs (work_mem, jit off)
    for title, fact, before, sql in cases:
        if before:
            cur.execute(before)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
        print(f"\n-- {title}\n{plan}")
        if not is_partitioned(cur, fact):
            print(f"partitions of {fact}: none (a plain table)")
            continue
        parts = month_partitions(cur, fact)
        read = sorted(m for m, name in parts.items() if f" {name} " in plan)
        print(f"partitions of {fact} in the plan: {len(read)} of {len(parts)} months "
              f"({', '.join(read)}){'; DEFAULT partition also scanned (empty)' if f' {fact}_default ' in plan else ''}")


if __name__ == "__main__":
    main()
