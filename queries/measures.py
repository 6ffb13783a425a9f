"""Measures as SQL: one parameterised SELECT per rollup table and grouping, built from whitelists only.

Identifiers (table, columns, filters, grouping columns) come from ``metrics.catalogue`` and the dictionaries
below, never from callers' strings; values (months, org codes, scope institutions) are bound parameters.
The SQL is plain standard SQL (``SUM(CASE …)``, joins, ``IN``) so it runs on DuckDB and PostgreSQL alike.
"""
from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text

from mart.connection import mart_engine
from mart.dimensions import member_sql
from mart.rollups import COARSE, DAY_TABLES, DIMENSION_TABLES, ROLLUP_KEYS, ROW_SQL, SPECS, exact_value
from queries.measure_spec import FILTERS, TABLE_ORG, Measure

# SQL of each named filter; ``f`` is the rollup row, ``o`` the institution of the measure's institution column.
FILTER_SQL: dict[str, str] = {
    "resident": "f.res_area IS NOT NULL",
    "insured_resident": "f.res_area IS NOT NULL AND f.is_insured = 1",
    "primary": "o.level IN ('township', 'village')",
    "county_inst": "o.level = 'county'",
    "lead": "o.is_lead = 1",
    "village": "o.inst_type = 'village_clinic'",
    "up": "f.direction = 'up'",
    "down": "f.direction = 'down'",
    "to_in_county": "f.to_inst_code IS NOT NULL AND f.to_inst_code <> ''",
    "to_outside": "f.to_inst_code IS NULL OR f.to_inst_code = ''",
    "ref_accepted": "f.status IN ('accepted', 'completed')",
    "ref_decided": "f.status IN ('accepted', 'completed', 'rejected')",
    "regional": "f.performing_inst_code <> f.ordering_inst_code",
    "os_inpatient": "f.setting = 'inpatient'",
    "os_outpatient": "f.setting = 'outpatient'",
    "htn": "f.disease = 'hypertension'",
    "dm": "f.disease = 'diabetes'",
    "any_disease": "f.disease = 'any'",
}
assert set(FILTER_SQL) == set(FILTERS)

# Columns that may be summed, per rollup table (whitelist).
SUMMABLE: dict[str, frozenset[str]] = {
    "r_op_month": frozenset({"visits", "abx_visits", "tcm_visits", "emergency_visits", "total_cost", "drug_cost",
                             "material_cost", "insurance_paid"}),
    "r_ip_month": frozenset({"discharges", "abx_discharges", "antibiotic_ddd", "bed_days", "surgeries",
                             "surgeries_34", "mis_surgeries", "low_risk", "low_risk_died", "died", "readmit31",
                             "total_cost", "drug_cost", "material_cost", "insurance_paid"}),
    "r_lab_month": frozenset({"orders", "timely", "critical", "critical_15"}),
    "r_ref_month": frozenset({"referrals", "responded_24h"}),
    "r_os_month": frozenset({"settlements", "referred", "total_cost", "insurance_paid"}),
    "r_res_month": frozenset({"open_beds", "occupied_bed_days", "bed_capacity", "doctors", "doctor_workdays",
                              "nurses", "gps", "ecg_devices", "has_ecg", "reporting", "medical_revenue",
                              "medical_service_revenue", "personnel_expense", "business_expense", "paid_staff"}),
    "r_chronic_month": frozenset({"registered", "standard", "controlled"}),
    "r_posting_month": frozenset({"posted"}),
}


