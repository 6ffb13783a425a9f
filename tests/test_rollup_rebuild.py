"""What a load rebuilds: after any sequence of partial loads every rollup equals a rebuild from scratch, the
31-day readmission flags of earlier months follow new and replaced admissions, and a load leaves alone the rollups
that read none of its tables (real DuckDB marts built by the loader from CSV files)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from core.config import Config
from mart.loader import load_directory
from mart.rollups import (
    COARSE,
    DIMENSION_TABLES,
    READS,
    ROLLUP_TABLES,
    ROW_SQL,
    WHOLE_TABLES,
    build_rollups,
    rebuild_plan,
    rebuild_statements,
)
from tests.test_loader import (
    AREA,
    DEPARTMENT,
    GOOD,
    INSTITUTION,
    STAFF,
    discharge,
    make_cfg,
    visit,
    write_csv,
    write_set,
)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """Every row of a table, doubles rounded to 6 places (summation order moves the last bits), sorted."""
    cols = [(d[0], d[1]) for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    select = ", ".join(f"round({c}, 6)" if str(t) == "DOUBLE" else c for c, t in cols)
    return con.execute(f"SELECT {select} FROM {table} ORDER BY ALL").fetchall()


def assert_rollups_equal_full_rebuild(cfg: Config, tmp: Path) -> None:
    """Every rollup table of the mart equals what a rebuild of everything from the facts gives (on a copy)."""
    copy = tmp / f"full-{len(list(tmp.glob('full-*')))}.duckdb"
    shutil.copyfile(cfg.mart_path, copy)
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    full = duckdb.connect(str(copy))
    try:
        build_rollups(full)
        for table in ROLLUP_TABLES:
            assert _rows(con, table) == _rows(full, table), table
    finally:
        con.close()
        full.close()


def readmissions(cfg: Config) -> dict[str, tuple[int, int]]:
    """month → (readmit31, discharges) from r_ip_month, checked against the facts aggregated on the fly by the
    very projection the engine's fact mode uses (``ROW_SQL``)."""
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        rolled = dict((m, (int(r), int(n))) for m, r, n in con.execute(
            "SELECT month, sum(readmit31), sum(discharges) FROM r_ip_month GROUP BY 1").fetchall())
        facts = dict((m, (int(r), int(n))) for m, r, n in con.execute(
            f"SELECT month, sum(readmit31), sum(discharges) FROM ({ROW_SQL['r_ip_month']}) x GROUP BY 1").fetchall())
    finally:
        con.close()
    assert rolled == facts
    return rolled


def load(cfg: Config, directory: Path, **tables: list[dict[str, str]]):
    return load_directory(cfg, write_set(directory, tables))


# ---------------------------------------------------------------------------------------------------------------


def test_readmission_flag_of_an_earlier_month_follows_new_and_replaced_admissions(tmp_path: Path) -> None:
    """Patient P1 discharged 2025-03-31; an admission on 2025-04-20 (discharged 2025-05-10) makes March's
    discharge a 31-day readmission although the new row lies in May, two months later; moving that admission
    to June takes the flag away again (the old row's admission decides which months change)."""
    cfg = make_cfg(tmp_path)
    load(cfg, tmp_path / "base", **GOOD, inpatient_discharge=[
        discharge(1, patient_id="P1", admit_time="2025-03-25 10:00:00", discharge_time="2025-03-31 09:00:00"),
        discharge(2, patient_id="P2")])
    assert readmissions(cfg) == {"2025-03": (0, 2)}
    again = discharge(3, patient_id="P1", admit_time="2025-04-20 10:00:00", discharge_time="2025-05-10 09:00:00")
    report = load(cfg, tmp_path / "readmit", inpatient_discharge=[again])
    assert readmissions(cfg) == {"2025-03": (1, 2), "2025-05": (0, 1)}
    assert report.months == ["2025-03", "2025-04", "2025-05"]
    assert_rollups_equal_full_rebuild(cfg, tmp_path)
    moved = dict(again, admit_time="2025-06-20 10:00:00", discharge_time="2025-06-25 09:00:00")
    load(cfg, tmp_path / "moved", inpatient_discharge=[moved])
    assert readmissions(cfg) == {"2025-03": (0, 2), "2025-06": (0, 1)}
    assert_rollups_equal_full_rebuild(cfg, tmp_path)


