"""Rollups: the mart pre-aggregated by month × institution × department × doctor × residence township.

The engine (``metrics.engine``) answers from these tables instead of scanning facts per click. Every rollup table
is declared once here as ``ROW_SQL`` — a per-fact-row projection with the rollup's column names — plus its
grouping keys. The build aggregates that projection (``INSERT … SELECT keys, sum(…) … GROUP BY keys``) and the
engine's fact mode (used by tests to prove rollups equal facts) aggregates the very same projection on the fly.

Tables (all money as DOUBLE yuan, counts as BIGINT):

* ``r_op_month``      month, inst_code, dept_code, doctor_code, res_area → visits, flags and cost sums
* ``r_ip_month``      month, inst_code, dept_code, doctor_code, res_area, is_insured → discharges, flags, sums,
                      ``readmit31`` (discharges followed by an admission of the same patient within 31 days)
* ``r_lab_month``     month, ordering_inst_code, performing_inst_code → orders, timely, critical, critical_15
* ``r_ref_month``     month, direction, status, from_inst_code, to_inst_code → referrals, responded_24h
* ``r_os_month``      month, res_area, setting → rows, referred, total_cost, insurance_paid
* ``r_res_month``     month, inst_code → resource_month plus bed_capacity (beds × days), doctor_workdays
* ``r_chronic_month`` month, area_code, managing_inst_code, disease → registered, standard, controlled
  (registrations active on the month's last day; disease ``any`` counts distinct persons)
* ``r_chronic_hosp``  month, patient_id, disease, area_code, managing_inst_code, registered_date, deregistered_date:
                      registered chronic patients with a discharge in the county or an inpatient outside settlement
                      in that month (distinct counts over any period are taken from this small table)
* ``r_posting_month`` month, to_inst_code → posted (long-term county→primary postings, intermediate title or above,
                      active on the month's last day)
* ``r_inst_day``      day, inst_code, source → rows (freshness)
* ``r_inst_month``    month, inst_code, source → rows, days (completeness)

``res_area`` is the patient's area code when it is an area of this county, else NULL (non-resident).

Coarse rollups (:data:`COARSE`) are the outpatient and inpatient rollups summed over the keys that county,
township, institution and department queries never read (doctor; department too for the ``_inst`` tables). They
are built from the fine tables with plain SQL (same month-scoped rebuild rules) and are tens of times smaller, so
the engine reads the coarsest one that can answer a level (``queries.measures.LEVEL_TABLE``):

* ``r_op_month_inst``  month, inst_code, res_area              (county, township, institution)
* ``r_op_month_dept``  month, inst_code, dept_code, res_area   (department)
* ``r_ip_month_inst``  month, inst_code, res_area, is_insured
* ``r_ip_month_dept``  month, inst_code, dept_code, res_area, is_insured
* ``r_op_month_doc``   month, inst_code, dept_code, doctor_code               (doctor, measures without a residence
* ``r_ip_month_doc``   month, inst_code, dept_code, doctor_code, is_insured   filter)
"""
from __future__ import annotations

import time

import duckdb

from mart.db import fill_calendar