# The coarse rollups that answer a level (whitelist), coarsest first: county, township and institution queries
# never read the department or doctor keys, department queries never read the doctor key (and without a residence
# filter not the residence either), doctor queries never read the residence township except through a residence
# filter (their township drill goes by institution location): a query reads the first table keeping every column
# its filters read, else the fine table. Every coarse table keeps the institution column, so org drills, scope and
# the institution join work unchanged. Other tables have one rollup.
LEVEL_TABLES: dict[tuple[str, str], tuple[str, ...]] = {
    **{(fine, level): (f"{fine}_inst",) for fine in ("r_op_month", "r_ip_month")
       for level in ("county", "township", "institution")},
    **{(fine, "department"): (f"{fine}_dept_all", f"{fine}_dept") for fine in ("r_op_month", "r_ip_month")},
    **{(fine, "doctor"): (f"{fine}_doc",) for fine in ("r_op_month", "r_ip_month")},
}
# Rollup columns each filter reads (beyond the institution join): a coarse table serves a query only when it
# keeps them all.
FILTER_COLUMNS: dict[str, frozenset[str]] = {
    "resident": frozenset({"res_area"}), "insured_resident": frozenset({"res_area", "is_insured"}),
    "up": frozenset({"direction"}), "down": frozenset({"direction"}), "to_in_county": frozenset({"to_inst_code"}),
    "to_outside": frozenset({"to_inst_code"}),
    "ref_accepted": frozenset({"status"}), "ref_decided": frozenset({"status"}),
    "regional": frozenset({"performing_inst_code", "ordering_inst_code"}), "os_inpatient": frozenset({"setting"}),
    "os_outpatient": frozenset({"setting"}), "htn": frozenset({"disease"}), "dm": frozenset({"disease"}),
    "any_disease": frozenset({"disease"}),
}
assert set(FILTER_COLUMNS) <= set(FILTER_SQL)
assert {t for tables in LEVEL_TABLES.values() for t in tables} <= set(COARSE)

# Dimensions each fine rollup can be split by (``mart.dimensions``) and the keys of the table serving each: a
# dimension rollup, or for the department category the department rollup joined with the departments.
DIMENSION_KEYS: dict[str, dict[str, frozenset[str]]] = {
    fine: {**{dim: frozenset(ROLLUP_KEYS[t]) for dim, t in tables.items()},
           "dept_category": frozenset(COARSE[f"{fine}_dept"][1]) | {"member"}}
    for fine, tables in DIMENSION_TABLES.items()}


def dimension_source(table: str, dimension: str, from_facts: bool = False) -> str:
    """The FROM source of a ``dimension`` split of the fine rollup ``table`` (a ``member`` column beside the
    rollup's own); with ``from_facts`` the same over the facts' row projection."""
    if dimension == "dept_category":
        fact = SPECS[table].source[0]
        rows = f"({ROW_SQL[table]})" if from_facts else f"{table}_dept"
        return (f"(SELECT x.*, {member_sql(dimension, fact, 'dp')} AS member FROM {rows} x "
                f"LEFT JOIN department dp ON dp.dept_code = x.dept_code)")
    dim_table = DIMENSION_TABLES[table][dimension]
    return f"({ROW_SQL[dim_table]})" if from_facts else dim_table


_DIMENSIONS_PRESENT: set[str] = set()


def dimension_rollups_present(mart_url: str) -> bool:
    """Whether the mart holds every dimension rollup (a mart built before they existed gets them on its next
    rollup build or load); only presence is remembered."""
    if mart_url in _DIMENSIONS_PRESENT:
        return True
    wanted = sorted(t for tables in DIMENSION_TABLES.values() for t in tables.values())
    found = _run(mart_url, "SELECT table_name FROM information_schema.tables WHERE table_name IN :names",
                 {"names": wanted}, expanding=("names",))
    if set(found["table_name"]) != set(wanted):
        return False
    _DIMENSIONS_PRESENT.add(mart_url)
    return True


# Marts where every coarse table exists (a mart built before they existed gets them on its next rollup build;
# until then its queries read the fine tables). Only presence is remembered: a rebuild never drops them.
_COARSE_PRESENT: set[str] = set()


