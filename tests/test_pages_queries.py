"""queries.referrals and dashboard.export against a small hand-made DuckDB mart (real file, real SQL)."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from mart.connection import dispose_engines
from mart.db import connect_writer, ensure_schema
from queries import referrals as q


@pytest.fixture(scope="module")
def ref_mart(tmp_path_factory) -> str:
    """County C with townships T1, T2; hospital H1 (county), centres S1 (T1), S2 (T2)."""
    path = tmp_path_factory.mktemp("refmart") / "mart.duckdb"
    url = f"duckdb:///{path}"
    con = connect_writer(url)
    ensure_schema(con)
    con.execute("INSERT INTO area VALUES ('C','县','county',NULL,1000),('T1','甲镇','township','C',500),"
                "('T2','乙镇','township','C',500)")
    con.execute("INSERT INTO institution VALUES "
                "('H1','县医院','general_hospital','county','T1',NULL,1,100,NULL,NULL),"
                "('S1','甲镇卫生院','township_center','township','T1',NULL,0,20,NULL,NULL),"
                "('S2','乙镇卫生院','township_center','township','T2',NULL,0,20,NULL,NULL)")
    rows = [
        # id, dir, from, to, outside, area, request, respond, status, diag
        ("R1", "up", "S1", "H1", None, "T1", "2025-03-02 09:00", "2025-03-02 10:00", "completed", "I63.9"),
        ("R2", "up", "S1", "H1", None, "T1", "2025-03-05 09:00", "2025-03-05 12:00", "accepted", "I63.9"),
        ("R3", "up", "S2", "H1", None, "T2", "2025-03-06 09:00", None, "pending", "J18.9"),
        ("R4", "down", "H1", "S2", None, "T2", "2025-03-07 09:00", "2025-03-07 09:30", "completed", "I63.9"),
        ("R5", "up", "H1", None, "省人民医院", "T1", "2025-03-08 09:00", None, "pending", "C34.9"),
        ("R6", "up", "S1", "H1", None, "T1", "2025-04-01 09:00", None, "pending", "I21.9"),  # next month
        ("R7", "up", "S2", "H1", None, "T2", "2025-03-31 20:00", None, "pending", "J18.9"),  # < 24 h at as_of
    ]
    con.executemany("INSERT INTO referral VALUES (?,?,?,?,?,'p',?,'inpatient',?,?,?,?)",
                    [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) for r in rows])
    con.executemany("INSERT INTO outside_settlement VALUES (?,?,'p',?,'inpatient',?,?,?,?)", [
        ("O1", "2025-03-03", "T1", "省人民医院", 1000.0, 600.0, "R5"),
        ("O2", "2025-03-04", "T1", "省人民医院", 2000.0, 1200.0, None),
        ("O3", "2025-03-09", "T2", "市中医院", 500.0, 300.0, None),
        ("O4", "2025-02-09", "T2", "市中医院", 500.0, 300.0, None),
    ])
    con.close()
    yield url
    dispose_engines()


MARCH = (dt.date(2025, 3, 1), dt.date(2025, 4, 1))


def test_flows_count_inside_county_only(ref_mart):
    df = q.referral_flows(ref_mart, *MARCH)
    got = {(r.direction, r.from_inst_code, r.to_inst_code): r.referrals for r in df.itertuples()}
    # R5 goes outside the county (no to_inst) and R6 is April: neither is a flow between institutions.
    assert got == {("up", "S1", "H1"): 2, ("up", "S2", "H1"): 2, ("down", "H1", "S2"): 1}
    assert set(df.loc[df.from_inst_code == "S1", "from_township"]) == {"甲镇"}


def test_flows_filter_by_institution_and_empty_list(ref_mart):
    df = q.referral_flows(ref_mart, *MARCH, inst_codes=["S1"])
    assert set(df.from_inst_code) == {"S1"} and int(df.referrals.sum()) == 2
    assert q.referral_flows(ref_mart, *MARCH, inst_codes=[]).empty


def test_outside_destinations_orderly_split(ref_mart):
    df = q.outside_destinations(ref_mart, *MARCH)
    assert list(df.hospital_name) == ["省人民医院", "市中医院"]
    top = df.iloc[0]
    assert (top.settlements, top.orderly, top.unorderly, top.total_cost) == (2, 1, 1, 3000.0)
    only_t2 = q.outside_destinations(ref_mart, *MARCH, area_codes=["T2"])
    assert list(only_t2.hospital_name) == ["市中医院"] and int(only_t2.settlements.iloc[0]) == 1


def test_top_up_diagnoses(ref_mart):
    df = q.top_up_diagnoses(ref_mart, *MARCH)
    assert df.iloc[0].diagnosis_code in {"I63.9", "J18.9"} and int(df.iloc[0].referrals) == 2
    assert dict(zip(df.diagnosis_code, df.outside))["C34.9"] == 1
    assert "I21.9" not in set(df.diagnosis_code)      # April


def test_pending_older_than_24h(ref_mart):
    as_of = dt.datetime(2025, 4, 1, 12, 0)
    df = q.pending_referrals(ref_mart, as_of)
    # R7 waited 16 h, R6 3 h: not listed. Oldest first.
    assert list(df.referral_id) == ["R3", "R5"]
    assert df.iloc[0].hours_waiting == pytest.approx((as_of - dt.datetime(2025, 3, 6, 9)).total_seconds() / 3600)
    assert df.iloc[1].to_name == "省人民医院"
    assert "patient_id" not in df.columns
    assert list(q.pending_referrals(ref_mart, as_of, inst_codes=["S1"]).referral_id) == []
    assert q.last_referral_time(ref_mart) == dt.datetime(2025, 4, 1, 9, 0)


def test_export_csv_bom_and_xlsx_numbers():
    from dashboard.export import export_filename, to_csv_bytes, to_xlsx_bytes
    df = pd.DataFrame({"org": ["县医院", "=1+1"], "value": [12.345, None], "n": [3, 4]})
    headers = {"org": "机构", "value": "值", "n": "分子"}
    raw = to_csv_bytes(df, headers)
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert list(back.columns) == ["机构", "值", "分子"]
    assert back["值"].iloc[0] == pytest.approx(12.345) and pd.isna(back["值"].iloc[1])
    assert back["机构"].iloc[1] == "'=1+1"          # no formula injection
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df, headers, title="标题")))
    rows = list(wb.active.values)
    assert rows[0][0] == "标题" and rows[1] == ("机构", "值", "分子")
    assert rows[2] == ("县医院", 12.345, 3) and rows[3][1] is None
    assert export_filename("门诊 抗菌/药物", "csv") == "门诊_抗菌_药物.csv"
    with pytest.raises(KeyError):
        to_csv_bytes(df, {"nope": "x"})


def test_pending_table_shows_whole_referral_numbers():
    """Review (1366×768): the 超过24小时未响应的转诊 grid cut every number to "RF2026120…" (the column had only its
    header's width). A number is RF + date + institution code + serial, up to 22 characters of the 13 px grid
    font (about 7.5 px each) plus the cell's 2 × 17 px padding; the time needs 16."""
    from dashboard.callbacks.referrals import PENDING_COLUMNS
    cols = {c["field"]: c for c in PENDING_COLUMNS}
    assert cols["referral_id"]["minWidth"] >= 22 * 7.5 + 34
    assert cols["request_text"]["minWidth"] >= 16 * 7.5 + 34