# Per-fact-row projections. Column order = keys then measures (the build sums the measures).
ROW_SQL: dict[str, str] = {
    "r_op_month": """
SELECT strftime(v.visit_time, '%Y-%m') AS month, v.inst_code, v.dept_code, v.doctor_code, a.area_code AS res_area,
       1 AS visits, CAST(v.has_antibiotic AS BIGINT) AS abx_visits, CAST(v.is_tcm AS BIGINT) AS tcm_visits,
       CAST(v.is_emergency AS BIGINT) AS emergency_visits,
       CAST(v.total_cost AS DOUBLE) AS total_cost, CAST(v.drug_cost AS DOUBLE) AS drug_cost,
       CAST(v.material_cost AS DOUBLE) AS material_cost, CAST(v.insurance_paid AS DOUBLE) AS insurance_paid
FROM outpatient_visit v LEFT JOIN area a ON a.area_code = v.patient_area_code""",
    "r_ip_month": """
SELECT strftime(d.discharge_time, '%Y-%m') AS month, d.inst_code, d.dept_code, d.doctor_code,
       a.area_code AS res_area, CAST(d.is_insured AS INTEGER) AS is_insured,
       1 AS discharges, CAST(d.has_antibiotic AS BIGINT) AS abx_discharges,
       CAST(d.antibiotic_ddd AS DOUBLE) AS antibiotic_ddd, CAST(d.bed_days AS BIGINT) AS bed_days,
       CASE WHEN d.surgery_level >= 1 THEN 1 ELSE 0 END AS surgeries,
       CASE WHEN d.surgery_level >= 3 THEN 1 ELSE 0 END AS surgeries_34,
       CASE WHEN d.surgery_level >= 1 AND d.is_minimally_invasive = 1 THEN 1 ELSE 0 END AS mis_surgeries,
       CAST(d.is_low_risk AS BIGINT) AS low_risk,
       CASE WHEN d.is_low_risk = 1 AND d.outcome = 'died' THEN 1 ELSE 0 END AS low_risk_died,
       CASE WHEN d.outcome = 'died' THEN 1 ELSE 0 END AS died,
       CASE WHEN EXISTS (SELECT 1 FROM inpatient_discharge n
                         WHERE n.patient_id = d.patient_id AND n.discharge_id <> d.discharge_id
                           AND n.admit_time >= d.discharge_time
                           AND n.admit_time <= d.discharge_time + INTERVAL 31 DAY) THEN 1 ELSE 0 END AS readmit31,
       CAST(d.total_cost AS DOUBLE) AS total_cost, CAST(d.drug_cost AS DOUBLE) AS drug_cost,
       CAST(d.material_cost AS DOUBLE) AS material_cost, CAST(d.insurance_paid AS DOUBLE) AS insurance_paid
FROM inpatient_discharge d LEFT JOIN area a ON a.area_code = d.patient_area_code""",
    "r_lab_month": """
SELECT strftime(l.order_time, '%Y-%m') AS month, l.ordering_inst_code, l.performing_inst_code,
       1 AS orders,
       CASE WHEN l.report_time IS NOT NULL AND l.collect_time IS NOT NULL AND
                 date_diff('second', l.collect_time, l.report_time)
                 <= CASE WHEN l.is_emergency = 1 THEN 3600 ELSE 86400 END THEN 1 ELSE 0 END AS timely,
       CAST(l.is_critical AS BIGINT) AS critical,
       CASE WHEN l.is_critical = 1 AND l.critical_notified_time IS NOT NULL AND l.report_time IS NOT NULL AND
                 date_diff('second', l.report_time, l.critical_notified_time) <= 900 THEN 1 ELSE 0 END
         AS critical_15
FROM lab_order l""",
    "r_ref_month": """
SELECT strftime(r.request_time, '%Y-%m') AS month, r.direction, r.status, r.from_inst_code, r.to_inst_code,
       1 AS referrals,
       CASE WHEN r.respond_time IS NOT NULL AND date_diff('second', r.request_time, r.respond_time) <= 86400
            THEN 1 ELSE 0 END AS responded_24h
FROM referral r""",
    "r_os_month": """
SELECT strftime(o.settle_date, '%Y-%m') AS month, a.area_code AS res_area, o.setting,
       1 AS settlements, CASE WHEN o.referral_id IS NOT NULL AND o.referral_id <> '' THEN 1 ELSE 0 END AS referred,
       CAST(o.total_cost AS DOUBLE) AS total_cost, CAST(o.insurance_paid AS DOUBLE) AS insurance_paid
FROM outside_settlement o LEFT JOIN area a ON a.area_code = o.patient_area_code""",
    "r_res_month": """
SELECT r.month, r.inst_code,
       CAST(r.open_beds AS BIGINT) AS open_beds, CAST(r.occupied_bed_days AS BIGINT) AS occupied_bed_days,
       CAST(r.open_beds AS BIGINT) * c.days AS bed_capacity, CAST(r.doctors AS BIGINT) AS doctors,
       CAST(r.doctors AS BIGINT) * c.weekdays AS doctor_workdays, CAST(r.nurses AS BIGINT) AS nurses,
       CAST(r.gps AS BIGINT) AS gps, CAST(r.ecg_devices AS BIGINT) AS ecg_devices,
       CASE WHEN r.ecg_devices >= 1 THEN 1 ELSE 0 END AS has_ecg, 1 AS reporting,
       CAST(r.medical_revenue AS DOUBLE) AS medical_revenue,
       CAST(r.medical_service_revenue AS DOUBLE) AS medical_service_revenue,
       CAST(r.personnel_expense AS DOUBLE) AS personnel_expense,
       CAST(r.business_expense AS DOUBLE) AS business_expense, CAST(r.paid_staff AS BIGINT) AS paid_staff
FROM resource_month r JOIN calendar_month c ON c.month = r.month""",
}

