"""Rollups: the mart pre-aggregated by month × institution × department × doctor × residence township.

The engine (``metrics.engine``) answers from these tables instead of scanning facts per click. Every
month-partitioned rollup is declared once here as a :class:`RollupSpec` (:data:`SPECS`) — a per-fact-row
projection with the rollup's column names, its grouping keys and measures, its source, the tables it reads and
its coarse variants — from which the DuckDB, PostgreSQL (``mart.pg``) and Spark (``mart.spark``) builders derive. The build aggregates that projection (``INSERT … SELECT keys, sum(…) … GROUP BY keys``) and the
engine's fact mode (used by tests to prove rollups equal facts) aggregates the very same projection on the fly.

Tables (all money as DOUBLE yuan, counts as BIGINT; money and other decimal measures are always *summed* as
DECIMAL — :func:`exact_sum` — so a sum does not depend on the order the rows arrive in: the same facts loaded by
another path, or summed by other threads, give the same bits):

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
* ``r_op_day``, ``r_ip_day``, ``r_lab_day``, ``r_ref_day``, ``r_os_day``: the five fact rollups by month and day of
                      month (``dom``) at institution grain (no department, doctor or residence; ``r_os_day`` keeps
                      its residence, it has no institution); the engine cuts last year's twin of a running month
                      at the same day from them (:data:`DAY_TABLES`)
* ``r_inst_day``      day, inst_code, source → rows (freshness)
* ``r_inst_month``    month, inst_code, source → rows, days (completeness)
* ``r_op_dim_<dim>``  month, inst_code, res_area, member → the measures of r_op_month, one table per dimension of
  ``r_ip_dim_<dim>``  ``mart.dimensions`` (… is_insured, member → those of r_ip_month); see :data:`DIMENSION_TABLES`

``res_area`` is the patient's area code when it is an area of this county, else NULL (non-resident).

Coarse rollups (:data:`COARSE`) are the outpatient and inpatient rollups summed over the keys that county,
township, institution and department queries never read (doctor; department too for the ``_inst`` tables). They
are built from the fine tables with plain SQL (same month-scoped rebuild rules) and are tens of times smaller, so
the engine reads the coarsest one that can answer a level (``queries.measures.LEVEL_TABLES``):

* ``r_op_month_inst``  month, inst_code, res_area              (county, township, institution)
* ``r_op_month_dept``  month, inst_code, dept_code, res_area   (department)
* ``r_ip_month_inst``  month, inst_code, res_area, is_insured
* ``r_ip_month_dept``  month, inst_code, dept_code, res_area, is_insured
* ``r_op_month_dept_all`` / ``r_ip_month_dept_all``  month, inst_code, dept_code (department queries without a
                       residence filter: every patient's residence summed, 5–6× fewer rows than ``_dept``)
* ``r_op_month_doc``   month, inst_code, dept_code, doctor_code               (doctor, measures without a residence
* ``r_ip_month_doc``   month, inst_code, dept_code, doctor_code, is_insured   filter)

What a load rebuilds (:func:`rebuild_plan`): each rollup declares what it reads (:data:`READS`) — tables whose
rows land in a month of the rollup (a change there rebuilds only the affected months) and tables it reads whole
(a change there rebuilds every month). The loader passes the tables it changed and the affected months, which
include :data:`MONTH_SPANS` (an admission changes the 31-day readmission flag of earlier discharges); a rollup
reading none of the changed tables is left alone.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb

from core.periods import add_months, month_range
from mart.db import fill_calendar
from mart.dimensions import FACT_DIMENSIONS, member_sql
from mart.schema import TABLES

# A discharge counts as readmitted when the same patient is admitted again within this many days.
READMIT_DAYS = 31

# Per-fact-row projections. Column order = keys then measures (the build sums the measures). Money is projected
# as the fact's own DECIMAL column, not as DOUBLE: every sum of it is exact (:func:`exact_sum`), and on PostgreSQL
# a DOUBLE in between costs two text conversions per value (float8 <-> numeric go through sprintf/strtod).
_ROW_SQL: dict[str, str] = {
    "r_op_month": """
SELECT strftime(v.visit_time, '%Y-%m') AS month, v.inst_code, v.dept_code, v.doctor_code, a.area_code AS res_area,
       1 AS visits, CAST(v.has_antibiotic AS BIGINT) AS abx_visits, CAST(v.is_tcm AS BIGINT) AS tcm_visits,
       CAST(v.is_emergency AS BIGINT) AS emergency_visits,
       v.total_cost AS total_cost, v.drug_cost AS drug_cost,
       v.material_cost AS material_cost, v.insurance_paid AS insurance_paid
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
       CASE WHEN r.discharge_id IS NULL THEN 0 ELSE 1 END AS readmit31,
       d.total_cost AS total_cost, d.drug_cost AS drug_cost,
       d.material_cost AS material_cost, d.insurance_paid AS insurance_paid
