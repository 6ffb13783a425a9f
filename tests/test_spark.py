"""Spark rollups against a real standalone cluster (one master, two workers on loopback, ``tools/spark-cluster``):
``python app.py rollups --engine spark --master spark://…`` recomputes every rollup of a copy of the tiny demo
from its Parquet lake: every row of every rollup table (the dimension rollups and the DECIMAL money sums
included) and every indicator at institution × month equal the DuckDB-built ones.

Marked ``spark``; the default run (and CI) includes it: PySpark is in requirements-test.txt, Java 17 comes from
Debian (.ci/run installs it). It fails when PySpark or Java is missing. The rollup tables are emptied before the
Spark run, so the equality can only hold when Spark wrote them all. The cluster is started once for the module and
stopped by the fixture's finaliser even when the test (or the start itself) fails.

The tiny demo is a few thousand rows: the time is Spark's fixed cost per query, not data. The driver and the
executors therefore run with the settings of ``SMALL_DATA_SUBMIT_ARGS`` (``PYSPARK_SUBMIT_ARGS``, which the
product's own session settings leave alone): no adaptive re-planning, no whole-stage code generation, the quick
JIT — on this 2-core machine that cuts the Spark run from ~4 min to ~1.5 min at load 17. Run it alone with
``python -m pytest -m spark``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

# Spark settings for a few thousand rows, passed to spark-submit of the driver (and from there to the executors).
SMALL_DATA_SUBMIT_ARGS = " ".join((
    "--conf spark.sql.adaptive.enabled=false",          # no re-planning between stages of tiny queries
    "--conf spark.sql.codegen.wholeStage=false",        # compiling Java per query costs more than it saves here
    "--conf spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1",     # the quick JIT: short-lived JVMs
    "--conf spark.executor.extraJavaOptions=-XX:TieredStopAtLevel=1",
    "pyspark-shell",
))


@pytest.fixture(scope="module", autouse=True)
def _spark_runtime() -> None:
    """PySpark and Java must be there: a missing runtime fails the test, it does not skip it."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("PySpark 未安装：pip install -r requirements-spark.txt")
    if shutil.which("java") is None:
        pytest.fail("未找到 Java 运行环境：apt-get install openjdk-17-jre-headless")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A standalone master and two workers; stopped afterwards."""
    state = tmp_path_factory.mktemp("spark_cluster")
    env = {**os.environ, "PYTHON": sys.executable}
    try:        # inside the try: a start that fails or times out half-way still stops what it started
        url = subprocess.run([str(ROOT / "tools" / "spark-cluster"), "start", str(state)], env=env, check=True,
                             capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
        assert url.startswith("spark://127.0.0.1:")
        logs = [(state / f"worker{n}.log").read_text() for n in (1, 2)]
        assert all("Successfully registered with master" in log for log in logs), "both workers joined"
        yield url
    finally:
        subprocess.run([str(ROOT / "tools" / "spark-cluster"), "stop", str(state)], env=env, timeout=120,
                       check=False)


def _indicators(url: str) -> pd.DataFrame:
    from mart.connection import dispose_engines
    from metrics.catalogue import computable_ids
    from metrics.engine import compute
    df = compute(computable_ids("institution"), "institution", "month", "2025-12", "2026-10", mart_url=url,
                 use_cache=False, comparisons=False)
    dispose_engines()
    return df.sort_values(["indicator_id", "org_code", "period"]).reset_index(drop=True)


def _rollup_rows(path: Path) -> dict[str, pd.DataFrame]:
    """Every rollup table's rows, ordered by its non-float columns (the keys) then the rest."""
    import duckdb

    from mart.rollups import ROLLUP_TABLES
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in ROLLUP_TABLES:
            df = con.execute(f"SELECT * FROM {table}").df()
            keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
            out[table] = df.sort_values(keys + [c for c in df.columns if c not in keys]).reset_index(drop=True)
        return out
    finally:
        con.close()


def _assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Same columns and rows; floats (money summed as DECIMAL, rates) to 1e-9, everything else exactly."""
    assert list(got.columns) == list(want.columns) and len(got) == len(want), what
    for col in want.columns:
        if pd.api.types.is_float_dtype(want[col]):
            pd.testing.assert_series_equal(got[col].astype(float), want[col], check_exact=False, rtol=1e-9,
                                           atol=1e-9, obj=f"{what}.{col}")
        else:
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), f"{what}.{col}"


def test_spark_cluster_rollups_equal_duckdb(demo_cfg, tmp_path, cluster):
    import duckdb

    from mart.rollups import ROLLUP_TABLES
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy2(demo_cfg.mart_path, data / "mart.duckdb")
    url = f"duckdb:///{data / 'mart.duckdb'}"
    want = _indicators(url)
    assert want["value"].notna().sum() > 100
    want_rows = _rollup_rows(data / "mart.duckdb")      # every rollup, the dimension ones (r_op_dim_*, …) too
    assert all(len(df) for df in want_rows.values()), "the tiny demo fills every rollup"
    con = duckdb.connect(str(data / "mart.duckdb"))
    for table in ROLLUP_TABLES:
        con.execute(f"DELETE FROM {table}")
    con.close()
    env = {**os.environ, "DATA_DIR": str(data), "MART_URL": url, "APP_DB_URL": f"sqlite:///{data / 'app.db'}",
           "PYSPARK_SUBMIT_ARGS": SMALL_DATA_SUBMIT_ARGS, "SPARK_SHUFFLE_PARTITIONS": "2"}
    run = subprocess.run([sys.executable, "app.py", "rollups", "--engine", "spark", "--master", cluster],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "汇总表重建完成 (spark)" in run.stdout
    got_rows = _rollup_rows(data / "mart.duckdb")
    for table, rows in want_rows.items():
        _assert_frames_equal(got_rows[table], rows, table)
    _assert_frames_equal(_indicators(url), want, "indicators")


def test_spark_settings_from_environment():
    """Driver memory, executor memory and shuffle partitions come from the environment (defaults otherwise); a bad
    value is refused in Chinese before anything runs."""
    from mart.spark import spark_settings
    assert spark_settings({}) == {"spark.driver.memory": "2g", "spark.executor.memory": "1g",
                                  "spark.sql.shuffle.partitions": "16"}
    got = spark_settings({"SPARK_DRIVER_MEMORY": "8g", "SPARK_SHUFFLE_PARTITIONS": "64"})
    assert got["spark.driver.memory"] == "8g" and got["spark.sql.shuffle.partitions"] == "64"
    with pytest.raises(ValueError, match="不是内存大小"):
        spark_settings({"SPARK_DRIVER_MEMORY": "lots"})
    with pytest.raises(ValueError, match="不是正整数"):
        spark_settings({"SPARK_SHUFFLE_PARTITIONS": "0"})
