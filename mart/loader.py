"""The validated, atomic loader of the supervision data mart.

``load_directory(cfg, directory)`` reads ``<table>.csv`` / ``<table>.parquet`` files (table names from
``mart.schema.TABLES``), validates them against the data contract and loads them all in ONE transaction:
on any error nothing is loaded and ``LoadError`` lists every fault (file, data row, column, value, reason) up to
``MAX_ISSUES``. Rows whose key already exists in the mart are replaced (one row per key, new values; see ``_apply``).

Validation is set-based in DuckDB so that it keeps up with millions of rows: every file is read once into a
typed staging table that carries, per cell, a 3-bit fault code (0 = fine; packed into BIGINT words ``_f<n>``)
computed with ``TRY_CAST`` and format checks (typed Parquet columns are cast directly: no text round trip); keys,
references and the table-level ``checks`` are then a few anti-joins / GROUP BYs per table, each counted first and
listed only when non-zero. Python only touches the (capped) list of faulty rows.

Only the rollups that read a loaded table are rebuilt, for the months the loaded rows (and the rows they replace)
touch, readmission spans included (``mart.rollups.rebuild_plan``); the PostgreSQL path (``mart.pg``) applies the
same rule. Times with a UTC offset (Parquet TIMESTAMP WITH TIME ZONE, CSV text ending in Z or ±HH:MM) are stored
as wall time of the county's zone (``Config.mart_timezone``, env ``MART_TIMEZONE``).

Row numbers: ``row`` in a ``LoadIssue`` is the 1-based *data* row (the header line is not counted; for a CSV
without quoted line breaks, data row N is line N + 1 of the file). ``row`` is None for file-level faults.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.config import Config
from mart import integrity, readers, rollups
from mart.db import bump_data_version, fill_calendar, writer
from mart.schema import DATE_MAX_DAYS_AFTER_LOAD, DATE_MIN, LOAD_ORDER, SQL_TYPES, TABLES, Column, Table

MAX_ISSUES = 100
FORMATS = ("csv", "parquet", "xlsx", "xls")

# Strict textual formats of the contract (DuckDB's casts alone are lenient: '2025-3-1', '12.5' → 13, '0x10').
_FORMAT_RE = {
    "int": r"[+-]?[0-9]+",
    "bigint": r"[+-]?[0-9]+",
    "float": r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?",
    "money": r"[+-]?[0-9]+(\.[0-9]{1,2})?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "datetime": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?",
    "month": r"[0-9]{4}-(0[1-9]|1[0-2])",
}
# A time with a UTC offset (Z, +08, +0800, +08:00): converted to the county's wall time (Config.mart_timezone),
# as Parquet TIMESTAMP WITH TIME ZONE columns are. DuckDB's cast to TIMESTAMP would drop the offset silently.
_OFFSET_RE = _FORMAT_RE["datetime"] + r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)"
_TZ_TYPES = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"})
# Largest magnitude each contract number type holds (DECIMAL(14,2), INTEGER, BIGINT): a well-formed value beyond it
# is reported as out of range, not as a format error.
TYPE_MAX = {"int": 2**31 - 1, "bigint": 2**63 - 1, "money": 999_999_999_999.99}
_FORMAT_HINT = {
    "int": "应为整数 (expected a whole number)",
    "bigint": "应为整数 (expected a whole number)",
    "float": "应为数字 (expected a number)",
    "money": "应为金额, 单位元, 最多 2 位小数 (expected yuan with at most 2 decimals)",
    "flag": "应为 0 或 1 (expected 0 or 1)",
    "date": "应为日期 YYYY-MM-DD (expected a date YYYY-MM-DD)",
    "datetime": "应为时间 YYYY-MM-DD HH:MM[:SS], 可带时区如 +08:00 (expected ISO 8601 local time or with offset)",
    "month": "应为月份 YYYY-MM (expected a month YYYY-MM)",
}
# Parquet/Arrow integer types: casting them to a contract integer needs no whole-number check.
_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                            "UINTEGER", "UBIGINT", "UHUGEINT"})
# Fault codes stored per cell in the staging table.
F_OK, F_MISSING, F_TYPE, F_DOMAIN, F_MIN, F_MAX = 0, 1, 2, 3, 4, 5
F_PATTERN = 6     # a code that does not look like one (Column.pattern: 3.31099E+08 as an area code)
# The codes of a row are packed 3 bits per column into BIGINT columns _f0, _f1, … (20 columns each): one packed
# column costs a quarter of the staging time that one TINYINT column per contract column did.
_FAULT_BITS, _FAULTS_PER_WORD = 3, 20


def _fault_slot(table: Table, column: str) -> tuple[str, int]:
    """(packed fault column, bit shift) that holds the fault code of ``column``."""
    i = table.column_names.index(column)
    return f"_f{i // _FAULTS_PER_WORD}", _FAULT_BITS * (i % _FAULTS_PER_WORD)


def _fault(table: Table, column: str, alias: str = "") -> str:
    """SQL expression: the fault code (0 = fine) of one cell of a staged row."""
    word, shift = _fault_slot(table, column)
    return f"(({alias}{word} >> {shift}) & {(1 << _FAULT_BITS) - 1})"


@dataclass(frozen=True)
class LoadIssue:
    """One fault found in the input. ``row`` is the 1-based data row (header not counted), None for the file."""
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"第 {self.row} 行数据 (data row {self.row})")
        if self.column:
            parts.append(f"列 {self.column}")
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            parts.append(f"值 {shown!r}")
        return ", ".join(parts) + ": " + self.reason


class LoadError(Exception):
    """The input was rejected; nothing was loaded. ``errors`` holds up to MAX_ISSUES issues, ``total`` all."""

    def __init__(self, errors: list[LoadIssue], total: int | None = None, warnings: list[str] | None = None):
        self.errors = list(errors)
        self.total = max(total or 0, len(self.errors))
        self.warnings = list(warnings or [])
        super().__init__(self.message())

    def message(self) -> str:
        lines = [f"数据未加载: 发现 {self.total} 个错误 (nothing loaded: {self.total} error(s))"]
        lines += [f"  - {issue}" for issue in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  … 以及另外 {self.total - len(self.errors)} 个错误 (and {self.total - len(self.errors)} more)")
        return "\n".join(lines)


@dataclass
class LoadReport:
    """What one successful load did."""
    source: str
    rows: dict[str, int]                       # rows loaded per table (in load order)
    replaced: dict[str, int]                   # of which replaced rows that already existed (same key)
    warnings: list[str]
    months: list[str] | None                   # months whose rollups were rebuilt; None = all (a dimension changed)
    seconds: float
    data_version: str = ""
    rollups: dict[str, list[str] | None] = field(default_factory=dict)   # rollup → months rebuilt (None = all)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class _Source:
    table: Table
    path: Path
    fmt: str
    columns: dict[str, str] = field(default_factory=dict)   # contract column → positional source column c<i>
    source_types: dict[str, str] = field(default_factory=dict)  # c<i> → DuckDB type
    staged: bool = False
    rows: int = 0
    prepared: readers.Prepared | None = None    # CSV/Excel as DuckDB reads it (UTF-8, delimiter; mart/readers.py)

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def stage(self) -> str:
        return f"_stg_{self.table.name}"


class _Issues:
    """Collects issues up to the cap while counting all of them."""

    def __init__(self, cap: int = MAX_ISSUES):
        self.cap = cap
        self.items: list[LoadIssue] = []
        self.total = 0

    def add(self, issue: LoadIssue) -> None:
        self.total += 1
        if len(self.items) < self.cap:
            self.items.append(issue)

    def add_counted(self, issues: list[LoadIssue], total: int) -> None:
        """Add a capped sample of issues that stands for ``total`` issues."""
        for issue in issues:
            if len(self.items) < self.cap:
                self.items.append(issue)
        self.total += total

    @property
    def room(self) -> int:
        return max(self.cap - len(self.items), 0)

    def __bool__(self) -> bool:
        return self.total > 0


# ---------------------------------------------------------------------------------------------------------------
# discovery and file-level checks


def discover(directory: Path) -> tuple[list[_Source], list[str], list[LoadIssue]]:
    """Find the contract files in ``directory``: (sources in load order, warnings, file-level issues)."""
    warnings: list[str] = []
    issues: list[LoadIssue] = []
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        stem, _, ext = path.name.rpartition(".")
        ext, stem = ext.lower(), stem.lower()      # Department.CSV is department.csv (files from Windows tools)
        if ext in FORMATS and stem in TABLES:
            found.setdefault(stem, []).append(path)
        else:
            warnings.append(f"忽略未识别的文件 {path.name} (ignored: not <table>.csv|parquet of the contract)")
    sources = []
    for name in LOAD_ORDER:
        paths = found.get(name, [])
        if len(paths) > 1:
            issues.append(LoadIssue(", ".join(p.name for p in paths), None, None, None,
                                    f"表 {name} 有多个文件, 只能提供一个 (more than one file for table {name})"))
        elif paths:
            path = paths[0]
            sources.append(_Source(TABLES[name], path, path.name.rpartition(".")[2].lower()))
    if not sources and not issues:
        known = ", ".join(f"{n}.csv" for n in LOAD_ORDER[:3])
        issues.append(LoadIssue(str(directory), None, None, None,
                                f"目录中没有可识别的数据文件 (no <table>.csv|parquet file found; e.g. {known} …)"))
    return sources, warnings, issues


def _csv_error_issue(path: Path, exc: Exception) -> LoadIssue:
    """Turn DuckDB's CSV reader error into an issue naming the line."""
    msg = str(exc)
    m = re.search(r"CSV Error on Line: (\d+)", msg)
    row = int(m.group(1)) - 1 if m else None
    detail = next((ln.strip() for ln in msg.splitlines() if "Expected Number of Columns" in ln
                   or "unterminated" in ln.lower() or "quote" in ln.lower()), msg.splitlines()[0][:200])
    return LoadIssue(path.name, row, None, None, f"CSV 格式错误 (malformed CSV): {detail}")