def test_explicit_months_rebuild_covers_the_readmissions_their_admissions_make(tmp_path: Path) -> None:
    """``build_rollups(con, months)`` without table information (older callers, tests): rows inserted into the
    given months also refresh the readmission flags of the months their admissions reach back to."""
    cfg = make_cfg(tmp_path)
    load(cfg, tmp_path / "base", **GOOD, inpatient_discharge=[
        discharge(1, patient_id="P1", admit_time="2025-03-25 10:00:00", discharge_time="2025-03-31 09:00:00")])
    con = duckdb.connect(str(cfg.mart_path))
    try:
        con.execute("INSERT INTO inpatient_discharge SELECT * REPLACE ('IP9' AS discharge_id, "
                    "TIMESTAMP '2025-04-20 10:00:00' AS admit_time, TIMESTAMP '2025-05-10 09:00:00' AS discharge_time) "
                    "FROM inpatient_discharge WHERE discharge_id = 'IP000001'")
        plan = build_rollups(con, ["2025-05"])
    finally:
        con.close()
    assert readmissions(cfg)["2025-03"] == (1, 1)
    assert plan["r_ip_month"] == ["2025-03", "2025-04", "2025-05"]


def _more_tables() -> dict[str, list[dict[str, str]]]:
    """Rows of the remaining fact and registration tables, all resolving against GOOD's dimensions."""
    return dict(
        outside_settlement=[dict(settlement_id="OS1", settle_date="2025-03-05", patient_id="P00001",
                                 patient_area_code="330100101", setting="inpatient", hospital_name="省人民医院",
                                 total_cost="18000.00", insurance_paid="10800.00", referral_id=""),
                            dict(settlement_id="OS2", settle_date="2025-04-11", patient_id="P00002",
                                 patient_area_code="999999", setting="outpatient", hospital_name="市医院",
                                 total_cost="300.00", insurance_paid="100.00", referral_id="RF1")],
        referral=[dict(referral_id="RF1", direction="up", from_inst_code="T003", to_inst_code="H001",
                       to_outside_name="", patient_id="P00002", patient_area_code="330100102",
                       setting="inpatient", request_time="2025-03-01 09:00:00", respond_time="2025-03-01 11:20:00",
                       status="completed", diagnosis_code="I21.9")],
        lab_order=[dict(order_id="LB1", order_time="2025-03-01 08:40:00", collect_time="2025-03-01 08:55:00",
                        report_time="2025-03-01 10:10:00", ordering_inst_code="T003", performing_inst_code="H001",
                        category="biochem", is_emergency="0", is_critical="1",
                        critical_notified_time="2025-03-01 10:20:00")],
        chronic_patient=[dict(patient_id="P00001", area_code="330100101", managing_inst_code="T003",
                              disease="hypertension", registered_date="2024-06-01", deregistered_date="",
                              is_standard_managed="1", is_controlled="1"),
                         dict(patient_id="P00003", area_code="330100102", managing_inst_code="T003",
                              disease="diabetes", registered_date="2025-03-15", deregistered_date="",
                              is_standard_managed="0", is_controlled="1")],
        posting=[dict(staff_code="D00012", from_inst_code="H001", to_inst_code="T003", start_date="2025-01-01",
                      end_date="", kind="long_term")],
        inpatient_discharge=[discharge(1, patient_id="P00001"),
                             discharge(2, patient_id="P00001", admit_time="2025-03-20 10:00:00",
                                       discharge_time="2025-04-02 09:00:00")],
    )


