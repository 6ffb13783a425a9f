"""Alembic migrations of the app database: fresh upgrade, adoption of create_all databases, schema at head equals the
models, concurrent start-up, and the run-log seq index — on real SQLite files and (TEST_POSTGRES_URL) PostgreSQL."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

import dashboard.models  # noqa: F401  (every model on Base.metadata)
from core.config import Config
from dashboard.appdb import Base, app_engine, dispose_app_engines, init_app_db, session_factory
from dashboard.migrations import BASELINE, BASELINE_TABLES, HEAD, alembic_config

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("TEST_POSTGRES_URL", "")
NOW = dt.datetime.now().replace(microsecond=0)


# ---------------------------------------------------------------- databases

@pytest.fixture()
def pg_url() -> Iterator[Callable[[], str]]:
    """Factory of URLs of fresh PostgreSQL schemas (search_path in the URL); drops them at the end."""
    if not PG:
        pytest.skip("TEST_POSTGRES_URL is not set: no PostgreSQL server (CI sets it, see .ci/run)")
    import psycopg2

    from mart.pg import libpq_dsn
    admin = psycopg2.connect(libpq_dsn(PG))
    admin.autocommit = True
    made: list[str] = []

    def new() -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        admin.cursor().execute(f"CREATE SCHEMA {name}")
        made.append(name)
        return f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{name}"
    try:
        yield new
    finally:
        dispose_app_engines()
        for name in made:
            admin.cursor().execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Factory of URLs of empty app databases: SQLite files, or fresh PostgreSQL schemas."""
    if request.param == "sqlite":
        n = iter(range(100))
        yield lambda: f"sqlite:///{tmp_path / f'app{next(n)}.db'}"
        dispose_app_engines()
    else:
        yield request.getfixturevalue("pg_url")