def rollup_source(mart_url: str, table: str, level: str, measures: Iterable[Measure] = ()) -> str:
    """The rollup table an engine query of ``measures`` of ``table`` at ``level`` reads (see :data:`LEVEL_TABLES`)."""
    needs = set().union(*(FILTER_COLUMNS.get(f, ()) for m in measures for f in m.filters))
    coarse = next((c for c in LEVEL_TABLES.get((table, level), ()) if needs <= set(COARSE[c][1])), None)
    if coarse is None:
        return table
    if mart_url not in _COARSE_PRESENT:
        found = _run(mart_url, "SELECT table_name FROM information_schema.tables WHERE table_name IN :names",
                     {"names": sorted(COARSE)}, expanding=("names",))
        if set(found["table_name"]) != set(COARSE):
            return table
        _COARSE_PRESENT.add(mart_url)
    return coarse


def _measure_row_sql(m: Measure) -> str:
    """A measure's value on one rollup row (its column, zero where the row fails the measure's filters)."""
    if m.column not in SUMMABLE[m.table]:
        raise ValueError(f"column {m.column!r} of {m.table} is not summable")
    col = exact_value(m.column, f"f.{m.column}")   # decimal measures summed exactly, whatever the row order
    if not m.filters:
        return col
    cond = " AND ".join(f"({FILTER_SQL[f]})" for f in m.filters)
    return f"CASE WHEN {cond} THEN {col} ELSE 0 END"


def _measure_sql(m: Measure) -> str:
    return f"SUM({_measure_row_sql(m)})"


_session: contextvars.ContextVar = contextvars.ContextVar("mart_session", default=None)


@contextmanager
def session(mart_url: str) -> Iterator[None]:
    """Run every query of this package made inside the block on one pooled connection (one checkout per engine
    call instead of one per query); nested blocks for the same mart reuse the outer one."""
    current = _session.get()
    if current is not None and current[0] == mart_url:
        yield
        return
    with mart_engine(mart_url).connect() as conn:
        token = _session.set((mart_url, conn))
        try:
            yield
        finally:
            _session.reset(token)


@contextmanager
def _connection(mart_url: str) -> Iterator[Any]:
    current = _session.get()
    if current is not None and current[0] == mart_url:
        yield current[1]
        return
    with mart_engine(mart_url).connect() as conn:
        yield conn


def _run(mart_url: str, sql: str, params: Mapping[str, Any], expanding: Iterable[str] = ()) -> pd.DataFrame:
    """Run one SELECT through SQLAlchemy (portable: DuckDB and PostgreSQL)."""
    stmt = text(sql)
    exp = [name for name in expanding if name in params]
    if exp:
        stmt = stmt.bindparams(*[bindparam(name, expanding=True) for name in exp])
    with _connection(mart_url) as conn:
        result = conn.execute(stmt, dict(params))
        columns = list(result.keys())
        if conn.dialect.name == "postgresql":
            # the driver's tuples as they are: a text() statement has no result processors, so SQLAlchemy's Row
            # objects would only wrap them (a third of a wide read's client time)
            rows = result.cursor.fetchall() if result.cursor is not None else []
            result.close()
            return pd.DataFrame(rows, columns=columns)
        # plain tuples: pandas probes every SQLAlchemy Row for namedtuple fields (a third of a wide PostgreSQL read)
        return pd.DataFrame(list(map(tuple, result.fetchall())), columns=columns)


