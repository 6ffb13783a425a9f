"""The validated atomic loader against real DuckDB files built from small hand-written CSV/Parquet fixtures."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Config
from mart.loader import MAX_ISSUES, LoadError, LoadIssue, load_directory
from mart.loader_cli import load_command
from mart.schema import TABLES

AREA = [
    dict(area_code="330100", name="示例县", level="county", parent_code="", population="300000"),
    dict(area_code="330100101", name="城关镇", level="township", parent_code="330100", population="21500"),
    dict(area_code="330100102", name="东溪乡", level="township", parent_code="330100", population="9800"),
]
INSTITUTION = [
    dict(inst_code="H001", name="县总医院", inst_type="general_hospital", level="county", area_code="330100101",
         parent_inst_code="", is_lead="1", approved_beds="600", lon="119.65", lat="29.08"),
    dict(inst_code="T003", name="东溪卫生院", inst_type="township_center", level="township", area_code="330100102",
         parent_inst_code="", is_lead="0", approved_beds="40", lon="", lat=""),
]
DEPARTMENT = [dict(dept_code="H001-NK", inst_code="H001", name="内科", category="internal")]
STAFF = [dict(staff_code="D00012", name="张医生", inst_code="H001", dept_code="H001-NK", role="doctor",
              title="intermediate", is_gp="0")]


def visit(i: int, **over: str) -> dict[str, str]:
    row = dict(visit_id=f"OP{i:06d}", visit_time=f"2025-03-{1 + i % 28:02d} 08:{i % 60:02d}:00", inst_code="H001",
               dept_code="H001-NK", doctor_code="D00012", patient_id=f"P{i:05d}", patient_area_code="330100101",
               is_insured="1", is_emergency="0", is_tcm="0", diagnosis_code="J06.9", total_cost="186.50",
               drug_cost="72.30", material_cost="5.00", insurance_paid="90.00", has_antibiotic="0")
    row.update(over)
    return row


VISITS = [visit(i) for i in range(1, 6)] + [visit(6, visit_time="2025-04-02T10:15", inst_code="T003", dept_code="",
                                                  doctor_code="", total_cost="12", drug_cost="0", material_cost="0",
                                                  insurance_paid="0")]
RESOURCE = [dict(month="2025-03", inst_code="H001", open_beds="580", occupied_bed_days="14900", doctors="210",
                 nurses="300", gps="12", ecg_devices="8", medical_revenue="28500000.00",
                 medical_service_revenue="9800000.00", personnel_expense="10200000.00",
                 business_expense="27100000.00", paid_staff="720")]
GOOD = dict(area=AREA, institution=INSTITUTION, department=DEPARTMENT, staff=STAFF, outpatient_visit=VISITS,
            resource_month=RESOURCE)


def write_csv(directory: Path, table: str, rows: list[dict[str, str]], columns: list[str] | None = None,
              encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    columns = columns or TABLES[table].column_names
    path = directory / f"{table}.csv"
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_set(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    for table, rows in tables.items():
        write_csv(directory, table, rows)
    return directory


def make_cfg(tmp: Path) -> Config:
    return Config(data_dir=tmp, mart_url=f"duckdb:///{tmp / 'mart.duckdb'}", app_db_url=f"sqlite:///{tmp / 'app.db'}",
                  cache_url="")


def snapshot(cfg: Config) -> dict[str, tuple]:
    """Row count and an order-independent content checksum of every contract table, plus the meta tables."""
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        out = {t: con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} t").fetchone() for t in TABLES}
        out["load_log"] = con.execute("SELECT count(*) FROM load_log").fetchone()
        out["mart_meta"] = con.execute("SELECT count(*), sum(hash(m)) FROM mart_meta m").fetchone()
        return out
    finally:
        con.close()


def query(cfg: Config, sql: str) -> list[tuple]:
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture()
def loaded(tmp_path: Path) -> Config:
    """A mart holding the good fixture set."""
    cfg = make_cfg(tmp_path)
    load_directory(cfg, write_set(tmp_path / "good", GOOD))
    return cfg


def reject(cfg: Config, directory: Path) -> LoadError:
    """Load must fail and leave the mart exactly as it was."""
    before = snapshot(cfg)
    with pytest.raises(LoadError) as info:
        load_directory(cfg, directory)
    assert snapshot(cfg) == before
    return info.value


def find(err: LoadError, **want: object) -> LoadIssue:
    """The first issue whose fields equal ``want`` (``reason`` matches as a substring)."""
    reason = want.pop("reason", None)
    for issue in err.errors:
        if all(getattr(issue, k) == v for k, v in want.items()) and (reason is None or reason in issue.reason):
            return issue
    raise AssertionError(f"no issue {want} {reason!r} in:\n{err.message()}")


# ---------------------------------------------------------------------------------------------------------------


def test_good_set_loads_with_right_counts(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    report = load_directory(cfg, write_set(tmp_path / "good", GOOD))
    assert report.rows == {t: len(rows) for t, rows in GOOD.items()}
    assert report.months is None  # dimensions were loaded: every rollup month is rebuilt
    counts = {t: query(cfg, f"SELECT count(*) FROM {t}")[0][0] for t in GOOD}
    assert counts == {t: len(rows) for t, rows in GOOD.items()}
    # values arrive typed: money as decimals, times parsed from both ISO spellings, empty optional → NULL
    row = query(cfg, "SELECT visit_time, total_cost, dept_code FROM outpatient_visit WHERE visit_id = 'OP000006'")[0]
    assert str(row[0]) == "2025-04-02 10:15:00" and str(row[1]) == "12.00" and row[2] is None
    assert query(cfg, "SELECT parent_code FROM area WHERE level = 'county'") == [(None,)]
    log = query(cfg, "SELECT tables, rows_loaded FROM load_log")
    assert log == [(",".join(f"{t}={len(GOOD[t])}" for t in report.rows), sum(len(r) for r in GOOD.values()))]
    assert query(cfg, "SELECT value FROM mart_meta WHERE key = 'data_version'") == [(report.data_version,)]
    assert {"2025-03", "2025-04"} <= {r[0] for r in query(cfg, "SELECT month FROM calendar_month")}


def test_facts_resolve_references_already_in_the_mart(loaded: Config, tmp_path: Path) -> None:
    report = load_directory(loaded, write_set(tmp_path / "more", {"outpatient_visit": [visit(100), visit(101)]}))
    assert report.rows == {"outpatient_visit": 2}
    assert report.months == ["2025-03"]
    assert query(loaded, "SELECT count(*) FROM outpatient_visit")[0][0] == len(VISITS) + 2


def test_reload_replaces_rows_by_key(loaded: Config, tmp_path: Path) -> None:
    changed = [dict(v, total_cost="200.00") for v in VISITS[:3]]
    changed[0]["visit_time"] = "2025-05-10 09:00:00"   # a row that moves from March to May
    report = load_directory(loaded, write_set(tmp_path / "again", {"outpatient_visit": changed}))
    assert report.replaced == {"outpatient_visit": 3}
    assert report.months == ["2025-03", "2025-05"]      # the old month of the moved row is rebuilt too
    assert query(loaded, "SELECT count(*), count(DISTINCT visit_id) FROM outpatient_visit") == \
        [(len(VISITS), len(VISITS))]
    assert query(loaded, "SELECT total_cost FROM outpatient_visit WHERE visit_id = 'OP000001'")[0][0] == 200
    # loading the very same set twice changes nothing but the log
    before = snapshot(loaded)
    load_directory(loaded, tmp_path / "again")
    after = snapshot(loaded)
    assert {t: v for t, v in after.items() if t in TABLES} == {t: v for t, v in before.items() if t in TABLES}
    assert after["load_log"][0] == before["load_log"][0] + 1


def test_reload_replaces_in_a_mart_without_key_constraints(tmp_path: Path) -> None:
    """A mart whose fact table was created without a PRIMARY KEY still ends with one row per key."""
    from mart.schema import table_ddl
    cfg = make_cfg(tmp_path)
    con = duckdb.connect(str(cfg.mart_path))
    con.execute(table_ddl(TABLES["outpatient_visit"]).replace(",\n  PRIMARY KEY (visit_id)", ""))
    con.close()
    load_directory(cfg, write_set(tmp_path / "good", GOOD))
    changed = [dict(v, total_cost="300.00") for v in VISITS[:2]]
    report = load_directory(cfg, write_set(tmp_path / "again", {"outpatient_visit": changed}))
    assert report.replaced == {"outpatient_visit": 2}
    assert query(cfg, "SELECT count(*), count(DISTINCT visit_id), count(*) FILTER (WHERE total_cost = 300) "
                      "FROM outpatient_visit") == [(len(VISITS), len(VISITS), 2)]


def test_missing_required_column(loaded: Config, tmp_path: Path) -> None:
    cols = [c for c in TABLES["outpatient_visit"].column_names if c != "total_cost"]
    write_csv(tmp_path / "bad", "outpatient_visit", [visit(50)], columns=cols)
    err = reject(loaded, tmp_path / "bad")
    find(err, file="outpatient_visit.csv", row=None, column="total_cost", reason="missing required column")


def test_extra_unknown_column_is_a_warning_and_loads(loaded: Config, tmp_path: Path) -> None:
    cols = TABLES["outpatient_visit"].column_names + ["remark"]
    write_csv(tmp_path / "extra", "outpatient_visit", [dict(visit(60), remark="x")], columns=cols)
    report = load_directory(loaded, tmp_path / "extra")
    assert report.rows == {"outpatient_visit": 1}
    assert any("remark" in w and "unknown column" in w for w in report.warnings)


@pytest.mark.parametrize("table, rows, row, column, value, reason", [
    ("outpatient_visit", [visit(50), visit(51, visit_time="2025-02-30 10:00")], 2, "visit_time", "2025-02-30 10:00",
     "ISO 8601"),
    ("outpatient_visit", [visit(50, visit_time="2025/03/01 10:00")], 1, "visit_time", "2025/03/01 10:00", "ISO 8601"),
    ("outpatient_visit", [visit(50, total_cost="-5.00", drug_cost="0", material_cost="0", insurance_paid="0")], 1,
     "total_cost", "-5.00", "negative"),
    ("outpatient_visit", [visit(50, drug_cost="1.234")], 1, "drug_cost", "1.234", "2 decimals"),
    ("outpatient_visit", [visit(50, is_insured="2")], 1, "is_insured", "2", "0 or 1"),
    ("outpatient_visit", [visit(50, patient_id="  ")], 1, "patient_id", None, "required"),
    ("institution", INSTITUTION + [dict(INSTITUTION[1], inst_code="T009", inst_type="hospital")], 3, "inst_type",
     "hospital", "not one of"),
    ("outpatient_visit", [visit(50), visit(51), visit(52, visit_id="OP000050")], 3, "visit_id", "OP000050",
     "duplicate key"),
    ("outpatient_visit", [visit(50, inst_code="H999")], 1, "inst_code", "H999", "dangling reference"),
    ("outpatient_visit", [visit(50, doctor_code="D404")], 1, "doctor_code", "D404", "staff.staff_code"),
    ("resource_month", [dict(RESOURCE[0], month="2025-3")], 1, "month", "2025-3", "YYYY-MM"),
    ("resource_month", [dict(RESOURCE[0], open_beds="12.5")], 1, "open_beds", "12.5", "whole number"),
    ("outpatient_visit", [visit(50, drug_cost="500.00")], 1, None, None, "drug_cost + material_cost <= total_cost"),
])
def test_bad_cell_is_rejected_and_named(loaded: Config, tmp_path: Path, table: str, rows: list, row: int,
                                        column: str | None, value: str | None, reason: str) -> None:
    write_csv(tmp_path / "bad", table, rows)
    err = reject(loaded, tmp_path / "bad")
    issue = find(err, file=f"{table}.csv", row=row, column=column, reason=reason)
    assert issue.value == value
    assert f"data row {row}" in str(issue)


def test_numbers_beyond_their_type_say_out_of_range(loaded: Config, tmp_path: Path) -> None:
    """A well-formed number too large for its column's type names the allowed maximum instead of a format hint."""
    write_csv(tmp_path / "big", "area", AREA[:1] + [dict(AREA[1], population="99999999999"),
                                                    dict(AREA[2], population="-99999999999")])
    write_csv(tmp_path / "big", "outpatient_visit", [visit(40, total_cost="1e15"),
                                                     visit(41, total_cost="1000000000000.00"),
                                                     visit(42, total_cost="12.345")])
    err = reject(loaded, tmp_path / "big")
    find(err, file="area.csv", row=2, column="population", value="99999999999",
         reason="超出范围, 最大 2147483647 (out of range: at most 2147483647)")
    find(err, file="area.csv", row=3, column="population", reason="must not be negative")
    find(err, file="outpatient_visit.csv", row=1, column="total_cost", value="1e15",
         reason="out of range: at most 999999999999.99")
    find(err, file="outpatient_visit.csv", row=2, column="total_cost", reason="out of range: at most 999999999999.99")
    find(err, file="outpatient_visit.csv", row=3, column="total_cost", reason="at most 2 decimals")


