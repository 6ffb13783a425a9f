"""The engine's fast paths give the results of the plain ones: DuckDB's native fetch equals the portable
SQLAlchemy path (the one PostgreSQL takes), a cached result equals a computed one and a load invalidates it, and
on the tiny demo county the rollups equal the facts for every indicator, level and grain."""
from __future__ import annotations

import pandas as pd
import pytest
from cachelib import SimpleCache

from metrics import cache as result_cache
from metrics.catalogue import GRAINS, LEVELS, computable_ids
from metrics.engine import compute
from metrics.scope import manager_scope
from queries import measures as qm
from tests.engine_fixture import build_fixture_mart

FLOATS = ["numerator", "denominator", "value", "yoy_value", "yoy_change", "mom_value", "mom_change"]


@pytest.fixture(scope="module")
def fx_url(tmp_path_factory) -> str:
    return build_fixture_mart(tmp_path_factory.mktemp("engine_paths") / "fx.duckdb")


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows, columns, dtypes and refusals; floats equal up to summation order (1e-9 relative)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    assert a.attrs.get("refused") == b.attrs.get("refused")
    others = [c for c in a.columns if c not in FLOATS and c != "status"]
    pd.testing.assert_frame_equal(a[others], b[others], check_exact=True)
    pd.testing.assert_frame_equal(a[FLOATS], b[FLOATS], check_exact=False, rtol=1e-9, atol=1e-9)
    # a value on a target's edge may fall either side when summed in another order: status may differ only
    # where the values are not bit-identical
    differs = a["status"].fillna("").to_numpy() != b["status"].fillna("").to_numpy()
    same_value = (a["value"].to_numpy() == b["value"].to_numpy()) | (a["value"].isna() & b["value"].isna()).to_numpy()
    assert not (differs & same_value).any()


@pytest.mark.parametrize("level", LEVELS)
def test_native_fetch_equals_portable_sql(fx_url, level, monkeypatch):
    ids = computable_ids(level)
    for grain in GRAINS:
        native = compute(ids, level, grain, "2024-02", "2025-03", mart_url=fx_url)
        monkeypatch.setattr(qm, "NATIVE_FETCH", False)
        portable = compute(ids, level, grain, "2024-02", "2025-03", mart_url=fx_url)
        monkeypatch.setattr(qm, "NATIVE_FETCH", True)
        assert len(native) > 0
        assert_same(native, portable)


def test_portable_path_with_org_and_scope(fx_url, monkeypatch):
    calls = [(["op_antibiotic_rate", "bed_occupancy"], "institution", "month", "T1", manager_scope({"S1"})),
             (computable_ids("township"), "township", "quarter", "T2", manager_scope({"S2"}))]
    for ids, level, grain, org, scope in calls:
        native = compute(ids, level, grain, "2025-01", "2025-03", org=org, scope=scope, mart_url=fx_url)
        monkeypatch.setattr(qm, "NATIVE_FETCH", False)
        portable = compute(ids, level, grain, "2025-01", "2025-03", org=org, scope=scope, mart_url=fx_url)
        monkeypatch.setattr(qm, "NATIVE_FETCH", True)
        assert len(native) > 0
        assert_same(native, portable)


class CountingCache(SimpleCache):
    """cachelib's SimpleCache counting its hits (to see that a second call is served from the cache)."""

    def __init__(self) -> None:
        super().__init__(threshold=100)
        self.hits = 0

    def get(self, key):
        value = super().get(key)
        self.hits += value is not None
        return value


def test_cached_equals_computed_and_a_load_invalidates(fx_url):
    from mart.connection import dispose_engines
    from mart.db import bump_data_version, connect_writer

    ids = computable_ids("institution")
    plain = compute(ids, "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
    cache = CountingCache()
    result_cache.install(cache)
    try:
        first = compute(ids, "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
        first["value"] = -1.0                       # a caller changing its copy must not change the cache
        second = compute(ids, "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
        assert cache.hits == 1
        assert_same(plain, second)
        other = compute(ids, "institution", "month", "2025-01", "2025-03", mart_url=fx_url)
        assert cache.hits == 1 and set(other["period"]) == {"2025-01", "2025-02", "2025-03"}

        dispose_engines()                           # DuckDB: one configuration per file and process
        con = connect_writer(fx_url)
        try:
            bump_data_version(con)
        finally:
            con.close()
        third = compute(ids, "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
        assert cache.hits == 1                      # a new data version is a miss
        assert_same(plain, third)
    finally:
        result_cache.install(None)
        dispose_engines()


def test_app_cache_serves_only_inside_its_app(fx_url):
    from flask import Flask

    server = Flask(__name__)
    app_cache = result_cache.init_app_cache(server, "")
    assert result_cache.backend() is None
    with server.app_context():
        assert result_cache.backend() is app_cache
        a = compute(["op_antibiotic_rate"], "county", "month", "2025-01", "2025-03", mart_url=fx_url)
        b = compute(["op_antibiotic_rate"], "county", "month", "2025-01", "2025-03", mart_url=fx_url)
        assert_same(a, b)
    assert result_cache.backend() is None


@pytest.mark.parametrize("level", LEVELS)
def test_rollups_equal_facts_on_tiny_demo(demo_cfg, level):
    from queries.periods import last_complete_month

    end = last_complete_month(demo_cfg.mart_url)
    y, m = int(end[:4]), int(end[5:7])
    start = f"{y - 1:04d}-{m + 1:02d}" if m < 12 else f"{y:04d}-01"
    ids = computable_ids(level)
    for grain in GRAINS:
        rolled = compute(ids, level, grain, start, end, mart_url=demo_cfg.mart_url)
        facts = compute(ids, level, grain, start, end, mart_url=demo_cfg.mart_url, from_facts=True)
        assert len(rolled) > 0
        assert_same(rolled, facts)


REDIS = __import__("os").environ.get("TEST_REDIS_URL", "")


@pytest.mark.skipif(not REDIS, reason="TEST_REDIS_URL is not set: no Redis server (CI sets it, see .ci/run)")
def test_redis_app_cache_round_trips_a_result(fx_url):
    from flask import Flask

    server = Flask(__name__)
    app_cache = result_cache.init_app_cache(server, REDIS)
    with server.app_context():
        app_cache.clear()
        a = compute(computable_ids("institution"), "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
        b = compute(computable_ids("institution"), "institution", "quarter", "2025-01", "2025-03", mart_url=fx_url)
        assert type(app_cache.cache).__name__ == "RedisCache"
        assert len(app_cache.cache._read_client.keys("ycty:engine:*")) == 1     # stored once, then read
        assert_same(a, b)
        assert b.attrs["refused"] == a.attrs["refused"]
        app_cache.clear()
