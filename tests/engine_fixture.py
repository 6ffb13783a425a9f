"""A small hand-made mart for the engine tests (not the demo): 2 townships, 4 institutions, a few hundred rows.

Every number below is chosen so that the expected indicator values can be worked out by hand; the expectations
live in tests/test_engine.py next to their arithmetic.
"""
from __future__ import annotations

from pathlib import Path

from mart.db import connect_writer, ensure_schema
from mart.rollups import build_rollups
from mart.schema import TABLES

MONTHS_2025 = ["2025-01", "2025-02", "2025-03"]
MONTHS_2024 = ["2024-01", "2024-02", "2024-03"]


def build_fixture_mart(path: Path) -> str:
    """Write the fixture mart to ``path`` and return its URL."""
    url = f"duckdb:///{path}"
    con = connect_writer(url)
    ensure_schema(con)
    ex = con.execute
    ex("INSERT INTO area VALUES ('C', '示范县', 'county', NULL, 10000), ('T1', '城关镇', 'township', 'C', 6000),"
       " ('T2', '东乡', 'township', 'C', 4000)")
    ex("INSERT INTO institution VALUES "
       "('H1', '县人民医院', 'general_hospital', 'county', 'T1', NULL, 1, 120, 119.6, 29.1),"
       "('S1', '城关镇卫生院', 'township_center', 'township', 'T1', NULL, 0, 30, 119.61, 29.11),"
       "('S2', '东乡卫生院', 'township_center', 'township', 'T2', NULL, 0, 20, 119.7, 29.2),"
       "('V2', '东乡一村卫生室', 'village_clinic', 'village', 'T2', 'S2', 0, 0, 119.71, 29.21)")
    ex("INSERT INTO department VALUES ('H1-IM', 'H1', '内科', 'internal'), ('H1-SU', 'H1', '外科', 'surgery'),"
       "('S1-GP', 'S1', '全科', 'general'), ('S2-GP', 'S2', '全科', 'general'), ('V2-GP', 'V2', '全科', 'general')")
    ex("INSERT INTO staff VALUES ('D1', '甲医生', 'H1', 'H1-IM', 'doctor', 'senior', 0),"
       "('D2', '乙医生', 'H1', 'H1-SU', 'doctor', 'intermediate', 0),"
       "('D3', '丙医生', 'S1', 'S1-GP', 'doctor', 'junior', 1),"
       "('D4', '丁医生', 'S2', 'S2-GP', 'doctor', 'junior', 1),"
       "('D5', '戊医生', 'V2', 'V2-GP', 'doctor', 'none', 0),"
       "('D6', '己医生', 'H1', 'H1-IM', 'doctor', 'junior', 0),"
       "('D7', '庚医生', 'H1', 'H1-IM', 'doctor', 'associate', 0),"
       "('N1', '辛护士', 'H1', 'H1-IM', 'nurse', 'intermediate', 0)")   # posted, but not a 医师

    # ---- outpatient: per month, per institution a fixed pattern
    # (inst, dept, doctor, n, cost2025, cost2024, drug, material, insurance, n_abx, n_tcm, residence pattern)
    op_spec = [
        ("H1", "H1-IM", "D1", 10, 100, 80, 40, 5, 60, 2, 1, ["T1"] * 6 + ["T2"] * 3 + ["X99"]),
        ("S1", "S1-GP", "D3", 20, 50, 40, 20, 0, 35, 4, 5, ["T1"] * 20),
        ("S2", "S2-GP", "D4", 10, 40, 40, 20, 0, 30, 1, 2, ["T2"] * 10),
        ("V2", "V2-GP", "D5", 10, 20, 20, 10, 0, 16, 0, 0, ["T2"] * 10),
    ]
    rows = []
    for month in MONTHS_2024 + MONTHS_2025:
        for inst, dept, doc, n, c25, c24, drug, mat, ins, n_abx, n_tcm, areas in op_spec:
            if inst == "V2" and month == "2025-02":
                continue                      # V2 did not upload outpatient visits in February 2025
            cost = c25 if month.startswith("2025") else c24
            for k in range(n):
                rows.append((f"OP{month}{inst}{k:02d}", f"{month}-{10 + k % 15:02d} 09:00:00", inst, dept, doc,
                             f"P{inst}{k}", areas[k], 1, 0, 1 if k < n_tcm else 0, "J06.9", cost, drug, mat, ins,
                             1 if k < n_abx else 0))
    con.executemany("INSERT INTO outpatient_visit (" + ",".join(TABLES["outpatient_visit"].column_names[:16])
                    + ") VALUES (" + ",".join("?" * 16) + ")", rows)

    # ---- inpatient: per month; 2024 rows have other patient ids (no readmission across years)
    rows = []
    for month in MONTHS_2024 + MONTHS_2025:
        y25 = month.startswith("2025")
        tag = "" if y25 else "-24"
        h1 = [  # pid, area, insured, bed_days, surgery, mis, low_risk, outcome, cost25, cost24, drug, mat, ins, abx, ddd
            (f"P1{tag}", "T1", 1, 10, 3, 1, 0, "improved", 10000, 8000, 3000, 2000, 7000, 1, 5),
            (f"P2-{month}", "T2", 1, 6, 1, 0, 1, "cured", 6000, 5000, 2000, 1000, 4200, 0, 0),
            (f"P3-{month}", "T1", 0, 8, 0, 0, 0, "died", 8000, 7000, 4000, 500, 0, 1, 10),
            (f"P4-{month}", "X99", 1, 4, 0, 0, 1, "improved", 4000, 4000, 1000, 200, 2800, 0, 0),
        ]
        for k, (pid, area, insd, bd, surg, mis, low, outc, c25, c24, drug, mat, ins, abx, ddd) in enumerate(h1):
            admit_day, dis_day = 5, 5 + bd
            cost = c25 if y25 else c24
            rows.append((f"IP{month}H1{k}", f"{month}-{admit_day:02d} 08:00:00", f"{month}-{dis_day:02d} 10:00:00",
                         "H1", "H1-SU", "D2", pid, area, insd, "K35", bd, surg, mis, low, outc, cost,
                         min(drug, cost), mat, min(ins, cost), abx, ddd))
        for k in range(2):
            rows.append((f"IP{month}S1{k}", f"{month}-03 08:00:00", f"{month}-08 10:00:00", "S1", "S1-GP", "D3",
                         f"PS1-{month}-{k}", "T1", 1, "J18", 5, 0, 0, 1, "improved", 2000, 800, 100, 1600, 1, 2))
        pid = "CP3" if month == "2025-01" else f"PS2-{month}"
        rows.append((f"IP{month}S2", f"{month}-02 08:00:00", f"{month}-08 10:00:00", "S2", "S2-GP", "D4", pid,
                     "T2", 1, "I10", 6, 0, 0, 0, "cured", 1500, 600, 50, 1200, 0, 0))
    con.executemany("INSERT INTO inpatient_discharge (" + ",".join(TABLES["inpatient_discharge"].column_names[:21])
                    + ") VALUES (" + ",".join("?" * 21) + ")", rows)

    # ---- resources: same every month except H1's beds in March and V2's ECG device from March
    rows = []
    for month in MONTHS_2024 + MONTHS_2025:
        mar = month.endswith("-03")
        rows += [
            (month, "H1", 110 if mar else 100, 2500, 40, 60, 2, 5, 1_000_000, 400_000, 300_000, 900_000, 150),
            (month, "S1", 20, 400, 8, 6, 3, 1, 100_000, 30_000, 50_000, 90_000, 20),
            (month, "S2", 10, 150, 4, 3, 2, 1, 50_000, 20_000, 30_000, 45_000, 10),
            (month, "V2", 0, 0, 1, 0, 0, 1 if mar else 0, 5_000, 2_000, 3_000, 4_000, 2),
        ]
    con.executemany("INSERT INTO resource_month VALUES (" + ",".join("?" * 13) + ")", rows)

    # ---- referrals (2025 Q1)
    ref = [  # id, dir, from, to, outside, request, respond, status
        ("R1", "up", "S1", "H1", None, "2025-01-10 08:00:00", "2025-01-10 10:00:00", "completed"),
        ("R2", "up", "S1", "H1", None, "2025-01-11 08:00:00", "2025-01-12 14:00:00", "accepted"),
        ("R3", "up", "S1", "H1", None, "2025-01-12 08:00:00", "2025-01-12 09:00:00", "rejected"),
        ("R4", "up", "S1", "H1", None, "2025-02-10 08:00:00", None, "pending"),
        ("R5", "up", "S1", "H1", None, "2025-03-10 08:00:00", None, "cancelled"),
        ("R6", "down", "H1", "S1", None, "2025-01-20 08:00:00", "2025-01-20 11:00:00", "completed"),
        ("R7", "down", "H1", "S1", None, "2025-02-20 08:00:00", "2025-02-20 13:00:00", "completed"),
        ("R8", "up", "H1", None, "省人民医院", "2025-03-15 08:00:00", None, "pending"),
        ("R9", "up", "S2", "H1", None, "2025-02-05 08:00:00", "2025-02-05 18:00:00", "completed"),
    ]
    con.executemany("INSERT INTO referral VALUES (?, ?, ?, ?, ?, 'PX', 'T1', 'inpatient', ?, ?, ?, NULL)",
                    [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in ref])

    # ---- lab orders (2025 Q1)
    lab = [  # id, order, collect, report, ordering, performing, emergency, critical, notified
        ("L1", "2025-01-05 08:00:00", "2025-01-05 08:10:00", "2025-01-05 10:10:00", "S1", "H1", 0, 1,
         "2025-01-05 10:20:00"),
        ("L2", "2025-01-05 08:00:00", "2025-01-05 08:10:00", "2025-01-05 10:10:00", "S1", "H1", 0, 0, None),
        ("L3", "2025-01-05 08:00:00", "2025-01-05 08:10:00", "2025-01-05 10:10:00", "S1", "H1", 0, 0, None),
        ("L4", "2025-01-05 08:00:00", "2025-01-05 08:10:00", "2025-01-06 14:10:00", "S1", "H1", 0, 0, None),
        ("L5", "2025-01-06 08:00:00", "2025-01-06 08:05:00", "2025-01-06 08:35:00", "H1", "H1", 1, 0, None),
        ("L6", "2025-01-06 08:00:00", "2025-01-06 08:05:00", "2025-01-06 09:35:00", "H1", "H1", 1, 1,
         "2025-01-06 09:55:00"),
        ("L7", "2025-02-06 08:00:00", "2025-02-06 08:05:00", "2025-02-06 09:05:00", "S2", "S2", 0, 0, None),
        ("L8", "2025-02-06 08:00:00", "2025-02-06 08:05:00", "2025-02-06 09:05:00", "S2", "S2", 0, 0, None),
        ("L9", "2025-03-06 08:00:00", "2025-03-06 08:05:00", None, "S1", "S1", 0, 0, None),
    ]
    con.executemany("INSERT INTO lab_order VALUES (?, ?, ?, ?, ?, ?, 'biochem', ?, ?, ?)", lab)

    # ---- outside settlements (2025 Q1)
    con.executemany("INSERT INTO outside_settlement VALUES (?, ?, ?, ?, ?, '省人民医院', ?, ?, ?)", [
        ("O1", "2025-01-08", "PO1", "T1", "inpatient", 20000, 12000, "R8"),
        ("O2", "2025-02-08", "PO2", "T2", "outpatient", 500, 200, None),
        ("O3", "2025-03-08", "CP1", "T1", "inpatient", 10000, 5000, None),
    ])

    # ---- chronic patients
    con.executemany("INSERT INTO chronic_patient VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        ("CP1", "T1", "S1", "hypertension", "2020-01-01", None, 1, 1),
        ("CP1", "T1", "S1", "diabetes", "2024-06-01", None, 0, 1),
        ("CP2", "T1", "S1", "hypertension", "2021-01-01", None, 0, 0),
        ("CP3", "T2", "S2", "hypertension", "2022-01-01", None, 1, 0),
        ("CP4", "T2", "S2", "diabetes", "2025-02-10", None, 1, 1),
        ("CP5", "T2", "S2", "hypertension", "2019-01-01", "2025-02-20", 1, 1),
    ])

    # ---- postings
    con.executemany("INSERT INTO posting VALUES (?, ?, ?, ?, ?, ?)", [
        ("D2", "H1", "S1", "2024-12-01", None, "long_term"),
        ("D1", "H1", "S2", "2024-12-01", None, "rounds"),
        ("D6", "H1", "S2", "2024-12-01", None, "long_term"),
        ("D7", "H1", "V2", "2024-01-01", "2025-02-15", "long_term"),
        ("N1", "H1", "S1", "2024-12-01", None, "long_term"),     # a nurse: not counted by posted_doctors_per_10k
    ])
    build_rollups(con)
    con.close()
    return url