def test_every_malformed_csv_line_is_reported(loaded: Config, tmp_path: Path) -> None:
    """Not only the first bad line: each ragged or badly quoted line, with its text."""
    path = write_csv(tmp_path / "rag", "department", DEPARTMENT)
    path.write_text(path.read_text(encoding="utf-8") + "H001-WK,H001\nH001-EK,H001,儿科,pediatrics\n"
                    "H001-FK,H001,妇科,obstetrics,extra\nH001-ZK,H001,中医科,tcm\nH001-YK,H001,\"眼科,other\n",
                    encoding="utf-8")
    err = reject(loaded, tmp_path / "rag")
    assert [e.row for e in err.errors] == [2, 4, 6] and err.total == 3, err.message()
    assert err.errors[0].value == "H001-WK,H001" and "列数不足" in err.errors[0].reason
    assert "列数过多" in err.errors[1].reason and "malformed CSV" in err.errors[2].reason


def test_a_failed_check_shows_the_values_it_compared(loaded: Config, tmp_path: Path) -> None:
    write_csv(tmp_path / "rule", "outpatient_visit", [visit(50, drug_cost="500.00")])
    err = reject(loaded, tmp_path / "rule")
    issue = find(err, row=1, reason="drug_cost + material_cost <= total_cost")
    assert "drug_cost=500.00, material_cost=5.00, total_cost=186.50" in issue.reason, issue.reason