FROM inpatient_discharge d LEFT JOIN area a ON a.area_code = d.patient_area_code
LEFT JOIN (SELECT DISTINCT p.discharge_id FROM inpatient_discharge p JOIN inpatient_discharge n
           ON n.patient_id = p.patient_id AND n.discharge_id <> p.discharge_id
          AND n.admit_time >= p.discharge_time AND n.admit_time <= p.discharge_time + INTERVAL READMIT_DAYS DAY
          ) r ON r.discharge_id = d.discharge_id""".replace("READMIT_DAYS", str(READMIT_DAYS)),
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
       o.total_cost AS total_cost, o.insurance_paid AS insurance_paid
FROM outside_settlement o LEFT JOIN area a ON a.area_code = o.patient_area_code""",
    "r_res_month": """
SELECT r.month, r.inst_code,
       CAST(r.open_beds AS BIGINT) AS open_beds, CAST(r.occupied_bed_days AS BIGINT) AS occupied_bed_days,
       CAST(r.open_beds AS BIGINT) * c.days AS bed_capacity, CAST(r.doctors AS BIGINT) AS doctors,
       CAST(r.doctors AS BIGINT) * c.weekdays AS doctor_workdays, CAST(r.nurses AS BIGINT) AS nurses,
       CAST(r.gps AS BIGINT) AS gps, CAST(r.ecg_devices AS BIGINT) AS ecg_devices,
       CASE WHEN r.ecg_devices >= 1 THEN 1 ELSE 0 END AS has_ecg, 1 AS reporting,
       r.medical_revenue AS medical_revenue,
       r.medical_service_revenue AS medical_service_revenue,
       r.personnel_expense AS personnel_expense,
       r.business_expense AS business_expense, CAST(r.paid_staff AS BIGINT) AS paid_staff
FROM resource_month r JOIN calendar_month c ON c.month = r.month""",
}

@dataclass(frozen=True)
class Reads:
    """What one rollup is computed from.

    ``by_month``: tables whose rows each land in one month of the rollup — a change to such a row changes only
    that month (and the months of :data:`MONTH_SPANS`). ``whole``: tables the rollup joins or spreads over every
    month — a change there may change any month.
    """
    by_month: frozenset[str]
    whole: frozenset[str] = frozenset()


def _reads(by_month: Iterable[str], whole: Iterable[str] = ()) -> Reads:
    return Reads(frozenset(by_month), frozenset(whole))



@dataclass(frozen=True)
class RollupSpec:
    """The one declaration of a month-partitioned rollup, from which every engine's builder derives: DuckDB
    (:func:`build_rollups`), PostgreSQL (``mart.pg``, :func:`mart.pg.to_postgres`), Spark (``mart.spark``, sqlglot)
    and the engine's fact mode (``queries.measures`` aggregates :attr:`row_sql`).

    ``row_sql`` is the per-fact-row projection (DuckDB SQL, outer query ending in its FROM clause): ``keys`` then
    ``measures`` (summed by the build). ``source`` = (fact table, its alias in ``row_sql``, the column placing a row
    in a month). ``coarse``: coarse variants, table → keys (a subset of ``keys``; same measures), read by the
    levels that never look at the dropped keys. ``reads``: the tables ``row_sql`` reads (what a load rebuilds).
    """
    table: str
    row_sql: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    source: tuple[str, str, str]
    reads: Reads
    coarse: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def build_select(self, months: list[str] | None = None) -> str:
        """The SELECT filling this rollup (DuckDB SQL; only the facts of ``months`` when given)."""
        return fine_insert_sql(self.table, list(self.measures), months).split(" ", 3)[3]


