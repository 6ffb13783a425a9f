"""Loader throughput: generate a county's dimensions plus N outpatient visits as Parquet and as CSV, load each
into a fresh mart with ``mart.loader.load_directory`` and print format, rows, seconds and rows/s.

    python -m bench.loader [--visits 2000000] [--keep DIR]

The budget (DESIGN.md §8) is ≥ 1M rows/s from Parquet on 2 cores. Rows are synthetic (DuckDB SQL), consistent
with the data contract (references resolve, costs add up), so the whole validation path runs.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from core.config import Config
from mart.loader import load_directory
from mart.schema import TABLES

TOWNSHIPS = 20
INSTITUTIONS = 60      # 4 county hospitals + township centres + village clinics
DEPTS_PER_INST = 6
DOCTORS_PER_DEPT = 5

_SQL = {
    "area": """
SELECT '330100' AS area_code, '示例县' AS name, 'county' AS level, NULL AS parent_code, 300000 AS population
UNION ALL
SELECT '330100' || lpad(CAST(i AS VARCHAR), 3, '0'), '乡镇' || i, 'township', '330100', 10000 + i * 500
FROM range(1, {townships} + 1) r(i)""",
    "institution": """
SELECT 'I' || lpad(CAST(i AS VARCHAR), 4, '0') AS inst_code, '机构' || i AS name,
       CASE WHEN i <= 4 THEN 'county_hospital' WHEN i <= 4 + {townships} THEN 'township_center'
            ELSE 'village_clinic' END AS inst_type,
       CASE WHEN i <= 4 THEN 'county' WHEN i <= 4 + {townships} THEN 'township' ELSE 'village' END AS level,
       '330100' || lpad(CAST(1 + i % {townships} AS VARCHAR), 3, '0') AS area_code,
       NULL AS parent_inst_code, CAST(i = 1 AS INTEGER) AS is_lead, 20 + (i % 7) * 50 AS approved_beds,
       119.5 + i / 1000.0 AS lon, 29.0 + i / 1000.0 AS lat
FROM range(1, {institutions} + 1) r(i)""",
    "department": """
SELECT 'I' || lpad(CAST(i AS VARCHAR), 4, '0') || '-' || d AS dept_code, 'I' || lpad(CAST(i AS VARCHAR), 4, '0') AS inst_code,
       '科室' || d AS name, 'internal' AS category
FROM range(1, {institutions} + 1) a(i), range({depts}) b(d)""",
    "staff": """
SELECT 'D' || lpad(CAST(i AS VARCHAR), 4, '0') || '-' || d || '-' || s AS staff_code, '医生' AS name,
       'I' || lpad(CAST(i AS VARCHAR), 4, '0') AS inst_code, 'I' || lpad(CAST(i AS VARCHAR), 4, '0') || '-' || d AS dept_code,
       'doctor' AS role, 'intermediate' AS title, CAST(s = 0 AS INTEGER) AS is_gp
FROM range(1, {institutions} + 1) a(i), range({depts}) b(d), range({doctors}) c(s)""",
    "outpatient_visit": """
SELECT 'OP' || lpad(CAST(n AS VARCHAR), 10, '0') AS visit_id,
       TIMESTAMP '2024-01-01 08:00:00' + to_seconds(CAST(n * 37 % 63072000 AS BIGINT)) AS visit_time,
       'I' || lpad(CAST(1 + n % {institutions} AS VARCHAR), 4, '0') AS inst_code,
       'I' || lpad(CAST(1 + n % {institutions} AS VARCHAR), 4, '0') || '-' || (n % {depts}) AS dept_code,
       'D' || lpad(CAST(1 + n % {institutions} AS VARCHAR), 4, '0') || '-' || (n % {depts}) || '-' || (n % {doctors})
           AS doctor_code,
       'P' || lpad(CAST(n % 300000 AS VARCHAR), 8, '0') AS patient_id,
       '330100' || lpad(CAST(1 + n % {townships} AS VARCHAR), 3, '0') AS patient_area_code,
       CAST(n % 5 <> 0 AS INTEGER) AS is_insured, CAST(n % 20 = 0 AS INTEGER) AS is_emergency,
       CAST(n % 9 = 0 AS INTEGER) AS is_tcm, 'J06.9' AS diagnosis_code,
       CAST(50 + (n % 50000) / 100.0 AS DECIMAL(14,2)) AS total_cost,
       CAST((50 + (n % 50000) / 100.0) * 0.4 AS DECIMAL(14,2)) AS drug_cost,
       CAST(1.5 AS DECIMAL(14,2)) AS material_cost,
       CAST((50 + (n % 50000) / 100.0) * 0.5 AS DECIMAL(14,2)) AS insurance_paid,
       CAST(n % 7 = 0 AS INTEGER) AS has_antibiotic
FROM range({visits}) r(n)""",
}


def generate(directory: Path, visits: int, fmt: str) -> int:
    """Write the synthetic county as <table>.<fmt> files; returns the total row count."""
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    params = dict(townships=TOWNSHIPS, institutions=INSTITUTIONS, depts=DEPTS_PER_INST, doctors=DOCTORS_PER_DEPT,
                  visits=visits)
    total = 0
    for table, sql in _SQL.items():
        cols = ", ".join(TABLES[table].column_names)
        query = f"SELECT {cols} FROM ({sql.format(**params)})"
        target = directory / f"{table}.{fmt}"
        option = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
        # the path is our own temporary file name, never user input
        con.execute(f"COPY ({query}) TO '{target}' {option}")
        total += con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
    con.close()
    return total


def _cpu() -> float:
    """CPU seconds of this process (all threads): a load figure that survives a busy shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(visits: int, keep: Path | None) -> list[tuple[str, str, int, float, float, float]]:
    """Generate and load both formats; rows of (format, load kind, rows, seconds, rows/s, CPU seconds)."""
    base = keep or Path(tempfile.mkdtemp(prefix="bench-loader-"))
    results = []
    try:
        for fmt in ("parquet", "csv"):
            files = base / fmt
            t0 = time.perf_counter()
            rows = generate(files, visits, fmt)
            gen_s = time.perf_counter() - t0
            print(f"generated {rows:,} rows as {fmt} in {gen_s:.1f} s", flush=True)
            mart = base / f"mart-{fmt}.duckdb"
            mart.unlink(missing_ok=True)
            cfg = Config(data_dir=base, mart_url=f"duckdb:///{mart}", app_db_url="sqlite://", cache_url="")
            for kind in ("fresh", "reload (replace)"):
                cpu0 = _cpu()
                report = load_directory(cfg, files)
                results.append((fmt, kind, report.total_rows, report.seconds, report.rows_per_second, _cpu() - cpu0))
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep generated files and marts in this folder")
    args = parser.parse_args()
    results = run(args.visits, args.keep)
    print()
    print(f"{'format':<8} {'load':<17} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'cpu s':>8} {'rows/cpu-s':>12}")
    for fmt, kind, rows, seconds, rate, cpu in results:
        print(f"{fmt:<8} {kind:<17} {rows:>12,} {seconds:>9.2f} {rate:>12,.0f} {cpu:>8.2f} {rows / cpu:>12,.0f}")
    print("rows/cpu-s × cores ≈ rows/s on an otherwise idle machine (load average now: "
          f"{' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())})")


if __name__ == "__main__":
    main()