def test_any_sequence_of_partial_loads_equals_a_full_rebuild(tmp_path: Path) -> None:
    """Loads of every kind — facts in new and old months, rows moved between months, dimensions the rollups
    join (area → residence; institution, staff → postings), dimensions they do not (department), registrations,
    a growing calendar — each leave every rollup table equal to a rebuild of everything from the facts."""
    cfg = make_cfg(tmp_path)
    steps: list[tuple[str, dict[str, list[dict[str, str]]]]] = [
        ("base", dict(GOOD)),
        ("more", _more_tables()),
        # a visit from a township the mart does not know yet: a non-resident until the area arrives
        ("stranger", dict(outpatient_visit=[visit(20, patient_area_code="330100103"),
                                            visit(21, visit_time="2025-06-03 09:00:00")])),
        ("moved", dict(outpatient_visit=[dict(VISIT, visit_time="2025-02-27 23:59:00", total_cost="300.00")
                                         for VISIT in GOOD["outpatient_visit"][:2]])),
        ("department", dict(department=DEPARTMENT + [dict(DEPARTMENT[0], dept_code="H001-WK", name="外科")])),
        ("staff", dict(staff=[dict(STAFF[0], title="junior")])),
        ("area", dict(area=AREA + [dict(AREA[2], area_code="330100103", name="西岭乡")])),
        ("institution", dict(institution=[dict(INSTITUTION[1], level="county")])),
        ("chronic", dict(chronic_patient=[dict(_more_tables()["chronic_patient"][0], deregistered_date="2025-03-10")])),
        ("inpatient", dict(inpatient_discharge=[discharge(2, patient_id="P00001", admit_time="2025-05-01 10:00:00",
                                                          discharge_time="2025-05-04 09:00:00")])),
        # a long stay admitted in March, discharged in May: March's discharge becomes a readmission
        ("long stay", dict(inpatient_discharge=[discharge(3, patient_id="P00001", admit_time="2025-03-30 10:00:00",
                                                          discharge_time="2025-05-20 09:00:00")])),
        ("settlement", dict(outside_settlement=[dict(_more_tables()["outside_settlement"][0],
                                                     settle_date="2025-07-01")])),
        ("resource", dict(resource_month=[dict(GOOD["resource_month"][0], month="2025-08", open_beds="600")])),
    ]
    for name, tables in steps:
        load(cfg, tmp_path / name, **tables)
        try:
            assert_rollups_equal_full_rebuild(cfg, tmp_path)
        except AssertionError as exc:
            raise AssertionError(f"after load {name!r}: {exc}") from exc


def _sentinels(cfg: Config) -> dict[str, int]:
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t} WHERE {where}").fetchone()[0] for t, where in (
            ("r_op_month", "month = '2030-01'"), ("r_op_month_inst", "month = '2030-01'"),
            ("r_inst_day", "day = DATE '2030-01-01'"), ("r_inst_month", "month = '2030-01'"),
            ("r_chronic_month", "month = '2030-01'"))}
    finally:
        con.close()


def test_a_load_leaves_the_rollups_that_read_none_of_its_tables(tmp_path: Path) -> None:
    """Sentinel rows planted in months no load touches survive a department-only load (which rebuilds nothing)
    and an outpatient load of March (which rebuilds March of the outpatient and completeness rollups only)."""
    cfg = make_cfg(tmp_path)
    load(cfg, tmp_path / "base", **GOOD)
    con = duckdb.connect(str(cfg.mart_path))
    con.execute("INSERT INTO r_op_month (month, inst_code, visits) VALUES ('2030-01', 'H001', 7)")
    con.execute("INSERT INTO r_op_month_inst (month, inst_code, visits) VALUES ('2030-01', 'H001', 7)")
    con.execute("INSERT INTO r_inst_day VALUES (DATE '2030-01-01', 'H001', 'outpatient_visit', 7)")
    con.execute("INSERT INTO r_inst_month VALUES ('2030-01', 'H001', 'outpatient_visit', 7, 1)")
    con.execute("INSERT INTO r_chronic_month VALUES ('2030-01', '330100101', 'T003', 'diabetes', 7, 7, 7)")
    con.close()
    planted = _sentinels(cfg)
    assert set(planted.values()) == {1}
    report = load(cfg, tmp_path / "dept", department=[dict(DEPARTMENT[0], name="内科门诊")])
    assert _sentinels(cfg) == planted
    assert report.rollups == {} and report.months == []
    report = load(cfg, tmp_path / "visits", outpatient_visit=[visit(30)])
    assert _sentinels(cfg) == planted
    assert report.months == ["2025-03"]
    assert set(report.rollups) == {"r_op_month", *[t for t, (f, _k) in COARSE.items() if f == "r_op_month"],
                                   *DIMENSION_TABLES["r_op_month"].values(), "r_op_day", "r_inst_day",
                                   "r_inst_month"}
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        assert con.execute("SELECT sum(visits) FROM r_op_month WHERE month = '2025-03'").fetchone()[0] == 6
        assert con.execute("SELECT sum(n) FROM r_inst_day WHERE source = 'outpatient_visit' "
                           "AND day < DATE '2030-01-01'").fetchone()[0] == 7
    finally:
        con.close()