_OP_COSTS = ("total_cost", "drug_cost", "material_cost", "insurance_paid")
SPECS: dict[str, RollupSpec] = {s.table: s for s in (
    RollupSpec("r_op_month", _ROW_SQL["r_op_month"], ("month", "inst_code", "dept_code", "doctor_code", "res_area"),
               ("visits", "abx_visits", "tcm_visits", "emergency_visits", *_OP_COSTS),
               ("outpatient_visit", "v", "visit_time"), _reads({"outpatient_visit"}, {"area"}),
               {"r_op_month_inst": ("month", "inst_code", "res_area"),
                "r_op_month_dept": ("month", "inst_code", "dept_code", "res_area"),
                "r_op_month_dept_all": ("month", "inst_code", "dept_code"),
                "r_op_month_doc": ("month", "inst_code", "dept_code", "doctor_code")}),
    RollupSpec("r_ip_month", _ROW_SQL["r_ip_month"],
               ("month", "inst_code", "dept_code", "doctor_code", "res_area", "is_insured"),
               ("discharges", "abx_discharges", "antibiotic_ddd", "bed_days", "surgeries", "surgeries_34",
                "mis_surgeries", "low_risk", "low_risk_died", "died", "readmit31", *_OP_COSTS),
               ("inpatient_discharge", "d", "discharge_time"), _reads({"inpatient_discharge"}, {"area"}),
               {"r_ip_month_inst": ("month", "inst_code", "res_area", "is_insured"),
                "r_ip_month_dept": ("month", "inst_code", "dept_code", "res_area", "is_insured"),
                "r_ip_month_dept_all": ("month", "inst_code", "dept_code"),
                "r_ip_month_doc": ("month", "inst_code", "dept_code", "doctor_code", "is_insured")}),
    RollupSpec("r_lab_month", _ROW_SQL["r_lab_month"], ("month", "ordering_inst_code", "performing_inst_code"),
               ("orders", "timely", "critical", "critical_15"), ("lab_order", "l", "order_time"),
               _reads({"lab_order"})),
    RollupSpec("r_ref_month", _ROW_SQL["r_ref_month"],
               ("month", "direction", "status", "from_inst_code", "to_inst_code"), ("referrals", "responded_24h"),
               ("referral", "r", "request_time"), _reads({"referral"})),
    RollupSpec("r_os_month", _ROW_SQL["r_os_month"], ("month", "res_area", "setting"),
               ("settlements", "referred", "total_cost", "insurance_paid"),
               ("outside_settlement", "o", "settle_date"), _reads({"outside_settlement"}, {"area"})),
    RollupSpec("r_res_month", _ROW_SQL["r_res_month"], ("month", "inst_code"),
               ("open_beds", "occupied_bed_days", "bed_capacity", "doctors", "doctor_workdays", "nurses", "gps",
                "ecg_devices", "has_ecg", "reporting", "medical_revenue", "medical_service_revenue",
                "personnel_expense", "business_expense", "paid_staff"),
               ("resource_month", "r", "month"), _reads({"resource_month"})),
)}



def dimension_table(fine: str, dimension: str) -> str:
    """The dimension rollup of a fine outpatient/inpatient rollup: ``r_op_dim_<dimension>`` / ``r_ip_dim_…``."""
    return f"{fine[:4]}_dim_{dimension}"


def _dimension_spec(fine: str, dimension: str) -> RollupSpec:
    """Institution × month × residence (× insured) × member of one dimension (``mart.dimensions``): the fine
    rollup's row projection with the member added, summed over departments and doctors (dimension splits are
    served at county, township and institution level)."""
    spec = SPECS[fine]
    fact, alias, _col = spec.source
    # the fine projection without the department and doctor, the member after the keys (keys, then measures)
    dropped, first = f", {alias}.dept_code, {alias}.doctor_code", f"1 AS {spec.measures[0]}"
    assert spec.row_sql.count(dropped) == 1 and spec.row_sql.count(first) == 1, fine
    row_sql = spec.row_sql.replace(dropped, "").replace(first, f"{member_sql(dimension, fact)} AS member, {first}")
    keys = tuple(k for k in spec.keys if k not in ("dept_code", "doctor_code")) + ("member",)
    return RollupSpec(dimension_table(fine, dimension), row_sql, keys, spec.measures, spec.source, spec.reads)


# Dimension rollups: fine rollup → {dimension: table} (visit type splits outpatient visits only). The department
# category has no rollup of its own: it is read from the department rollups (``r_op_month_dept``) joined with the
# departments at query time, so a department load (a renamed or re-categorised department) rebuilds nothing.
DIMENSION_TABLES: dict[str, dict[str, str]] = {
    fine: {dim: dimension_table(fine, dim) for dim in FACT_DIMENSIONS[SPECS[fine].source[0]]
           if dim != "dept_category"}
    for fine in ("r_op_month", "r_ip_month")}
SPECS.update({s.table: s for s in (_dimension_spec(fine, dim) for fine, dims in DIMENSION_TABLES.items()
                                   for dim in dims)})


def _day_spec(month_table: str, table: str, keys: tuple[str, ...]) -> RollupSpec:
    """The day-grain variant of a fact rollup: the same row projection and measures, keyed by month and day of
    month (``dom``) instead of department and doctor. The engine reads it only to cut last year's twin of a running
    period at the same day (:func:`metrics.engine.compute`: YoY compares the same days of last year)."""
    spec = SPECS[month_table]
    _src, alias, col = spec.source
    formatted = f"strftime({alias}.{col}, '%Y-%m') AS month"
    assert formatted in spec.row_sql, month_table
    row_sql = spec.row_sql.replace(formatted, f"{formatted}, CAST(date_part('day', {alias}.{col}) AS INTEGER) AS dom")
    row_sql = row_sql.replace(f"{alias}.dept_code, {alias}.doctor_code,", "")     # institution grain
    if "res_area" not in keys:
        row_sql = row_sql.replace("a.area_code AS res_area,", "")
        row_sql = re.sub(r"\s*LEFT JOIN area a ON a\.area_code = \w+\.patient_area_code", "", row_sql)
    reads = spec.reads if "res_area" in keys else Reads(spec.reads.by_month, spec.reads.whole - {"area"})
    return RollupSpec(table, row_sql, keys, spec.measures, spec.source, reads)


