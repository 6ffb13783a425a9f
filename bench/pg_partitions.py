"""Fact tables partitioned by month against plain ones, on one PostgreSQL server in one run (issue 21).

    python bench/pg_partitions.py --pg postgresql://postgres@127.0.0.1:5432/pgpart_bench \\
                                  --duck /path/mart.duckdb [--repeat 2]

Copies the DuckDB mart (e.g. the demo ``bench/engines.py`` built) into two fresh schemas of the database given,
``part_bench`` (partitioned facts, as ``mart/pg.py`` now makes them) and ``plain_bench`` (plain fact tables, as a
mart made before), then times in turn on each, every step in a transaction that is rolled back: ANALYZE of the five
fact tables, the whole rollup build, and a load's rebuild of one month (the rollups reading the visits and the
discharges, for the last month). Prints the median seconds of ``repeat`` runs per schema and their ratio, and the
machine load before and after. The schemas are dropped at the end.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCHEMAS = ("part_bench", "plain_bench")


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def _admin(url: str, sql: str) -> None:
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _timed(url: str, step: Callable) -> float:
    """Seconds of ``step(cur)`` inside a transaction that is rolled back."""
    from mart.pg import pg_transaction

    class _Undo(Exception):
        pass
    t0 = time.perf_counter()
    try:
        with pg_transaction(url) as cur:
            step(cur)
            elapsed = time.perf_counter() - t0
            raise _Undo
    except _Undo:
        return elapsed


@click.command()
@click.option("--pg", "pg_url", required=True, help="PostgreSQL URL of a database this bench may add schemas to")
@click.option("--duck", "duck_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--repeat", default=2, show_default=True, type=int)
def main(pg_url: str, duck_path: str, repeat: int) -> None:
    from mart.pg import build_rollups_pg, copy_mart_to_pg, pg_transaction, to_postgres
    from mart.pg_partitions import PARTITIONED
    from mart.schema import TABLES, table_ddl

    print(f"load before: {_uptime()}")
    urls = {s: _url(pg_url, s) for s in SCHEMAS}
    for schema, url in urls.items():
        _admin(pg_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        if schema == "plain_bench":
            with pg_transaction(url) as cur:
                for table in PARTITIONED:
                    cur.execute(to_postgres(table_ddl(TABLES[table])))
        t0 = time.perf_counter()
        copy_mart_to_pg(Path(duck_path), url)
        print(f"copy into {schema}: {time.perf_counter() - t0:.1f} s")
    with pg_transaction(urls["part_bench"]) as cur:
        cur.execute("SELECT max(to_char(visit_time, 'YYYY-MM')) FROM outpatient_visit")
        month = cur.fetchone()[0]

    def analyze(cur) -> None:
        for table in PARTITIONED:
            cur.execute(f"ANALYZE {table}")

    steps: list[tuple[str, Callable]] = [
        ("ANALYZE facts (5 tables)", analyze),
        ("whole rollup build", lambda cur: build_rollups_pg(cur, None)),
        (f"one-month rebuild ({month}: visits, discharges)",
         lambda cur: build_rollups_pg(cur, [month], changed={"outpatient_visit", "inpatient_discharge"})),
    ]
    print(f"\nmedian of {repeat} (s), each in a rolled-back transaction, the schemas in turn")
    print(f"{'step':<48} {'partitioned':>12} {'plain':>8} {'ratio':>6}")
    for title, step in steps:
        times: dict[str, list[float]] = {s: [] for s in SCHEMAS}
        for _ in range(repeat):
            for schema in SCHEMAS:
                times[schema].append(_timed(urls[schema], step))
        med = {s: statistics.median(t) for s, t in times.items()}
        print(f"{title:<48} {med['part_bench']:>12.2f} {med['plain_bench']:>8.2f} "
              f"{med['part_bench'] / med['plain_bench']:>6.2f}")
    from mart.connection import dispose_engines
    dispose_engines()
    for schema in SCHEMAS:
        _admin(pg_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    print(f"load after: {_uptime()}")


if __name__ == "__main__":
    main()