_CSV_ERROR_ZH = {
    "MISSING COLUMNS": "列数不足",
    "TOO MANY COLUMNS": "列数过多",
    "UNQUOTED VALUE": "引号未闭合或引号外有字符",
    "LINE SIZE OVER MAXIMUM": "行过长",
    "INVALID ENCODING": "编码无效",
}


def _reject_reason(kind: object, message: object) -> str:
    """The reason of a rejected CSV line; DuckDB names no kind for a line beyond its line-size limit (one
    value of several MB): say so rather than 'format error (None)'."""
    if kind is None and message is None:
        return ("CSV 格式错误 (malformed CSV): 该行无法读取, 多半是某个值或整行过长 (单行上限 2 MB), "
                "请检查是否误把文件或大段文本放进了一个单元格 (line too long or unreadable)")
    return f"CSV 格式错误 (malformed CSV): {_CSV_ERROR_ZH.get(str(kind), '格式错误')} ({message})"


def _csv_rejects(con: duckdb.DuckDBPyConnection, path: Path, options: str, cap: int
                 ) -> tuple[list[LoadIssue], int]:
    """The malformed lines of a CSV that the strict reader refused: (up to ``cap`` issues, how many in all).

    Only run after the strict read failed (a clean file pays nothing): the same read (``options`` of read_csv)
    again with DuckDB's ``store_rejects``, which skips bad lines and records each one in a rejects table of this
    connection.
    """
    rejects, scans = "_rejects_errors", "_rejects_scans"
    try:
        con.execute(f"SELECT count(*) FROM read_csv(?, {options}, store_rejects = true, "
                    f"rejects_table = '{rejects}', rejects_scan = '{scans}')", [str(path)]).fetchall()
        # a line short of two columns is recorded once per missing column: one issue per line
        total = con.execute(f"SELECT count(DISTINCT line) FROM {rejects}").fetchone()[0]
        rows = con.execute(f"SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx), "
                           f"arg_min(csv_line, column_idx) FROM {rejects} GROUP BY line ORDER BY line LIMIT ?",
                           [max(cap, 1)]).fetchall()
    except duckdb.Error:
        return [], 0
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejects}")
        con.execute(f"DROP TABLE IF EXISTS {scans}")
    issues = [LoadIssue(path.name, int(line) - 1 if line and line > 1 else None, None,
                        (text or "").rstrip("\r\n"),
                        _reject_reason(kind, message)) for line, kind, message, text in rows]
    return issues, int(total)