# Day-grain variants (month rollup → day table), at institution grain and without the patients' residence (the
# outpatient day table would be a third larger with it): county, township and institution queries by provider
# read them; department, doctor and residence-based rows of a running period fall back to a pro-rata cut.
DAY_TABLES: dict[str, str] = {"r_op_month": "r_op_day", "r_ip_month": "r_ip_day", "r_lab_month": "r_lab_day",
                              "r_ref_month": "r_ref_day", "r_os_month": "r_os_day"}
SPECS.update({s.table: s for s in (
    _day_spec("r_op_month", "r_op_day", ("month", "dom", "inst_code")),
    _day_spec("r_ip_month", "r_ip_day", ("month", "dom", "inst_code", "is_insured")),
    _day_spec("r_lab_month", "r_lab_day", ("month", "dom", "ordering_inst_code", "performing_inst_code")),
    _day_spec("r_ref_month", "r_ref_day", ("month", "dom", "direction", "status", "from_inst_code", "to_inst_code")),
    _day_spec("r_os_month", "r_os_day", ("month", "dom", "res_area", "setting")),
)})

# Views of the declarations by table (what older callers and the other modules read).
ROW_SQL: dict[str, str] = {t: s.row_sql for t, s in SPECS.items()}
ROLLUP_KEYS: dict[str, tuple[str, ...]] = {t: s.keys for t, s in SPECS.items()}
# Coarse rollups: table → (fine rollup it sums, its keys: a subset of the fine keys). Measures are the fine ones.
COARSE: dict[str, tuple[str, tuple[str, ...]]] = {c: (t, keys) for t, s in SPECS.items()
                                                  for c, keys in s.coarse.items()}
_SOURCE: dict[str, tuple[str, str, str]] = {t: s.source for t, s in SPECS.items()}
# Rollups holding the 31-day readmission flag: an admission changes earlier months of them (MONTH_SPANS).
READMIT_TABLES: tuple[str, ...] = ("r_ip_month", *[t for t, (fine, _k) in COARSE.items() if fine == "r_ip_month"],
                                   *DIMENSION_TABLES["r_ip_month"].values(), "r_ip_day")


# Decimal places at which each non-integer measure column is summed exactly (money: the contract's 2 decimals;
# other decimal numbers such as DDDs: 6). Floating-point sums depend on the order of the rows (DuckDB sums in
# parallel, a load by another path stores rows in another order), so every sum of these columns — the rollup
# build, the coarse rollups and the engine's reads — goes through DECIMAL and is converted to DOUBLE once.
EXACT_SCALE: dict[str, int] = {
    c.name: (2 if c.type == "money" else 6)
    for t in TABLES.values() for c in t.columns if c.type in ("money", "float") and c.name not in ("lon", "lat")}


def exact_value(column: str, expr: str | None = None) -> str:
    """``expr`` (default: the column itself) as an exact DECIMAL when ``column`` is a decimal measure, else as it
    is: summing the result is independent of the order of the rows."""
    expr = expr or column
    scale = EXACT_SCALE.get(column)
    return expr if scale is None else f"CAST({expr} AS DECIMAL(18,{scale}))"


def exact_sum(column: str, expr: str | None = None) -> str:
    """``sum(expr)`` of a measure column, exact for decimal measures (summed as DECIMAL, returned as DOUBLE)."""
    scale = EXACT_SCALE.get(column)
    if scale is None:
        return f"sum({expr or column})"
    return f"CAST(sum({exact_value(column, expr)}) AS DOUBLE PRECISION)"


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
              f"{', '.join(f'{exact_sum(c)} AS {c}' for c in measures)} FROM {fine} x")
    return create, insert


def coarse_group_by(table: str) -> str:
    """The GROUP BY clause closing :func:`coarse_sql`'s INSERT."""
    return " GROUP BY " + ", ".join(COARSE[table][1])


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


WHOLE_TABLES = ("r_chronic_month", "r_chronic_hosp", "r_posting_month", "r_inst_day", "r_inst_month")
ROLLUP_TABLES = tuple(ROW_SQL) + tuple(COARSE) + WHOLE_TABLES

