"""Deleting rows from the mart: ``python app.py load DIR --delete``.

Loads only ever replace rows, so a wrong row (an area code Excel turned into ``3.31099E+08``, a test
institution) needs a way out. ``DIR`` holds one ``<table>.delete.csv`` (or ``.xlsx``) per table whose header
names the table's key columns (other columns are ignored) and one row per row to delete. Like a load it is all
or nothing: every key must exist in the mart, and no remaining row may still reference a deleted one (a visit of
a deleted institution): the facts are deleted first, in the same call, or nothing is. The rollups that read the
changed tables are rebuilt, the data version bumped and the deletion written to ``load_log``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb

from core.config import Config
from mart import readers, rollups
from mart.loader import MAX_ISSUES, LoadError, LoadIssue, _log, _q
from mart.schema import LOAD_ORDER, TABLES, Table

SUFFIX = ".delete"


@dataclass
class DeleteReport:
    """What one deletion did: rows deleted per table, months whose rollups were rebuilt (None = all)."""
    rows: dict[str, int]
    months: list[str] | None
    seconds: float
    data_version: str


def _discover(directory: Path) -> tuple[dict[str, tuple[Path, str]], list[str]]:
    found: dict[str, tuple[Path, str]] = {}
    warnings = []
    for path in sorted(directory.iterdir()):
        stem, _, ext = path.name.rpartition(".")
        table = stem.lower().removesuffix(SUFFIX)
        if path.is_file() and stem.lower().endswith(SUFFIX) and table in TABLES and ext.lower() in ("csv", "xlsx"):
            found[table] = (path, ext.lower())
        elif path.is_file() and not path.name.startswith("."):
            warnings.append(f"忽略文件 {path.name} (ignored: not <table>.delete.csv)")
    return found, warnings


def _stage_keys(con: duckdb.DuckDBPyConnection, table: Table, path: Path, fmt: str,
                options: readers.ReadOptions | None) -> list[LoadIssue]:
    """Read the keys of one delete file into TEMP table _del_<table>(_row, key columns as text)."""
    prepared, problems = readers.prepare(path, fmt, table, options)
    if problems:
        return [LoadIssue(*p) for p in problems]
    assert prepared is not None
    try:
        header = [h.strip().lstrip("\ufeff").lower() for h in prepared.header]
        missing = [k for k in table.key if k not in header]
        if missing:
            return [LoadIssue(path.name, None, k, None, f"缺少主键列 {k} (missing key column)") for k in missing]
        spec = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
        cols = ", ".join(f"NULLIF(trim(c{header.index(k)}), '') AS {_q(k)}" for k in table.key)
        raw = _q("_delraw_" + table.name)
        con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv(?, header = true, auto_detect = false, "
                    f"columns = {spec}, delim = ?, quote = '\"', escape = '\"', strict_mode = true)",
                    [str(prepared.path), prepared.delimiter])
        con.execute(f"CREATE TEMP TABLE {_q('_del_' + table.name)} AS SELECT rowid + 1 AS _row, {cols} FROM {raw}")
        con.execute(f"DROP TABLE {raw}")
    except duckdb.Error as exc:
        return [LoadIssue(path.name, None, None, None, f"CSV 格式错误 (malformed CSV): {str(exc).splitlines()[0][:200]}")]
    finally:
        prepared.discard()
    empty = " OR ".join(f"{_q(k)} IS NULL" for k in table.key)
    return [LoadIssue(path.name, r[0], None, None, "主键为空 (empty key)")
            for r in con.execute(f"SELECT _row FROM {_q('_del_' + table.name)} WHERE {empty} ORDER BY 1 LIMIT ?",
                                 [MAX_ISSUES]).fetchall()]


def _match(table: Table, alias: str, keys: str) -> str:
    return " AND ".join(f"CAST({alias}.{_q(k)} AS VARCHAR) = {keys}.{_q(k)}" for k in table.key)


def _check(con: duckdb.DuckDBPyConnection, files: dict[str, tuple[Path, str]]) -> list[LoadIssue]:
    """Keys that are not in the mart, and deleted rows that remaining rows still reference."""
    issues: list[LoadIssue] = []
    for name, (path, _) in files.items():
        table = TABLES[name]
        d = _q("_del_" + name)
        absent = con.execute(f"SELECT d._row, {' || chr(124) || '.join('d.' + _q(k) for k in table.key)} FROM {d} d "
                             f"WHERE NOT EXISTS (SELECT 1 FROM {_q(name)} t WHERE {_match(table, 't', 'd')}) "
                             f"ORDER BY 1 LIMIT ?", [MAX_ISSUES]).fetchall()
        issues += [LoadIssue(path.name, r, "+".join(table.key), v, "数据集市中没有该主键的行 (no such row in the mart)")
                   for r, v in absent]
    for name, (path, _) in files.items():
        table = TABLES[name]
        if len(table.key) != 1:
            continue
        key = table.key[0]
        for other in TABLES.values():
            for col in other.columns:
                if col.ref != f"{name}.{key}":
                    continue
                still = f"{_q(other.name)} o WHERE o.{_q(col.name)} IN (SELECT {_q(key)} FROM {_q('_del_' + name)})"
                if other.name in files:     # rows deleted in the same call do not count
                    still += (f" AND NOT EXISTS (SELECT 1 FROM {_q('_del_' + other.name)} x "
                              f"WHERE {_match(other, 'o', 'x')})")
                n, example = con.execute(f"SELECT count(*), min(o.{_q(col.name)}) FROM {still}").fetchone()
                if n:
                    row = con.execute(f"SELECT min(_row) FROM {_q('_del_' + name)} WHERE {_q(key)} = ?",
                                      [example]).fetchone()[0]
                    issues.append(LoadIssue(path.name, row, key, example,
                                            f"仍被 {other.name}.{col.name} 的 {n} 行引用, 不能删除; 请在同一次删除中"
                                            f"一并提供 {other.name}{SUFFIX}.csv 或先改正这些行 "
                                            f"(still referenced by {n} row(s) of {other.name})"))
    return issues


def _months(con: duckdb.DuckDBPyConnection, files: dict[str, tuple[Path, str]]) -> list[str]:
    """Months whose rollups the deleted rows touch (their own month and readmission spans)."""
    months: set[str] = set()
    for name in files:
        table = TABLES[name]
        if table.period_column is None:
            continue
        rows = f"{_q(name)} t SEMI JOIN {_q('_del_' + name)} d ON {_match(table, 't', 'd')}"
        col = table.column(table.period_column)
        expr = f"t.{_q(col.name)}" if col.type == "month" else f"strftime(t.{_q(col.name)}, '%Y-%m')"
        months |= {r[0] for r in con.execute(f"SELECT DISTINCT {expr} FROM {rows}").fetchall() if r[0]}
        sql = rollups.span_sql(name, "t", rows)
        if sql:
            months |= rollups.span_months(con.execute(sql).fetchall())
    return sorted(months)


def _delete_duckdb(cfg: Config, directory: Path, options: readers.ReadOptions | None,
                   say: Callable[[str], None], started: float) -> DeleteReport:
    from mart.db import bump_data_version, writer
    from mart.loader import report_months, touched_by
    files, warnings = _discover(directory)
    if not files:
        raise LoadError([LoadIssue(str(directory), None, None, None,
                                   "目录中没有 <表名>.delete.csv 文件 (no <table>.delete.csv file found)")], 1, warnings)
    with writer(cfg) as con:
        try:
            issues: list[LoadIssue] = []
            for name, (path, fmt) in files.items():
                say(f"读取 {path.name} …")
                issues += _stage_keys(con, TABLES[name], path, fmt, options)
            if not issues:
                issues = _check(con, files)
            if issues:
                raise LoadError(issues[:MAX_ISSUES], len(issues), warnings)
            con.execute("BEGIN TRANSACTION")
            try:
                months = _months(con, files)
                rows: dict[str, int] = {}
                for name in reversed(LOAD_ORDER):           # facts before the rows they reference
                    if name in files:
                        table = TABLES[name]
                        rows[name] = con.execute(f"SELECT count(*) FROM {_q(name)} t SEMI JOIN {_q('_del_' + name)} d "
                                                 f"ON {_match(table, 't', 'd')}").fetchone()[0]
                        say(f"删除 {name} ({rows[name]} 行) …")
                        con.execute(f"DELETE FROM {_q(name)} t WHERE EXISTS (SELECT 1 FROM {_q('_del_' + name)} d "
                                    f"WHERE {_match(table, 't', 'd')})")
                say("更新汇总表 (rollups) …")
                plan = rollups.build_rollups(con, months=months, changed=set(rows))
                shown = report_months(plan, months)
                version = bump_data_version(con, touched_by(plan, set(rows), months))
                _log(con, f"删除 (delete) {directory}", {t: -n for t, n in rows.items()}, shown)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            for name in files:
                con.execute(f"DROP TABLE IF EXISTS {_q('_del_' + name)}")
    return DeleteReport(rows=rows, months=shown, seconds=time.perf_counter() - started, data_version=version)


def delete_rows(cfg: Config, directory: str | Path, options: readers.ReadOptions | None = None,
                progress: Callable[[str], None] | None = None) -> DeleteReport:
    """Delete the rows listed by the ``<table>.delete.csv`` files of ``directory`` (all or nothing).

    Raises ``LoadError`` (nothing deleted) when a file is malformed, a key is not in the mart or a deleted row is
    still referenced.
    """
    from mart.db import is_reader_conflict, shadow_copy, writer_lock
    from mart.pg import is_postgres
    directory = Path(directory)
    if is_postgres(cfg.mart_url):
        raise LoadError([LoadIssue(str(directory), None, None, None,
                                   "PostgreSQL 数据集市暂不支持 --delete (deletion is DuckDB only for now)")], 1)
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    with writer_lock(cfg):
        try:
            return _delete_duckdb(cfg, directory, options, say, started)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not is_reader_conflict(exc):
                raise
        with shadow_copy(cfg) as copy_cfg:
            return _delete_duckdb(copy_cfg, directory, options, say, started)


def delete_command_body(cfg: Config, directory: str, options: readers.ReadOptions,
                        say: Callable[[str], None] | None) -> None:
    """``load DIR --delete``: run the deletion and print what it did (ClickException on refusal)."""
    try:
        report = delete_rows(cfg, directory, options, say)
    except LoadError as exc:
        for warning in exc.warnings:
            click.echo(f"警告 (warning): {warning}", err=True)
        raise click.ClickException(exc.message().replace("数据未加载", "未删除任何数据")) from None
    for table, n in report.rows.items():
        click.echo(f"{table}: 删除 {n:,} 行 (deleted)")
    months = "全部 (all)" if report.months is None else (", ".join(report.months) or "无 (none)")
    click.echo(f"用时 {report.seconds:.2f} s; 重建汇总月份 (rollup months): {months}; 数据版本 {report.data_version}")
