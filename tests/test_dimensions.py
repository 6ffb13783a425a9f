"""Dimensions (issue 18): members add up to the undivided rows, the dimension rollups equal a GROUP BY of the facts
classified independently in Python, refusals, the CLI's --by columns and files without the new patient columns."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mart.dimensions import AGE_BANDS, ICD_CHAPTERS, member_sql
from mart.loader import LoadError, load_directory
from mart.schema import TABLES
from metrics.catalogue import INDICATORS
from metrics.dimensions import DIMENSIONS, dimension_refusal
from metrics.engine import IndicatorError, compute
from tests.test_loader import GOOD, find, make_cfg, visit, write_csv, write_set
from tests.test_postgres import _same, pg_schema_url  # noqa: F401  (a module fixture of the PostgreSQL tests)

ROOT = Path(__file__).resolve().parent.parent
START, END = "2025-01", "2026-11"
SPLITTABLE = {d: [i for i in INDICATORS if dimension_refusal(i, d) is None] for d in DIMENSIONS}
KEY = ["indicator_id", "org_code", "period"]


def _icd_chapter(code: object) -> str:
    """The ICD-10 chapter of a diagnosis code, in Python (the SQL's independent twin)."""
    if not isinstance(code, str):
        return "unknown"
    k = code.strip().upper()[:3]
    if len(k) < 3 or not ("A" <= k[0] <= "Z" and k[1:].isdigit()):
        return "unknown"
    return next((c for c, _zh, lo, hi in ICD_CHAPTERS if lo <= k <= hi), "unknown")


def _age_band(age: float) -> str:
    if pd.isna(age) or age < 0:
        return "unknown"
    return next(c for c, _zh, lo, hi in AGE_BANDS if hi is None or age <= hi)


def test_icd_chapter_sql_classifies_codes() -> None:
    codes = ["I10", "i25.1", " O80.0", "D25.9", "D50.1", "S06.0", "T78.4", "V01", "Z34.9", "U07.1", "D49",
             "XYZ", "1AB", "", None, "J", "H66.9", "H10.9"]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (diagnosis_code VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [(c,) for c in codes])
    got = [r[0] for r in con.execute(f"SELECT {member_sql('icd_chapter', 'outpatient_visit')} FROM v").fetchall()]
    assert got == [_icd_chapter(c) for c in codes]
    assert got[:4] == ["I00-I99", "I00-I99", "O00-O99", "C00-D48"] and got[5:7] == ["S00-T98", "S00-T98"]
    assert got[-2:] == ["H60-H95", "H00-H59"] and got[10:15] == ["unknown"] * 5


def _icd_sql_with_string_ranges(a: str) -> str:
    """The chapter expression before issue 21 (string BETWEEN ranges; slow on PostgreSQL's collations): the
    reference the equality/integer rewrite must match member for member."""
    k = f"upper(substr(trim({a}.diagnosis_code), 1, 3))"
    valid = (f"substr({k}, 1, 1) BETWEEN 'A' AND 'Z' AND substr({k}, 2, 1) BETWEEN '0' AND '9' "
             f"AND substr({k}, 3, 1) BETWEEN '0' AND '9'")
    whens = " ".join(f"WHEN {k} BETWEEN '{lo}' AND '{hi}' THEN '{code}'" for code, _zh, lo, hi in ICD_CHAPTERS)
    return f"CASE WHEN {a}.diagnosis_code IS NULL OR NOT ({valid}) THEN 'unknown' {whens} ELSE 'unknown' END"


def _every_icd_code() -> list[str | None]:
    """Every 3-character code A00..Z99 (upper and lower case, with a suffix and padding) and invalid ones."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    codes: list[str | None] = [f"{x}{n:02d}" for x in letters for n in range(100)]
    codes += [f" {x.lower()}{n:02d}.9 " for x in letters for n in (0, 48, 49, 50, 59, 60, 90, 91, 93, 94, 96, 97, 98)]
    codes += [None, "", " ", "A", "A0", "A0X", "AX0", "0A0", "@00", "[00", "a", "AA00", "A 0", "A-1", "A1.", "É01",
              "Ä10", "Ａ01", "A０1", "９99", "A00\t", "\tB20", "Z9", "Z99X", "1AB", "-01", "+01", "A+1", "A 1",
              "ı10", "ſ01", "ß01", "ǅ01", "ﬀ01", "Aı0"]
    return codes


def test_icd_chapter_rewrite_matches_the_string_range_expression() -> None:
    """Issue 21: the member of every code A00..Z99 and of invalid codes is the old string-range expression's."""
    con = duckdb.connect()
    con.execute("CREATE TABLE v (diagnosis_code VARCHAR)")
    codes = _every_icd_code()
    con.executemany("INSERT INTO v VALUES (?)", [(c,) for c in codes])
    new, old = member_sql("icd_chapter", "outpatient_visit"), _icd_sql_with_string_ranges("v")
    rows = con.execute(f"SELECT diagnosis_code, {new}, {old} FROM v").fetchall()
    assert len(rows) == len(codes)
    diff = [r for r in rows if r[1] != r[2]]
    assert not diff, diff[:10]
    got = {r[0]: r[1] for r in rows}
    assert got["D49"] == got["E91"] == got["K94"] == got["H96"] == got["V00"] == got["Y99"] == "unknown"
    assert (got["D48"], got["D50"], got["H59"], got["H60"], got["T98"]) == ("C00-D48", "D50-D89", "H00-H59",
                                                                            "H60-H95", "S00-T98")
    assert len({r[1] for r in rows}) == len(ICD_CHAPTERS) + 1      # every chapter and unknown reached
    assert "BETWEEN '" not in new                                    # no string ranges left


def test_icd_chapter_rewrite_classifies_alike_on_postgresql(pg_schema_url) -> None:
    """The same codes classified by the server (collation C.UTF-8 or any other) give DuckDB's members."""
    import psycopg2

    from mart.pg import libpq_dsn, to_postgres
    codes = _every_icd_code()
    con = duckdb.connect()
    con.execute("CREATE TABLE v (diagnosis_code VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [(c,) for c in codes])
    expr = member_sql("icd_chapter", "outpatient_visit")
    duck = dict(con.execute(f"SELECT diagnosis_code, {expr} FROM v").fetchall())
    conn = psycopg2.connect(libpq_dsn(pg_schema_url()))
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE v (diagnosis_code VARCHAR)")
            cur.executemany("INSERT INTO v VALUES (%s)", [(c,) for c in codes])
            cur.execute(f"SELECT diagnosis_code, {to_postgres(expr)} FROM v")
            server = dict(cur.fetchall())
        conn.rollback()
    finally:
        conn.close()
    assert server == duck


@pytest.mark.parametrize("dim", list(DIMENSIONS))
def test_members_add_up_to_the_undivided_row(demo_cfg, dim) -> None:
    """Every org × period has one row per member, and the members' numerators and denominators sum to the row
    without the split (county, township and institution; month and year)."""
    url = demo_cfg.mart_url
    members = len(DIMENSIONS[dim].members)
    for level, grain, ids in (("county", "year", SPLITTABLE[dim]),
                              ("institution", "month", ["op_cost_per_visit", "alos", "op_antibiotic_rate"]),
                              ("township", "year", ["primary_visit_share", "ip_cost_per_discharge"])):
        ids = [i for i in ids if i in SPLITTABLE[dim]]
        whole = compute(ids, level, grain, START, END, mart_url=url)
        split = compute(ids, level, grain, START, END, mart_url=url, by=dim)
        assert list(split.columns[3:7]) == ["org_name", "dimension", "member", "member_name"]
        assert (split["dimension"] == dim).all() and split["member_name"].notna().all()
        per = split.groupby(KEY)
        assert (per.size() == members).all(), (level, grain)
        sums = per[["numerator", "denominator"]].sum(min_count=1)
        rows = whole.set_index(KEY)[["numerator", "denominator"]]
        counted = [i for i in ids if INDICATORS[i].kind != "growth"]
        rows = rows[rows.index.get_level_values(0).isin(counted)]
        joined = rows.join(sums, how="left", rsuffix="_split")
        assert len(joined) and joined["numerator_split"].notna().all(), (level, grain)
        np.testing.assert_allclose(joined["numerator_split"], joined["numerator"].fillna(0), rtol=1e-9, atol=1e-6)
        den = joined["denominator"].notna()
        np.testing.assert_allclose(joined.loc[den, "denominator_split"], joined.loc[den, "denominator"],
                                   rtol=1e-9, atol=1e-6)


def _fact_frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    time_col = "visit_time" if table == "outpatient_visit" else "discharge_time"
    extra = ", f.is_emergency, f.is_tcm" if table == "outpatient_visit" else ""
    return con.execute(f"""
        SELECT year(f.{time_col}) AS year, f.diagnosis_code, f.is_insured, f.patient_sex, f.patient_birth_year,
               d.category, f.dept_code, CAST(f.total_cost AS DOUBLE) AS total_cost {extra}
        FROM {table} f LEFT JOIN department d ON d.dept_code = f.dept_code""").df()


def _members(df: pd.DataFrame, dim: str) -> pd.Series:
    if dim == "icd_chapter":
        return df["diagnosis_code"].map(_icd_chapter)
    if dim == "insurance":
        return df["is_insured"].map({1: "insured", 0: "self_pay"}).fillna("unknown")
    if dim == "age_band":
        return (df["year"] - df["patient_birth_year"]).map(_age_band)
    if dim == "sex":
        return df["patient_sex"].where(df["patient_sex"].isin(["male", "female"]), "unknown")
    if dim == "visit_type":
        return (np.where(df["is_emergency"] == 1, "er_", "op_") +
                pd.Series(np.where(df["is_tcm"] == 1, "tcm", "western"), index=df.index))
    known = {c for c, _zh in DIMENSIONS["dept_category"].members}
    cat = df["category"].where(df["category"].isin(known - {"unknown"}), "other")
    return cat.where(df["dept_code"].notna(), "unknown")


@pytest.mark.parametrize("dim", list(DIMENSIONS))
def test_rollups_equal_a_group_by_of_the_facts(demo_cfg, demo_con, dim) -> None:
    """County × year: cost and cases per member from the dimension rollups equal the facts grouped by a member
    computed in Python; the engine's fact mode (same projection, no rollup) agrees at institution × month."""
    for table, ind in (("outpatient_visit", "op_cost_per_visit"), ("inpatient_discharge", "ip_cost_per_discharge")):
        if ind not in SPLITTABLE[dim]:
            continue
        facts = _fact_frame(demo_con, table)
        facts["member"] = _members(facts, dim)
        want = facts.groupby(["year", "member"]).agg(num=("total_cost", "sum"), den=("total_cost", "size"))
        got = compute([ind], "county", "year", START, END, mart_url=demo_cfg.mart_url, by=dim,
                      comparisons=False)
        got = got.assign(year=got["period"].astype(int)).set_index(["year", "member"])
        present = got[got["denominator"] > 0]
        assert sorted(present.index) == sorted(want.index)
        np.testing.assert_allclose(present.loc[want.index, "numerator"], want["num"], rtol=1e-9)
        np.testing.assert_array_equal(present.loc[want.index, "denominator"], want["den"])
    ids = [i for i in ("op_cost_per_visit", "alos", "primary_visit_share") if i in SPLITTABLE[dim]]
    kw = dict(mart_url=demo_cfg.mart_url, by=dim, comparisons=False)
    rolled = compute(ids, "institution", "month", "2026-01", "2026-06", **kw)
    facts = compute(ids, "institution", "month", "2026-01", "2026-06", from_facts=True, **kw)
    pd.testing.assert_frame_equal(rolled, facts, check_exact=False, rtol=1e-9)


def test_refusals(demo_cfg) -> None:
    url = demo_cfg.mart_url
    assert "不能按性别拆分" in dimension_refusal("beds_per_1k", "sex")
    with pytest.raises(IndicatorError, match="不能按性别拆分"):
        compute(["beds_per_1k"], "county", "year", START, END, mart_url=url, by="sex")
    with pytest.raises(IndicatorError, match="门诊、急诊"):
        compute(["alos"], "county", "year", START, END, mart_url=url, by="visit_type")
    with pytest.raises(IndicatorError, match="科室"):
        compute(["alos"], "department", "year", START, END, mart_url=url, by="sex")
    with pytest.raises(IndicatorError, match="未知维度"):
        compute(["alos"], "county", "year", START, END, mart_url=url, by="galaxy")
    mixed = compute(["alos", "beds_per_1k"], "county", "year", START, END, mart_url=url, by="sex")
    assert set(mixed["indicator_id"]) == {"alos"} and "beds_per_1k" in mixed.attrs["refused"]


def _cli(cfg, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MART_URL": cfg.mart_url, "DATA_DIR": str(cfg.data_dir)}
    return subprocess.run([sys.executable, "app.py", "indicators", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)


def test_cli_by(demo_cfg) -> None:
    """The issue's check: op_cost_per_visit by icd_chapter gives ≥ 10 chapters whose numerators sum to the
    county total; the same sums for insurance, age_band and sex."""
    base = ["--ids", "op_cost_per_visit", "--level", "county", "--grain", "year", "--from", "2026-01", "--to",
            "2026-11"]
    whole = _cli(demo_cfg, *base)
    assert whole.returncode == 0, whole.stderr
    total = next(csv.DictReader(io.StringIO(whole.stdout)))
    for dim in ("icd_chapter", "insurance", "age_band", "sex"):
        r = _cli(demo_cfg, *base, "--by", dim)
        assert r.returncode == 0, r.stderr
        header = r.stdout.splitlines()[0].split(",")
        assert header[:6] == ["indicator_id", "level", "org_code", "org_name", "dimension", "member"]
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        assert {x["dimension"] for x in rows} == {dim}
        assert [x["member"] for x in rows] == [c for c, _zh in DIMENSIONS[dim].members]
        assert sum(float(x["numerator"]) for x in rows) == pytest.approx(float(total["numerator"]), abs=0.01)
        assert sum(int(x["denominator"]) for x in rows) == int(total["denominator"])
        if dim == "icd_chapter":
            assert sum(int(x["denominator"]) > 0 for x in rows) >= 10
    refused = _cli(demo_cfg, *base[:1], "beds_per_1k", *base[2:], "--by", "sex")
    assert refused.returncode == 2 and "不能按性别拆分" in refused.stderr


OLD_VISIT_COLUMNS = [c for c in TABLES["outpatient_visit"].column_names
                     if c not in ("patient_sex", "patient_birth_year")]


def test_old_format_files_load_and_count_as_unknown(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    directory = write_set(tmp_path / "old", {k: v for k, v in GOOD.items() if k != "outpatient_visit"})
    write_csv(directory, "outpatient_visit", GOOD["outpatient_visit"], columns=OLD_VISIT_COLUMNS)
    report = load_directory(cfg, directory)
    assert any("patient_sex" in w for w in report.warnings)
    visits = len(GOOD["outpatient_visit"])
    for dim in ("sex", "age_band"):
        df = compute(["op_cost_per_visit"], "county", "month", "2025-03", "2025-04", mart_url=cfg.mart_url, by=dim)
        counted = df.groupby("member")["denominator"].sum()
        assert counted["unknown"] == visits and counted.drop("unknown").sum() == 0
    # the new columns, when given, load and split; bad values are refused with their row and column
    newer = [visit(i, patient_sex="female" if i % 2 else "male", patient_birth_year=str(1950 + i)) for i in range(1, 5)]
    load_directory(cfg, write_set(tmp_path / "new", {"outpatient_visit": newer}))
    df = compute(["op_cost_per_visit"], "county", "month", "2025-03", "2025-03", mart_url=cfg.mart_url, by="sex")
    assert df.set_index("member")["denominator"].to_dict() == {"male": 2, "female": 2, "unknown": 1}
    bad = [visit(90, patient_sex="M"), visit(91, patient_birth_year="2031"), visit(92, patient_birth_year="1850")]
    with pytest.raises(LoadError) as info:
        load_directory(cfg, write_set(tmp_path / "bad", {"outpatient_visit": bad}))
    find(info.value, column="patient_sex")
    find(info.value, column="patient_birth_year")
    assert sum(i.column == "patient_birth_year" or "patient_birth_year" in i.reason for i in info.value.errors) >= 2


def test_postgresql_mart_splits_like_duckdb(demo_cfg, demo_con, pg_schema_url) -> None:
    """The tiny demo copied to PostgreSQL, dimension rollups built by the server: every split equals DuckDB's."""
    from mart.pg import copy_mart_to_pg
    pg = pg_schema_url()
    copy_mart_to_pg(demo_con, pg)
    for dim in DIMENSIONS:
        ids = [i for i in ("op_cost_per_visit", "ip_cost_per_discharge", "primary_visit_share", "op_cost_growth")
               if i in SPLITTABLE[dim]]
        for level, grain in (("county", "year"), ("institution", "quarter")):
            _same(compute(ids, level, grain, "2025-07", "2026-06", mart_url=demo_cfg.mart_url, by=dim),
                  compute(ids, level, grain, "2025-07", "2026-06", mart_url=pg, by=dim), exact=False)


def test_docs_list_every_member() -> None:
    text = (ROOT / "docs" / "dimensions.md").read_text(encoding="utf-8")
    for dim in DIMENSIONS.values():
        assert f"`{dim.id}` {dim.label_zh}" in text
        for code, zh in dim.members:
            assert f"`{code}` {zh}" in text, (dim.id, code)


def test_a_mart_made_before_gains_the_patient_columns(tmp_path: Path) -> None:
    from mart.db import ensure_schema
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    ensure_schema(con)
    for table in ("outpatient_visit", "inpatient_discharge"):
        for col in ("patient_sex", "patient_birth_year"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    con.execute("UPDATE mart_meta SET value = 'older' WHERE key = 'schema_ddl'")
    ensure_schema(con)
    cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'outpatient_visit' ORDER BY ordinal_position").fetchall()]
    assert cols == TABLES["outpatient_visit"].column_names
    con.close()


def test_a_mart_without_the_dimension_rollups_is_refused_in_chinese(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    load_directory(cfg, write_set(tmp_path / "good", GOOD))
    con = duckdb.connect(str(cfg.mart_path))
    con.execute("DROP TABLE r_op_dim_sex")
    con.close()
    with pytest.raises(IndicatorError, match="维度汇总表尚未生成"):
        compute(["op_cost_per_visit"], "county", "month", "2025-03", "2025-03", mart_url=cfg.mart_url, by="sex")
    assert len(compute(["op_cost_per_visit"], "county", "month", "2025-03", "2025-03", mart_url=cfg.mart_url)) == 1