# Every table each rollup's SQL reads (tests/test_rollup_plan.py checks this against the SQL). calendar_month is
# a dependency only of the rollups spread over every calendar month: its rows never change (days and weekdays of a
# month are fixed), it only gains months, and a new month holds resource rows only when the load brought them
# (they are in the load's months), so r_res_month's join with it needs no rule of its own.
READS: dict[str, Reads] = {
    **{spec.table: spec.reads for spec in SPECS.values()},
    **{coarse: spec.reads for spec in SPECS.values() for coarse in spec.coarse},
    "r_chronic_month": _reads((), {"chronic_patient", "calendar_month"}),
    "r_chronic_hosp": _reads({"inpatient_discharge", "outside_settlement"}, {"chronic_patient"}),
    "r_posting_month": _reads((), {"posting", "institution", "staff", "calendar_month"}),
    "r_inst_day": _reads({"outpatient_visit", "inpatient_discharge", "lab_order"}),
    "r_inst_month": _reads({"outpatient_visit", "inpatient_discharge", "lab_order", "resource_month"}),
}


def _measure_columns(_con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The measure columns of a fine rollup (declared by its :class:`RollupSpec`)."""
    return list(SPECS[table].measures)


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in ROW_SQL:
        keys = ", ".join(ROLLUP_KEYS[table])
        measures = ", ".join(f"{exact_sum(c)} AS {c}" for c in _measure_columns(con, table))
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


# A fact row changes rollup rows outside its own month too: an admission at A makes every discharge of the same
# patient in [A - 31 days, A] a 31-day readmission (r_ip_month.readmit31). Per table: (first, last) SQL
# expressions over the row (table alias ``{a}``); every month from first's through last's is affected by the row
# being added, replaced (old and new values) or removed.
MONTH_SPANS: dict[str, tuple[tuple[str, str], ...]] = {
    "inpatient_discharge": ((f"{{a}}.admit_time - INTERVAL {READMIT_DAYS} DAY", "{a}.admit_time"),),
}


def span_sql(table: str, alias: str, from_sql: str) -> str | None:
    """SELECT of the distinct ('YYYY-MM', 'YYYY-MM') month pairs that the rows of ``from_sql`` (which names the
    table ``alias``) span by :data:`MONTH_SPANS`; None when the table has no spans. DuckDB spelling (PostgreSQL
    through ``mart.pg.to_postgres``); rows are grouped by truncated month before any text is formatted."""
    spans = MONTH_SPANS.get(table)
    if not spans:
        return None
    parts = [f"SELECT DISTINCT date_trunc('month', {lo.format(a=alias)}) AS f, "
             f"date_trunc('month', {hi.format(a=alias)}) AS l FROM {from_sql}" for lo, hi in spans]
    return f"SELECT strftime(f, '%Y-%m'), strftime(l, '%Y-%m') FROM ({' UNION '.join(parts)}) q"


def span_months(pairs: Iterable[tuple[str | None, str | None]]) -> set[str]:
    """Every month of the (first, last) pairs returned by :func:`span_sql`."""
    out: set[str] = set()
    for first, last in pairs:
        if first and last:
            out.update(month_range(first, last))
    return out


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _checked(months: Iterable[str]) -> list[str]:
    """The months sorted, each checked to be 'YYYY-MM' (they are written into SQL text)."""
    out = sorted(set(months))
    for m in out:
        if not _MONTH.fullmatch(m):
            raise ValueError(f"not a month YYYY-MM: {m!r}")
    return out


def month_list(months: Iterable[str]) -> str:
    """SQL list of month literals for ``month IN (…)`` (portable)."""
    return ", ".join(f"'{m}'" for m in _checked(months)) or "NULL"


def month_filter(column: str, kind: str, months: Iterable[str]) -> str:
    """SQL condition (DuckDB and PostgreSQL alike): ``column`` lies in one of ``months``.

    ``kind`` is the column's contract type: 'month' (text 'YYYY-MM'), 'date' or 'datetime'. Dates and times are
    compared with ranges over runs of consecutive months — plain comparisons with constants of the column's own
    type, which DuckDB checks against each row group's min/max and skips the groups outside.
    """
    wanted = _checked(months)
    if not wanted:
        return "FALSE"
    if kind == "month":
        return f"{column} IN ({month_list(wanted)})"
    runs: list[list[str]] = []
    for m in wanted:
        if runs and add_months(runs[-1][1], 1) == m:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    literal = "TIMESTAMP" if kind == "datetime" else "DATE"
    return "(" + " OR ".join(f"({column} >= {literal} '{lo}-01' AND {column} < {literal} '{add_months(hi, 1)}-01')"
                             for lo, hi in runs) + ")"


Plan = dict[str, "list[str] | None"]


def rebuild_plan(months: list[str] | None = None, changed: Iterable[str] | None = None,
                 missing: Iterable[str] = ()) -> Plan:
    """Which rollups to rebuild, and for which months: {rollup table: months, or None for every month}; a table
    absent from the plan is left as it is.

    * ``changed`` None (the demo builder, tests, older callers): ``months`` None rebuilds everything;
      explicit ``months`` rebuild those months of the month-partitioned rollups (the builder adds the months whose
      readmission flags the inpatients of these months touch) and every other rollup whole.
    * ``changed`` given (the loader: the contract tables it wrote, plus ``calendar_month`` when the calendar
      grew): a rollup is rebuilt whole when it reads a changed table whole, for ``months`` when it reads a
      changed table by month (``months`` must then hold every affected month, spans included), else not at all.
    * ``missing``: rollup tables that did not exist before this build: filled whole.
    """
    missing = set(missing)
    changed_set = None if changed is None else set(changed)
    plan: Plan = {}
    for table in ROLLUP_TABLES:
        reads = READS[table]
        if table in missing or (months is None and changed_set is None):
            plan[table] = None
        elif changed_set is None:
            plan[table] = _checked(months) if (table in ROW_SQL or table in COARSE) else None  # type: ignore[arg-type]
        elif reads.whole & changed_set:
            plan[table] = None
        elif reads.by_month & changed_set:
            if months is None:
                plan[table] = None
            elif months:
                plan[table] = _checked(months)
    for table, (fine, _keys) in COARSE.items():      # a fine table filled whole takes its coarse tables along
        if fine in plan and plan[fine] is None:
            plan[table] = None
    return plan


def build_rollups(con: duckdb.DuckDBPyConnection, months: list[str] | None = None,
                  changed: Iterable[str] | None = None) -> Plan:
    """(Re)build the rollup tables in the caller's transaction when one is open (the loader), else in one
    transaction of its own; returns the plan carried out (see :func:`rebuild_plan`).

    ``months`` None and ``changed`` None rebuild everything. With explicit ``months`` only, the month-partitioned
    rollups are rebuilt for those months plus the months whose 31-day readmission flags the inpatient rows of
    those months can change (rows that were deleted or moved away are not seen: pass their old months too), the
    other rollups whole. With ``changed`` (the tables a load wrote) only the rollups reading them are rebuilt.
    """
    own_tx = not _in_transaction(con)
    if own_tx:
        con.execute("BEGIN TRANSACTION")
    try:
        changed_set = None if changed is None else set(changed)
        calendar_before = con.execute("SELECT count(*) FROM calendar_month").fetchone()[0]
        rng = data_months(con)
        if rng is not None:
            fill_calendar(con, rng[0], rng[1])
        if changed_set is not None and \
                con.execute("SELECT count(*) FROM calendar_month").fetchone()[0] != calendar_before:
            changed_set.add("calendar_month")
        # a rollup table new to this mart (made before it existed) is filled for every month, not just ``months``
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}
        _ensure_tables(con)
        plan = rebuild_plan(months, changed_set, [t for t in ROLLUP_TABLES if t not in present])
        if changed_set is None and months is not None and plan.get("r_ip_month") is not None:
            extra = span_months(con.execute(span_sql(
                "inpatient_discharge", "d", "inpatient_discharge d WHERE "
                + month_filter("d.discharge_time", "datetime", months))).fetchall())  # type: ignore[arg-type]
            for table in READMIT_TABLES:
                if plan.get(table) is not None:
                    plan[table] = _checked(set(plan[table]) | extra)  # type: ignore[arg-type]
        for table in _SOURCE:
            if table in plan:
                wanted = plan[table]
                con.execute(f"DELETE FROM {table}" if wanted is None
                            else f"DELETE FROM {table} WHERE month IN ({month_list(wanted)})")
                con.execute(_fine_insert(con, table, wanted))
        _build_coarse(con, plan)
        for table in WHOLE_TABLES:
            if table in plan:
                for stmt in rebuild_statements(table, plan[table], changed_set):
                    con.execute(stmt)
        if own_tx:
            con.execute("COMMIT")
        return plan
    except Exception:
        if own_tx:
            con.execute("ROLLBACK")
        raise


def fact_filter(table: str, months: list[str]) -> str:
    """SQL condition placing the source fact rows of a month-partitioned rollup in ``months`` (on the alias used
    by ``ROW_SQL``)."""
    src, alias, col = _SOURCE[table]
    return month_filter(f"{alias}.{col}", TABLES[src].column(col).type, months)


def _fine_insert(con: duckdb.DuckDBPyConnection, table: str, months: list[str] | None) -> str:
    """INSERT … SELECT filling one fine rollup from ``ROW_SQL`` (only the facts of ``months`` when given).

    Rows are grouped by the month's first instant (``date_trunc``) and only the grouped rows are formatted as
    'YYYY-MM': formatting every one of millions of fact rows with strftime costs more than the whole grouping.
    The result is the same as grouping ``ROW_SQL`` itself, which the engine's fact mode does. The month filter is
    a range on the fact's own time column (appended to ``ROW_SQL``, whose outer query ends in its FROM clause), so
    DuckDB skips the row groups of other months.
    """
    return fine_insert_sql(table, _measure_columns(con, table), months)


# The end of the readmission subquery of the inpatient projections (``_ROW_SQL['r_ip_month']`` and those made from
# it), where a rebuild of some months narrows it (:func:`_readmit_in_months`).
_READMIT_END = "\n          ) r ON r.discharge_id = d.discharge_id"


def _readmit_in_months(row_sql: str, months: list[str]) -> str:
    """``row_sql`` with its readmission subquery restricted to what a rebuild of ``months`` needs: the flagged
    discharges ``p`` of those months only (the outer rows are theirs), and the readmissions ``n`` discharged from
    the first month on (a readmission is admitted after ``p``'s discharge and discharged after its admission, a
    check of the contract). Same result; without it a one-month rebuild joins every discharge of the mart with
    itself (on PostgreSQL: every monthly partition, twice)."""
    if _READMIT_END not in row_sql:
        return row_sql
    wanted = _checked(months)
    cond = (f" WHERE {month_filter('p.discharge_time', 'datetime', wanted)}"
            f" AND n.discharge_time >= TIMESTAMP '{wanted[0]}-01'" if wanted else " WHERE FALSE")
    return row_sql.replace(_READMIT_END, cond + _READMIT_END)


def fine_insert_sql(table: str, measures: list[str], months: list[str] | None) -> str:
    """The INSERT … SELECT of :func:`_fine_insert` for the given measure columns, in DuckDB SQL that
    ``mart.pg.to_postgres`` (PostgreSQL) and ``mart.spark`` (sqlglot) translate: the one build statement of a fine
    rollup on every engine."""
    _src, alias, col = _SOURCE[table]
    keys = ROLLUP_KEYS[table]
    sums = ", ".join(f"{exact_sum(c)} AS {c}" for c in measures)
    where = "" if months is None else f" WHERE {fact_filter(table, months)}"
    row_sql = ROW_SQL[table] if months is None else _readmit_in_months(ROW_SQL[table], months)
    if col == "month":       # already a 'YYYY-MM' column
        return (f"INSERT INTO {table} SELECT {', '.join(keys)}, {sums} FROM ({row_sql}{where}) x "
                f"GROUP BY {', '.join(keys)}")
    formatted = f"strftime({alias}.{col}, '%Y-%m') AS month"
    assert formatted in row_sql, f"{table}: ROW_SQL must define month as {formatted}"
    row_sql = row_sql.replace(formatted, f"date_trunc('month', {alias}.{col}) AS month")
    outer = ", ".join("strftime(g.month, '%Y-%m')" if k == "month" else f"g.{k}" for k in keys)
    return (f"INSERT INTO {table} SELECT {outer}, {', '.join(f'g.{c}' for c in measures)} FROM ("
            f"SELECT {', '.join(keys)}, {sums} FROM ({row_sql}{where}) x GROUP BY {', '.join(keys)}) g")


def coarse_rebuild_statements(plan: Plan, fine_columns: Callable[[str], list[str]]) -> list[str]:
    """The statements rebuilding the coarse rollups of the plan from the fine ones (which the plan rebuilt for
    the same months); plain SQL for DuckDB and PostgreSQL alike. ``fine_columns(fine)`` gives a fine table's
    columns on the caller's connection."""
    out: list[str] = []
    for table in COARSE:
        if table not in plan:
            continue
        fine = COARSE[table][0]
        insert = coarse_sql(table, fine_columns(fine))[1]
        wanted = plan[table]
        if wanted is None:
            out += [f"DELETE FROM {table}", insert + coarse_group_by(table)]
        else:
            out += [f"DELETE FROM {table} WHERE month IN ({month_list(wanted)})",
                    f"{insert} WHERE x.month IN ({month_list(wanted)}){coarse_group_by(table)}"]
    return out


def _build_coarse(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Rebuild the coarse rollups of the plan (see :func:`coarse_rebuild_statements`)."""
    for stmt in coarse_rebuild_statements(
            plan, lambda fine: [d[0] for d in con.execute(f"SELECT * FROM {fine} LIMIT 0").description]):
        con.execute(stmt)


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    # A failed BEGIN inside an open transaction aborts that transaction in DuckDB, so probe without it:
    # txid_current() is stable within a transaction and advances between autocommit statements.
    first = con.execute("SELECT txid_current()").fetchone()[0]
    return con.execute("SELECT txid_current()").fetchone()[0] == first


# The statements rebuilding the rollups that are not partitioned by a fact's month (registrations, postings,
# completeness); plain SQL except DuckDB's strftime and INTERVAL, which ``mart.pg`` translates for PostgreSQL.
_ACTIVE = ("c.registered_date <= m.month_end AND (c.deregistered_date IS NULL "
           "OR c.deregistered_date > m.month_end)")
_CHRONIC_MONTH = [
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
]
_CHRONIC_HOSP = """
INSERT INTO r_chronic_hosp
SELECT DISTINCT h.month, c.patient_id, c.disease, c.area_code, c.managing_inst_code, c.registered_date,
       c.deregistered_date
FROM (SELECT patient_id, strftime(discharge_time, '%Y-%m') AS month FROM inpatient_discharge WHERE {ip}
      UNION SELECT patient_id, strftime(settle_date, '%Y-%m') FROM outside_settlement
            WHERE setting = 'inpatient' AND {os}) h
JOIN chronic_patient c ON c.patient_id = h.patient_id"""
_POSTING_MONTH = """
INSERT INTO r_posting_month
SELECT m.month, p.to_inst_code, count(DISTINCT p.staff_code)
FROM calendar_month m
JOIN posting p ON p.start_date <= m.month_end AND (p.end_date IS NULL OR p.end_date >= m.month_end)
JOIN institution f ON f.inst_code = p.from_inst_code AND f.level = 'county'
JOIN institution t ON t.inst_code = p.to_inst_code AND t.level IN ('township', 'village')
JOIN staff s ON s.staff_code = p.staff_code AND s.role = 'doctor' AND s.title IN ('senior', 'associate', 'intermediate')
WHERE p.kind = 'long_term'
GROUP BY m.month, p.to_inst_code"""
# r_inst_day's sources: fact table → (time column, institution column).
_INST_DAY = {"outpatient_visit": ("visit_time", "inst_code"), "inpatient_discharge": ("discharge_time", "inst_code"),
             "lab_order": ("order_time", "ordering_inst_code")}


def rebuild_statements(table: str, months: list[str] | None, changed: Iterable[str] | None = None) -> list[str]:
    """The DELETE and INSERT statements rebuilding one of :data:`WHOLE_TABLES`: entirely when ``months`` is None,
    else only those months (of the changed sources, for the completeness tables r_inst_day / r_inst_month).

    The registration and posting tables are only ever planned whole (:func:`rebuild_plan`). Statements are
    DuckDB SQL that ``mart.pg.to_postgres`` turns into PostgreSQL; r_inst_day comes before r_inst_month (which
    sums it) in :data:`WHOLE_TABLES`.
    """
    if table == "r_chronic_month":
        return ["DELETE FROM r_chronic_month", *_CHRONIC_MONTH]
    if table == "r_posting_month":
        return ["DELETE FROM r_posting_month", _POSTING_MONTH]
    if table == "r_chronic_hosp":
        if months is None:
            return ["DELETE FROM r_chronic_hosp", _CHRONIC_HOSP.format(ip="TRUE", os="TRUE")]
        return [f"DELETE FROM r_chronic_hosp WHERE month IN ({month_list(months)})",
                _CHRONIC_HOSP.format(ip=month_filter("discharge_time", "datetime", months),
                                     os=month_filter("settle_date", "date", months))]
    sources = READS[table].by_month if changed is None else READS[table].by_month & set(changed)
    if table == "r_inst_day":
        def insert(src: str, where: str) -> str:
            col, inst = _INST_DAY[src]
            return (f"INSERT INTO r_inst_day SELECT CAST({col} AS DATE), {inst}, '{src}', count(*) FROM {src}"
                    f"{where} GROUP BY 1, 2")
        if months is None:
            return ["DELETE FROM r_inst_day", *[insert(src, "") for src in _INST_DAY]]
        out = []
        for src in [s for s in _INST_DAY if s in sources]:
            out.append(f"DELETE FROM r_inst_day WHERE source = '{src}' AND {month_filter('day', 'date', months)}")
            out.append(insert(src, f" WHERE {month_filter(_INST_DAY[src][0], 'datetime', months)}"))
        return out
    if table == "r_inst_month":
        by_day = "SELECT strftime(day, '%Y-%m'), inst_code, source, sum(n), count(*) FROM r_inst_day"
        resources = "SELECT month, inst_code, 'resource_month', 1, 1 FROM resource_month"
        if months is None:
            return ["DELETE FROM r_inst_month",
                    f"INSERT INTO r_inst_month {by_day} GROUP BY 1, 2, 3 UNION ALL {resources}"]
        out = [f"DELETE FROM r_inst_month WHERE source IN ({', '.join(repr(s) for s in sorted(sources))}) "
               f"AND month IN ({month_list(months)})"]
        days = [s for s in _INST_DAY if s in sources]
        if days:
            out.append(f"INSERT INTO r_inst_month {by_day} WHERE source IN ({', '.join(repr(s) for s in days)}) "
                       f"AND {month_filter('day', 'date', months)} GROUP BY 1, 2, 3")
        if "resource_month" in sources:
            out.append(f"INSERT INTO r_inst_month {resources} WHERE month IN ({month_list(months)})")
        return out
    raise KeyError(table)


def timed_build(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> float:
    """Build the rollups and return the seconds taken (for the demo builder's progress output)."""
    t0 = time.perf_counter()
    build_rollups(con, months)
    return time.perf_counter() - t0
