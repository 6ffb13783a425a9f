"""Issue 21: the PostgreSQL rollup build's session settings (work_mem, jit, hash grouping) hold for the build's
transaction only, are configurable, and a bad value is refused in Chinese before anything is written."""
from __future__ import annotations

import psycopg2
import pytest

from mart import pg
from mart.pg import BUILD_WORK_MEM_ENV, build_session_settings, libpq_dsn, pg_transaction
from tests.test_postgres import pg_schema_url  # noqa: F401  (a module fixture of the PostgreSQL tests)


def _show(cur, name: str) -> str:
    cur.execute(f"SHOW {name}")
    return cur.fetchone()[0]


def test_settings_last_for_the_build_transaction_only(pg_schema_url, monkeypatch) -> None:
    url = pg_schema_url()
    monkeypatch.setenv(BUILD_WORK_MEM_ENV, "96MB")
    with pg_transaction(url) as cur:
        default_mem = _show(cur, "work_mem")
        build_session_settings(cur)
        assert (_show(cur, "work_mem"), _show(cur, "jit")) == ("96MB", "off")
        with pg._hash_grouping(cur):
            assert _show(cur, "enable_sort") == "off"
        assert _show(cur, "enable_sort") == "on"
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            assert _show(cur, "work_mem") == default_mem != "96MB"
    finally:
        conn.close()
    monkeypatch.delenv(BUILD_WORK_MEM_ENV)
    with pg_transaction(url) as cur:
        build_session_settings(cur)
        assert _show(cur, "work_mem") == pg.BUILD_WORK_MEM_DEFAULT


@pytest.mark.parametrize("bad", ["lots", "256 MiB", "0MB", "1MB; DROP TABLE x", "-5MB"])
def test_a_bad_work_mem_is_refused_in_chinese_and_nothing_is_written(pg_schema_url, monkeypatch, bad) -> None:
    url = pg_schema_url()
    monkeypatch.setenv(BUILD_WORK_MEM_ENV, bad)
    with pytest.raises(ValueError, match="不是 PostgreSQL 内存大小") as info:
        with pg_transaction(url) as cur:
            pg.ensure_schema_pg(cur)
            pg.build_rollups_pg(cur, None)
    assert BUILD_WORK_MEM_ENV in str(info.value)
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
            assert cur.fetchone()[0] == 0          # the schema made in the failed transaction was rolled back
    finally:
        conn.close()