# ---------------------------------------------------------------------------------------------------------------
# staging: one typed table per file with a fault code per cell


def _q(name: str) -> str:
    """Quote an identifier that comes from our own whitelist (contract names, c<i>)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """SQL string literal of a contract constant (domain codes come from mart.schema, not from input)."""
    return "'" + value.replace("'", "''") + "'"


def _trimmed(src: str) -> str:
    """SQL: the text trimmed as DuckDB's trim() does, '' as NULL.

    trim() strips the Unicode space separators (U+0020, U+00A0, U+3000, …); of these only U+0020 is ASCII. An ASCII
    string (as many bytes as characters) that neither starts nor ends with a space is therefore left as it is, and
    that test is about half the cost of trim() on millions of codes such as visit ids.
    """
    return (f"CASE WHEN {src} LIKE ' %' OR {src} LIKE '% ' OR strlen({src}) <> length({src}) "
            f"THEN NULLIF(trim({src}), '') ELSE NULLIF({src}, '') END")


def _cell_exprs(col: Column, raw: str | None, src_type: str | None,
                zone: str = "Asia/Shanghai") -> tuple[str, str | None, str]:
    """(typed expression, presence expression, fault-code expression) of one contract column.

    ``raw`` is the positional source column (None when an optional column is absent from the file). The typed and
    presence expressions read the source; the fault expression runs one SELECT further out and reads the typed
    column (by its contract name) and the presence flag ``_p_<col>``. Times with a UTC offset become wall time of
    ``zone`` (the mart stores the county's local time).
    """
    target = SQL_TYPES[col.type]
    if raw is None:
        return f"CAST(NULL AS {target})", None, str(F_OK)
    src = _q(raw)
    src_type = (src_type or "VARCHAR").upper()
    textual = src_type == "VARCHAR"
    if col.type in ("code", "text") and textual:
        # typed = trimmed text, so "present" is simply "typed is not NULL": no separate presence column (a string
        # column is the costliest to evaluate twice over millions of rows)
        typed = _trimmed(src)
        name = _q(col.name)
        fault = [f"CASE WHEN {name} IS NULL THEN {F_MISSING if col.required else F_OK}"]
        if col.domain:
            fault.append(f"WHEN {name} NOT IN ({', '.join(_lit(d) for d in col.domain)}) THEN {F_DOMAIN}")
        if col.pattern:
            fault.append(f"WHEN NOT regexp_full_match({name}, {_lit(col.pattern)}) THEN {F_PATTERN}")
        fault.append(f"ELSE {F_OK} END")
        return typed, None, " ".join(fault)
    if textual or col.type in ("code", "text", "month"):
        v = f"NULLIF(trim(CAST({src} AS VARCHAR)), '')"
        if col.type in ("code", "text"):
            typed = v
        elif col.type == "flag":
            typed = f"CASE WHEN {v} IN ('0', '1') THEN CAST({v} AS SMALLINT) END"
        elif col.type == "month":
            typed = f"CASE WHEN regexp_full_match({v}, '{_FORMAT_RE['month']}') THEN {v} END"
        else:
            # the strict format plus TRY_CAST also rejects impossible values such as 2025-02-30
            typed = f"CASE WHEN regexp_full_match({v}, '{_FORMAT_RE[col.type]}') THEN TRY_CAST({v} AS {target})"
            if col.type == "datetime":   # checked only for the (rare) text that is not plain local time
                typed += (f" WHEN regexp_full_match({v}, '{_OFFSET_RE}') "
                          f"THEN timezone({_lit(zone)}, TRY_CAST({v} AS TIMESTAMPTZ))")
            typed += " END"
        present = f"{v} IS NOT NULL"
    else:
        present = f"{src} IS NOT NULL"
        decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", src_type)
        if col.type in ("int", "bigint", "flag") and src_type in _INTEGER_TYPES:
            typed = f"TRY_CAST({src} AS {target})"   # NULL (a type fault) only when out of the target's range
        elif col.type == "money" and (src_type in _INTEGER_TYPES or (decimal and int(decimal.group(2)) <= 2)):
            typed = f"TRY_CAST({src} AS {target})"   # at most 2 decimals by type; NULL only on overflow
        elif col.type in ("int", "bigint", "flag"):
            # a typed source (Parquet) must hold whole numbers: 2.5 is not silently rounded
            typed = (f"CASE WHEN TRY_CAST({src} AS DOUBLE) = TRY_CAST(TRY_CAST({src} AS {target}) AS DOUBLE) "
                     f"THEN TRY_CAST({src} AS {target}) END")
        elif col.type == "money":
            d6 = f"TRY_CAST({src} AS DECIMAL(18,6))"
            typed = f"CASE WHEN {d6} = round({d6}, 2) THEN TRY_CAST({d6} AS DECIMAL(14,2)) END"
        elif col.type == "float":
            typed = f"CASE WHEN isfinite(TRY_CAST({src} AS DOUBLE)) THEN TRY_CAST({src} AS DOUBLE) END"
        elif col.type in ("date", "datetime") and src_type in _TZ_TYPES:
            # an instant: its wall time in the county (a cast alone would use the server's zone, often UTC)
            typed = f"TRY_CAST(timezone({_lit(zone)}, {src}) AS {target})"
        else:
            typed = f"TRY_CAST({src} AS {target})"
    name = _q(col.name)
    fault = [f"CASE WHEN NOT {_q('_p_' + col.name)} THEN {F_MISSING if col.required else F_OK}",
             f"WHEN {name} IS NULL THEN {F_TYPE}"]
    if col.domain:
        fault.append(f"WHEN {name} NOT IN ({', '.join(_lit(d) for d in col.domain)}) THEN {F_DOMAIN}")
    if col.min is not None:
        fault.append(f"WHEN {name} < {col.min!r} THEN {F_MIN}")
    if col.max is not None:
        fault.append(f"WHEN {name} > {col.max!r} THEN {F_MAX}")
    if col.pattern:
        fault.append(f"WHEN NOT regexp_full_match({name}, {_lit(col.pattern)}) THEN {F_PATTERN}")
    fault.append(f"ELSE {F_OK} END")
    return typed, present, " ".join(fault)


def _raw_relation(src: _Source) -> tuple[str, list]:
    """FROM-clause fragment (and its parameters) that yields the file with positional columns c<i> and _row."""
    if src.fmt != "parquet":
        return f"(SELECT rowid + 1 AS _row, * FROM {_q('_raw_' + src.table.name)})", []
    names = ", ".join(_q(c) for c in src.source_types)
    return (f"(SELECT file_row_number + 1 AS _row, * FROM read_parquet(?, file_row_number = true) AS p({names}))",
            [str(src.path)])


def _read_header(con: duckdb.DuckDBPyConnection, src: _Source, warnings: list[str], room: int = MAX_ISSUES,
                 options: readers.ReadOptions | None = None) -> tuple[list[LoadIssue], int]:
    """Read the file's header (and for CSV the raw rows), map it to the contract; return the header issues (at
    most ``room`` of them listed) and how many there are."""
    issues: list[LoadIssue] = []
    if src.fmt != "parquet":
        prepared, problems = readers.prepare(src.path, src.fmt, src.table, options)
        if problems:
            return [LoadIssue(*p) for p in problems[:max(room, 1)]], len(problems)
        assert prepared is not None
        src.prepared = prepared
        warnings.extend(prepared.notes)
        header = [h.lstrip("\ufeff") for h in prepared.header]
        src.source_types = {f"c{i}": "VARCHAR" for i in range(len(header))}
        spec = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
        csv_options = (f"header = true, auto_detect = false, columns = {spec}, quote = '\"', "
                   f"escape = '\"', strict_mode = true, null_padding = false, delim = {_lit(prepared.delimiter)}")
        try:
            con.execute(f"CREATE TEMP TABLE {_q('_raw_' + src.table.name)} AS SELECT * FROM read_csv(?, {csv_options})",
                        [str(prepared.path)])
        except duckdb.Error as exc:
            found, total = _csv_rejects(con, prepared.path, csv_options, room)
            found = [dataclasses.replace(i, file=src.file) for i in found]   # the name of the given file
            return (found, total) if found else ([_csv_error_issue(src.path, exc)], 1)
    else:
        try:
            described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(src.path)]).fetchall()
        except duckdb.Error as exc:
            return [LoadIssue(src.file, None, None, None,
                              f"无法读取 Parquet 文件 (cannot read Parquet): {str(exc).splitlines()[0][:200]}")], 1
        header = [r[0] for r in described]
        src.source_types = {f"c{i}": r[1] for i, r in enumerate(described)}
    seen: set[str] = set()
    for i, name in enumerate(header):
        key = name.strip().lower()
        if key in src.table.column_names and key not in seen:
            src.columns[key] = f"c{i}"
            seen.add(key)
        elif key in seen:
            issues.append(LoadIssue(src.file, None, name, None, "表头中列名重复 (duplicate column in header)"))
        else:
            warnings.append(f"{src.file}: 忽略未知列 {name!r} (unknown column ignored)")
    for col in src.table.columns:
        if col.name not in src.columns:
            if col.required:
                issues.append(LoadIssue(src.file, None, col.name, None,
                                        f"缺少必填列 {col.name} (missing required column)"))
            else:
                warnings.append(f"{src.file}: 未提供可选列 {col.name}, 按空值处理 (optional column absent: empty)")
    return issues, len(issues)


def _stage(con: duckdb.DuckDBPyConnection, src: _Source, zone: str = "Asia/Shanghai") -> None:
    """Create the typed staging table _stg_<table>: _row, typed contract columns, packed fault codes _f<n>
    (times with a UTC offset as wall time of ``zone``)."""
    relation, params = _raw_relation(src)
    inner, outer = ["_row"], ["_row"]
    words: dict[str, list[str]] = {}
    for col in src.table.columns:
        raw = src.columns.get(col.name)
        typed, present, fault = _cell_exprs(col, raw, src.source_types.get(raw) if raw else None, zone)
        inner.append(f"{typed} AS {_q(col.name)}")
        if present is not None:
            inner.append(f"{present} AS {_q('_p_' + col.name)}")
        outer.append(_q(col.name))
        word, shift = _fault_slot(src.table, col.name)
        if fault != str(F_OK):
            words.setdefault(word, []).append(f"(CAST({fault} AS BIGINT) << {shift})")
    for i in range((len(src.table.columns) - 1) // _FAULTS_PER_WORD + 1):
        word = f"_f{i}"
        outer.append(f"{' | '.join(words.get(word, ['CAST(0 AS BIGINT)']))} AS {word}")
    sql = (f"CREATE TEMP TABLE {_q(src.stage)} AS SELECT {', '.join(outer)} "
           f"FROM (SELECT {', '.join(inner)} FROM {relation})")
    # Every staged row carries its file row number in _row, so the staging copy's own order is irrelevant:
    # without order preservation DuckDB fills it from both cores without re-sequencing the batches.
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(sql, params)
    finally:
        con.execute("RESET preserve_insertion_order")
    src.rows = con.execute(f"SELECT count(*) FROM {_q(src.stage)}").fetchone()[0]
    src.staged = True


def _raw_values(con: duckdb.DuckDBPyConnection, src: _Source, wanted: list[tuple[int, str]]) -> dict:
    """Original text of the given (row, contract column) cells, for error messages."""
    out: dict[tuple[int, str], str | None] = {}
    by_col: dict[str, list[int]] = {}
    for row, col in wanted:
        if col in src.columns:
            by_col.setdefault(col, []).append(row)
    relation, params = _raw_relation(src)
    for col, rows in by_col.items():
        raw = _q(src.columns[col])
        result = con.execute(f"SELECT _row, CAST({raw} AS VARCHAR) FROM {relation} WHERE _row IN "
                             f"(SELECT unnest(?::BIGINT[]))", params + [rows]).fetchall()
        for row, value in result:
            out[(row, col)] = value
    return out


def _out_of_range(col: Column, value: str | None) -> str | None:
    """The reason for a mistyped cell that is a well-formed number too large for its column's type (INTEGER,
    BIGINT, DECIMAL(14,2)), naming the limit; None for any other mistyped value."""
    limit = TYPE_MAX.get(col.type)
    if limit is None or value is None:
        return None
    try:
        number = decimal.Decimal(value.strip())
    except decimal.InvalidOperation:
        return None
    if not number.is_finite() or abs(number) <= limit:
        return None
    if col.type != "money" and number != number.to_integral_value():
        return None          # not a whole number first of all
    if number < 0 and col.min is not None:
        return _fault_reason(col, F_MIN)          # "must not be negative" says more than the type's minimum
    bound = f"{limit:.2f}" if col.type == "money" else str(limit)
    if number > 0:
        return f"超出范围, 最大 {bound} (out of range: at most {bound})"
    bound = f"-{bound}" if col.type == "money" else str(-limit - 1)
    return f"超出范围, 最小 {bound} (out of range: at least {bound})"


def _fault_reason(col: Column, code: int, value: str | None = None) -> str:
    """The reason text of a fault code (``value``: the cell's original text, to tell overflow from format)."""
    if code == F_MISSING:
        return "必填项为空 (required value is empty)"
    if code == F_TYPE:
        return _out_of_range(col, value) or _FORMAT_HINT.get(col.type, "类型不符 (wrong type)")
    if code == F_DOMAIN:
        return f"取值不在代码表中 (not one of: {', '.join(col.domain or ())})"
    if code == F_MIN:
        neg = "不能为负数 (must not be negative)" if col.min == 0 else f"不能小于 {col.min:g} (below minimum)"
        return neg
    if code == F_MAX:
        return f"不能大于 {col.max:g} (above maximum)"
    if code == F_PATTERN:
        return f"代码格式不符: {col.pattern_doc}"
    return "未知错误"


def _check_cells(con: duckdb.DuckDBPyConnection, src: _Source, issues: _Issues) -> None:
    """Report missing, mistyped, out-of-domain and out-of-range cells (one scan when the file is clean)."""
    cols = src.table.columns
    counts = con.execute("SELECT " + ", ".join(f"count_if({_fault(src.table, c.name)} <> 0)" for c in cols)
                         + f" FROM {_q(src.stage)}").fetchone()
    total = sum(counts)
    if not total:
        return
    parts = [f"SELECT _row, {_lit(c.name)} AS col, {_fault(src.table, c.name)} AS code FROM {_q(src.stage)} "
             f"WHERE {_fault(src.table, c.name)} <> 0" for c, n in zip(cols, counts) if n]
    sample = con.execute(" UNION ALL ".join(parts) + " ORDER BY _row, col LIMIT ?",
                         [max(issues.room, 1)]).fetchall()
    values = _raw_values(con, src, [(r, c) for r, c, code in sample if code != F_MISSING])
    found = [LoadIssue(src.file, row, name, values.get((row, name)) if code != F_MISSING else None,
                       _fault_reason(src.table.column(name), code, values.get((row, name))))
             for row, name, code in sample]
    issues.add_counted(found, total)


def _clean(table: Table, columns: tuple[str, ...] | list[str]) -> str:
    """SQL condition: the given cells of the row have no fault."""
    masks: dict[str, int] = {}
    for c in columns:
        word, shift = _fault_slot(table, c)
        masks[word] = masks.get(word, 0) | (((1 << _FAULT_BITS) - 1) << shift)
    return " AND ".join(f"({word} & {mask}) = 0" for word, mask in sorted(masks.items())) or "TRUE"


def _check_keys(con: duckdb.DuckDBPyConnection, src: _Source, issues: _Issues) -> None:
    """Report rows whose key repeats an earlier row of the same file."""
    key = src.table.key
    keys = ", ".join(_q(k) for k in key)
    clean = _clean(src.table, key)
    # Screen first by the keys' 64-bit hash: equal keys have equal hashes, so no repeated hash proves the keys
    # unique, and counting distinct integers costs much less than grouping millions of key strings. Only when a
    # hash repeats (a duplicate or, rarely, a collision) are the keys themselves grouped and counted.
    screened = con.execute(f"SELECT count(*) - count(DISTINCT hash({keys})) FROM {_q(src.stage)} "
                           f"WHERE {clean}").fetchone()[0]
    if not screened:
        return
    total = con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {_q(src.stage)} "
                        f"WHERE {clean} GROUP BY {keys} HAVING count(*) > 1)").fetchone()[0]
    if not total:
        return
    sql = (f"SELECT _row, first_row, {', '.join('CAST(' + _q(k) + ' AS VARCHAR)' for k in key)} FROM ("
           f"SELECT _row, {keys}, min(_row) OVER (PARTITION BY {keys}) AS first_row FROM {_q(src.stage)} "
           f"WHERE {clean}) WHERE _row > first_row")
    sample = con.execute(sql + " ORDER BY _row LIMIT ?", [max(issues.room, 1)]).fetchall()
    found = [LoadIssue(src.file, r[0], "+".join(key), "|".join(str(v) for v in r[2:]),
                       f"主键重复, 与第 {r[1]} 行数据相同 (duplicate key, same as data row {r[1]})") for r in sample]
    issues.add_counted(found, total)