ROLLUP_KEYS: dict[str, tuple[str, ...]] = {
    "r_op_month": ("month", "inst_code", "dept_code", "doctor_code", "res_area"),
    "r_ip_month": ("month", "inst_code", "dept_code", "doctor_code", "res_area", "is_insured"),
    "r_lab_month": ("month", "ordering_inst_code", "performing_inst_code"),
    "r_ref_month": ("month", "direction", "status", "from_inst_code", "to_inst_code"),
    "r_os_month": ("month", "res_area", "setting"),
    "r_res_month": ("month", "inst_code"),
}

# Coarse rollups: table → (fine rollup it sums, its keys: a subset of the fine keys). Measures are the fine ones.
COARSE: dict[str, tuple[str, tuple[str, ...]]] = {
    "r_op_month_inst": ("r_op_month", ("month", "inst_code", "res_area")),
    "r_op_month_dept": ("r_op_month", ("month", "inst_code", "dept_code", "res_area")),
    "r_op_month_doc": ("r_op_month", ("month", "inst_code", "dept_code", "doctor_code")),
    "r_ip_month_inst": ("r_ip_month", ("month", "inst_code", "res_area", "is_insured")),
    "r_ip_month_dept": ("r_ip_month", ("month", "inst_code", "dept_code", "res_area", "is_insured")),
    "r_ip_month_doc": ("r_ip_month", ("month", "inst_code", "dept_code", "doctor_code", "is_insured")),
}


def coarse_sql(table: str, fine_columns: list[str]) -> tuple[str, str]:
    """(CREATE IF NOT EXISTS, INSERT … SELECT) of one coarse rollup, plain SQL for DuckDB and PostgreSQL alike.

    ``fine_columns`` are the fine table's columns (its cursor description); the CREATE copies their types, the
    INSERT sums the measures over the coarse keys and ends in ``FROM fine x`` so callers append a month filter
    (``WHERE x.month …``) and then ``GROUP BY`` :func:`coarse_group_by`."""
    fine, keys = COARSE[table]
    measures = [c for c in fine_columns if c not in ROLLUP_KEYS[fine]]
    select_keys = ", ".join(keys)
    create = (f"CREATE TABLE IF NOT EXISTS {table} AS SELECT {select_keys}, {', '.join(measures)} "
              f"FROM {fine} WHERE 1 = 0")
    insert = (f"INSERT INTO {table} SELECT {select_keys}, "
              f"{', '.join(f'sum({c}) AS {c}' for c in measures)} FROM {fine} x")
    return create, insert


def coarse_group_by(table: str) -> str:
    """The GROUP BY clause closing :func:`coarse_sql`'s INSERT."""
    return " GROUP BY " + ", ".join(COARSE[table][1])


# The source fact table of each month-partitioned rollup and the expression that places a fact row in a month.
_SOURCE = {
    "r_op_month": ("outpatient_visit", "v", "visit_time"),
    "r_ip_month": ("inpatient_discharge", "d", "discharge_time"),
    "r_lab_month": ("lab_order", "l", "order_time"),
    "r_ref_month": ("referral", "r", "request_time"),
    "r_os_month": ("outside_settlement", "o", "settle_date"),
    "r_res_month": ("resource_month", "r", "month"),
}

