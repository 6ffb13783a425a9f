"""The write side of a mart on a PostgreSQL-protocol server (PostgreSQL, Citus, Greenplum).

``MART_URL=postgresql://…`` moves the mart to a server; the web process reads it through the same portable
queries. Writing works like this:

* **schema** — the contract DDL of ``mart.schema`` and the rollup tables, with DuckDB-only spellings translated
  (:func:`to_postgres`).
* **load** — files are validated by the normal DuckDB loader in a private staging DuckDB (which mirrors the
  server's dimension tables so references resolve); only when every file is valid are the rows streamed to the
  server with ``COPY FROM STDIN`` and applied (replace by key), the rollups of the affected months rebuilt on the
  server, the data version bumped and the load logged — all in ONE server transaction: a failure anywhere rolls
  everything back and the server keeps its previous state.
* **demo** — the demo county is generated in a temporary DuckDB, then its contract tables are copied to the
  server and the rollups are built there, again in one transaction.
* **rollups** — ``mart.rollups`` statements run on the server (translated), month-partitioned as in DuckDB.
* **partitions** — the large fact tables are partitioned by month (:mod:`mart.pg_partitions`); the demo copy and
  the load create the partitions of their months before the rows go in, in the same transaction.

DuckDB's postgres extension is not used (it needs a download); data moves as CSV over ``COPY``.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.config import Config
from core.periods import month_first_day, month_index, month_last_day, month_range
from mart.pg_partitions import PARTITIONED, ensure_month_partitions, ensure_partitioned_tables, months_sql
from mart.schema import LOAD_ORDER, TABLES, all_ddl

# (phase, seconds, rows) of the last server demo copy / rollup build, read by bench/engines.py
PHASES: list[tuple[str, float, int]] = []

# Tables the loader's reference checks read (mirrored into the staging DuckDB before validation).
REFERENCE_TABLES = ("area", "institution", "department", "staff")


def is_postgres(url: str) -> bool:
    """True for a PostgreSQL-protocol SQLAlchemy URL."""
    return url.startswith(("postgresql:", "postgresql+", "postgres:"))


def libpq_dsn(url: str) -> str:
    """A libpq URI from a SQLAlchemy URL (drops the ``+driver`` part; keeps ``?options=…``)."""
    from sqlalchemy.engine import make_url
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


# ---------------------------------------------------------------------------------------------------------------
# dialect: DuckDB SQL of mart/ → PostgreSQL
_STRFTIME = re.compile(r"strftime\(((?:[^()]|\([^()]*\))+?),\s*'%Y-%m'\)")
_DATE_DIFF = re.compile(r"date_diff\('second',\s*([\w.]+),\s*([\w.]+)\)")
_INTERVAL = re.compile(r"INTERVAL\s+(\d+)\s+DAY\b", re.IGNORECASE)
_DOUBLE = re.compile(r"\bDOUBLE\b(?!\s+PRECISION)")


def to_postgres(sql: str) -> str:
    """Translate the few DuckDB spellings used by the mart's SQL (month formatting, second differences, day
    intervals, DOUBLE) to PostgreSQL. Everything else in ``mart/`` SQL is standard and left as is."""
    sql = _STRFTIME.sub(r"to_char(\1, 'YYYY-MM')", sql)
    sql = _DATE_DIFF.sub(r"EXTRACT(EPOCH FROM (\2 - \1))", sql)
    sql = _INTERVAL.sub(r"INTERVAL '\1 days'", sql)
    return _DOUBLE.sub("DOUBLE PRECISION", sql)


# ---------------------------------------------------------------------------------------------------------------
# connection and schema
@contextmanager
def pg_transaction(url: str) -> Iterator:
    """A psycopg2 cursor inside one transaction: committed on success, rolled back on any error."""
    import psycopg2
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = 0")   # writes may be long; reads get 30 s elsewhere
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def ensure_schema_pg(cur) -> None:  # noqa: ANN001
    """Create every contract, meta, calendar and rollup table and the views on the server if missing (the large
    fact tables partitioned by month, :mod:`mart.pg_partitions`)."""
    ensure_partitioned_tables(cur, to_postgres)
    for stmt in all_ddl():
        cur.execute(to_postgres(stmt))
    _ensure_rollup_tables(cur)


def _ensure_rollup_tables(cur) -> None:  # noqa: ANN001
    from mart.rollups import _FULL_DDL, EXACT_SCALE, ROLLUP_KEYS, ROW_SQL
    for table, row_sql in ROW_SQL.items():
        keys = ", ".join(ROLLUP_KEYS[table])
        cur.execute(f"SELECT * FROM ({to_postgres(row_sql)}) x LIMIT 0")
        # measures typed BIGINT (counts) or DOUBLE PRECISION (money, projected as the facts' NUMERIC, and other
        # decimal measures): sum() of an integer is NUMERIC in PostgreSQL, several times slower to hash, sum and
        # fetch than BIGINT
        measures = ", ".join(
            f"CAST({d[0]} AS {'DOUBLE PRECISION' if d[1] == _FLOAT8 or d[0] in EXACT_SCALE else 'BIGINT'}) AS {d[0]}"
            for d in cur.description if d[0] not in ROLLUP_KEYS[table])
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT {keys}, {measures} "
                    f"FROM ({to_postgres(row_sql)}) x WHERE false")
        _numeric_to_bigint(cur, table)
    from mart.rollups import COARSE, coarse_sql
    for table, (fine, _keys) in COARSE.items():
        cur.execute(f"SELECT * FROM {fine} LIMIT 0")
        cur.execute(coarse_sql(table, [d[0] for d in cur.description])[0])
    for table in COARSE:
        _numeric_to_bigint(cur, table)
    for stmt in _FULL_DDL:
        cur.execute(to_postgres(stmt))
    # every engine query filters a month range, and the loader rebuilds by month: an index on month per rollup
    # (DuckDB needs none: its zone maps skip row groups)
    for table in [*ROW_SQL, *COARSE]:
        cur.execute(f"CREATE INDEX IF NOT EXISTS {table}_month_idx ON {table} (month)")


_FLOAT8 = 701      # PostgreSQL type oid of DOUBLE PRECISION


def _numeric_to_bigint(cur, table: str) -> None:  # noqa: ANN001
    """Retype the NUMERIC measure columns of a rollup made by an earlier version (sum() of integers) to BIGINT."""
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND data_type = 'numeric'", [table])
    cols = [r[0] for r in cur.fetchall()]
    if cols:
        cur.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} TYPE BIGINT" for c in cols))


# ---------------------------------------------------------------------------------------------------------------
# rollups on the server
def fill_calendar_pg(cur, first: str, last: str) -> None:  # noqa: ANN001
    """Insert the months first..last into calendar_month (idempotent)."""
    rows = []
    for month in month_range(first, last):
        y, m = int(month[:4]), int(month[5:7])
        start, end = month_first_day(month_index(month)), month_last_day(month_index(month))
        weekdays = sum(1 for d in range(end.day) if (start + dt.timedelta(days=d)).weekday() < 5)
        rows.append((month, start, end, y, f"{y}Q{(m - 1) // 3 + 1}", end.day, weekdays))
    from psycopg2.extras import execute_values
    execute_values(cur, "INSERT INTO calendar_month VALUES %s ON CONFLICT (month) DO NOTHING", rows)


def _data_months_pg(cur) -> tuple[str, str] | None:  # noqa: ANN001
    from mart.rollups import _SOURCE
    parts = [f"SELECT CAST(min({col}) AS TIMESTAMP) lo, CAST(max({col}) AS TIMESTAMP) hi FROM {src}"
             for src, _a, col in _SOURCE.values() if col != "month"]
    cur.execute("SELECT to_char(min(lo), 'YYYY-MM'), to_char(max(hi), 'YYYY-MM') FROM ("
                + " UNION ALL ".join(parts) + ") u")
    lo, hi = cur.fetchone()
    cur.execute("SELECT min(month), max(month) FROM resource_month")
    rlo, rhi = cur.fetchone()
    los = [x for x in (lo, rlo) if x]
    his = [x for x in (hi, rhi) if x]
    return (min(los), max(his)) if los else None


# Session settings of a rollup build (SET LOCAL: they end with the build's transaction). Sorts and hashes of the
# rollup GROUP BYs spill to disk at the server's default work_mem (4MB); JIT compiling the member CASE expressions
# costs more than it saves at these row counts. ``MART_PG_BUILD_WORK_MEM`` overrides the memory (a PostgreSQL size,
# e.g. 64MB or 1GB; each sort or hash of a statement, per parallel worker, may use that much).
BUILD_WORK_MEM_ENV = "MART_PG_BUILD_WORK_MEM"
BUILD_WORK_MEM_DEFAULT = "256MB"
_PG_SIZE = re.compile(r"[1-9][0-9]{0,9}\s*(kB|MB|GB|TB)?")


def build_session_settings(cur) -> None:  # noqa: ANN001
    """Set the build's work_mem (:data:`BUILD_WORK_MEM_ENV`, default :data:`BUILD_WORK_MEM_DEFAULT`) and jit=off
    for the rest of the caller's transaction; an invalid size is refused in Chinese before anything is written."""
    work_mem = os.environ.get(BUILD_WORK_MEM_ENV, "").strip() or BUILD_WORK_MEM_DEFAULT
    if not _PG_SIZE.fullmatch(work_mem):
        raise ValueError(f"环境变量 {BUILD_WORK_MEM_ENV} 的值 {work_mem!r} 不是 PostgreSQL 内存大小 (例如 256MB、1GB)")
    cur.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", [work_mem])