def discharge(i: int, **over: str) -> dict[str, str]:
    row = dict(discharge_id=f"IP{i:06d}", admit_time="2025-03-01 10:00:00", discharge_time="2025-03-05 09:30:00",
               inst_code="H001", dept_code="H001-NK", doctor_code="D00012", patient_id=f"P{i:05d}",
               patient_area_code="330100101", is_insured="1", diagnosis_code="I63.9", bed_days="4",
               surgery_level="0", is_minimally_invasive="0", is_low_risk="0", outcome="improved",
               total_cost="6400.00", drug_cost="1900.00", material_cost="900.00", insurance_paid="4200.00",
               has_antibiotic="1", antibiotic_ddd="5.5")
    row.update(over)
    return row


def test_faults_of_a_wide_table_span_packed_words(loaded: Config, tmp_path: Path) -> None:
    """inpatient_discharge has 21 columns: its last column's fault code sits in a second packed word."""
    assert len(TABLES["inpatient_discharge"].columns) > 20
    rows = [discharge(1), discharge(2, antibiotic_ddd="-1"), discharge(3, discharge_id="  ", antibiotic_ddd="x"),
            discharge(4, surgery_level="5"), discharge(5, discharge_time="2025-02-01 09:00:00"), discharge(6)]
    write_csv(tmp_path / "wide", "inpatient_discharge", rows)
    err = reject(loaded, tmp_path / "wide")
    f = "inpatient_discharge.csv"
    find(err, file=f, row=2, column="antibiotic_ddd", value="-1", reason="negative")
    find(err, file=f, row=3, column="discharge_id", reason="required")
    find(err, file=f, row=3, column="antibiotic_ddd", value="x", reason="number")
    find(err, file=f, row=4, column="surgery_level", value="5", reason="above maximum")
    find(err, file=f, row=5, column=None, reason="discharge_time >= admit_time")
    assert err.total == 5, err.message()
    # the same rows without faults load: every packed word reads clean
    write_csv(tmp_path / "wide_ok", "inpatient_discharge", [discharge(i) for i in range(1, 7)])
    assert load_directory(loaded, tmp_path / "wide_ok").rows == {"inpatient_discharge": 6}