_FULL_DDL = [
    """CREATE TABLE IF NOT EXISTS r_chronic_month (
  month VARCHAR NOT NULL, area_code VARCHAR, managing_inst_code VARCHAR, disease VARCHAR NOT NULL,
  registered BIGINT NOT NULL, standard BIGINT NOT NULL, controlled BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS r_chronic_hosp (
  month VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, disease VARCHAR NOT NULL, area_code VARCHAR,
  managing_inst_code VARCHAR, registered_date DATE NOT NULL, deregistered_date DATE)""",
    """CREATE TABLE IF NOT EXISTS r_posting_month (
  month VARCHAR NOT NULL, to_inst_code VARCHAR NOT NULL, posted BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS r_inst_day (
  day DATE NOT NULL, inst_code VARCHAR NOT NULL, source VARCHAR NOT NULL, n BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS r_inst_month (
  month VARCHAR NOT NULL, inst_code VARCHAR NOT NULL, source VARCHAR NOT NULL, n BIGINT NOT NULL,
  days BIGINT NOT NULL)""",
]

ROLLUP_TABLES = tuple(ROW_SQL) + tuple(COARSE) + ("r_chronic_month", "r_chronic_hosp", "r_posting_month",
                                                  "r_inst_day", "r_inst_month")


_MEASURES: dict[str, list[str]] = {}


