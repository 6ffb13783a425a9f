"""The mart on a real PostgreSQL server: schema, loader, demo copy, rollups and engine equal DuckDB's.

Needs ``TEST_POSTGRES_URL`` (CI sets it: ``postgresql://postgres@127.0.0.1:5432/test``); skipped otherwise. Every
test module run works in fresh schemas (``CREATE SCHEMA t_<random>``, reached through ``search_path`` in the URL's
``options``) that are dropped afterwards, so runs never see each other's rows.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.config import Config
from mart.schema import AREA_CODE, LOAD_ORDER, TABLES
from metrics.catalogue import computable_ids
from metrics.engine import compute, ranking
from metrics.scope import Scope
from tests.engine_fixture import build_fixture_mart

PG = os.environ.get("TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not PG, reason="TEST_POSTGRES_URL is not set: no PostgreSQL server to test the "
                                               "PostgreSQL mart against (CI sets it, see .ci/run)")

CASES = [("county", "month"), ("county", "quarter"), ("township", "month"), ("township", "quarter"),
         ("institution", "month"), ("institution", "year"), ("department", "quarter"), ("doctor", "month")]


def _admin():
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(PG))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def pg_schema_url() -> Iterator:
    """A factory of fresh schemas on the server; yields ``new() -> url`` and drops every schema at the end."""
    made: list[str] = []

    def new() -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with _admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {name}")
        made.append(name)
        return f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{name}"
    yield new
    from mart.connection import dispose_engines
    dispose_engines()
    conn = _admin()
    try:
        with conn.cursor() as cur:
            for name in made:
                cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        conn.close()


def _pg_cfg(tmp: Path, url: str) -> Config:
    return Config(data_dir=tmp, mart_url=url, app_db_url=f"sqlite:///{tmp / 'app.db'}", cache_url="")


def _rows(url: str, sql: str) -> list[tuple]:
    import psycopg2

    from mart.pg import libpq_dsn
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


NUMERIC = ["numerator", "denominator", "value", "target", "yoy_value", "yoy_change", "mom_value", "mom_change"]


def _same(a: pd.DataFrame, b: pd.DataFrame, exact: bool = True) -> None:
    """Equal frames: same rows, orgs, periods, statuses, flags and notes; numbers to the last bit when ``exact``.

    ``exact=False`` is for marts whose money sums run over thousands of rows: DuckDB and PostgreSQL add doubles in a
    different order, which moves the 15th–16th significant digit (relative 1e-12 seen), never a displayed digit;
    numbers must then agree to 1e-9 relative, everything else exactly.
    """
    assert len(a) > 0
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if exact:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_frame_equal(a.drop(columns=NUMERIC), b.drop(columns=NUMERIC), check_exact=True)
        for col in NUMERIC:
            pd.testing.assert_series_equal(a[col].astype(float), b[col].astype(float), check_exact=False,
                                           rtol=1e-9, atol=0.0)
    assert a.attrs.get("refused") == b.attrs.get("refused")


@pytest.fixture(scope="module")
def fixture_pair(tmp_path_factory: pytest.TempPathFactory, pg_schema_url) -> tuple[str, str]:
    """(DuckDB url, PostgreSQL url) of the hand-made engine fixture, copied to the server with rollups built there."""
    from mart.pg import copy_mart_to_pg
    path = tmp_path_factory.mktemp("pg_fx") / "fx.duckdb"
    duck_url = build_fixture_mart(path)
    pg_url = pg_schema_url()
    copy_mart_to_pg(path, pg_url)
    return duck_url, pg_url


def test_schema_and_rollups_exist_on_the_server(fixture_pair) -> None:
    from mart.rollups import ROLLUP_TABLES
    _duck, pg = fixture_pair
    tables = {r[0] for r in _rows(pg, "SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = current_schema()")}
    assert set(LOAD_ORDER) | set(ROLLUP_TABLES) | {"mart_meta", "load_log", "calendar_month", "v_org"} <= tables
    # rollups were built by the server from the copied facts: same rows as DuckDB's own build
    con = duckdb.connect(_duck.removeprefix("duckdb:///"), read_only=True)
    try:
        for table in ROLLUP_TABLES:
            assert _rows(pg, f"SELECT count(*) FROM {table}")[0][0] == \
                con.execute(f"SELECT count(*) FROM {table}").fetchone()[0], table
    finally:
        con.close()


@pytest.mark.parametrize("level, grain", CASES)
def test_every_indicator_equals_duckdb(fixture_pair, level: str, grain: str) -> None:
    duck, pg = fixture_pair
    ids = computable_ids(level)
    _same(compute(ids, level, grain, "2025-01", "2025-03", mart_url=duck),
          compute(ids, level, grain, "2025-01", "2025-03", mart_url=pg))


def test_hand_worked_values_on_the_server(fixture_pair) -> None:
    from tests.test_engine import PERIOD, E
    _duck, pg = fixture_pair
    results: dict = {}
    for ind, level, p, org, num, den in E:
        grain, label = PERIOD[p]
        if (level, grain) not in results:
            results[(level, grain)] = compute(computable_ids(level), level, grain, "2025-01", "2025-03",
                                              mart_url=pg)
        df = results[(level, grain)]
        row = df[(df.indicator_id == ind) & (df.period == label) & (df.org_code == org)]
        assert len(row) == 1, (ind, level, label, org)
        assert row.iloc[0]["numerator"] == pytest.approx(num), (ind, level, label, org)
        if den is not None:
            assert row.iloc[0]["denominator"] == pytest.approx(den), (ind, level, label, org)


def test_drill_scope_and_ranking_equal_duckdb(fixture_pair) -> None:
    duck, pg = fixture_pair
    manager = Scope(inst_codes=frozenset({"S1"}), aggregates=True, all_institutions=False)
    for kwargs in ({"org": "T2"}, {"org": "H1"}, {"scope": manager}):
        level = "department" if kwargs.get("org") == "H1" else "institution"
        ids = computable_ids(level)
        _same(compute(ids, level, "month", "2025-01", "2025-03", mart_url=duck, **kwargs),
              compute(ids, level, "month", "2025-01", "2025-03", mart_url=pg, **kwargs))
    _same(ranking("op_antibiotic_rate", "quarter", "2025-01", "2025-03", mart_url=duck),
          ranking("op_antibiotic_rate", "quarter", "2025-01", "2025-03", mart_url=pg))


def test_rollups_equal_facts_on_the_server(fixture_pair) -> None:
    """The server's rollups against the facts aggregated on the fly (the DuckDB row projection, translated)."""
    _duck, pg = fixture_pair
    for level, grain in (("county", "month"), ("township", "quarter"), ("doctor", "month")):
        ids = computable_ids(level)
        _same(compute(ids, level, grain, "2025-01", "2025-03", mart_url=pg),
              compute(ids, level, grain, "2025-01", "2025-03", mart_url=pg, from_facts=True))