# The fine rollups group millions of fact rows into far fewer groups, but the planner cannot estimate the groups of
# computed keys (member CASE expressions, truncated months: it assumes one group per row) and sorts every row
# instead of hashing; hashing measured ~15% faster on r_op_dim_* (docs/performance.md). Hash aggregation spills to
# disk beyond work_mem × hash_mem_multiplier, so a larger county stays within memory bounds.
BUILD_HASH_GROUPING = True


@contextmanager
def _hash_grouping(cur) -> Iterator[None]:  # noqa: ANN001
    """enable_sort off (transaction-local) while the fine rollups are built, restored afterwards."""
    if not BUILD_HASH_GROUPING:
        yield
        return
    cur.execute("SELECT current_setting('enable_sort')")
    before = cur.fetchone()[0]
    cur.execute("SELECT set_config('enable_sort', 'off', true)")
    yield
    cur.execute("SELECT set_config('enable_sort', %s, true)", [before])


def build_rollups_pg(cur, months: list[str] | None = None, changed: Iterable[str] | None = None):  # noqa: ANN001, ANN201
    """(Re)build the rollups on the server inside the caller's transaction by the same plan as
    :func:`mart.rollups.build_rollups` (:func:`mart.rollups.rebuild_plan`: everything when ``months`` and
    ``changed`` are None; with ``changed``, the tables a load wrote, only the rollups reading them, for ``months``
    or whole); returns the plan carried out."""
    from mart.rollups import (
        _SOURCE,
        READMIT_TABLES,
        ROLLUP_TABLES,
        SPECS,
        WHOLE_TABLES,
        _checked,
        coarse_rebuild_statements,
        fine_insert_sql,
        month_filter,
        month_list,
        rebuild_plan,
        rebuild_statements,
        span_months,
        span_sql,
    )
    build_session_settings(cur)
    changed_set = None if changed is None else set(changed)
    cur.execute("SELECT count(*) FROM calendar_month")
    calendar_before = cur.fetchone()[0]
    rng = _data_months_pg(cur)
    if rng is not None:
        fill_calendar_pg(cur, *rng)
    cur.execute("SELECT count(*) FROM calendar_month")
    if changed_set is not None and cur.fetchone()[0] != calendar_before:
        changed_set.add("calendar_month")
    # a rollup table new to this mart is filled for every month, not just ``months``
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    present = {r[0] for r in cur.fetchall()}
    _ensure_rollup_tables(cur)
    plan = rebuild_plan(months, changed_set, [t for t in ROLLUP_TABLES if t not in present])
    if changed_set is None and months is not None and plan.get("r_ip_month") is not None:
        # explicit months without table information: add the months whose readmission flags they touch
        cur.execute(to_postgres(span_sql("inpatient_discharge", "d", "inpatient_discharge d WHERE "
                                         + month_filter("d.discharge_time", "datetime", months))))
        extra = span_months(cur.fetchall())
        for table in READMIT_TABLES:
            if plan.get(table) is not None:
                plan[table] = _checked(set(plan[table]) | extra)
    with _hash_grouping(cur):
        for table in _SOURCE:
            if table not in plan:
                continue
            wanted = plan[table]
            cols = list(SPECS[table].measures)
            t0 = time.perf_counter()
            cur.execute(f"DELETE FROM {table}" if wanted is None
                        else f"DELETE FROM {table} WHERE month IN ({month_list(wanted)})")
            cur.execute(to_postgres(fine_insert_sql(table, cols, wanted)))
            PHASES.append((f"rollup {table}", time.perf_counter() - t0, cur.rowcount))
    # coarse rollups from the fine ones, same months
    def fine_columns(fine: str) -> list[str]:
        cur.execute(f"SELECT * FROM {fine} LIMIT 0")
        return [d[0] for d in cur.description]
    t0 = time.perf_counter()
    for stmt in coarse_rebuild_statements(plan, fine_columns):
        cur.execute(stmt)
    PHASES.append(("rollups coarse", time.perf_counter() - t0, 0))
    for table in WHOLE_TABLES:
        if table in plan:
            t0 = time.perf_counter()
            for stmt in rebuild_statements(table, plan[table], changed_set):
                cur.execute(to_postgres(stmt))
            PHASES.append((f"rollup {table}", time.perf_counter() - t0, 0))
    t0 = time.perf_counter()
    for table in plan:
        cur.execute(f"ANALYZE {table}")
    PHASES.append(("analyze rollups", time.perf_counter() - t0, 0))
    return plan