def _measure_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The measure columns of a fine rollup: ``ROW_SQL``'s select list minus the keys (fixed by the code, so
    asked of DuckDB once per process: planning the projection costs every load a few tens of milliseconds)."""
    if table not in _MEASURES:
        cols = [d[0] for d in con.execute(f"SELECT * FROM ({ROW_SQL[table]}) x LIMIT 0").description]
        _MEASURES[table] = [c for c in cols if c not in ROLLUP_KEYS[table]]
    return list(_MEASURES[table])


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in ROW_SQL:
        keys = ", ".join(ROLLUP_KEYS[table])
        measures = ", ".join(f"sum({c}) AS {c}" for c in _measure_columns(con, table))
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT {keys}, {measures} "
                    f"FROM ({ROW_SQL[table]}) x WHERE false GROUP BY {keys}")
    for table in COARSE:
        fine = COARSE[table][0]
        create, _insert = coarse_sql(table, [d[0] for d in con.execute(f"SELECT * FROM {fine} LIMIT 0").description])
        con.execute(create)
    for stmt in _FULL_DDL:
        con.execute(stmt)


def data_months(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """First and last month holding any fact or resource row, or None for an empty mart."""
    parts = [f"SELECT min({col}) AS lo, max({col}) AS hi FROM {src}" for src, _, col in _SOURCE.values()
             if col != "month"]
    row = con.execute(
        "SELECT strftime(min(lo), '%Y-%m'), strftime(max(hi), '%Y-%m') FROM ("
        + " UNION ALL ".join(f"SELECT CAST(lo AS TIMESTAMP) lo, CAST(hi AS TIMESTAMP) hi FROM ({p}) q" for p in parts)
        + ") u").fetchone()
    rmin, rmax = con.execute("SELECT min(month), max(month) FROM resource_month").fetchone()
    lo = min(x for x in (row[0], rmin) if x) if (row[0] or rmin) else None
    hi = max(x for x in (row[1], rmax) if x) if (row[1] or rmax) else None
    return (lo, hi) if lo else None


def _prev_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def build_rollups(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> None:
    """(Re)build the rollup tables for the given months (all months when None), in the caller's transaction
    when one is open (the loader), else in one transaction of its own.

    Month-partitioned rollups delete and re-insert only ``months`` (plus, for inpatients, each previous month:
    a new admission can turn an earlier discharge into a 31-day readmission). The small registration, posting
    and completeness tables are rebuilt whole because they depend on every month.
    """
    own_tx = not _in_transaction(con)
    if own_tx:
        con.execute("BEGIN TRANSACTION")
    try:
        rng = data_months(con)
        if rng is not None:
            fill_calendar(con, rng[0], rng[1])
        # a coarse table new to this mart (made before it existed) is filled for every month, not just ``months``
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}
        new_coarse = [t for t in COARSE if t not in present]
        _ensure_tables(con)
        con.execute("CREATE OR REPLACE TEMP TABLE _rb_months (month VARCHAR PRIMARY KEY)")
        for table in _SOURCE:
            if months is None:
                con.execute(f"DELETE FROM {table}")
                con.execute(_fine_insert(con, table, month_filter=False))
                continue
            wanted = set(months)
            if table == "r_ip_month":
                wanted |= {_prev_month(m) for m in months}
            con.execute("DELETE FROM _rb_months")
            con.executemany("INSERT INTO _rb_months VALUES (?)", [[m] for m in sorted(wanted)])
            con.execute(f"DELETE FROM {table} WHERE month IN (SELECT month FROM _rb_months)")
            con.execute(_fine_insert(con, table, month_filter=True))
        _build_coarse(con, months, new_coarse)
        _build_whole(con)
        if own_tx:
            con.execute("COMMIT")
    except Exception:
        if own_tx:
            con.execute("ROLLBACK")
        raise


def _fine_insert(con: duckdb.DuckDBPyConnection, table: str, month_filter: bool) -> str:
    """INSERT … SELECT filling one fine rollup from ``ROW_SQL`` (only the months of ``_rb_months`` when
    ``month_filter``).

    Rows are grouped by the month's first instant (``date_trunc``) and only the grouped rows are formatted as
    'YYYY-MM': formatting every one of millions of fact rows with strftime costs more than the whole grouping.
    The result is the same as grouping ``ROW_SQL`` itself, which the engine's fact mode does.
    """
    _src, alias, col = _SOURCE[table]
    keys = ROLLUP_KEYS[table]
    measures = ", ".join(f"sum({c}) AS {c}" for c in _measure_columns(con, table))
    if col == "month":       # already a 'YYYY-MM' column
        where = " WHERE x.month IN (SELECT month FROM _rb_months)" if month_filter else ""
        return (f"INSERT INTO {table} SELECT {', '.join(keys)}, {measures} FROM ({ROW_SQL[table]}) x{where} "
                f"GROUP BY {', '.join(keys)}")
    formatted = f"strftime({alias}.{col}, '%Y-%m') AS month"
    assert formatted in ROW_SQL[table], f"{table}: ROW_SQL must define month as {formatted}"
    row_sql = ROW_SQL[table].replace(formatted, f"date_trunc('month', {alias}.{col}) AS month")
    where = (" WHERE x.month IN (SELECT strptime(month, '%Y-%m') FROM _rb_months)" if month_filter else "")
    outer = ", ".join("strftime(g.month, '%Y-%m')" if k == "month" else f"g.{k}" for k in keys)
    return (f"INSERT INTO {table} SELECT {outer}, g.* EXCLUDE ({', '.join(keys)}) FROM ("
            f"SELECT {', '.join(keys)}, {measures} FROM ({row_sql}) x{where} GROUP BY {', '.join(keys)}) g")


def _build_coarse(con: duckdb.DuckDBPyConnection, months: list[str] | None, whole: list[str]) -> None:
    """Rebuild the coarse rollups from the fine ones for the months the fine ones were rebuilt (``_rb_months``),
    or entirely when ``months`` is None or the table is in ``whole``."""
    for table in COARSE:
        fine = COARSE[table][0]
        _create, insert = coarse_sql(table, [d[0] for d in con.execute(f"SELECT * FROM {fine} LIMIT 0").description])
        if months is None or table in whole:
            con.execute(f"DELETE FROM {table}")
            con.execute(insert + coarse_group_by(table))
            continue
        # _rb_months holds the last fine table's months: refill it with this table's (inpatients: + previous)
        wanted = set(months) | ({_prev_month(m) for m in months} if fine == "r_ip_month" else set())
        con.execute("DELETE FROM _rb_months")
        con.executemany("INSERT INTO _rb_months VALUES (?)", [[m] for m in sorted(wanted)])
        con.execute(f"DELETE FROM {table} WHERE month IN (SELECT month FROM _rb_months)")
        con.execute(insert + " WHERE x.month IN (SELECT month FROM _rb_months)" + coarse_group_by(table))


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    # A failed BEGIN inside an open transaction aborts that transaction in DuckDB, so probe without it:
    # txid_current() is stable within a transaction and advances between autocommit statements.
    first = con.execute("SELECT txid_current()").fetchone()[0]
    return con.execute("SELECT txid_current()").fetchone()[0] == first


# Statements rebuilding the tables that depend on every month (registrations, postings, completeness); plain SQL
# except DuckDB's strftime, which ``mart.pg`` translates for PostgreSQL.
_ACTIVE = ("c.registered_date <= m.month_end AND (c.deregistered_date IS NULL "
           "OR c.deregistered_date > m.month_end)")
WHOLE_TABLES = ("r_chronic_month", "r_chronic_hosp", "r_posting_month", "r_inst_day", "r_inst_month")
WHOLE_SQL: list[str] = [
    # Registrations active on each calendar month's last day.
    f"""