def test_plan_by_changed_tables() -> None:
    """The rules themselves: a dimension a rollup joins rebuilds all its months, a fact only the given months,
    anything else nothing; without table information the old contract holds (None = everything)."""
    plan = rebuild_plan(["2025-03"], {"area"})
    assert {t for t, m in plan.items() if m is None} == {"r_op_month", "r_ip_month", "r_os_month",
                                                         "r_os_day", *COARSE,
                                                         *[t for tables in DIMENSION_TABLES.values()
                                                           for t in tables.values()]}
    assert rebuild_plan(["2025-03"], {"department"}) == {}
    plan = rebuild_plan(["2025-03"], {"lab_order"})
    assert plan == {"r_lab_month": ["2025-03"], "r_lab_day": ["2025-03"], "r_inst_day": ["2025-03"],
                    "r_inst_month": ["2025-03"]}
    assert set(rebuild_plan(["2025-03"], {"calendar_month"})) == {"r_chronic_month", "r_posting_month"}
    assert rebuild_plan(["2025-03"], {"chronic_patient"})["r_chronic_hosp"] is None
    assert all(m is None for m in rebuild_plan().values()) and set(rebuild_plan()) == set(ROLLUP_TABLES)
    legacy = rebuild_plan(["2025-03"])
    assert legacy["r_op_month"] == ["2025-03"] and all(legacy[t] is None for t in WHOLE_TABLES)
    assert rebuild_plan(["2025-03"], {"department"}, missing=["r_op_month_doc"]) == {"r_op_month_doc": None}


# a table after FROM/JOIN; not a column of EXTRACT(YEAR FROM v.visit_time)
_NAME = re.compile(r"\b(?:FROM|JOIN)\s+([a-z_]+)(?![a-z_.])", re.IGNORECASE)


def test_declared_reads_are_the_tables_the_sql_reads() -> None:
    """``READS`` drives what a load rebuilds, so it must name exactly the tables each rollup's SQL reads
    (calendar_month excepted where only its fixed rows are joined: see the comment on READS), directly or through
    another rollup."""
    for table in ROLLUP_TABLES:
        if table in COARSE:
            assert READS[table] == READS[COARSE[table][0]]
            continue
        sql = ROW_SQL[table] if table in ROW_SQL else " ".join(rebuild_statements(table, None))
        names = set(_NAME.findall(sql)) - {table}
        read = names - set(ROLLUP_TABLES)
        for other in names & set(ROLLUP_TABLES):         # r_inst_month sums r_inst_day: it reads what that reads
            read |= READS[other].by_month | READS[other].whole
        declared = READS[table].by_month | READS[table].whole
        if table == "r_res_month":
            declared = declared | {"calendar_month"}
        assert read == declared, table


