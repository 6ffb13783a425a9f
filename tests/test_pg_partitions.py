"""Issue 21: the large fact tables of a PostgreSQL mart are partitioned by month.

Against the real server of ``TEST_POSTGRES_URL`` (fresh schemas, as tests/test_postgres.py): the demo copy makes
one partition per month of its rows and leaves the DEFAULT partition empty; a load of a new month makes that
month's partition; a load that fails on the server after its partitions were made leaves neither partitions nor
rows; a one-month rollup rebuild reads only that month's partition; a mart made before partitioning keeps
loading and reading, and ``app.py partition-facts`` moves it to partitions with the same indicators.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config
from mart.pg_partitions import (
    PARTITION_STATISTICS_TARGET,
    PARTITIONED,
    default_partition,
    month_partitions,
    partition_name,
)
from mart.schema import TABLES
from metrics.catalogue import computable_ids
from metrics.engine import compute
from tests.test_postgres import PG, _pg_cfg, _rows, _same, _version, pg_schema_url  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(not PG, reason="TEST_POSTGRES_URL is not set: no PostgreSQL server")


def _partitions(url: str, table: str) -> dict[str, str]:
    from mart.pg import pg_transaction
    with pg_transaction(url) as cur:
        return month_partitions(cur, table)


def _relkind(url: str, table: str) -> str:
    return _rows(url, f"SELECT relkind FROM pg_class WHERE oid = to_regclass('{table}')")[0][0]


def _rows_by_partition(url: str, table: str) -> dict[str, tuple[int, str, str]]:
    """{partition: (rows, first month, last month)} of the rows as stored."""
    col = PARTITIONED[table]
    return {r[0]: r[1:] for r in _rows(url, f"SELECT tableoid::regclass::text, count(*), "
                                            f"min(to_char({col}, 'YYYY-MM')), max(to_char({col}, 'YYYY-MM')) "
                                            f"FROM {table} GROUP BY 1")}


@pytest.fixture(scope="module")
def demo_pg(demo_cfg: Config, pg_schema_url) -> str:
    """The tiny demo copied to a fresh schema; its URL."""
    from mart.connection import duckdb_read_cursor
    from mart.pg import copy_mart_to_pg
    url = pg_schema_url()
    with duckdb_read_cursor(demo_cfg.mart_url) as con:
        copy_mart_to_pg(con, url)
    return url


def test_the_demo_copy_makes_one_partition_per_month_and_no_default_rows(demo_cfg: Config, demo_pg: str) -> None:
    from mart.connection import duckdb_read_cursor
    assert set(PARTITIONED) == {"outpatient_visit", "inpatient_discharge", "outside_settlement", "referral",
                                "lab_order"}
    for table, col in PARTITIONED.items():
        with duckdb_read_cursor(demo_cfg.mart_url) as con:
            months = sorted(r[0] for r in con.execute(
                f"SELECT DISTINCT strftime({col}, '%Y-%m') FROM {table}").fetchall())
            total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert len(months) >= 12, table
        assert _relkind(demo_pg, table) == "p"
        assert _partitions(demo_pg, table) == {m: partition_name(table, m) for m in months}
        stored = _rows_by_partition(demo_pg, table)
        assert default_partition(table) not in stored          # the DEFAULT partition holds nothing
        assert sum(n for n, _lo, _hi in stored.values()) == total
        for name, (_n, lo, hi) in stored.items():              # each partition holds its own month only
            assert lo == hi and name == partition_name(table, lo), (name, lo, hi)
        # the copy analysed the facts: the parent's statistics at the server's default target, the months' small
        assert _rows(demo_pg, f"SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
                              f"AND tablename = '{table}' AND inherited") == [(len(TABLES[table].columns),)]
        targets = _rows(demo_pg, f"SELECT DISTINCT coalesce(attstattarget, -1) FROM pg_attribute "
                                 f"WHERE attnum > 0 AND attrelid IN ('{table}'::regclass, "
                                 f"'{partition_name(table, months[0])}'::regclass, "
                                 f"'{default_partition(table)}'::regclass) ORDER BY 1")
        assert targets == [(-1,), (PARTITION_STATISTICS_TARGET,)]


def test_indicators_on_the_partitioned_demo_equal_duckdb(demo_cfg: Config, demo_pg: str) -> None:
    from queries.periods import last_complete_month
    end = last_complete_month(demo_cfg.mart_url)
    start = f"{int(end[:4]) - 1}-{end[5:]}"
    for level, grain in (("county", "month"), ("institution", "quarter")):
        ids = computable_ids(level)
        _same(compute(ids, level, grain, start, end, mart_url=demo_cfg.mart_url),
              compute(ids, level, grain, start, end, mart_url=demo_pg), exact=False)


def test_a_one_month_rollup_rebuild_reads_only_that_months_partition(demo_pg: str) -> None:
    """EXPLAIN of every fine rollup's one-month rebuild over a partitioned fact: the month filter is pruned to that
    month's partition (the other months' partitions do not appear in the plan). The inpatient rollups also read
    the later months' discharges (readmissions of that month's patients are admitted after their discharge),
    never the earlier ones."""
    from mart.pg import pg_transaction, to_postgres
    from mart.rollups import SPECS, fine_insert_sql
    month = sorted(_partitions(demo_pg, "outpatient_visit"))[-2]
    read: dict[str, set[str]] = {}
    with pg_transaction(demo_pg) as cur:
        for rollup, spec in SPECS.items():
            fact = spec.source[0]
            if fact not in PARTITIONED:
                continue
            cur.execute("EXPLAIN " + to_postgres(fine_insert_sql(rollup, list(spec.measures), [month])))
            plan = "\n".join(r[0] for r in cur.fetchall())
            read[rollup] = {m for m, name in _partitions(demo_pg, fact).items() if f" {name} " in plan}
    later = {m for m in _partitions(demo_pg, "inpatient_discharge") if m >= month}
    assert len(later) == 2
    assert len(read) >= 15
    assert read == {t: later if SPECS[t].source[0] == "inpatient_discharge" else {month} for t in read}


# ------------------------------------------------------------------------------------------------------ loads
def _base(tmp: Path) -> Path:
    from tests.test_loader import GOOD, write_set
    return write_set(tmp / "base", GOOD)


def test_a_load_of_a_new_month_makes_its_partition(tmp_path: Path, pg_schema_url) -> None:
    from mart.loader import load_directory
    from tests.test_loader import visit, write_set
    cfg = _pg_cfg(tmp_path, pg_schema_url())
    load_directory(cfg, _base(tmp_path))
    assert sorted(_partitions(cfg.mart_url, "outpatient_visit")) == ["2025-03", "2025-04"]
    assert _partitions(cfg.mart_url, "lab_order") == {}
    load_directory(cfg, write_set(tmp_path / "june", dict(outpatient_visit=[
        visit(100, visit_time="2025-06-30 23:59:59"), visit(101, visit_time="2025-06-01 00:00:00")])))
    assert sorted(_partitions(cfg.mart_url, "outpatient_visit")) == ["2025-03", "2025-04", "2025-06"]
    assert _rows_by_partition(cfg.mart_url, "outpatient_visit")["outpatient_visit_2025_06"] == (2, "2025-06",
                                                                                                 "2025-06")
    assert _rows(cfg.mart_url, "SELECT visits FROM r_op_month WHERE month = '2025-06'") == [(2,)]
    assert _rows(cfg.mart_url, f"SELECT count(*) FROM {default_partition('outpatient_visit')}") == [(0,)]


def test_a_load_failing_on_the_server_leaves_no_partition_and_no_rows(tmp_path: Path, pg_schema_url) -> None:
    """The visits of a new month go in (their partition made first), then the server refuses the lab orders of
    the same load (a constraint the server has and the staging validation does not know): the one transaction
    rolls back the visits, both new partitions, the rollups and the version."""
    import psycopg2

    from mart.loader import load_directory
    from tests.test_loader import visit, write_set
    cfg = _pg_cfg(tmp_path, pg_schema_url())
    load_directory(cfg, _base(tmp_path))
    before = {t: _rows(cfg.mart_url, f"SELECT count(*) FROM {t}")[0][0] for t in [*PARTITIONED, "r_op_month"]}
    parts = {t: _partitions(cfg.mart_url, t) for t in PARTITIONED}
    version = _version(cfg.mart_url)
    from mart.pg import pg_transaction
    with pg_transaction(cfg.mart_url) as cur:
        cur.execute("ALTER TABLE lab_order ADD CONSTRAINT no_blood CHECK (category <> 'blood')")
    lab = dict(order_id="LB1", order_time="2025-07-01 08:40:00", collect_time="", report_time="",
               ordering_inst_code="H001", performing_inst_code="H001", category="blood", is_emergency="0",
               is_critical="0", critical_notified_time="")
    with pytest.raises(psycopg2.errors.CheckViolation):
        load_directory(cfg, write_set(tmp_path / "july", dict(
            outpatient_visit=[visit(200, visit_time="2025-07-03 09:00:00")], lab_order=[lab])))
    assert {t: _partitions(cfg.mart_url, t) for t in PARTITIONED} == parts
    assert {t: _rows(cfg.mart_url, f"SELECT count(*) FROM {t}")[0][0] for t in before} == before
    assert _version(cfg.mart_url) == version
    assert _rows(cfg.mart_url, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_2025\\_07' "
                                 "AND relnamespace = current_schema()::regnamespace") == [(0,)]


def test_rows_of_a_month_in_the_default_partition_move_into_its_new_partition(tmp_path: Path,
                                                                             pg_schema_url) -> None:
    """A row written past the loader (no partition for its month) lands in the DEFAULT partition; the next load
    of that month makes the partition and the row moves into it (PostgreSQL would refuse the partition else)."""
    from mart.loader import load_directory
    from mart.pg import pg_transaction
    from tests.test_loader import visit, write_set
    cfg = _pg_cfg(tmp_path, pg_schema_url())
    load_directory(cfg, _base(tmp_path))
    cols = ", ".join(visit(0))
    with pg_transaction(cfg.mart_url) as cur:
        row = visit(300, visit_time="2025-08-09 10:00:00")
        cur.execute(f"INSERT INTO outpatient_visit ({cols}) VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()))
    assert _rows_by_partition(cfg.mart_url, "outpatient_visit")["outpatient_visit_default"][0] == 1
    load_directory(cfg, write_set(tmp_path / "aug", dict(
        outpatient_visit=[visit(301, visit_time="2025-08-10 10:00:00")])))
    stored = _rows_by_partition(cfg.mart_url, "outpatient_visit")
    assert "outpatient_visit_default" not in stored
    assert stored["outpatient_visit_2025_08"] == (2, "2025-08", "2025-08")


# ---------------------------------------------------------------------------------------- unpartitioned marts
def _plain_facts(url: str) -> None:
    """The fact tables as a mart made before partitioning has them: plain tables."""
    from mart.pg import pg_transaction, to_postgres
    from mart.schema import TABLES, table_ddl
    with pg_transaction(url) as cur:
        for table in PARTITIONED:
            cur.execute(to_postgres(table_ddl(TABLES[table])))


def test_an_unpartitioned_mart_keeps_working_and_moves_to_partitions(tmp_path: Path, pg_schema_url,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from app import cli
    from mart.loader import load_directory
    from tests.engine_fixture import build_fixture_mart
    from tests.test_loader import visit, write_set
    from tests.test_postgres import _export_csv
    files = _export_csv(Path(build_fixture_mart(tmp_path / "fx.duckdb").removeprefix("duckdb:///")),
                        tmp_path / "files")
    duck = Config(data_dir=tmp_path / "duck", mart_url=f"duckdb:///{tmp_path / 'duck' / 'mart.duckdb'}",
                  app_db_url=f"sqlite:///{tmp_path / 'app.db'}", cache_url="")
    load_directory(duck, files)
    cfg = _pg_cfg(tmp_path, pg_schema_url())
    _plain_facts(cfg.mart_url)
    load_directory(cfg, files)                       # loads and reads as before, nothing partitioned
    load_directory(cfg, write_set(tmp_path / "more", dict(outpatient_visit=[
        visit(900, inst_code="H1", dept_code="", doctor_code="", patient_area_code="330100001",
              visit_time="2025-02-03 10:00:00")])))
    load_directory(duck, tmp_path / "more")
    assert {_relkind(cfg.mart_url, t) for t in PARTITIONED} == {"r"}

    def same() -> None:
        for level, grain in (("county", "month"), ("doctor", "quarter")):
            ids = computable_ids(level)
            _same(compute(ids, level, grain, "2024-01", "2025-03", mart_url=duck.mart_url, use_cache=False),
                  compute(ids, level, grain, "2024-01", "2025-03", mart_url=cfg.mart_url, use_cache=False))
    same()
    counts = {t: _rows(cfg.mart_url, f"SELECT count(*) FROM {t}")[0][0] for t in PARTITIONED}
    version = _version(cfg.mart_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MART_URL", cfg.mart_url)
    monkeypatch.setenv("APP_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    result = CliRunner().invoke(cli, ["partition-facts"])
    assert result.exit_code == 0, result.output
    assert "按月分区迁移完成" in result.output
    assert {_relkind(cfg.mart_url, t) for t in PARTITIONED} == {"p"}
    assert {t: _rows(cfg.mart_url, f"SELECT count(*) FROM {t}")[0][0] for t in PARTITIONED} == counts
    assert _rows(cfg.mart_url, f"SELECT count(*) FROM {default_partition('outpatient_visit')}") == [(0,)]
    assert "2025-02" in _partitions(cfg.mart_url, "outpatient_visit")
    assert _version(cfg.mart_url) == version
    same()
    result = CliRunner().invoke(cli, ["partition-facts"])
    assert result.exit_code == 0 and "无需迁移" in result.output