def test_wrong_encoding_forced(loaded: Config, tmp_path: Path) -> None:
    """A GBK file read as UTF-8 because --encoding says so is refused, naming the first bad row (GBK itself is
    detected: tests/test_loader_inputs.py)."""
    from mart.readers import ReadOptions
    write_csv(tmp_path / "gbk", "area", AREA, encoding="gbk")
    before = snapshot(loaded)
    with pytest.raises(LoadError) as info:
        load_directory(loaded, tmp_path / "gbk", options=ReadOptions(encoding="utf-8"))
    issue = find(info.value, file="area.csv", reason="utf-8")
    assert issue.row == 1  # 示例县 is on the first data row
    assert snapshot(loaded) == before


@pytest.mark.parametrize("content", [b"", b"\n", ",".join(TABLES["area"].column_names).encode() + b"\n"])
def test_empty_file(loaded: Config, tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "area.csv").write_bytes(content)
    err = reject(loaded, tmp_path / "empty")
    find(err, file="area.csv", row=None, reason="empty file" if content.strip() == b"" else "no data rows")


def test_ragged_csv_line_is_reported(loaded: Config, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rag", "department", DEPARTMENT)
    path.write_text(path.read_text(encoding="utf-8") + "H001-WK,H001\n", encoding="utf-8")
    err = reject(loaded, tmp_path / "rag")
    find(err, file="department.csv", row=2, reason="malformed CSV")


def test_no_recognised_file_and_unknown_names(loaded: Config, tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "visits.csv").write_text("a\n1\n", encoding="utf-8")
    err = reject(loaded, tmp_path / "none")
    assert "no <table>.csv|parquet" in err.errors[0].reason
    assert any("visits.csv" in w for w in err.warnings)
    # an unknown file beside a good one is only a warning
    write_csv(tmp_path / "none", "department", DEPARTMENT)
    report = load_directory(loaded, tmp_path / "none")
    assert report.rows == {"department": 1} and any("visits.csv" in w for w in report.warnings)


def test_multiple_errors_in_several_files_are_reported_together(loaded: Config, tmp_path: Path) -> None:
    bad = tmp_path / "multi"
    write_csv(bad, "outpatient_visit", [visit(70, total_cost="abc"), visit(71, inst_code="NOPE"),
                                        visit(72, is_tcm="x")])
    write_csv(bad, "department", [dict(DEPARTMENT[0], dept_code="H001-ER", inst_code="X1")])
    write_csv(bad, "staff", STAFF, columns=[c for c in TABLES["staff"].column_names if c != "role"])
    err = reject(loaded, bad)
    find(err, file="outpatient_visit.csv", row=1, column="total_cost", value="abc")
    find(err, file="outpatient_visit.csv", row=2, column="inst_code", value="NOPE")
    find(err, file="outpatient_visit.csv", row=3, column="is_tcm", value="x")
    find(err, file="department.csv", row=1, column="inst_code", value="X1")
    find(err, file="staff.csv", column="role", reason="missing required column")
    assert err.total == len(err.errors) == 5


def test_errors_are_capped_with_a_count_of_the_rest(loaded: Config, tmp_path: Path) -> None:
    n = MAX_ISSUES + 50
    write_csv(tmp_path / "many", "outpatient_visit", [visit(1000 + i, is_emergency="9") for i in range(n)])
    err = reject(loaded, tmp_path / "many")
    assert len(err.errors) == MAX_ISSUES and err.total == n
    assert "and 50 more" in err.message()
    assert [e.row for e in err.errors] == list(range(1, MAX_ISSUES + 1))


def test_parquet_input_loads_and_is_validated(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    csv_dir = write_set(tmp_path / "csv", GOOD)
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    con = duckdb.connect()
    for table in GOOD:
        # typed Parquet columns (timestamps, decimals, integers), as an IT department's export would write them
        con.execute(f"COPY (SELECT * FROM read_csv('{csv_dir / table}.csv', header=true)) "
                    f"TO '{pq_dir / table}.parquet' (FORMAT parquet)")
    report = load_directory(cfg, pq_dir)
    assert report.rows == {t: len(r) for t, r in GOOD.items()}
    csv_cfg = make_cfg(tmp_path / "via_csv")
    load_directory(csv_cfg, csv_dir)
    assert {t: v for t, v in snapshot(cfg).items() if t in TABLES} == \
        {t: v for t, v in snapshot(csv_cfg).items() if t in TABLES}
    # a typed Parquet file with a negative cost and a fractional flag is rejected like a CSV
    bad = tmp_path / "pq_bad"
    bad.mkdir()
    con.execute(f"COPY (SELECT * REPLACE (CASE WHEN visit_id = 'OP000002' THEN -1.5 ELSE total_cost END AS total_cost, "
                f"CASE WHEN visit_id = 'OP000003' THEN 0.5 ELSE is_tcm END AS is_tcm) "
                f"FROM read_parquet('{pq_dir}/outpatient_visit.parquet')) TO '{bad}/outpatient_visit.parquet'")
    err = reject(cfg, bad)
    issue = find(err, file="outpatient_visit.parquet", row=2, column="total_cost", reason="negative")
    assert float(issue.value) == -1.5
    find(err, file="outpatient_visit.parquet", row=3, column="is_tcm", value="0.5")


def test_typed_parquet_columns_are_checked_like_text(tmp_path: Path) -> None:
    """Typed Parquet columns take cheaper cast paths than text; each fault must still be caught and named."""
    cfg = make_cfg(tmp_path)
    load_directory(cfg, write_set(tmp_path / "good", GOOD))
    csv_dir = tmp_path / "good"
    bad = tmp_path / "pq_typed"
    bad.mkdir()
    con = duckdb.connect()
    # row 1: padded codes (trimmed, fine); row 2: blank patient_id; row 3: flag 2 as INTEGER; row 4: a cost with
    # 3 decimals (DECIMAL(18,3)); row 5: a cost that overflows DECIMAL(14,2); row 6 repeats row 1's key
    con.execute(f"""COPY (SELECT * REPLACE (
            CASE WHEN visit_id = 'OP000006' THEN 'OP000001' ELSE visit_id END AS visit_id,
            CASE WHEN visit_id = 'OP000001' THEN '  H001 ' ELSE inst_code END AS inst_code,
            CASE WHEN visit_id = 'OP000002' THEN '   ' ELSE patient_id END AS patient_id,
            CAST(CASE WHEN visit_id = 'OP000003' THEN 2 ELSE is_insured END AS INTEGER) AS is_insured,
            CAST(CASE WHEN visit_id = 'OP000004' THEN 186.505 ELSE total_cost END AS DECIMAL(18,3)) AS total_cost,
            CAST(CASE WHEN visit_id = 'OP000005' THEN 1e15 ELSE insurance_paid END AS DECIMAL(18,2))
                AS insurance_paid)
        FROM read_csv('{csv_dir}/outpatient_visit.csv', header=true))
        TO '{bad}/outpatient_visit.parquet' (FORMAT parquet)""")
    err = reject(cfg, bad)
    f = "outpatient_visit.parquet"
    find(err, file=f, row=2, column="patient_id", reason="required value is empty")
    find(err, file=f, row=3, column="is_insured", value="2", reason="above maximum")
    find(err, file=f, row=4, column="total_cost", value="186.505", reason="at most 2 decimals")
    find(err, file=f, row=5, column="insurance_paid", reason="out of range: at most 999999999999.99")
    find(err, file=f, row=6, column="visit_id", reason="same as data row 1")
    assert not [i for i in err.errors if i.row == 1], err.message()   # padded codes are trimmed, not faults
    assert err.total == 5, err.message()


def test_cli_reports_errors_with_exit_status_1_and_counts_on_success(loaded: Config, tmp_path: Path) -> None:
    env = {"MART_URL": loaded.mart_url, "DATA_DIR": str(loaded.data_dir)}
    runner = CliRunner()
    write_csv(tmp_path / "clibad", "outpatient_visit", [visit(80, total_cost="-1")])
    result = runner.invoke(load_command, [str(tmp_path / "clibad")], env=env)
    assert result.exit_code == 1
    assert "outpatient_visit.csv" in result.output and "data row 1" in result.output and "total_cost" in result.output
    write_csv(tmp_path / "cliok", "outpatient_visit", [visit(80), visit(81)])
    result = runner.invoke(load_command, ["--quiet", "--no-alerts", str(tmp_path / "cliok")], env=env)
    assert result.exit_code == 0, result.output
    assert "outpatient_visit" in result.output and "rows/s" in result.output
    assert query(loaded, "SELECT count(*) FROM outpatient_visit WHERE visit_id IN ('OP000080', 'OP000081')") == [(2,)]


# Corruptions that must each be caught, keyed by the column they target.
CORRUPT = {
    "visit_time": ["2025-13-01 08:00", "yesterday", "2025-03-01 25:00"],
    "inst_code": ["H404", ""],
    "doctor_code": ["D-nobody"],
    "is_insured": ["2", "yes", "-1"],
    "total_cost": ["-1.00", "1.005", "abc"],
    "drug_cost": ["-0.01", "1e"],
    "patient_id": [""],
}


@pytest.fixture(scope="module")
def prop_mart(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """One good mart shared by every hypothesis example: a rejected load must leave it untouched anyway."""
    tmp = tmp_path_factory.mktemp("prop_mart")
    cfg = make_cfg(tmp)
    load_directory(cfg, write_set(tmp / "good", GOOD))
    return cfg


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_corrupted_cells_always_rejected_never_partial(prop_mart: Config,
                                                                 tmp_path_factory: pytest.TempPathFactory,
                                                                 data: st.DataObject) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    rows = [visit(200 + i) for i in range(8)]
    cells = data.draw(st.sets(st.tuples(st.integers(0, len(rows) - 1), st.sampled_from(sorted(CORRUPT))),
                              min_size=1, max_size=6))
    for i, col in cells:
        rows[i][col] = data.draw(st.sampled_from(CORRUPT[col]))
    # the good dimension files ride along in the same call: none of them may be loaded either
    bad = write_set(tmp / "bad", dict(GOOD, outpatient_visit=rows))
    err = reject(prop_mart, bad)
    reported = {(e.row, e.column) for e in err.errors if e.file == "outpatient_visit.csv"}
    assert {(i + 1, col) for i, col in cells} <= reported


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_demo_mart_round_trips_through_export_and_load(request: pytest.FixtureRequest, tmp_path: Path,
                                                         fmt: str) -> None:
    """Every table of the tiny demo mart, written by ``export_mart`` and loaded into a fresh mart, is reproduced
    exactly (row counts and row hashes)."""
    from mart.export import export_mart
    demo_cfg = request.getfixturevalue("demo_cfg")
    con = request.getfixturevalue("demo_con")   # the process' own read-only connection to the demo mart
    original = {table: con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} t").fetchone() for table in TABLES}
    exported = export_mart(demo_cfg, tmp_path / "export", fmt=fmt)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(f"{t}.{fmt}" for t in TABLES)
    assert exported.rows == {t: original[t][0] for t in TABLES}
    fresh = make_cfg(tmp_path / "fresh")
    report = load_directory(fresh, tmp_path / "export")
    assert report.rows == {t: original[t][0] for t in report.rows}
    copy = snapshot(fresh)
    assert original == {t: copy[t] for t in TABLES}
    assert all(original[t][0] > 0 for t in TABLES)


def test_export_command_names_bad_input_and_writes_only_what_was_asked(demo_cfg: Config, tmp_path: Path) -> None:
    from mart.cli import export_command
    runner = CliRunner()
    env = {"DATA_DIR": str(demo_cfg.data_dir), "MART_URL": demo_cfg.mart_url, "APP_DB_URL": demo_cfg.app_db_url}
    bad = runner.invoke(export_command, [str(tmp_path / "x"), "--table", "visits"], env=env)
    assert bad.exit_code != 0 and "未知的表" in bad.output and "visits" in bad.output
    assert not (tmp_path / "x").exists()
    missing = runner.invoke(export_command, [str(tmp_path / "y")],
                            env=dict(env, MART_URL=f"duckdb:///{tmp_path / 'none.duckdb'}"))
    assert missing.exit_code != 0 and "数据集市不存在" in missing.output
    assert not (tmp_path / "none.duckdb").exists()      # a read-only export never creates a mart
    ok = runner.invoke(export_command, [str(tmp_path / "z"), "--format", "csv", "--table", "area",
                                        "--table", "institution"], env=env)
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "z").iterdir()) == ["area.csv", "institution.csv"]
    with open(tmp_path / "z" / "institution.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(TABLES["institution"].column_names)


def test_fast_trim_matches_duckdb_trim_for_every_code_point() -> None:
    """The loader skips trim() for ASCII text without edge spaces; it must agree with trim() on every character."""
    from mart.loader import _trimmed
    con = duckdb.connect()
    con.execute("CREATE TABLE cp AS SELECT i FROM range(1, 1114112) r(i) WHERE i < 55296 OR i > 57343")
    con.execute("CREATE TABLE v AS SELECT chr(i::INT) || 'a' AS v FROM cp UNION ALL SELECT 'a' || chr(i::INT) FROM cp "
                "UNION ALL SELECT chr(i::INT) FROM cp UNION ALL SELECT unnest(['', ' ', ' a b ', '张 三', '\u3000'])")
    assert con.execute(f"SELECT count(*) FROM v WHERE {_trimmed('v')} IS DISTINCT FROM NULLIF(trim(v), '')"
                       ).fetchone()[0] == 0


def test_load_while_the_dashboard_reads_the_mart(loaded: Config, tmp_path: Path) -> None:
    """DuckDB admits one writer or readers: with another process (a web worker) holding the mart read-only, the
    load goes into a copy that replaces the mart atomically. The reader keeps its old snapshot until it reopens;
    a failed load under readers leaves the mart and its directory as they were."""
    import subprocess
    import sys
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys\n"
         f"con = duckdb.connect({str(loaded.mart_path)!r}, read_only=True)\n"
         "print(con.execute('SELECT count(*) FROM outpatient_visit').fetchone()[0], flush=True)\n"
         "sys.stdin.readline()\n"
         "print(con.execute('SELECT count(*) FROM outpatient_visit').fetchone()[0], flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "6"            # the reader holds the file open now
        files_before = _mart_files(loaded)
        reject(loaded, write_set(tmp_path / "bad", dict(outpatient_visit=[visit(7, total_cost="-1")])))
        assert _mart_files(loaded) == files_before     # no copy left
        messages: list[str] = []
        report = load_directory(loaded, write_set(tmp_path / "more", dict(outpatient_visit=[visit(7), visit(8)])),
                                progress=messages.append)
        assert report.rows == {"outpatient_visit": 2} and any("副本" in m for m in messages)
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "6"            # its snapshot: the file it opened
    finally:
        reader.kill()
        reader.wait()
    assert query(loaded, "SELECT count(*) FROM outpatient_visit") == [(8,)]
    assert _mart_files(loaded) == files_before


def _mart_files(cfg: Config) -> list[str]:
    return sorted(p.name for p in cfg.mart_path.parent.iterdir() if p.is_file() and "mart" in p.name)


def test_pages_of_this_process_see_a_load_at_their_next_query(loaded: Config, tmp_path: Path) -> None:
    """The web process's read-only engine notices the replaced file and reopens it (same process as the loader
    here, which DuckDB also treats as a reader conflict)."""
    from mart.connection import dispose_engines, read_df
    try:
        assert read_df(loaded.mart_url, "SELECT count(*) AS n FROM outpatient_visit")["n"].iloc[0] == 6
        load_directory(loaded, write_set(tmp_path / "more", dict(outpatient_visit=[visit(9)])))
        assert read_df(loaded.mart_url, "SELECT count(*) AS n FROM outpatient_visit")["n"].iloc[0] == 7
    finally:
        dispose_engines()