def read_df(mart_url: str, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:func:`mart.connection.read_df` (same frames) on the connection of an open :func:`session`."""
    return _run(mart_url, sql, params or {})


def read_frame(mart_url: str, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:func:`read_df` fetched natively (columnar) on DuckDB: for large frames (every doctor of a province),
    where building rows in Python costs more than the query."""
    return _fetch(mart_url, sql, params or {})


_PARAM_RE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _native_sql(sql: str, params: Mapping[str, Any], expanding: Iterable[str] = ()) -> tuple[str, dict[str, Any]]:
    """``:name`` placeholders → DuckDB ``$name``; values of ``expanding`` names (lists for ``IN``) expand to
    ``($name_0, $name_1, …)``, other lists stay one list parameter."""
    expand = set(expanding)
    out: dict[str, Any] = {}

    def repl(match: re.Match) -> str:
        name = match.group(1)
        value = params[name]
        if name in expand:
            names = [f"{name}_{i}" for i in range(len(value))]
            out.update(zip(names, value))
            return "(" + ", ".join(f"${n}" for n in names) + ")"
        out[name] = value
        return f"${name}"
    return _PARAM_RE.sub(repl, sql), out


# Fetch DuckDB results natively (columnar). False sends every query through SQLAlchemy ``text()`` with bound
# parameters, the path PostgreSQL takes; tests flip it to prove both paths give the same results.
NATIVE_FETCH = True


def _is_duckdb(mart_url: str) -> bool:
    return NATIVE_FETCH and mart_url.startswith("duckdb:")


def _values_cte(name: str, columns: list[tuple[str, str, list]], params: dict[str, Any], native: bool) -> str:
    """A small constant table as a CTE, every value a bound parameter: on DuckDB one list parameter per column
    (``UNNEST``: a handful of parameters however long the table), elsewhere a standard ``VALUES`` list."""
    if native:
        parts = []
        for col, sqltype, values in columns:
            params[f"{name}_{col}"] = list(values)
            parts.append(f"UNNEST(CAST(:{name}_{col} AS {sqltype}[])) AS {col}")
        return f"{name} AS (SELECT {', '.join(parts)})"
    rows = []
    for i in range(len(columns[0][2])):
        cells = []
        for col, sqltype, values in columns:
            params[f"{name}_{col}{i}"] = values[i]
            cells.append(f"CAST(:{name}_{col}{i} AS {sqltype})")
        rows.append(f"({', '.join(cells)})")
    return f"{name}({', '.join(c for c, _t, _v in columns)}) AS (VALUES {', '.join(rows)})"


def _fetch(mart_url: str, sql: str, params: Mapping[str, Any], expanding: Iterable[str] = ()) -> pd.DataFrame:
    """Run one SELECT; on DuckDB the result comes back natively as a DataFrame (columnar, no per-row Python),
    elsewhere through SQLAlchemy with bound parameters."""
    if not _is_duckdb(mart_url):
        return _run(mart_url, sql, params, expanding)
    native, values = _native_sql(sql, params, expanding)
    with _connection(mart_url) as conn:
        raw = conn.connection.driver_connection
        return raw.execute(native, values).df()


def _source_and_filters(mart_url: str, table: str, inst_col: str | None, level: str, township_by: str,
                        org_level: str | None, org_code: str | None, scope_insts: frozenset[str] | None,
                        from_facts: bool, params: dict[str, Any],
                        measures: list[Measure], dimension: str | None = None) -> tuple[str, str, str, list[str]]:
    """(source, join, org key expression, extra WHERE conditions) of one rollup table and grouping; with a
    ``dimension`` the source is that dimension's rollup of ``table`` (county, township and institution levels)."""
    org = TABLE_ORG[table]
    if table not in SUMMABLE:
        raise ValueError(f"{table} is not a summable rollup")
    if dimension is not None and (dimension not in DIMENSION_KEYS.get(table, {})
                                  or level not in ("county", "township", "institution")):
        raise ValueError(f"{table} cannot be split by {dimension} at level {level}")
    res_col = org.get("res")
    if inst_col is not None and inst_col not in org.get("inst", ()):
        raise ValueError(f"{table} has no institution column {inst_col}")
    if dimension is not None:
        source = dimension_source(table, dimension, from_facts)
    else:
        source = (f"({ROW_SQL[table]})" if from_facts and table in ROW_SQL
                  else rollup_source(mart_url, table, level, measures))
    where: list[str] = []
    join = f"LEFT JOIN institution o ON o.inst_code = f.{inst_col}" if inst_col else ""
    by_res = township_by == "residence" and res_col is not None or inst_col is None
    if level == "county":
        key = "NULL"
    elif level == "township":
        if by_res:
            key = f"f.{res_col}"
            where.append(f"f.{res_col} IN (SELECT area_code FROM area WHERE level = 'township')")
        else:
            key = "o.area_code"
    elif level == "institution":
        key = f"f.{inst_col}"
    elif level in ("department", "doctor"):
        key = f"f.{org['dept' if level == 'department' else 'doctor']}"
    else:
        raise ValueError(f"unknown level {level}")
    if level != "county":
        where.append(f"{key} IS NOT NULL")
    if org_level and org_level != "county":
        params["org"] = org_code
        if org_level == "township":
            # township drill: residence rows keep the patients of that township; institution rows and below
            # keep the institutions located there
            res_filter = by_res and level in ("county", "township")
            where.append(f"f.{res_col} = :org" if res_filter else "o.area_code = :org")
        elif org_level == "institution":
            where.append(f"f.{inst_col} = :org")
        elif org_level == "department":
            where.append(f"f.{org['dept']} = :org")
        elif org_level == "doctor":
            where.append(f"f.{org['doctor']} = :org")
    if scope_insts is not None:
        if not scope_insts:
            where.append("1 = 0")
        else:
            params["scope"] = sorted(scope_insts)
            where.append(f"f.{inst_col} IN :scope")
    return source, join, key, where


def period_measures(mart_url: str, table: str, inst_col: str | None, measures: list[Measure], level: str,
                    township_by: str, spec_months: list[tuple[int, str, bool, int]],
                    org_level: str | None = None, org_code: str | None = None,
                    scope_insts: frozenset[str] | None = None, from_facts: bool = False,
                    dimension: str | None = None) -> pd.DataFrame:
    """Sums of ``measures`` of one rollup table per period spec and org key, aggregated in the database.

    ``spec_months`` maps months to period specs: ``(spec, 'YYYY-MM', is_last_month_of_spec, months_in_spec)``; a
    month may belong to several specs (a period, its year-earlier twin, the previous period). Each measure
    combines the monthly sums by its kind: ``flow`` sums, ``last`` takes the spec's last month (NULL when that
    month has no row), ``avg`` divides the sum by the spec's month count. A (spec, org) row exists when any month
    row of the spec exists (only the last month counts when every measure is ``last``). Returns columns ``spec``, ``org_key`` (None at
    county level) and one float column per measure id.

    ``level`` is the grouping level; ``township_by`` says whether townships group by institution location
    ('provider') or by the patients' residence ('residence'). ``org_level``/``org_code`` restrict to a subtree;
    ``scope_insts`` (None = all) restricts rows to those institutions (used below township level).
    ``from_facts`` aggregates the per-row projection of the facts instead of the rollup (tests prove equality).
    ``dimension`` (``mart.dimensions``) reads that dimension's rollup and adds a ``member`` column: one row per
    (spec, org, member).
    """
    if not spec_months:
        raise ValueError("no period specs")
    months = sorted({m for _s, m, _l, _n in spec_months})
    params: dict[str, Any] = {"lo": months[0], "hi": months[-1]}
    source, join, key, extra = _source_and_filters(mart_url, table, inst_col, level, township_by, org_level, org_code,
                                                   scope_insts, from_facts, params, measures, dimension)
    if from_facts and not mart_url.startswith("duckdb:"):
        from mart.pg import to_postgres  # the facts' row projection (mart/rollups.py) is DuckDB SQL
        source = to_postgres(source)
    where = ["f.month >= :lo", "f.month <= :hi"] + extra
    cols = ", ".join(f"{_measure_sql(m)} AS {m.id}" for m in measures)
    sp = _values_cte("sp", [("spec", "INTEGER", [int(x[0]) for x in spec_months]),
                            ("month", "VARCHAR", [x[1] for x in spec_months]),
                            ("is_last", "INTEGER", [int(bool(x[2])) for x in spec_months]),
                            ("n", "INTEGER", [int(x[3]) for x in spec_months])], params,
                     _is_duckdb(mart_url))
    aggs = []
    for m in measures:
        if m.kind == "last":
            expr = f"SUM(CASE WHEN sp.is_last = 1 THEN mo.{m.id} END)"
        elif m.kind == "avg":
            # the exact (integer) sum divided once: the same bits on every database, whatever its summing order
            expr = f"CAST(SUM(mo.{m.id}) AS DOUBLE PRECISION) / MAX(sp.n)"
        else:
            expr = f"SUM(mo.{m.id})"
        aggs.append(f"CAST({expr} AS DOUBLE PRECISION) AS {m.id}")
    only_last = all(m.kind == "last" for m in measures)
    keyed = key != "NULL"
    mem = ", f.member" if dimension else ""
    if level == "doctor":
        # the rows are nearly one per (month, doctor) already: summing them per month first costs more than it
        # saves, so the rows meet the period specs as they are (same sums, same NULL-when-no-row rule)
        row_cols = ", ".join(f"{_measure_row_sql(m)} AS {m.id}" for m in measures)
        inner = (f"SELECT f.month AS month, {key} AS org_key, {row_cols} "
                 f"FROM {source} f {join} WHERE {' AND '.join(where)}")
    else:
        inner = (f"SELECT f.month AS month{', ' + key + ' AS org_key' if keyed else ''}{mem}, {cols} "
                 f"FROM {source} f {join} WHERE {' AND '.join(where)} "
                 f"GROUP BY f.month{', ' + key if keyed else ''}{mem}")
    outer_mem = ", mo.member AS member" if dimension else ""
    sql = (f"WITH mo AS ({inner}), {sp} "
           f"SELECT sp.spec AS spec{', mo.org_key AS org_key' if keyed else ''}{outer_mem}, {', '.join(aggs)} "
           f"FROM mo JOIN sp ON sp.month = mo.month {'WHERE sp.is_last = 1 ' if only_last else ''}"
           f"GROUP BY sp.spec{', mo.org_key' if keyed else ''}{', mo.member' if dimension else ''}")
    return _measure_frame(_fetch(mart_url, sql, params, expanding=("scope",)), keyed, measures)


def _measure_frame(df: pd.DataFrame, keyed: bool, measures: list[Measure]) -> pd.DataFrame:
    """A measure query's rows as the engine takes them: an ``org_key`` column always, each measure as float."""
    if not keyed:
        df.insert(1, "org_key", None)
    for m in measures:
        df[m.id] = pd.to_numeric(df[m.id], errors="coerce").astype(float)
    return df


_DAY_PRESENT: set[str] = set()      # marts where every day rollup exists (only presence is remembered)


def day_tail_measures(mart_url: str, table: str, inst_col: str | None, measures: list[Measure], level: str,
                      township_by: str, tails: list[tuple[int, str, int]], org_level: str | None = None,
                      org_code: str | None = None, scope_insts: frozenset[str] | None = None,
                      from_facts: bool = False) -> pd.DataFrame | None:
    """Sums of the flow ``measures`` of ``table`` over the *tail* of one month per spec, from its day-grain rollup.

    ``tails`` lists ``(spec, 'YYYY-MM', day)``: the days after ``day`` of that month. The engine subtracts them
    from last year's twin of a running period to compare the same days. Grouping, filters, drill and scope as
    :func:`period_measures`. None when the table has no day rollup or the level or drill needs a department or
    doctor column (the engine then cuts pro rata). Columns ``spec``, ``org_key``, one float column per measure.
    """
    day_table = DAY_TABLES.get(table)
    if day_table is None or level in ("department", "doctor") or org_level in ("department", "doctor") or not tails:
        return None
    res_col = TABLE_ORG[table].get("res")
    by_res = township_by == "residence" and res_col is not None or inst_col is None
    needs = set().union(*(FILTER_COLUMNS.get(f, ()) for m in measures for f in m.filters))
    if by_res and "township" in (level, org_level):
        needs.add(res_col)
    if not needs <= set(SPECS[day_table].keys):      # e.g. residence: the day tables keep institutions only
        return None
    if not from_facts and mart_url not in _DAY_PRESENT:     # a mart built before the day rollups: pro rata
        found = _run(mart_url, "SELECT table_name FROM information_schema.tables WHERE table_name IN :names",
                     {"names": sorted(DAY_TABLES.values())}, expanding=("names",))
        if set(found["table_name"]) != set(DAY_TABLES.values()):
            return None
        _DAY_PRESENT.add(mart_url)
    months = sorted({t[1] for t in tails})
    params: dict[str, Any] = {"lo": months[0], "hi": months[-1]}
    _source, join, key, extra = _source_and_filters(mart_url, table, inst_col, level, township_by, org_level,
                                                    org_code, scope_insts, from_facts, params, measures)
    source = f"({ROW_SQL[day_table]})" if from_facts else day_table
    if from_facts and not mart_url.startswith("duckdb:"):
        from mart.pg import to_postgres
        source = to_postgres(source)
    sp = _values_cte("sp", [("spec", "INTEGER", [int(t[0]) for t in tails]),
                            ("month", "VARCHAR", [t[1] for t in tails]),
                            ("after_day", "INTEGER", [int(t[2]) for t in tails])], params, _is_duckdb(mart_url))
    keyed = key != "NULL"
    cols = ", ".join(f"CAST({_measure_sql(m)} AS DOUBLE PRECISION) AS {m.id}" for m in measures)
    where = " AND ".join(["f.month >= :lo", "f.month <= :hi", "f.dom > sp.after_day", *extra])
    sql = (f"WITH {sp} SELECT sp.spec AS spec{', ' + key + ' AS org_key' if keyed else ''}, {cols} "
           f"FROM {source} f JOIN sp ON sp.month = f.month {join} WHERE {where} "
           f"GROUP BY sp.spec{', ' + key if keyed else ''}")
    return _measure_frame(_fetch(mart_url, sql, params, expanding=("scope",)), keyed, measures)


def area_population(mart_url: str) -> pd.DataFrame:
    """Every area with its level, parent and population (county and townships)."""
    return _run(mart_url, "SELECT area_code, name, level, parent_code, population FROM area ORDER BY area_code", {})


def chronic_hosp_counts(mart_url: str, spec_ends: list[tuple[int, str, str]], by_area: bool,
                        township_only: bool = False, area_code: str | None = None) -> pd.DataFrame:
    """Distinct registered chronic patients hospitalised per period spec (and area), counted in the database.

    ``spec_ends`` lists ``(spec, 'YYYY-MM' month of the spec, 'YYYY-MM-DD' last day of the spec)`` for every month
    of every spec; a patient counts when hospitalised in one of the spec's months and registered on its last day.
    ``by_area`` groups by the patient's area (rows without one are left out), else one county row per spec
    (zero when nobody qualifies). ``township_only`` keeps township areas, ``area_code`` one area. Columns: ``spec``,
    ``org_key`` (None without ``by_area``), ``n`` (float) and ``any_rows`` (whether the spec range has rows at all).
    """
    if not spec_ends:
        raise ValueError("no period specs")
    months = sorted({m for _s, m, _d in spec_ends})
    params: dict[str, Any] = {"lo": months[0], "hi": months[-1]}
    sp = _values_cte("sp", [("spec", "INTEGER", [int(x[0]) for x in spec_ends]),
                            ("month", "VARCHAR", [x[1] for x in spec_ends]),
                            ("end_day", "DATE", [x[2] for x in spec_ends])], params, _is_duckdb(mart_url))
    cond = ["h.registered_date <= sp.end_day", "(h.deregistered_date IS NULL OR h.deregistered_date > sp.end_day)"]
    if by_area:
        cond.append("h.area_code IS NOT NULL")
    if township_only:
        cond.append("h.area_code IN (SELECT area_code FROM area WHERE level = 'township')")
    if area_code is not None:
        params["area"] = area_code
        cond.append("h.area_code = :area")
    key = ", h.area_code AS org_key" if by_area else ""
    sql = (f"WITH {sp} "
           f"SELECT sp.spec AS spec{key}, CAST(COUNT(DISTINCT h.patient_id) AS DOUBLE PRECISION) AS n, "
           f"(SELECT COUNT(*) FROM r_chronic_hosp a WHERE a.month >= :lo AND a.month <= :hi) AS any_rows "
           f"FROM sp {'JOIN' if by_area else 'LEFT JOIN'} r_chronic_hosp h ON h.month = sp.month AND "
           f"{' AND '.join(cond)} GROUP BY sp.spec{', h.area_code' if by_area else ''}")
    df = _fetch(mart_url, sql, params)
    if not by_area:
        df.insert(1, "org_key", None)
    df["any_rows"] = pd.to_numeric(df["any_rows"]) > 0
    return df


# Upload gaps, one rule for the engine's completeness flag and the cockpit's data-freshness banner.
# An institution "normally reports" a source when it has rows of it in at least half of the months in which any
# institution reported it. In a month it is incomplete when it has no rows at all, or (daily sources) fewer days
# with data than 80 % of what it usually covers: its usual share of the busiest institution's days in its other
# months, times the busiest institution's days this month (which also scales a month still running). A village
# clinic open three days a week is therefore not "incomplete" every month, and a centre silent for a week is.
UPLOAD_GAPS_SQL = """
WITH best AS (SELECT source, month, MAX(days) AS best FROM r_inst_month GROUP BY source, month),
     nmonths AS (SELECT source, COUNT(*) AS n FROM best GROUP BY source),
     normal AS (SELECT r.inst_code, r.source, COUNT(*) AS cnt,
                       SUM(CAST(r.days AS DOUBLE PRECISION) / b.best) AS share_sum
                FROM r_inst_month r JOIN best b ON b.source = r.source AND b.month = r.month
                JOIN nmonths k ON k.source = r.source
                GROUP BY r.inst_code, r.source, k.n HAVING 2 * COUNT(*) >= k.n),
     cand AS (SELECT b.month, n.inst_code, n.source, r.days, b.best,
                     CASE WHEN r.days IS NULL THEN n.share_sum / n.cnt
                          WHEN n.cnt > 1 THEN (n.share_sum - CAST(r.days AS DOUBLE PRECISION) / b.best) / (n.cnt - 1)
                          ELSE 1.0 END AS usual
              FROM best b JOIN normal n ON n.source = b.source
              LEFT JOIN r_inst_month r ON r.month = b.month AND r.inst_code = n.inst_code AND r.source = n.source
              WHERE b.month >= :lo AND b.month <= :hi),
     gaps AS (SELECT month, inst_code, source, COALESCE(days, 0) AS days_with_data,
                     CAST(ROUND(usual * best) AS INTEGER) AS days_expected,
                     CASE WHEN days IS NULL THEN 1 ELSE 0 END AS missing_month
              FROM cand
              WHERE days IS NULL OR (source <> 'resource_month' AND days < 0.8 * usual * best))"""


_GAPS_MEMO: dict[tuple, pd.DataFrame] = {}
_GAPS_MEMO_SIZE = 64


def missing_uploads(mart_url: str, month_lo: str, month_hi: str) -> pd.DataFrame:
    """(month, inst_code, source) of the upload gaps (:data:`UPLOAD_GAPS_SQL`) in months month_lo..month_hi.

    The gaps of every month are read once per mart data version (``mart_meta.data_version``, bumped by every load
    and rebuild; and the DuckDB file's version) and filtered here: every engine call asks, for its own months,
    and the query reads all of ``r_inst_month`` whatever the months (what is usual for an institution), so one
    read answers every range (on PostgreSQL the query costs more than a whole DuckDB call)."""
    from queries.periods import _mart_stamp, data_version
    version = data_version(mart_url)
    key = (mart_url, _mart_stamp(mart_url), version)
    every = _GAPS_MEMO.get(key) if version else None
    if every is None:
        sql = UPLOAD_GAPS_SQL + "\nSELECT month, inst_code, source FROM gaps ORDER BY month, inst_code, source"
        every = _run(mart_url, sql, {"lo": "0000-00", "hi": "9999-99"})
        if version:
            if len(_GAPS_MEMO) >= _GAPS_MEMO_SIZE:
                _GAPS_MEMO.clear()
            _GAPS_MEMO[key] = every
    months = every["month"].astype(str)
    return every[(months >= str(month_lo)) & (months <= str(month_hi))].reset_index(drop=True)