def _rule_columns(table: Table, rule: str) -> list[str]:
    """The contract columns a check's SQL condition names, in the order the condition names them."""
    found = {c: m.start() for c in table.column_names if (m := re.search(rf"\b{re.escape(c)}\b", rule))}
    return sorted(found, key=found.get)  # type: ignore[arg-type]


def _check_rules(con: duckdb.DuckDBPyConnection, src: _Source, issues: _Issues) -> None:
    """Report rows that break a table-level check of the contract (only rows whose cells are all valid), with the
    row's values of the columns the check names."""
    all_cols = src.table.column_names
    for rule in src.table.checks:
        cols = _rule_columns(src.table, rule)
        shown = "".join(f", CAST({_q(c)} AS VARCHAR)" for c in cols)
        sql = (f"SELECT _row{shown} FROM {_q(src.stage)} "
               f"WHERE {_clean(src.table, all_cols)} AND ({rule}) IS NOT TRUE")
        total = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        if not total:
            continue
        rows = con.execute(sql + " ORDER BY _row LIMIT ?", [max(issues.room, 1)]).fetchall()
        found = []
        for row in rows:
            values = ", ".join(f"{c}={'空 (empty)' if v is None else v}" for c, v in zip(cols, row[1:]))
            found.append(LoadIssue(src.file, row[0], None, None,
                                   f"不满足校验规则 (check failed): {rule}; 本行 (this row): {values}"))
        issues.add_counted(found, total)