def test_reads_carry_the_time_limit_and_keep_the_url_options(fixture_pair) -> None:
    from mart.connection import read_df
    _duck, pg = fixture_pair
    assert read_df(pg, "SHOW statement_timeout").iloc[0, 0] == "30s"
    assert read_df(pg, "SELECT current_schema() AS s").iloc[0, 0] == pg.rsplit("%3D", 1)[1]


# --------------------------------------------------------------------------------------------------- loader
# The hand-made engine fixture names its areas C, T1, T2, X99; the contract wants 6/9/12-digit area codes
# (mart.schema.AREA_CODE), so the export gives them real-looking ones (both loads below read the same files).
_AREA_CODES = {"C": "330100", "T1": "330100001", "T2": "330100002", "X99": "330199099"}


def _contract_code(col) -> str:
    if col.pattern != AREA_CODE[0]:
        return col.name
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _AREA_CODES.items())
    return f"CASE {col.name} {cases} ELSE {col.name} END AS {col.name}"


def _export_csv(duck_path: Path, folder: Path) -> Path:
    """Every contract table of a DuckDB mart as ``<table>.csv`` (the data contract's import format)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(duck_path), read_only=True)
    try:
        for name in LOAD_ORDER:
            cols = ", ".join(_contract_code(c) for c in TABLES[name].columns)
            con.execute(f"COPY (SELECT {cols} FROM {name}) TO '{folder / (name + '.csv')}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    return folder


def _counts(url: str) -> dict[str, int]:
    return {name: _rows(url, f"SELECT count(*) FROM {name}")[0][0] for name in LOAD_ORDER + ["r_op_month"]}


def _version(url: str) -> str | None:
    rows = _rows(url, "SELECT value FROM mart_meta WHERE key = 'data_version'")
    return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def loaded_pair(tmp_path_factory: pytest.TempPathFactory, pg_schema_url) -> tuple:
    """The fixture's tables exported as CSV and loaded by the loader into a fresh DuckDB mart and a fresh schema."""
    from mart.loader import load_directory
    tmp = tmp_path_factory.mktemp("pg_load")
    build_fixture_mart(tmp / "src.duckdb")
    files = _export_csv(tmp / "src.duckdb", tmp / "files")
    duck_cfg = Config(data_dir=tmp / "duck", mart_url=f"duckdb:///{tmp / 'duck' / 'mart.duckdb'}",
                      app_db_url=f"sqlite:///{tmp / 'app.db'}", cache_url="")
    pg_cfg = _pg_cfg(tmp, pg_schema_url())
    duck_report = load_directory(duck_cfg, files)
    pg_report = load_directory(pg_cfg, files)
    return duck_cfg, pg_cfg, files, duck_report, pg_report