def _revision(url: str) -> str | None:
    with app_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _diff(url: str) -> list:
    """alembic's differences between the database and Base.metadata (types compared too)."""
    with app_engine(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def _tables(url: str) -> set[str]:
    with app_engine(url).connect() as conn:
        return set(inspect(conn).get_table_names())


def _columns(url: str, name: str) -> list[str]:
    with app_engine(url).connect() as conn:
        return [c["name"] for c in inspect(conn).get_columns(name)]


def _metadata_before_alembic(tables: set[str] | frozenset[str] = BASELINE_TABLES) -> MetaData:
    """A copy of the models as they were before alembic: exchange_run_log without seq and its unique index,
    backlog columns 32-bit."""
    md = MetaData()
    for t in Base.metadata.sorted_tables:
        if t.name not in tables:
            continue
        if t.name != "exchange_run_log":
            copy = t.to_metadata(md)
            for column in ("last_backlog", "backlog"):       # 32-bit before revision 0003
                if column in copy.c:
                    copy.c[column].type = Integer()
            _before_run_ids_per_node(copy)
            continue
        Table(t.name, md,                               # the RunLog model before revision 0002
              Column("id", Integer, primary_key=True),
              Column("run_pk", Integer, ForeignKey("exchange_run.id", ondelete="CASCADE"), nullable=False),
              Column("ts", DateTime, nullable=False),
              Column("level", String(8), nullable=False),
              Column("message", Text, nullable=False),
              Index("ix_exchange_run_log_run_ts", "run_pk", "ts"))
    return md


def _before_run_ids_per_node(table: Table) -> None:
    """Revision 0012 in reverse on a copied table: run ids unique platform-wide, commands indexed by run id."""
    if table.name == "exchange_run":
        table.constraints.discard(next(c for c in table.constraints if c.name == "uq_exchange_run_node_run"))
        table.append_constraint(UniqueConstraint("run_id"))
    elif table.name == "exchange_command":
        table.indexes.discard(next(ix for ix in table.indexes if ix.name == "ix_exchange_command_node_run"))
        Index("ix_exchange_command_run", table.c.run_id)


def _some_rows(url: str) -> None:
    """A user, a node, a run and a log line (what a deployed database holds)."""
    with app_engine(url).begin() as conn:
        md = MetaData()
        md.reflect(conn, only=["users", "exchange_node", "exchange_run", "exchange_run_log"])
        t = md.tables
        conn.execute(insert(t["users"]).values(id=1, username="leader", display_name="", role="leader",
                                               password_hash="x", password_changed_at=NOW, must_change_password=False,
                                               is_demo=False, is_active=True, failed_logins=0, created_at=NOW))
        conn.execute(insert(t["exchange_node"]).values(id=1, code="EX-H001", inst_code="H001", name="县人民医院前置机",
                                                       heartbeat_interval_s=60, created_at=NOW))
        conn.execute(insert(t["exchange_run"]).values(id=1, run_id="R-1", node_id=1, job_code="HIS_OP",
                                                      started_at=NOW, status="running", received_at=NOW))
        conn.execute(insert(t["exchange_run_log"]).values(run_pk=1, ts=NOW, level="INFO", message="开始抽取"))


def _assert_rows_kept(url: str) -> None:
    with app_engine(url).connect() as conn:
        md = MetaData()
        md.reflect(conn, only=["users", "exchange_run_log"])
        assert conn.execute(select(md.tables["users"].c.username)).scalars().all() == ["leader"]
        log = md.tables["exchange_run_log"]
        assert conn.execute(select(log.c.message, log.c.seq)).all() == [("开始抽取", None)]


# ---------------------------------------------------------------- the revisions themselves

def test_head_and_baseline_constants_match_the_scripts(tmp_path: Path) -> None:
    """HEAD (read by init_app_db instead of loading the scripts) is the script directory's one head, and
    BASELINE_TABLES are exactly the tables revision 0001 creates."""
    url = f"sqlite:///{tmp_path / 'base.db'}"
    script = ScriptDirectory.from_config(alembic_config(url))
    assert script.get_heads() == [HEAD]
    assert script.get_base() == BASELINE
    command.upgrade(alembic_config(url), BASELINE)
    assert _tables(url) - {"alembic_version"} == set(BASELINE_TABLES)
    dispose_app_engines()


def test_baseline_is_what_create_all_made(tmp_path: Path) -> None:
    """On SQLite the DDL of revision 0001 is the very DDL create_all wrote for the models before alembic."""
    import sqlite3
    old, new = tmp_path / "create_all.db", tmp_path / "alembic.db"
    engine = app_engine(f"sqlite:///{old}")
    # the models' own tables (a copy via to_metadata would reorder constraints), run log as it was before 0002
    # (tables added by later revisions are not part of the baseline)
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables
                                             if t.name in BASELINE_TABLES and t.name != "exchange_run_log"])
    _metadata_before_alembic().tables["exchange_run_log"].create(engine)
    command.upgrade(alembic_config(f"sqlite:///{new}"), BASELINE)
    dispose_app_engines()

    def ddl(path: Path) -> dict[tuple[str, str], str]:
        with sqlite3.connect(path) as con:
            return {(t, n): " ".join((sql or "").split()) for t, n, sql in
                    con.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%alembic%'")}
    # revision 0003 widened the backlog columns since: the models now declare BIGINT where 0001 has INTEGER
    # and revision 0011 added the role screen (device_sessions is left out above); revision 0012 made run ids
    # unique per node and indexes commands by (node, run id)
    before_0003 = {k: v.replace("last_backlog BIGINT", "last_backlog INTEGER").replace(" backlog BIGINT",
                                                                                         " backlog INTEGER")
                   .replace(", 'auditor', 'screen')", ", 'auditor')")
                   .replace("CONSTRAINT uq_exchange_run_node_run UNIQUE (node_id, run_id)", "UNIQUE (run_id)")
                   .replace("ix_exchange_command_node_run ON exchange_command (node_id, run_id)",
                            "ix_exchange_command_run ON exchange_command (run_id)")
                   for k, v in ddl(old).items()}
    renamed = ("index", "ix_exchange_command_node_run")
    before_0003[("index", "ix_exchange_command_run")] = before_0003.pop(renamed)
    assert before_0003 == ddl(new)


# ---------------------------------------------------------------- init_app_db

def test_fresh_database_is_upgraded_to_head_and_equals_the_models(new_url) -> None:
    url = new_url()
    init_app_db(url)
    assert _revision(url) == HEAD
    assert _diff(url) == []
    assert "seq" in _columns(url, "exchange_run_log")
    init_app_db(url)                      # a second call at head changes nothing
    assert _revision(url) == HEAD and _diff(url) == []


def test_sqlite_connections_keep_foreign_keys_on_after_migrating(tmp_path: Path) -> None:
    """The migration turns foreign keys off on its connection; the pooled connection must get them back."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    init_app_db(url)
    engine = app_engine(url)
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    dispose_app_engines()


def test_create_all_database_is_stamped_and_upgraded_keeping_rows(new_url) -> None:
    """A deployed database made by create_all (no alembic_version, no seq column) gets the baseline stamp, then
    revision 0002 — its rows stay."""
    url = new_url()
    _metadata_before_alembic().create_all(app_engine(url))
    _some_rows(url)
    assert "alembic_version" not in _tables(url) and "seq" not in _columns(url, "exchange_run_log")
    init_app_db(url)
    assert _revision(url) == HEAD
    assert _diff(url) == []
    _assert_rows_kept(url)


def test_database_at_an_older_revision_is_upgraded(new_url) -> None:
    url = new_url()
    command.upgrade(alembic_config(url), BASELINE)
    _some_rows(url)
    assert _revision(url) == BASELINE
    init_app_db(url)
    assert _revision(url) == HEAD and _diff(url) == []
    _assert_rows_kept(url)


def test_create_all_database_of_older_code_gets_its_missing_tables(tmp_path: Path) -> None:
    """A create_all database of code that had only the accounts tables: 0001 adds the others, keeps the rest."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    accounts = {"users", "user_institutions", "user_sessions", "login_log", "service_log", "audit_log"}
    _metadata_before_alembic(accounts).create_all(app_engine(url))
    with app_engine(url).begin() as conn:
        conn.execute(insert(Base.metadata.tables["login_log"]).values(ts=NOW, username="leader", result="success"))
    init_app_db(url)
    assert _revision(url) == HEAD and _diff(url) == []
    with app_engine(url).connect() as conn:
        assert conn.execute(select(Base.metadata.tables["login_log"].c.username)).scalars().all() == ["leader"]
    dispose_app_engines()


def test_failed_migration_leaves_the_database_as_it_was(new_url) -> None:
    """The stamp and the upgrade are one transaction (SQLite included): when revision 0002 fails — here on a
    create_all database that somehow has the seq column already — not even the alembic_version table remains."""
    url = new_url()
    Base.metadata.create_all(app_engine(url))
    _some_rows(url)
    with pytest.raises(DBAPIError):
        init_app_db(url)
    assert "alembic_version" not in _tables(url)
    _assert_rows_kept(url)
    if url.startswith("sqlite"):
        with app_engine(url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_call_at_head_loads_no_migration_machinery(tmp_path: Path) -> None:
    """Every process calls init_app_db (app factory, services): at head it must not run alembic's commands."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    init_app_db(url)
    dispose_app_engines()
    code = ("import sys; from dashboard.appdb import init_app_db; init_app_db(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith('alembic')))")
    out = subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_concurrent_first_start_of_several_processes(new_url) -> None:
    """Workers, the simulator and CLI commands may all start on a fresh database at once: each must succeed and
    the database ends at head once (no duplicate tables, one alembic_version row)."""
    url = new_url()
    code = "import sys; from dashboard.appdb import init_app_db; init_app_db(sys.argv[1]); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0 and out.strip() == "ok", err
    assert _revision(url) == HEAD and _diff(url) == []
    with app_engine(url).connect() as conn:
        md = MetaData()
        md.reflect(conn, only=["alembic_version"])
        assert len(conn.execute(select(md.tables["alembic_version"])).all()) == 1


# ---------------------------------------------------------------- the run-log seq

def _node_and_run(url: str) -> tuple[int, int]:
    from dashboard.exchange.models import ExchangeNode, JobRun
    with session_factory(url)() as s, s.begin():
        node = ExchangeNode(code="EX-H001", inst_code="H001", name="县人民医院前置机", heartbeat_interval_s=60)
        s.add(node)
        s.flush()
        run = JobRun(run_id="R-1", node_id=node.id, job_code="HIS_OP", started_at=NOW, status="running")
        s.add(run)
        s.flush()
        return node.id, run.id


def test_seq_is_unique_per_run_and_null_many_times(new_url) -> None:
    from dashboard.exchange.models import RunLog
    url = new_url()
    init_app_db(url)
    _, run_pk = _node_and_run(url)
    table = RunLog.__table__
    line = {"run_pk": run_pk, "ts": NOW, "level": "INFO", "message": "x"}
    with app_engine(url).begin() as conn:
        conn.execute(insert(table), [dict(line, seq=None), dict(line, seq=None), dict(line, seq=0)])
    with pytest.raises(IntegrityError), app_engine(url).begin() as conn:
        conn.execute(insert(table).values(dict(line, seq=0)))
    with app_engine(url).connect() as conn:
        assert conn.execute(select(table.c.seq).order_by(table.c.id)).scalars().all() == [None, None, 0]


def test_add_logs_skips_stored_seqs_on_both_dialects(new_url, tmp_path: Path) -> None:
    """The service's ON CONFLICT insert (SQLite and PostgreSQL flavours): retried lines are skipped and counted."""
    from dashboard.exchange import service
    from dashboard.exchange.models import ExchangeNode
    from dashboard.exchange.schemas import LogLineIn
    url = new_url()
    init_app_db(url)
    node_id, _ = _node_and_run(url)

    def post(seqs: list[int | None]) -> tuple[int, int]:
        lines = [LogLineIn(ts=NOW, level="info", message=f"line {q}", seq=q) for q in seqs]
        with session_factory(url)() as s, s.begin():
            return service.add_logs(s, s.get(ExchangeNode, node_id), "R-1", lines)
    assert post([0, 1, 2]) == (3, 0)
    assert post([0, 1, 2]) == (0, 3)
    assert post([2, 3, 3, None, None]) == (3, 2)
    cfg = Config(data_dir=tmp_path, mart_url=f"duckdb:///{tmp_path / 'mart.duckdb'}", app_db_url=url, cache_url="")
    logs = service.run_logs(cfg, "R-1")
    assert list(logs.columns) == ["ts", "level", "message"]
    assert logs["message"].tolist() == ["line 0", "line 1", "line 2", "line 3", "line None", "line None"]


def test_backlog_beyond_32_bits_is_stored_on_both_dialects(new_url) -> None:
    """Revision 0003: a heartbeat's backlog of 3 billion rows (the API allows up to 10¹¹) fits on PostgreSQL too,
    also in a database upgraded from 0002 with rows in it."""
    from dashboard.exchange.models import ExchangeNode, Heartbeat
    url = new_url()
    command.upgrade(alembic_config(url), "0002")
    _some_rows(url)
    init_app_db(url)
    assert _revision(url) == HEAD and _diff(url) == []
    _assert_rows_kept(url)
    big = 3_000_000_000
    with session_factory(url)() as s, s.begin():
        node = s.get(ExchangeNode, 1)
        node.last_backlog = big
        s.add(Heartbeat(node_id=1, ts=NOW, received_at=NOW, backlog=big))
    with session_factory(url)() as s:
        assert s.get(ExchangeNode, 1).last_backlog == big
        assert s.scalars(select(Heartbeat.backlog)).all() == [big]


def test_run_ids_per_node_upgrade_keeps_rows_and_downgrade_renames_shared_ids(new_url) -> None:
    """Revision 0012 on a database with runs, logs and a command: the rows stay, a second node may then use the
    same run id; the downgrade renames the later run (and its node's command and rerun_of) instead of failing,
    and upgrading again works."""
    url = new_url()
    command.upgrade(alembic_config(url), "0011_device_sessions")
    _some_rows(url)
    with app_engine(url).begin() as conn:
        conn.exec_driver_sql("INSERT INTO exchange_node (id, code, inst_code, name, heartbeat_interval_s, created_at)"
                             " VALUES (2, 'EX-H002', 'H002', '中医院前置机', 60, CURRENT_TIMESTAMP)")
        with pytest.raises(IntegrityError), conn.begin_nested():     # before 0012: unique platform-wide
            conn.exec_driver_sql("INSERT INTO exchange_run (id, run_id, node_id, job_code, started_at, status, "
                                 "received_at) VALUES (2, 'R-1', 2, 'HIS_OP', CURRENT_TIMESTAMP, 'failed', "
                                 "CURRENT_TIMESTAMP)")
    command.upgrade(alembic_config(url), "head")
    assert _revision(url) == HEAD and _diff(url) == []
    _assert_rows_kept(url)
    with app_engine(url).begin() as conn:
        conn.exec_driver_sql("INSERT INTO exchange_run (id, run_id, node_id, job_code, started_at, status, "
                             "received_at, rerun_of) VALUES (2, 'R-1', 2, 'HIS_OP', CURRENT_TIMESTAMP, 'failed', "
                             "CURRENT_TIMESTAMP, 'R-1')")
        conn.exec_driver_sql("INSERT INTO exchange_command (node_id, kind, run_id, job_code, requester, requested_at,"
                             " state, result_run_id) VALUES (2, 'rerun', 'R-1', 'HIS_OP', 'op', CURRENT_TIMESTAMP, "
                             "'done', 'R-1')")
        with pytest.raises(IntegrityError), conn.begin_nested():     # still unique within one node
            conn.exec_driver_sql("INSERT INTO exchange_run (id, run_id, node_id, job_code, started_at, status, "
                                 "received_at) VALUES (3, 'R-1', 2, 'HIS_OP', CURRENT_TIMESTAMP, 'failed', "
                                 "CURRENT_TIMESTAMP)")
    dispose_app_engines()
    command.downgrade(alembic_config(url), "0011_device_sessions")
    with app_engine(url).connect() as conn:
        runs = conn.exec_driver_sql("SELECT id, node_id, run_id, rerun_of FROM exchange_run ORDER BY id").all()
        cmds = conn.exec_driver_sql("SELECT node_id, run_id, result_run_id FROM exchange_command").all()
    assert [tuple(r) for r in runs] == [(1, 1, "R-1", None), (2, 2, "R-1~2", "R-1~2")]
    assert [tuple(c) for c in cmds] == [(2, "R-1~2", "R-1~2")]
    _assert_rows_kept(url)
    dispose_app_engines()
    init_app_db(url)
    assert _revision(url) == HEAD and _diff(url) == []
