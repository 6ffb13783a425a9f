"""The demo county generator: contract, determinism, calibration, geometry and the deliberate problems."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from mart.demo import (
    ANTIBIOTIC_OUTLIER,
    COUNTY_CODE,
    FALLING_VISITS,
    UPLOAD_GAP,
    build_demo,
    gap_days,
    last_complete_month,
)
from mart.schema import LOAD_ORDER, TABLES
from tests.fixtures_mart import make_config

UNTIL = dt.date(2026, 11, 24)
ROOT = Path(__file__).resolve().parents[1]


def _checksums(path: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: tuple(con.execute(f"SELECT count(*), coalesce(sum(hash(t) % 1000000007), 0) FROM {name} t")
                            .fetchall()[0]) for name in LOAD_ORDER}
    finally:
        con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchall()[0][0]


# ---------------------------------------------------------------------------------------------- contract

def test_schema_equals_contract(demo_con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES.values():
        rows = demo_con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table.name]).fetchall()
        assert [r[0] for r in rows] == table.column_names, table.name
        for (name, sql_type), col in zip(rows, table.columns):
            assert sql_type == col.sql_type, f"{table.name}.{name}: {sql_type} != {col.sql_type}"
        assert _one(demo_con, f"SELECT count(*) FROM {table.name}") > 0, f"{table.name} is empty"


def test_rows_satisfy_checks_and_references(demo_con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES.values():
        for check in table.checks:
            bad = _one(demo_con, f"SELECT count(*) FROM {table.name} WHERE NOT ({check})")
            assert bad == 0, f"{table.name}: {bad} rows break {check}"
        for col in table.columns:
            if col.required:
                assert _one(demo_con, f"SELECT count(*) FROM {table.name} WHERE {col.name} IS NULL") == 0
            if col.ref:
                rt, rc = col.ref.split(".")
                orphans = _one(demo_con, f"SELECT count(*) FROM {table.name} x WHERE x.{col.name} IS NOT NULL "
                                         f"AND x.{col.name} NOT IN (SELECT {rc} FROM {rt})")
                assert orphans == 0, f"{table.name}.{col.name}: {orphans} values not in {col.ref}"


def test_hierarchy_and_doctors(demo_con: duckdb.DuckDBPyConnection) -> None:
    levels = dict(demo_con.execute("SELECT level, count(*) FROM area GROUP BY 1").fetchall())
    assert levels == {"county": 1, "township": 14}
    county_pop, town_pop = demo_con.execute(
        "SELECT max(population) FILTER (level = 'county'), sum(population) FILTER (level = 'township') "
        "FROM area").fetchall()[0]
    assert county_pop == town_pop
    biggest = _one(demo_con, "SELECT name FROM area WHERE level = 'township' ORDER BY population DESC LIMIT 1")
    assert biggest == "城关镇"
    types = dict(demo_con.execute("SELECT inst_type, count(*) FROM institution GROUP BY 1").fetchall())
    assert types["township_center"] == 14 and types["community_center"] == 3
    assert 180 <= types["village_clinic"] <= 220
    assert _one(demo_con, "SELECT count(*) FROM institution WHERE is_lead = 1") == 1
    # every village clinic hangs under the township centre of its own township
    assert _one(demo_con, """SELECT count(*) FROM institution v JOIN institution t ON t.inst_code = v.parent_inst_code
                             WHERE v.inst_type = 'village_clinic'
                               AND (t.inst_type <> 'township_center' OR t.area_code <> v.area_code)""") == 0
    assert _one(demo_con, "SELECT count(*) FROM institution WHERE inst_type = 'village_clinic' "
                          "AND parent_inst_code IS NULL") == 0
    # doctors on visits and discharges belong to that department of that institution
    for fact in ("outpatient_visit", "inpatient_discharge"):
        bad = _one(demo_con, f"""SELECT count(*) FROM {fact} f LEFT JOIN staff s ON s.staff_code = f.doctor_code
            WHERE s.staff_code IS NULL OR s.role <> 'doctor' OR s.dept_code <> f.dept_code
               OR s.inst_code <> f.inst_code""")
        assert bad == 0, fact
    assert _one(demo_con, "SELECT count(*) FROM department d JOIN institution i USING (inst_code) "
                          "WHERE i.inst_type = 'village_clinic' AND d.category <> 'general'") == 0


def test_period_and_meta(demo_con: duckdb.DuckDBPyConnection) -> None:
    first, last = demo_con.execute("SELECT min(visit_time)::DATE, max(visit_time)::DATE "
                                   "FROM outpatient_visit").fetchall()[0]
    assert first == dt.date(2025, 1, 1) and last == UNTIL
    assert _one(demo_con, "SELECT value FROM mart_meta WHERE key = 'data_version'")
    months = [r[0] for r in demo_con.execute("SELECT month FROM calendar_month ORDER BY 1").fetchall()]
    assert months[0] == "2025-01" and months[-1] == "2026-11" and len(months) == 23
    assert isinstance(demo_con, duckdb.DuckDBPyConnection)
    with pytest.raises(duckdb.Error):                    # the fixture connection is read-only
        demo_con.execute("CREATE TABLE scratch (a INTEGER)")


# ---------------------------------------------------------------------------------------------- determinism

def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    sums = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cfg = make_config(tmp_path / name)
        build_demo(cfg, scale=0.004, seed=seed, years=0, until=UNTIL, quiet=True)
        geo = (cfg.geo_dir / "townships.geojson").read_text(encoding="utf-8")
        sums.append((_checksums(cfg.mart_path), geo))
    assert sums[0] == sums[1]
    differing = [t for t in LOAD_ORDER if sums[0][0][t] != sums[2][0][t]]
    assert {"outpatient_visit", "inpatient_discharge", "lab_order", "staff"} <= set(differing)
    assert sums[0][1] != sums[2][1]


def test_failed_build_leaves_previous_mart(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    build_demo(cfg, scale=0.003, seed=1, years=0, until=UNTIL, quiet=True)
    before = _checksums(cfg.mart_path)
    # a real failure in the middle of the build: the geometry folder cannot be created (a file is in the way)
    geo = cfg.geo_dir
    for p in geo.iterdir():
        p.unlink()
    geo.rmdir()
    geo.write_text("not a folder")
    with pytest.raises(OSError):
        build_demo(cfg, scale=0.003, seed=2, years=0, until=UNTIL, quiet=True)
    assert _checksums(cfg.mart_path) == before
    # nothing half-built is left (the writer lock file of the mart is not data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geo", "mart.duckdb", "mart.duckdb.writer.lock"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    with pytest.raises(ValueError, match="scale"):
        build_demo(cfg, scale=0, years=0, until=UNTIL, quiet=True)
    with pytest.raises(ValueError, match="years"):
        build_demo(cfg, scale=0.01, years=-1, until=UNTIL, quiet=True)
    assert not cfg.mart_path.exists()


# ---------------------------------------------------------------------------------------------- calibration

@pytest.fixture(scope="module")
def cal_con(tmp_path_factory: pytest.TempPathFactory):
    """A 0.05-scale county (15,000 residents, 2023-01-01 .. 2026-11-24): large enough for stable ratios."""
    cfg = make_config(tmp_path_factory.mktemp("demo_cal"))
    build_demo(cfg, scale=0.05, seed=42, years=3, until=UNTIL, quiet=True)
    con = duckdb.connect(str(cfg.mart_path), read_only=True)
    yield con
    con.close()


RESIDENT = f"patient_area_code IN (SELECT area_code FROM area WHERE parent_code = '{COUNTY_CODE}')"


def test_volumes_per_resident(cal_con: duckdb.DuckDBPyConnection) -> None:
    pop = _one(cal_con, "SELECT population FROM area WHERE level = 'county'")
    visits = _one(cal_con, "SELECT count(*) FROM outpatient_visit WHERE year(visit_time) BETWEEN 2023 AND 2025") / 3
    assert 6.3 <= visits / pop <= 7.3
    outside_op = _one(cal_con, "SELECT count(*) FROM outside_settlement WHERE setting = 'outpatient' "
                               "AND year(settle_date) = 2025")
    resident_visits = _one(cal_con, f"SELECT count(*) FROM outpatient_visit WHERE year(visit_time) = 2025 "
                                    f"AND {RESIDENT}")
    assert 6.2 <= (resident_visits + outside_op) / pop <= 7.5
    admissions = (_one(cal_con, f"SELECT count(*) FROM inpatient_discharge WHERE year(discharge_time) = 2025 "
                                f"AND {RESIDENT}")
                  + _one(cal_con, "SELECT count(*) FROM outside_settlement WHERE setting = 'inpatient' "
                                  "AND year(settle_date) = 2025"))
    assert 0.15 <= admissions / pop <= 0.19
    nonres = _one(cal_con, f"SELECT avg(CASE WHEN {RESIDENT} THEN 0 ELSE 1 END) FROM outpatient_visit")
    assert 0.04 <= nonres <= 0.065


def test_level_split_costs_and_drugs(cal_con: duckdb.DuckDBPyConnection) -> None:
    rows = {r[0]: r[1:] for r in cal_con.execute("""
        SELECT i.level, count(*) / sum(count(*)) OVER (), avg(total_cost) FROM outpatient_visit v
        JOIN institution i USING (inst_code) GROUP BY 1""").fetchall()}
    assert 0.32 <= rows["county"][0] <= 0.38
    assert 0.29 <= rows["township"][0] <= 0.35
    assert 0.30 <= rows["village"][0] <= 0.36
    assert 200 <= rows["county"][1] <= 240
    assert 80 <= rows["township"][1] <= 100
    ip = dict(cal_con.execute("""SELECT i.level, avg(total_cost) FROM inpatient_discharge d
                                 JOIN institution i USING (inst_code) GROUP BY 1""").fetchall())
    assert 5800 <= ip["county"] <= 7000
    assert 2400 <= ip["township"] <= 3200
    drug = _one(cal_con, "SELECT sum(drug_cost) / sum(total_cost) FROM outpatient_visit")
    assert 0.35 <= drug <= 0.41


def test_beds(cal_con: duckdb.DuckDBPyConnection) -> None:
    alos = _one(cal_con, "SELECT avg(bed_days) FROM inpatient_discharge")
    assert 7 <= alos <= 9
    occ = _one(cal_con, """SELECT sum(occupied_bed_days) / sum(open_beds * c.days) FROM resource_month r
                           JOIN calendar_month c USING (month) WHERE r.month BETWEEN '2023-01' AND '2025-12'""")
    assert 0.70 <= occ <= 0.90


def test_in_county_inpatient_share_varies_by_township(cal_con: duckdb.DuckDBPyConnection) -> None:
    shares = [r[1] for r in cal_con.execute(f"""
        WITH i AS (SELECT patient_area_code a, count(*) n FROM inpatient_discharge WHERE is_insured = 1
                   AND {RESIDENT} GROUP BY 1),
             o AS (SELECT patient_area_code a, count(*) n FROM outside_settlement WHERE setting = 'inpatient'
                   GROUP BY 1)
        SELECT a, i.n / (i.n + o.n) FROM i JOIN o USING (a)""").fetchall()]
    assert len(shares) == 14
    assert all(0.82 <= s <= 0.94 for s in shares), shares
    assert max(shares) - min(shares) >= 0.02


def test_referrals_and_labs(cal_con: duckdb.DuckDBPyConnection) -> None:
    up, down = cal_con.execute("SELECT count(*) FILTER (direction = 'up'), count(*) FILTER (direction = 'down') "
                               "FROM referral").fetchall()[0]
    assert 0.22 <= down / up <= 0.40
    acc = _one(cal_con, "SELECT count(*) FILTER (status IN ('accepted', 'completed')) / count(*) "
                        "FROM referral WHERE status IN ('accepted', 'completed', 'rejected')")
    assert 0.86 <= acc <= 0.96
    r24 = _one(cal_con, "SELECT avg((respond_time - request_time <= INTERVAL 24 HOUR)::INTEGER) FROM referral")
    assert r24 >= 0.85
    timely = _one(cal_con, """SELECT avg(CASE WHEN is_emergency = 1 THEN report_time - collect_time <= INTERVAL 60 MINUTE
                                         ELSE report_time - collect_time <= INTERVAL 24 HOUR END::INTEGER)
                              FROM lab_order""")
    assert 0.93 <= timely <= 0.975
    assert _one(cal_con, "SELECT count(*) FROM lab_order WHERE is_critical = 1") > 50
    orders = _one(cal_con, "SELECT count(*) FROM lab_order") / _one(cal_con, "SELECT count(*) FROM outpatient_visit")
    assert 0.45 <= orders <= 0.75
    # outside settlements that were referred point at a real referral of the same patient
    assert _one(cal_con, """SELECT count(*) FROM outside_settlement o LEFT JOIN referral r USING (referral_id)
                            WHERE o.referral_id IS NOT NULL
                              AND (r.referral_id IS NULL OR r.patient_id <> o.patient_id)""") == 0


def test_chronic_patients(cal_con: duckdb.DuckDBPyConnection) -> None:
    pop = _one(cal_con, "SELECT population FROM area WHERE level = 'county'")
    rows = {r[0]: r[1:] for r in cal_con.execute(
        "SELECT disease, count(*), avg(is_standard_managed) FROM chronic_patient GROUP BY 1").fetchall()}
    assert 0.07 <= rows["hypertension"][0] / pop <= 0.09
    assert 0.025 <= rows["diabetes"][0] / pop <= 0.035
    for _n, std in rows.values():
        assert 0.58 <= std <= 0.72


def test_season_trend_weekday(cal_con: duckdb.DuckDBPyConnection) -> None:
    daily = dict(cal_con.execute("SELECT visit_time::DATE, count(*) FROM outpatient_visit GROUP BY 1").fetchall())

    def avg(first: dt.date, last: dt.date) -> float:
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        return sum(daily.get(d, 0) for d in days) / len(days)

    winter = avg(dt.date(2024, 12, 1), dt.date(2024, 12, 31)) + avg(dt.date(2025, 2, 15), dt.date(2025, 2, 28))
    summer = avg(dt.date(2025, 6, 1), dt.date(2025, 6, 30)) + avg(dt.date(2025, 8, 1), dt.date(2025, 8, 14))
    assert winter > 1.15 * summer
    # Spring Festival 2025 (Jan 29): the week around it is far below the first half of January
    assert avg(dt.date(2025, 1, 27), dt.date(2025, 2, 3)) < 0.75 * avg(dt.date(2025, 1, 6), dt.date(2025, 1, 19))
    y = dict(cal_con.execute("SELECT year(visit_time), count(*) FROM outpatient_visit GROUP BY 1").fetchall())
    assert 1.03 <= y[2025] / y[2023] <= 1.09
    wd = dict(cal_con.execute("SELECT isodow(visit_time), count(*) FROM outpatient_visit GROUP BY 1").fetchall())
    assert wd[1] > 1.25 * wd[7] and wd[3] > wd[6]


def test_no_fact_timestamp_after_until(cal_con: duckdb.DuckDBPyConnection) -> None:
    """Data end on ``until``: no date or time of any table lies later; late answers stay pending / unreported."""
    end = dt.datetime.combine(UNTIL, dt.time(23, 59, 59))
    scanned = []
    for table in TABLES.values():
        for col in table.columns:
            if col.type not in ("date", "datetime"):
                continue
            scanned.append(f"{table.name}.{col.name}")
            late = _one(cal_con, f"SELECT count(*) FROM {table.name} WHERE {col.name} > ?", [end])
            assert late == 0, f"{table.name}.{col.name}: {late} values after {end}"
    assert {"referral.respond_time", "lab_order.report_time", "lab_order.collect_time",
            "lab_order.critical_notified_time", "inpatient_discharge.discharge_time"} <= set(scanned)
    # a response that would come after the end of the data is still pending
    assert _one(cal_con, "SELECT count(*) FROM referral WHERE (status = 'pending') <> (respond_time IS NULL)") == 0
    assert _one(cal_con, "SELECT count(*) FROM referral WHERE status = 'pending'") > 0


def test_doctor_workload_in_band_for_every_institution_type() -> None:
    """At scale 1, visits per doctor and weekday (医师日均担负诊疗人次, band 8–20) fit most institutions of every type."""
    from mart.demo import VISITS_PER_RESIDENT, _areas, _institutions, _staff
    areas = _areas(1.0)
    insts = _institutions(areas, 42)
    _dept, staff = _staff(insts, 1.0, 42)
    doctors = staff[staff.role == "doctor"].groupby("inst_code").size().to_dict()
    annual = VISITS_PER_RESIDENT * int(areas[areas.level == "township"].population.sum())
    by_type: dict[str, list[float]] = {}
    for i in insts:
        per_weekday = annual * i.op_share / (12 * 21.75)       # a month's visits over its ~21.75 weekdays
        by_type.setdefault(i.inst_type, []).append(per_weekday / doctors[i.code])
    for inst_type, values in by_type.items():
        inside = sum(8 <= v <= 20 for v in values) / len(values)
        assert inside >= 0.85, (inst_type, sorted(round(v, 1) for v in values))
    village = [doctors[i.code] for i in insts if i.inst_type == "village_clinic"]
    assert min(village) >= 1 and max(village) <= 3


def test_outpatient_cost_growth_is_modest(cal_con: duckdb.DuckDBPyConnection) -> None:
    """Year-on-year growth of the outpatient cost per visit: ~2–6 % per institution, only a few above 5 %."""
    rows = cal_con.execute("""
        WITH y AS (SELECT inst_code, year(visit_time) AS yr, avg(total_cost) AS c FROM outpatient_visit
                   WHERE year(visit_time) IN (2024, 2025) GROUP BY ALL)
        SELECT a.inst_code, b.c / a.c - 1 FROM y a JOIN y b ON b.inst_code = a.inst_code AND b.yr = a.yr + 1
        JOIN institution i ON i.inst_code = a.inst_code WHERE i.level <> 'village'""").fetchall()
    growth = [g for _c, g in rows]
    assert len(growth) >= 20
    mean = sum(growth) / len(growth)
    assert 0.02 <= mean <= 0.05, mean
    assert all(-0.01 <= g <= 0.08 for g in growth), sorted(growth)
    assert sum(g > 0.05 for g in growth) <= 0.25 * len(growth)


# ---------------------------------------------------------------------------------------------- problems

def test_antibiotic_outlier(cal_con: duckdb.DuckDBPyConnection) -> None:
    rates = dict(cal_con.execute("""SELECT inst_code, avg(has_antibiotic) FROM outpatient_visit v
        JOIN institution i USING (inst_code) WHERE i.inst_type = 'township_center' GROUP BY 1""").fetchall())
    assert 0.35 <= rates.pop(ANTIBIOTIC_OUTLIER) <= 0.45
    assert all(0.10 <= r <= 0.20 for r in rates.values()), rates


def test_falling_visits(cal_con: duckdb.DuckDBPyConnection) -> None:
    ratios = dict(cal_con.execute("""
        SELECT inst_code,
               count(*) FILTER (visit_time >= '2026-08-01' AND visit_time < '2026-11-01')
             / count(*) FILTER (visit_time >= '2025-08-01' AND visit_time < '2025-11-01')
        FROM outpatient_visit v JOIN institution i USING (inst_code)
        WHERE i.inst_type = 'township_center' AND inst_code <> ? GROUP BY 1""", [UPLOAD_GAP]).fetchall())
    assert ratios.pop(FALLING_VISITS) < 0.7
    assert all(r > 0.95 for r in ratios.values()), ratios
    monthly = [r[0] for r in cal_con.execute("""SELECT count(*) FROM outpatient_visit WHERE inst_code = ?
        AND visit_time >= '2026-03-01' AND visit_time < '2026-11-01' GROUP BY strftime(visit_time, '%Y-%m')
        ORDER BY strftime(visit_time, '%Y-%m')""", [FALLING_VISITS]).fetchall()]
    assert monthly[-1] < monthly[0] * 0.75


def test_seven_day_upload_gap(cal_con: duckdb.DuckDBPyConnection) -> None:
    first_month, last_month_day = last_complete_month(UNTIL)
    assert (first_month, last_month_day) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    g0, g1 = gap_days(UNTIL)
    assert (g1 - g0).days == 6
    checks = [("outpatient_visit", "inst_code", "visit_time"), ("inpatient_discharge", "inst_code", "discharge_time"),
              ("lab_order", "ordering_inst_code", "order_time"), ("lab_order", "performing_inst_code", "order_time"),
              ("referral", "from_inst_code", "request_time")]
    for table, col, tcol in checks:
        n = _one(cal_con, f"SELECT count(*) FROM {table} WHERE {col} = ? AND {tcol}::DATE BETWEEN ? AND ?",
                 [UPLOAD_GAP, g0, g1])
        assert n == 0, (table, col)
    # before and after the gap it uploads normally; no other township centre has an empty day that month
    days = dict(cal_con.execute("""SELECT inst_code, count(DISTINCT visit_time::DATE) FROM outpatient_visit v
        JOIN institution i USING (inst_code) WHERE i.inst_type = 'township_center'
        AND visit_time >= ? AND visit_time < ? GROUP BY 1""",
                                [first_month, last_month_day + dt.timedelta(days=1)]).fetchall())
    assert days.pop(UPLOAD_GAP) == 31 - 7
    assert set(days.values()) == {31}


# ---------------------------------------------------------------------------------------------- geometry

def test_geometry_valid_and_institutions_inside(demo_cfg, demo_con: duckdb.DuckDBPyConnection) -> None:
    towns = json.loads((demo_cfg.geo_dir / "townships.geojson").read_text(encoding="utf-8"))
    county = json.loads((demo_cfg.geo_dir / "county.geojson").read_text(encoding="utf-8"))
    shapes = {f["properties"]["area_code"]: shape(f["geometry"]) for f in towns["features"]}
    codes = {r[0] for r in demo_con.execute("SELECT area_code FROM area WHERE level = 'township'").fetchall()}
    assert set(shapes) == codes and len(shapes) == 14
    for code, poly in shapes.items():
        assert poly.geom_type == "Polygon" and poly.is_valid and poly.area > 0, code
    outline = shape(county["features"][0]["geometry"])
    assert outline.is_valid
    assert abs(unary_union(list(shapes.values())).area - outline.area) < 1e-6 * outline.area + 1e-9
    minx, miny, maxx, maxy = outline.bounds
    assert 0.35 <= maxx - minx <= 0.7 and 0.25 <= maxy - miny <= 0.5          # ≈ 50 × 40 km
    assert minx < 119.6 < maxx and miny < 29.1 < maxy
    city = _one(demo_con, "SELECT area_code FROM area WHERE name = '城关镇'")
    assert shapes[city].distance(outline.centroid) < 0.03                      # 城关镇 in the middle
    for code, area_code, lon, lat in demo_con.execute(
            "SELECT inst_code, area_code, lon, lat FROM institution").fetchall():
        assert shapes[area_code].contains(Point(lon, lat)), code
    far = demo_con.execute("SELECT inst_code, lon, lat FROM institution WHERE level = 'county'").fetchall()
    centre = shapes[city].representative_point()
    assert all(Point(lon, lat).distance(centre) < 0.03 for _c, lon, lat in far)


# ---------------------------------------------------------------------------------------------- command line

def test_demo_command(tmp_path: Path) -> None:
    env = dict(os.environ, DATA_DIR=str(tmp_path), MART_URL="", APP_DB_URL="")
    out = subprocess.run([sys.executable, "app.py", "demo", "--scale", "0.003", "--years", "0", "--quiet"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert "outpatient_visit" in out.stdout and "elapsed" in out.stdout
    assert (tmp_path / "mart.duckdb").exists() and (tmp_path / "geo" / "townships.geojson").exists()
    bad = subprocess.run([sys.executable, "app.py", "demo", "--scale", "-1"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "scale" in bad.stderr