def test_loader_writes_the_server_like_duckdb(loaded_pair) -> None:
    duck_cfg, pg_cfg, _files, duck_report, pg_report = loaded_pair
    assert pg_report.rows == duck_report.rows
    assert pg_report.rows["outpatient_visit"] == 290
    assert _version(pg_cfg.mart_url) == pg_report.data_version
    assert _rows(pg_cfg.mart_url, "SELECT count(*) FROM load_log")[0][0] == 1
    for level, grain in (("county", "quarter"), ("institution", "month"), ("doctor", "quarter")):
        ids = computable_ids(level)
        _same(compute(ids, level, grain, "2024-01", "2025-03", mart_url=duck_cfg.mart_url),
              compute(ids, level, grain, "2024-01", "2025-03", mart_url=pg_cfg.mart_url))


def test_reload_replaces_by_key_and_bumps_the_version(loaded_pair, tmp_path: Path) -> None:
    from mart.loader import load_directory
    _duck_cfg, pg_cfg, files, _dr, _pr = loaded_pair
    before, version = _counts(pg_cfg.mart_url), _version(pg_cfg.mart_url)
    # the same outpatient rows with a changed cost: replaced, not duplicated; rollups follow
    df = pd.read_csv(files / "outpatient_visit.csv", dtype=str, keep_default_na=False)
    df.loc[df["visit_id"] == df["visit_id"].iloc[0], "total_cost"] = "999.00"
    one = tmp_path / "again"
    one.mkdir()
    df.to_csv(one / "outpatient_visit.csv", index=False)
    (one / "institution.csv").write_text((files / "institution.csv").read_text(encoding="utf-8"), encoding="utf-8")
    report = load_directory(pg_cfg, one)
    assert report.replaced == {"institution": 4, "outpatient_visit": 290}     # as the DuckDB loader counts
    assert _counts(pg_cfg.mart_url) == before
    assert _version(pg_cfg.mart_url) not in (None, version)
    cost = _rows(pg_cfg.mart_url, "SELECT sum(total_cost) FROM r_op_month")[0][0]
    facts = _rows(pg_cfg.mart_url, "SELECT sum(total_cost) FROM outpatient_visit")[0][0]
    assert float(cost) == pytest.approx(float(facts))


def test_bad_file_loads_nothing_on_the_server(loaded_pair, tmp_path: Path) -> None:
    from mart.loader import LoadError, load_directory
    _duck_cfg, pg_cfg, files, _dr, _pr = loaded_pair
    before, version = _counts(pg_cfg.mart_url), _version(pg_cfg.mart_url)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "department.csv").write_text((files / "department.csv").read_text(encoding="utf-8")
                                        + "NEW-1,S1,新科室,general\n", encoding="utf-8")
    df = pd.read_csv(files / "outpatient_visit.csv", dtype=str, keep_default_na=False)
    df.loc[5, "inst_code"] = "NOPE"                       # dangling reference: the whole call is refused
    df.to_csv(bad / "outpatient_visit.csv", index=False)
    with pytest.raises(LoadError) as err:
        load_directory(pg_cfg, bad)
    issue = err.value.errors[0]
    assert issue.column == "inst_code" and issue.value == "NOPE"
    assert _counts(pg_cfg.mart_url) == before              # the valid department file was not loaded either
    assert _version(pg_cfg.mart_url) == version


# ----------------------------------------------------------------------------------------------------- demo
def test_demo_on_the_server_equals_duckdb(demo_cfg, demo_con, pg_schema_url) -> None:
    """The tiny demo copied to the server (as ``python app.py demo`` does with a PostgreSQL MART_URL), rollups
    built by the server: every indicator equals DuckDB's at county and institution level."""
    from mart.pg import copy_mart_to_pg
    from queries.periods import last_complete_month
    pg = pg_schema_url()
    counts = copy_mart_to_pg(demo_con, pg)
    assert counts["outpatient_visit"] > 1000
    end = last_complete_month(demo_cfg.mart_url)
    start = f"{int(end[:4]) - 1}-{end[5:]}"
    assert last_complete_month(pg) == end
    for level, grain in (("county", "month"), ("township", "quarter"), ("institution", "quarter")):
        ids = computable_ids(level)
        _same(compute(ids, level, grain, start, end, mart_url=demo_cfg.mart_url),
              compute(ids, level, grain, start, end, mart_url=pg), exact=False)


