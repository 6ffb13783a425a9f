"""``python app.py export DIR --format parquet --partition month``: the mart as a Hive-partitioned Parquet lake
(what Spark reads for ``rollups --engine spark``): facts under ``<table>/month=YYYY-MM/``, every row once, each in
the month of its own time column; tables without a period in one file; the calendar included."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def test_partitioned_export_holds_every_row_in_its_month(demo_cfg, tmp_path) -> None:
    from mart.schema import LOAD_ORDER
    lake = tmp_path / "lake"
    env = {**os.environ, "DATA_DIR": str(demo_cfg.data_dir), "MART_URL": demo_cfg.mart_url,
           "APP_DB_URL": demo_cfg.app_db_url}
    run = subprocess.run([sys.executable, "app.py", "export", str(lake), "--format", "parquet", "--partition",
                          "month"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (lake / "calendar_month").is_dir()
    months = sorted(p.name for p in (lake / "outpatient_visit").iterdir())
    assert months[0].startswith("month=") and len(months) >= 12
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_cfg.mart_path}' AS m (READ_ONLY)")
    for table in LOAD_ORDER:
        files = f"{lake / table}/**/*.parquet"
        n = con.execute(f"SELECT count(*) FROM read_parquet('{files}', hive_partitioning = true)").fetchone()[0]
        assert n == con.execute(f"SELECT count(*) FROM m.{table}").fetchone()[0], table
    wrong = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/outpatient_visit/**/*.parquet', "
                        "hive_partitioning = true, hive_types = {'month': VARCHAR}) "
                        "WHERE strftime(visit_time, '%Y-%m') <> month").fetchone()[0]
    assert wrong == 0
    bad = subprocess.run([sys.executable, "app.py", "export", str(tmp_path / "x"), "--format", "csv",
                          "--partition", "month"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    assert bad.returncode != 0 and "分区导出只支持" in bad.stderr