def bump_data_version_pg(cur) -> str:  # noqa: ANN001
    """Record a new data version (the web's result caches key on it)."""
    version = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    cur.execute("INSERT INTO mart_meta VALUES ('data_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [version])
    return version


def set_meta_pg(cur, key: str, value: str) -> None:  # noqa: ANN001
    cur.execute("INSERT INTO mart_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [key, value])


# ---------------------------------------------------------------------------------------------------------------
# moving rows DuckDB → server
def copy_to_pg(duck: duckdb.DuckDBPyConnection, cur, table: str, columns: list[str], select_sql: str,  # noqa: ANN001
               target: str | None = None, workdir: Path | None = None) -> int:
    """Stream the rows of a DuckDB SELECT into ``target`` (default ``table``) with ``COPY FROM STDIN``.

    DuckDB writes CSV (NULL as an empty unquoted field, empty strings quoted), PostgreSQL reads it back with the
    same convention, so NULL and '' stay distinct. Returns the rows copied.
    """
    folder = Path(workdir or tempfile.mkdtemp(prefix="pgcopy_"))
    path = folder / f"{table}.csv"
    try:
        duck.execute(f"COPY ({select_sql}) TO '{path}' (FORMAT csv, HEADER false, "
                     f"TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S.%f', DATEFORMAT '%Y-%m-%d')")
        cols = ", ".join(columns)
        with open(path, "rb") as fh:
            cur.copy_expert(f"COPY {target or table} ({cols}) FROM STDIN WITH (FORMAT csv)", fh, size=1 << 20)
        return cur.rowcount
    finally:
        path.unlink(missing_ok=True)
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def _copy_from_pg(cur, duck: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:  # noqa: ANN001
    """Mirror a (small) server table into the staging DuckDB table of the same name."""
    buf = io.StringIO()
    cur.copy_expert(f"COPY (SELECT {', '.join(columns)} FROM {table}) TO STDOUT WITH (FORMAT csv)", buf)
    if not buf.tell():
        return
    with tempfile.TemporaryDirectory(prefix="pgmirror_") as tmp:
        path = Path(tmp) / f"{table}.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        types = {c.name: c.sql_type for c in TABLES[table].columns}
        spec = ", ".join(f"'{c}': '{types[c]}'" for c in columns)
        duck.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM read_csv('{path}', header=false, "
                     f"columns={{{spec}}}, quote='\"', escape='\"', nullstr='', allow_quoted_nulls=false)")


# ---------------------------------------------------------------------------------------------------------------
# load
def load_directory_pg(cfg: Config, directory: str | Path, progress: Callable[[str], None] | None = None,  # noqa: ANN201
                      options=None):  # noqa: ANN001 - mart.readers.ReadOptions
    """Validate ``directory`` like the DuckDB loader, then write it to the server in one transaction.

    Raises ``mart.loader.LoadError`` (nothing written) on any invalid file, row or cell; returns the loader's
    ``LoadReport`` with the server's new data version and the months whose rollups were rebuilt.
    """
    from mart import loader
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pgstage_") as tmp:
        stage_cfg = Config(data_dir=Path(tmp), mart_url=f"duckdb:///{Path(tmp) / 'stage.duckdb'}",
                           app_db_url=cfg.app_db_url, cache_url="", mart_timezone=cfg.mart_timezone)
        # mirror the reference tables, so that the staging validation sees the server's codes
        from mart.db import writer
        with pg_transaction(cfg.mart_url) as cur:
            ensure_schema_pg(cur)
            with writer(stage_cfg) as duck:
                for table in REFERENCE_TABLES:
                    _copy_from_pg(cur, duck, table, TABLES[table].column_names)
                    # what the server holds, to send back only new or changed rows of these tables
                    duck.execute(f"CREATE TABLE _mirror_{table} AS SELECT * FROM {table}")
        staged = loader.load_directory(stage_cfg, directory, progress=say, options=options)   # raises LoadError; server untouched
        say("写入 PostgreSQL …")
        duck = duckdb.connect(str(Path(tmp) / "stage.duckdb"), read_only=True)
        try:
            with pg_transaction(cfg.mart_url) as cur:
                affected, replaced = _apply_pg(cur, duck, list(staged.rows), Path(tmp))
                # keys of mirrored tables that already existed: the staging load counted them against the mirror
                replaced.update({t: n for t, n in staged.replaced.items() if t in REFERENCE_TABLES})
                say("更新汇总表 (rollups) …")
                plan = build_rollups_pg(cur, affected, changed=staged.rows)
                months = loader.report_months(plan, affected)
                version = bump_data_version_pg(cur)
                cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log")
                load_id = cur.fetchone()[0]
                cur.execute("INSERT INTO load_log VALUES (%s, %s, %s, %s, %s, %s)",
                            [load_id, dt.datetime.now(), str(directory),
                             ",".join(f"{t}={n}" for t, n in staged.rows.items()), sum(staged.rows.values()),
                             None if months is None else ",".join(months)])
        finally:
            duck.close()
    return loader.LoadReport(source=str(directory), rows=staged.rows, replaced=replaced, warnings=staged.warnings,
                             months=months, seconds=time.perf_counter() - started, data_version=version,
                             rollups=plan)


def _apply_pg(cur, duck: duckdb.DuckDBPyConnection, tables: list[str], workdir: Path):  # noqa: ANN001
    """Replace by key the rows of ``tables`` on the server with the staging rows; returns (the months whose
    rollups the changed rows touch — their old and new months plus :data:`mart.rollups.MONTH_SPANS` —, replaced
    row counts). The same month rule as the DuckDB loader's ``_affected``."""
    from mart.rollups import span_months, span_sql
    months: set[str] = set()
    replaced: dict[str, int] = {}
    for name in [t for t in LOAD_ORDER if t in tables]:
        table = TABLES[name]
        cols = table.column_names
        tmp = f"_stage_{name}"
        cur.execute(f"CREATE TEMP TABLE {tmp} (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP")
        select = f"SELECT {', '.join(cols)} FROM {name}"
        if name in REFERENCE_TABLES:        # the staging table also holds the server's own rows (the mirror)
            select += f" EXCEPT SELECT {', '.join(cols)} FROM _mirror_{name}"
        copy_to_pg(duck, cur, name, cols, select, target=tmp, workdir=workdir)
        if name in PARTITIONED:             # the partitions of the months the rows bring, before they go in
            cur.execute(months_sql(name, tmp))
            ensure_month_partitions(cur, name, [r[0] for r in cur.fetchall()])
        on = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
        if table.period_column is not None:
            col = table.column(table.period_column)
            expr = (lambda a: f"{a}.{col.name}") if col.type == "month" else \
                (lambda a: f"to_char({a}.{col.name}, 'YYYY-MM')")
            cur.execute(f"SELECT DISTINCT {expr('s')} FROM {tmp} s UNION "
                        f"SELECT DISTINCT {expr('t')} FROM {name} t JOIN {tmp} s ON {on}")
            months |= {r[0] for r in cur.fetchall() if r[0]}
            for sql in (span_sql(name, "s", f"{tmp} s"), span_sql(name, "t", f"{name} t JOIN {tmp} s ON {on}")):
                if sql:
                    cur.execute(to_postgres(sql))
                    months |= span_months(cur.fetchall())
        cur.execute(f"DELETE FROM {name} t USING {tmp} s WHERE {on}")
        replaced[name] = cur.rowcount
        cur.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {tmp}")
    return sorted(months), replaced


# ---------------------------------------------------------------------------------------------------------------
# demo and whole-mart copy
def copy_mart_to_pg(source: Path | duckdb.DuckDBPyConnection, url: str, meta: dict[str, str] | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Replace the server mart with the contract tables of a DuckDB mart (a file path, or an open connection to
    it), build the rollups on the server and bump the data version — one transaction. Returns rows per table."""
    say = progress or (lambda _msg: None)
    counts: dict[str, int] = {}
    own = not isinstance(source, duckdb.DuckDBPyConnection)
    duck = duckdb.connect(str(source), read_only=True) if own else source
    try:
        with tempfile.TemporaryDirectory(prefix="pgcopy_") as tmp, pg_transaction(url) as cur:
            ensure_schema_pg(cur)
            for name in reversed(LOAD_ORDER):
                cur.execute(f"DELETE FROM {name}")
            cur.execute("DELETE FROM mart_meta")
            PHASES.clear()
            for name in LOAD_ORDER:
                cols = TABLES[name].column_names
                say(f"复制 {name} …")
                t0 = time.perf_counter()
                if name in PARTITIONED:     # the partitions of the source's months, before the rows go in
                    made = ensure_month_partitions(cur, name, [r[0] for r in duck.execute(
                        months_sql(name, name, dialect="duckdb")).fetchall()])
                    PHASES.append((f"partitions {name}", time.perf_counter() - t0, len(made)))
                    t0 = time.perf_counter()
                counts[name] = copy_to_pg(duck, cur, name, cols, f"SELECT {', '.join(cols)} FROM {name}",
                                          workdir=Path(tmp))
                PHASES.append((f"copy {name}", time.perf_counter() - t0, counts[name]))
            for key, value in duck.execute("SELECT key, value FROM mart_meta").fetchall():
                set_meta_pg(cur, key, value)
            for key, value in (meta or {}).items():
                set_meta_pg(cur, key, value)
            t0 = time.perf_counter()
            for name in LOAD_ORDER:
                cur.execute(f"ANALYZE {name}")
            PHASES.append(("analyze facts", time.perf_counter() - t0, 0))
            say("更新汇总表 (rollups) …")
            build_rollups_pg(cur, None)
            bump_data_version_pg(cur)
    finally:
        if own:
            duck.close()
    return counts


def build_demo_pg(cfg: Config, scale: float = 1.0, seed: int = 42, years: int = 3, quiet: bool = False,
                  until: dt.date | None = None) -> dict[str, int]:
    """Generate the demo county in a temporary DuckDB (the generator is DuckDB SQL), then copy it to the server
    mart (see :func:`copy_mart_to_pg`). The geometry goes to DATA_DIR/geo as for a DuckDB mart."""
    from mart.demo import build_demo
    with tempfile.TemporaryDirectory(prefix="pgdemo_", dir=cfg.data_dir if cfg.data_dir.exists() else None) as tmp:
        local = Config(data_dir=cfg.data_dir, mart_url=f"duckdb:///{Path(tmp) / 'demo.duckdb'}",
                       app_db_url=cfg.app_db_url, cache_url=cfg.cache_url)
        counts = build_demo(local, scale=scale, seed=seed, years=years, quiet=quiet, until=until, rollups=False)
        copy_mart_to_pg(Path(tmp) / "demo.duckdb", cfg.mart_url)
    return counts