def test_tab_separated_and_upper_case_file_names(tmp_path: Path) -> None:
    """A tab- or semicolon-separated file is read with its delimiter (sniffed from the header, said in the report;
    mart/readers.py); Department.CSV is department.csv."""
    cfg = make_cfg(tmp_path)
    load(cfg, tmp_path / "base", **GOOD)
    for sep, word in (("\t", "tab"), (";", "semicolon")):
        bad = tmp_path / f"sep{ord(sep)}"
        bad.mkdir()
        cols = ["dept_code", "inst_code", "name", "category"]
        (bad / "department.csv").write_text(sep.join(cols) + "\n" + sep.join(DEPARTMENT[0][c] for c in cols)
                                            + "\n", encoding="utf-8")
        report = load_directory(cfg, bad)
        assert report.rows == {"department": 1} and any(word in w for w in report.warnings), report.warnings
    upper = tmp_path / "upper"
    write_csv(upper, "department", [dict(DEPARTMENT[0], name="大写文件名")]).rename(upper / "Department.CSV")
    report = load_directory(cfg, upper)
    assert report.rows == {"department": 1} and not report.warnings
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        assert con.execute("SELECT name FROM department WHERE dept_code = 'H001-NK'").fetchone()[0] == "大写文件名"
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_times_with_an_offset_are_stored_as_county_wall_time(tmp_path: Path, fmt: str) -> None:
    """12:15+08:00 is 12:15 in the county whatever the server's zone; 23:30Z is 07:30 the next day (and month)
    there. Parquet TIMESTAMP WITH TIME ZONE columns and CSV text with an offset are read alike; a naive time is
    local time as it was."""
    cfg = make_cfg(tmp_path)
    load(cfg, tmp_path / "base", **{t: r for t, r in GOOD.items() if t != "outpatient_visit"})
    rows = [visit(1, visit_time="2025-03-01 12:15:00+08:00"), visit(2, visit_time="2025-03-31T23:30:00Z"),
            visit(3, visit_time="2025-03-05 08:00:00"), visit(4, visit_time="2025-03-10 09:00+0800"),
            visit(5, visit_time="2025-03-10 09:00:00.5-05")]
    files = write_set(tmp_path / "csv", dict(outpatient_visit=rows))
    if fmt == "parquet":
        pq = tmp_path / "pq"
        pq.mkdir()
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")        # the server's zone must not matter
        con.execute(f"COPY (SELECT * REPLACE (CAST(visit_time AS TIMESTAMPTZ) AS visit_time) FROM read_csv("
                    f"'{files / 'outpatient_visit.csv'}', header = true, all_varchar = true) WHERE visit_id <> "
                    f"'OP000003') TO '{pq / 'outpatient_visit.parquet'}' (FORMAT parquet)")
        assert "TIME ZONE" in con.execute(f"DESCRIBE SELECT visit_time FROM '{pq}/outpatient_visit.parquet'"
                                          ).fetchone()[1]
        con.close()
        files = pq
    report = load_directory(cfg, files)
    assert "2025-04" in report.months
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        got = dict(con.execute("SELECT visit_id, strftime(visit_time, '%Y-%m-%d %H:%M') FROM outpatient_visit"
                               ).fetchall())
    finally:
        con.close()
    assert got["OP000001"] == "2025-03-01 12:15" and got["OP000002"] == "2025-04-01 07:30"
    assert got["OP000004"] == "2025-03-10 09:00" and got["OP000005"] == "2025-03-10 22:00"
    if fmt == "csv":
        assert got["OP000003"] == "2025-03-05 08:00"
    assert_rollups_equal_full_rebuild(cfg, tmp_path)


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    import dataclasses

    from mart.loader import LoadError
    cfg = dataclasses.replace(make_cfg(tmp_path), mart_timezone="Asia/Nowhere")
    with pytest.raises(LoadError) as err:
        load(cfg, tmp_path / "base", **GOOD)
    assert "MART_TIMEZONE" in str(err.value) and "Asia/Nowhere" in str(err.value)


def test_rollup_specs_declare_exactly_the_row_projection_columns() -> None:
    """Each RollupSpec's keys and measures are the columns of its row projection, in order (DuckDB plans it)."""
    import duckdb

    from mart.db import ensure_schema
    from mart.rollups import SPECS, _ensure_tables
    con = duckdb.connect()
    ensure_schema(con)
    _ensure_tables(con)
    for table, spec in SPECS.items():
        cols = [d[0] for d in con.execute(f"SELECT * FROM ({spec.row_sql}) x LIMIT 0").description]
        assert cols == [*spec.keys, *spec.measures], table
        assert [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description] == cols, table