def date_bounds(zone: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(first, last) day a date or time of a load may fall on: the contract's DATE_MIN and the load's day (in the
    county's zone) plus DATE_MAX_DAYS_AFTER_LOAD."""
    if today is None:
        from zoneinfo import ZoneInfo
        today = dt.datetime.now(ZoneInfo(zone)).date()
    return dt.date.fromisoformat(DATE_MIN), today + dt.timedelta(days=DATE_MAX_DAYS_AFTER_LOAD)


def _check_date_bounds(con: duckdb.DuckDBPyConnection, src: _Source, issues: _Issues, zone: str) -> None:
    """Report valid date/time cells outside ``date_bounds`` (a 2999 or 1900 date is a typo, not data)."""
    first, last = date_bounds(zone)
    for col in src.table.columns:
        if col.type not in ("date", "datetime") or col.name not in src.columns:
            continue
        c = _q(col.name)
        sql = (f"SELECT _row, CAST({c} AS VARCHAR) FROM {_q(src.stage)} WHERE {c} IS NOT NULL "
               f"AND {_fault(src.table, col.name)} = 0 AND (CAST({c} AS DATE) < ? OR CAST({c} AS DATE) > ?)")
        total = con.execute(f"SELECT count(*) FROM ({sql})", [first, last]).fetchone()[0]
        if not total:
            continue
        rows = con.execute(sql + " ORDER BY _row LIMIT ?", [first, last, max(issues.room, 1)]).fetchall()
        issues.add_counted([LoadIssue(src.file, r, col.name, v,
                                      f"日期超出合理范围，须在 {first} 至 {last}（导入当日后 {DATE_MAX_DAYS_AFTER_LOAD} 天）"
                                      f"之间 (date out of range)") for r, v in rows], total)


def _check_refs(con: duckdb.DuckDBPyConnection, src: _Source, staged: dict[str, _Source],
                failed: set[str], issues: _Issues) -> None:
    """Report values whose referenced row exists neither in the mart nor in the files of this call."""
    for col in src.table.columns:
        if not col.ref or col.name not in src.columns:
            continue
        ref_table, ref_col = col.ref.split(".")
        if ref_table in failed:
            continue  # the referenced file itself could not be read; its error is reported already
        lookups = [f"SELECT {_q(ref_col)} AS v FROM {_q(ref_table)}"]
        if ref_table in staged:
            lookups.append(f"SELECT {_q(ref_col)} FROM {_q(staged[ref_table].stage)} WHERE {_q(ref_col)} IS NOT NULL")
        sql = (f"SELECT s._row, CAST(s.{_q(col.name)} AS VARCHAR) FROM {_q(src.stage)} s "
               f"WHERE s.{_q(col.name)} IS NOT NULL AND {_fault(src.table, col.name, 's.')} = 0 "
               f"AND s.{_q(col.name)} NOT IN ({' UNION ALL '.join(lookups)})")
        total = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        if not total:
            continue
        sample = con.execute(sql + " ORDER BY s._row LIMIT ?", [max(issues.room, 1)]).fetchall()
        issues.add_counted([LoadIssue(src.file, r, col.name, v,
                                      f"引用不存在: {col.ref} 中没有该值 (dangling reference to {col.ref})")
                            for r, v in sample], total)


# ---------------------------------------------------------------------------------------------------------------
# applying a validated load


def _month_expr(table: Table, alias: str) -> tuple[str, str]:
    """(per-row month key of the period column, expression turning that key into 'YYYY-MM').

    Rows are grouped by date_trunc and only the few distinct months are formatted: strftime on every one of
    millions of rows costs three times as much.
    """
    col = table.column(table.period_column)  # type: ignore[arg-type]
    ref = f"{alias}.{_q(col.name)}"
    if col.type == "month":
        return ref, "m"
    return f"date_trunc('month', {ref})", "strftime(m, '%Y-%m')"


def _key_join(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in table.key)


def _affected_months(con: duckdb.DuckDBPyConnection, sources: list[_Source]
                     ) -> tuple[list[str], list[str], dict[str, int]]:
    """(months whose rollups the staged rows can change, months of the new rows, rows each table with a period
    already holds under the staged keys).

    A row changes its own month, and — for a replaced row — its old month; it also changes the months of
    :data:`mart.rollups.MONTH_SPANS` for its new and old values (an admission makes discharges up to 31 days
    earlier readmissions). Tables without a period add no month: the rollups that read them are rebuilt by
    table (``rollups.rebuild_plan``). The replaced-row count comes out of the same key join that finds the old
    months, so ``_apply`` need not join the table to its staging copy a second time.
    """
    months: set[str] = set()
    new: set[str] = set()
    replaced: dict[str, int] = {}
    for src in sources:
        table = src.table
        if table.period_column is None:
            continue
        stg = _q(src.stage)
        key, fmt = _month_expr(table, "s")
        new |= {r[0] for r in con.execute(f"SELECT {fmt} FROM (SELECT DISTINCT {key} AS m FROM {stg} s)").fetchall()}
        # rows being replaced may move between months: their old month changes too
        key, fmt = _month_expr(table, "t")
        old_rows = f"{_q(table.name)} t SEMI JOIN {stg} s ON {_key_join(table, 't', 's')}"
        old = con.execute(f"SELECT {fmt}, n FROM (SELECT {key} AS m, count(*) AS n FROM {old_rows} "
                          f"GROUP BY 1)").fetchall()
        months |= {r[0] for r in old}
        replaced[table.name] = sum(r[1] for r in old)
        spans = [rollups.span_sql(table.name, "s", f"{stg} s")]
        if replaced[table.name]:
            spans.append(rollups.span_sql(table.name, "t", old_rows))
        for sql in spans:
            if sql:
                months |= rollups.span_months(con.execute(sql).fetchall())
    months |= new
    return sorted(m for m in months if m), sorted(m for m in new if m), replaced


def report_months(plan: dict[str, list[str] | None], months: list[str]) -> list[str] | None:
    """What ``LoadReport.months`` says: None when a month-partitioned rollup was rebuilt for every month (a
    dimension it reads changed), else the affected months (empty when only other rollups were rebuilt)."""
    partitioned = [t for t in plan if t in rollups.ROW_SQL or t in rollups.COARSE]
    if any(plan[t] is None for t in partitioned):
        return None
    return months if partitioned else []


def touched_by(plan: dict[str, list[str] | None], changed: set[str], months: list[str]) -> dict[str, list[str] | None]:
    """What a load or delete changed, for ``mart_version``: every rollup of the plan with its months, every
    written table with a period column for ``months`` (the affected ones), the others whole."""
    touched: dict[str, list[str] | None] = dict(plan)
    for name in changed:
        table = TABLES.get(name)
        touched[name] = list(months) if table is not None and table.period_column is not None else None
    return touched


def _apply(con: duckdb.DuckDBPyConnection, src: _Source, replaced: int | None = None) -> int:
    """Replace the rows of src's keys in the mart by the staged rows; returns how many existed already.

    ``replaced`` is that count when the caller knows it already (``_affected_months``); None counts it here.

    New keys are a plain INSERT. When keys already exist the replacement is ``INSERT OR REPLACE`` (an upsert on
    the primary key) rather than DELETE + INSERT: with DuckDB's primary-key index, committing millions of deletes
    and re-inserts of the same keys in one transaction takes minutes, the upsert seconds. The effect is the same:
    one row per key, holding the new values.
    """
    table = src.table
    if replaced is None:
        replaced = con.execute(f"SELECT count(*) FROM {_q(table.name)} t SEMI JOIN {_q(src.stage)} s "
                               f"ON {_key_join(table, 't', 's')}").fetchone()[0]
    cols = ", ".join(_q(c) for c in table.column_names)
    verb = "INSERT"
    if replaced:
        has_pk = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
                             "AND constraint_type = 'PRIMARY KEY'", [table.name]).fetchone()[0]
        if has_pk:
            verb = "INSERT OR REPLACE"
        else:  # a mart built without key constraints (faster bulk loads): the loader keeps keys unique itself
            con.execute(f"DELETE FROM {_q(table.name)} t USING {_q(src.stage)} s WHERE {_key_join(table, 't', 's')}")
    con.execute(f"{verb} INTO {_q(table.name)} ({cols}) SELECT {cols} FROM {_q(src.stage)}")
    return int(replaced)


def _extend_calendar(con: duckdb.DuckDBPyConnection, new_months: list[str]) -> bool:
    """Keep calendar_month continuous over every month that holds data; True when it gained months (the
    rollups spread over every calendar month then change)."""
    if not new_months:
        return False
    first, last, count = con.execute("SELECT min(month), max(month), count(*) FROM calendar_month").fetchone()
    lo = min([m for m in (first, new_months[0]) if m])
    hi = max([m for m in (last, new_months[-1]) if m])
    fill_calendar(con, lo, hi)
    return con.execute("SELECT count(*) FROM calendar_month").fetchone()[0] != count


def _log(con: duckdb.DuckDBPyConnection, source: str, rows: dict[str, int], months: list[str] | None) -> None:
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchone()[0]
    con.execute("INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?)",
                [load_id, dt.datetime.now(), source, ",".join(f"{t}={n}" for t, n in rows.items()),
                 sum(rows.values()), None if months is None else ",".join(months)])


# ---------------------------------------------------------------------------------------------------------------
# the entry point


def load_directory(cfg: Config, directory: str | Path,
                   progress: Callable[[str], None] | None = None,
                   options: readers.ReadOptions | None = None) -> LoadReport:
    """Validate and load every ``<table>.csv|parquet`` of ``directory`` into the mart in one transaction.

    Raises ``LoadError`` (nothing loaded) when any file, row or cell is invalid; returns a ``LoadReport``.
    """
    from mart.pg import is_postgres
    if is_postgres(cfg.mart_url):      # validated here in a staging DuckDB, written to the server (mart/pg.py)
        from mart.pg import load_directory_pg
        return load_directory_pg(cfg, directory, progress, options)
    from mart.db import remove_dead_copies, shadow_copy, writer_lock
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    with writer_lock(cfg):
        remove_dead_copies(cfg, holding_writer_lock=True)      # copies of loads killed before they swapped
        # Always into a copy swapped in at the end: the pages keep answering from the old data (DuckDB admits one
        # writer or readers, so writing in place would refuse every reader for the whole load).
        say("写入数据集市副本, 完成后原子替换 (读取中的页面不受影响) …")
        with shadow_copy(cfg) as copy_cfg:
            report = _load_duckdb(copy_cfg, directory, say, started, options)
        report.seconds = time.perf_counter() - started
        return report


def _load_duckdb(cfg: Config, directory: str | Path, say: Callable[[str], None], started: float,
                 options: readers.ReadOptions | None = None) -> LoadReport:
    """The DuckDB load proper (see ``load_directory``), into the mart file of ``cfg``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LoadError([LoadIssue(str(directory), None, None, None, "目录不存在 (not a directory)")])
    sources, warnings, file_issues = discover(directory)
    issues = _Issues()
    for issue in file_issues:
        issues.add(issue)
    if not sources:
        raise LoadError(issues.items, issues.total, warnings)

    with writer(cfg) as con:
        # Staging and validation only create TEMP tables of this connection: they run before the transaction so
        # that staged row ids are plain file order. The writer holds the mart's file lock throughout, so nothing
        # can change the mart between validation and the write transaction.
        zone = cfg.mart_timezone
        try:
            con.execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [zone])
        except duckdb.Error:
            raise LoadError([LoadIssue("MART_TIMEZONE", None, None, zone,
                                       "未知的时区 (unknown time zone; e.g. Asia/Shanghai)")], 1, warnings) from None
        try:
            failed: set[str] = set()
            for src in sources:
                say(f"读取 {src.file} …")
                header_issues, count = _read_header(con, src, warnings, issues.room, options)
                if count:
                    failed.add(src.table.name)
                    issues.add_counted(header_issues, count)
                    continue
                _stage(con, src, zone)
                if src.rows == 0:
                    failed.add(src.table.name)
                    issues.add(LoadIssue(src.file, None, None, None, "文件没有数据行 (no data rows)"))
            staged = {s.table.name: s for s in sources if s.staged and s.table.name not in failed}
            say("校验 …")
            for src in staged.values():
                _check_cells(con, src, issues)
                _check_keys(con, src, issues)
                _check_rules(con, src, issues)
                _check_date_bounds(con, src, issues, zone)
            for src in staged.values():
                _check_refs(con, src, staged, failed, issues)
            if "institution" in staged:
                for problem in integrity.lead_institution_issues(con, staged["institution"].stage,
                                                                 staged["institution"].file):
                    issues.add(LoadIssue(*problem))
            if issues:
                raise LoadError(issues.items, issues.total, warnings)

            good = list(staged.values())
            con.execute("BEGIN TRANSACTION")
            try:
                affected, new_months, known_replaced = _affected_months(con, good)
                rows: dict[str, int] = {}
                replaced: dict[str, int] = {}
                for src in good:
                    say(f"写入 {src.table.name} ({src.rows} 行) …")
                    replaced[src.table.name] = _apply(con, src, known_replaced.get(src.table.name))
                    rows[src.table.name] = src.rows
                changed = set(rows)
                if _extend_calendar(con, new_months):
                    changed.add("calendar_month")
                say("更新汇总表 (rollups) …")
                plan = rollups.build_rollups(con, months=affected, changed=changed)
                months = report_months(plan, affected)
                touched = touched_by(plan, changed, affected)
                if "calendar_month" in touched:      # the calendar only grew: its old months are as they were
                    touched["calendar_month"] = new_months
                version = bump_data_version(con, touched)
                _log(con, str(directory), rows, months)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            for src in sources:
                if src.prepared:
                    src.prepared.discard()
                con.execute(f"DROP TABLE IF EXISTS {_q(src.stage)}")
                con.execute(f"DROP TABLE IF EXISTS {_q('_raw_' + src.table.name)}")
    return LoadReport(source=str(directory), rows=rows, replaced=replaced, warnings=warnings, months=months,
                      seconds=time.perf_counter() - started, data_version=version, rollups=plan)