# ------------------------------------------------------------------------------------------------------ CLI
def test_demo_and_load_commands_on_a_postgresql_mart(tmp_path: Path, pg_schema_url, loaded_pair,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``python app.py demo`` and ``python app.py load`` with ``MART_URL=postgresql://…``: no code path differs
    for the user; the demo lands on the server with its rollups, a bad load exits 1 and changes nothing."""
    from click.testing import CliRunner

    from app import cli
    url = pg_schema_url()
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MART_URL", url)
    monkeypatch.setenv("APP_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    result = CliRunner().invoke(cli, ["demo", "--scale", "0.003", "--years", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    counts = _counts(url)
    assert counts["outpatient_visit"] > 0 and counts["r_op_month"] > 0
    assert _rows(url, "SELECT sum(visits) FROM r_op_month")[0][0] == counts["outpatient_visit"]
    assert (tmp_path / "geo").is_dir()
    version = _version(url)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "area.csv").write_text("area_code,name,level,parent_code,population\nX1,某镇,city,,100\n",
                                  encoding="utf-8")
    result = CliRunner().invoke(cli, ["load", str(bad), "--quiet"])
    assert result.exit_code == 1 and "level" in result.output
    assert _counts(url) == counts and _version(url) == version
    # the fixture's codes are new here; its lead hospital is not the demo's lead (at most one lead institution)
    good = tmp_path / "good"
    shutil.copytree(loaded_pair[2], good)
    inst = (good / "institution.csv").read_text(encoding="utf-8").splitlines()
    at = inst[0].split(",").index("is_lead")
    inst = [inst[0]] + [",".join(f[:at] + ["0"] + f[at + 1:]) for f in (line.split(",") for line in inst[1:])]
    (good / "institution.csv").write_text("\n".join(inst) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["load", str(good), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _counts(url)["institution"] == counts["institution"] + 4


# ------------------------------------------------------------------------------------------ partial rebuilds
def _pg_rollups(cur) -> dict[str, list[tuple]]:
    """Every rollup table's rows, doubles rounded to 6 places, sorted."""
    from mart.rollups import ROLLUP_TABLES
    out = {}
    for table in ROLLUP_TABLES:
        cur.execute(f"SELECT * FROM {table} LIMIT 0")
        cols = [(d.name, d.type_code) for d in cur.description]
        # type 701 = float8: summation order moves the last bits
        select = ", ".join(f"round({c}::numeric, 6)" if t == 701 else c for c, t in cols)
        cur.execute(f"SELECT {select} FROM {table} ORDER BY {', '.join(str(i + 1) for i in range(len(cols)))}")
        out[table] = cur.fetchall()
    return out


def _assert_pg_rollups_equal_full_rebuild(url: str) -> None:
    """The server's rollups equal a rebuild of everything, done in a transaction that is then rolled back."""
    from mart.pg import build_rollups_pg, pg_transaction

    class _Undo(Exception):
        pass
    with pytest.raises(_Undo):
        with pg_transaction(url) as cur:
            loaded = _pg_rollups(cur)
            build_rollups_pg(cur, None)
            full = _pg_rollups(cur)
            for table in loaded:
                assert loaded[table] == full[table], table
            raise _Undo


def test_partial_loads_on_the_server_rebuild_what_they_change(tmp_path: Path, pg_schema_url) -> None:
    """The PostgreSQL write path follows the DuckDB loader's rules: an admission two months after a discharge
    flags that earlier month's readmission (the month of the admission minus 31 days is rebuilt), a
    department-only load rebuilds nothing (a sentinel row survives), and every rollup equals a full rebuild."""
    from mart.loader import load_directory
    from tests.test_loader import DEPARTMENT, GOOD, discharge, write_set
    cfg = _pg_cfg(tmp_path, pg_schema_url())
    load_directory(cfg, write_set(tmp_path / "base", dict(GOOD, inpatient_discharge=[
        discharge(1, patient_id="P1", admit_time="2025-03-25 10:00:00", discharge_time="2025-03-31 09:00:00")])))
    report = load_directory(cfg, write_set(tmp_path / "readmit", dict(inpatient_discharge=[
        discharge(2, patient_id="P1", admit_time="2025-04-20 10:00:00", discharge_time="2025-05-10 09:00:00")])))
    assert _rows(cfg.mart_url, "SELECT month, sum(readmit31) FROM r_ip_month GROUP BY 1 ORDER BY 1") == \
        [("2025-03", 1), ("2025-05", 0)]
    assert report.months == ["2025-03", "2025-04", "2025-05"]
    _assert_pg_rollups_equal_full_rebuild(cfg.mart_url)
    from mart.pg import pg_transaction
    with pg_transaction(cfg.mart_url) as cur:
        cur.execute("INSERT INTO r_op_month (month, inst_code, visits) VALUES ('2030-01', 'H001', 7)")
    report = load_directory(cfg, write_set(tmp_path / "dept", dict(department=[dict(DEPARTMENT[0], name="内科门诊")])))
    assert report.rollups == {} and report.months == []
    assert _rows(cfg.mart_url, "SELECT visits FROM r_op_month WHERE month = '2030-01'") == [(7,)]