INSERT INTO r_chronic_month
SELECT m.month, c.area_code, c.managing_inst_code, c.disease, count(*),
       sum(CAST(c.is_standard_managed AS BIGINT)), sum(CAST(c.is_controlled AS BIGINT))
FROM calendar_month m JOIN chronic_patient c ON {_ACTIVE}
GROUP BY m.month, c.area_code, c.managing_inst_code, c.disease""",
    f"""
INSERT INTO r_chronic_month
SELECT m.month, c.area_code, NULL, 'any', count(DISTINCT c.patient_id), 0, 0
FROM calendar_month m JOIN chronic_patient c ON {_ACTIVE}
GROUP BY m.month, c.area_code""",
    """
INSERT INTO r_chronic_hosp
SELECT DISTINCT h.month, c.patient_id, c.disease, c.area_code, c.managing_inst_code, c.registered_date,
       c.deregistered_date
FROM (SELECT patient_id, strftime(discharge_time, '%Y-%m') AS month FROM inpatient_discharge
      UNION SELECT patient_id, strftime(settle_date, '%Y-%m') FROM outside_settlement WHERE setting = 'inpatient') h
JOIN chronic_patient c ON c.patient_id = h.patient_id""",
    """
INSERT INTO r_posting_month
SELECT m.month, p.to_inst_code, count(DISTINCT p.staff_code)
FROM calendar_month m
JOIN posting p ON p.start_date <= m.month_end AND (p.end_date IS NULL OR p.end_date >= m.month_end)
JOIN institution f ON f.inst_code = p.from_inst_code AND f.level = 'county'
JOIN institution t ON t.inst_code = p.to_inst_code AND t.level IN ('township', 'village')
JOIN staff s ON s.staff_code = p.staff_code AND s.title IN ('senior', 'associate', 'intermediate')
WHERE p.kind = 'long_term'
GROUP BY m.month, p.to_inst_code""",
    """
INSERT INTO r_inst_day
SELECT CAST(visit_time AS DATE), inst_code, 'outpatient_visit', count(*) FROM outpatient_visit GROUP BY 1, 2
UNION ALL SELECT CAST(discharge_time AS DATE), inst_code, 'inpatient_discharge', count(*)
          FROM inpatient_discharge GROUP BY 1, 2
UNION ALL SELECT CAST(order_time AS DATE), ordering_inst_code, 'lab_order', count(*) FROM lab_order GROUP BY 1, 2""",
    """
INSERT INTO r_inst_month
SELECT strftime(day, '%Y-%m'), inst_code, source, sum(n), count(*) FROM r_inst_day GROUP BY 1, 2, 3
UNION ALL SELECT month, inst_code, 'resource_month', 1, 1 FROM resource_month""",
]


def _build_whole(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the tables that depend on every month (registrations, postings, completeness)."""
    for table in WHOLE_TABLES:
        con.execute(f"DELETE FROM {table}")
    for stmt in WHOLE_SQL:
        con.execute(stmt)


def timed_build(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> float:
    """Build the rollups and return the seconds taken (for the demo builder's progress output)."""
    t0 = time.perf_counter()
    build_rollups(con, months)
    return time.perf_counter() - t0
