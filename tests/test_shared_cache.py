"""The result cache shared by the processes of one machine (``CACHE_URL=file:///folder``; ``serve --workers N``
with N > 1 uses ``DATA_DIR/cache`` by default): one process's result is a hit in another, a key being computed in
one process is waited for by the others (cross-process single flight), and ``serve`` starts it empty."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from core import cache as core_cache

pytest_plugins = ["tests.fixtures_mart"]
ROOT = Path(__file__).resolve().parents[1]

# One process of the single-flight test: asks for the key, computing it slowly (and leaving a mark) on a miss.
_CHILD = """
import sys, time, os
sys.path.insert(0, {root!r})
from flask import Flask
from core import cache as core_cache
folder, marks, tag = sys.argv[1], sys.argv[2], sys.argv[3]
server = Flask("child")
core_cache.init_app(server, "file://" + folder)

def compute():
    with open(os.path.join(marks, tag), "w") as f:
        f.write("computed")
    time.sleep(2.0)
    return {{"by": tag}}

with server.app_context():
    print(core_cache.get_or_compute("probe", ("one key",), compute)["by"])
"""


def _app(folder: Path) -> Flask:
    server = Flask(f"t{time.monotonic_ns()}")
    core_cache.init_app(server, f"file://{folder}")
    return server


def test_a_value_stored_by_one_app_is_a_hit_in_another(tmp_path):
    one, two = _app(tmp_path / "cache"), _app(tmp_path / "cache")
    with one.app_context():
        assert core_cache.get_or_compute("probe", ("k", 1), lambda: {"rows": [1, 2, 3]}) == {"rows": [1, 2, 3]}
    with two.app_context():
        hits = core_cache.STATS["probe:hit"]
        assert core_cache.get_or_compute("probe", ("k", 1), lambda: {"rows": "computed again"}) == {
            "rows": [1, 2, 3]}
        assert core_cache.STATS["probe:hit"] == hits + 1
    assert (tmp_path / "cache").stat().st_mode & 0o077 == 0        # page outputs: the owner's only


def test_two_processes_asking_for_one_key_compute_it_once(tmp_path):
    folder, marks = tmp_path / "cache", tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(root=str(ROOT)))
    procs = []
    for tag in ("a", "b"):
        procs.append(subprocess.Popen([sys.executable, str(script), str(folder), str(marks), tag],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(0.5 if tag == "a" else 0)         # b asks while a computes (2 s)
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    computed = sorted(m.name for m in marks.iterdir())
    assert len(computed) == 1, computed                     # one computation for both processes …
    assert {o[0].strip() for o in outs} == set(computed)    # … whose value both got


def test_serve_shares_one_file_cache_between_workers_and_starts_it_empty(tmp_path, monkeypatch):
    from core.config import load_config
    from dashboard.serve import share_results

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CACHE_URL", "")           # recorded, so the value share_results sets is undone too
    stale = tmp_path / "cache" / "entry-of-older-code"
    stale.parent.mkdir()
    stale.write_text("x")
    old_lock = tmp_path / "cache-locks" / "key-of-older-code"
    old_lock.parent.mkdir()
    old_lock.write_text("")
    share_results(load_config(), 1)
    import os
    assert os.environ["CACHE_URL"] == "" and stale.exists()          # one worker: its own cache, nothing touched
    share_results(load_config(), 2)
    assert os.environ["CACHE_URL"] == f"file://{tmp_path / 'cache'}"
    assert not stale.exists() and not old_lock.exists()        # the key locks of older runs go too
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/11")
    share_results(load_config(), 2)
    assert os.environ["CACHE_URL"] == "redis://127.0.0.1:6379/11"   # a named cache is kept


def _snapshot(folder: Path) -> dict[str, int]:
    """Entry files of a file cache and their modification times (a recomputed entry is written anew)."""
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


def test_two_workers_warm_once_and_share_what_either_computed(demo_cfg, tmp_path):
    import requests

    from bench._common import free_port
    from bench.load import start_server, stop_server
    from queries.periods import data_version
    from tests.fixtures_mart import copy_demo_dir
    from tests.fixtures_web import wait_until_serving
    from tests.test_cache_isolation_server import _breakdown_body, _cards_body
    from tests.test_serve import _accounts, _login

    cfg = copy_demo_dir(demo_cfg, tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "left-by-older-code").write_text("x")
    port, log = free_port(), tmp_path / "server.log"
    proc = start_server(tmp_path, port, 2, 4, log, extra_env={"CACHE_URL": "", "WARMUP_POLL_SECONDS": "0.5"})
    base = f"http://127.0.0.1:{port}"
    folder = tmp_path / "cache"
    try:
        wait_until_serving(base, proc, log)
        assert not (folder / "left-by-older-code").exists()            # the file cache starts empty
        probe = _app(folder)                                           # reads the same folder as the workers
        version = data_version(cfg.mart_url)
        end = time.time() + 180
        with probe.app_context():
            while (warmer := core_cache.get("warmup", ("done", version))) is None and time.time() < end:
                time.sleep(0.5)
        from bench._common import child_pids
        assert warmer in child_pids(proc.pid), warmer                  # one of the two workers warmed it
        s = _login(base, *_accounts(tmp_path)["leader"])

        def fresh(body: dict) -> list[int]:
            codes = []
            for _ in range(12):                      # new connections: both workers answer some of them
                with requests.Session() as one:
                    one.cookies.update(s.cookies)
                    codes.append(one.post(f"{base}/_dash-update-component", json=body, timeout=120).status_code)
            return codes

        before = _snapshot(folder)
        assert fresh(_cards_body("")) == [200] * 12
        assert _snapshot(folder) == before, "a worker computed the warmed cockpit again"
        assert s.post(f"{base}/_dash-update-component", json=_breakdown_body(""), timeout=120).status_code == 200
        computed = _snapshot(folder)
        assert len(computed) > len(before)                             # the breakdown was computed and stored …
        assert fresh(_breakdown_body("")) == [200] * 12
        assert _snapshot(folder) == computed, "the other worker computed the same breakdown again"   # … once
    finally:
        stop_server(proc)


def _figures(value) -> tuple[int, int]:
    """(Plotly figure objects, figure dicts of graphs) anywhere in a callback output."""
    from dash.development.base_component import Component
    from plotly.basedatatypes import BaseFigure
    if isinstance(value, BaseFigure):
        return 1, 0
    if isinstance(value, Component):
        objs, dicts = _figures([getattr(value, p, None) for p in value._prop_names])
        return objs, dicts + int(isinstance(getattr(value, "figure", None), dict))
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    counts = [_figures(v) for v in items]
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def test_a_cached_figure_is_stored_as_plain_data_and_answers_the_same(flask_app, client_as):
    import pickle

    from layouts import _pageparts as L
    from tests.test_pages_callbacks import IND, call

    client = client_as("leader")
    first = call(client, [(L.TREND_BOX, "children")], (L.ID, "data", IND), "")
    hits = core_cache.STATS["output:hit"]
    assert call(client, [(L.TREND_BOX, "children")], (L.ID, "data", IND), "") == first    # a hit, the same answer
    assert core_cache.STATS["output:hit"] == hits + 1
    backend = flask_app.server.extensions["result_cache"].cache          # the app's per-process SimpleCache
    stored = [pickle.loads(raw) for key, (_exp, raw) in list(backend._cache.items()) if "output:" in key]
    objs, dicts = _figures(stored)
    assert dicts >= 1                       # the trend's graph is among the stored outputs …
    assert objs == 0                        # … as a plain dict: a hit does not rebuild a go.Figure


def test_a_map_panel_is_cached_per_scope(client_as, app_cfg):
    from queries.maps import institution_points
    from tests.test_maps_callbacks import click, manager_codes

    allowed = sorted(manager_codes(app_cfg))
    other = next(c for c in institution_points(app_cfg.mart_url)["inst_code"] if c not in allowed)
    payload = {"componentType": "series", "name": "x", "data": {"code": other}}
    leader, manager = client_as("leader"), client_as("manager")
    first = click(leader, "inst", payload, "?grain=quarter&period=2026Q2")
    assert "/indicator/" in first                                   # the leader's panel of that institution …
    hits = core_cache.STATS["output:hit"]
    assert click(leader, "inst", payload, "?grain=quarter&period=2026Q2") == first
    assert core_cache.STATS["output:hit"] == hits + 1               # … served from the cache the second time
    refused = click(manager, "inst", payload, "?grain=quarter&period=2026Q2")
    assert "无权查看" in refused and "/indicator/" not in refused   # the manager's own scope, not the leader's entry


def test_identical_bodies_are_compressed_once_and_answer_the_same_bytes(flask_app, client_as):
    import gzip
    import json

    from flask_compress import Compress

    from dashboard.compress_cache import BodyCache
    from layouts import _pageparts as L
    from tests.test_pages_callbacks import IND, _payload

    compress = next(f.__self__ for f in flask_app.server.after_request_funcs[None]
                    if isinstance(getattr(f, "__self__", None), Compress))
    assert isinstance(compress.cache, BodyCache)
    client = client_as("leader")

    def post(search: str, encoding: str) -> tuple[bytes, str]:
        resp = client.post("/_dash-update-component", headers={"Accept-Encoding": encoding},
                           json=_payload([(L.TREND_BOX, "children")], [(L.ID, "data", IND)], [("url", "search", search)]))
        assert resp.status_code == 200
        return resp.get_data(), resp.headers.get("Content-Encoding", "")

    plain_a, enc = post("?grain=quarter&period=2026Q2", "identity")
    assert enc == ""
    first, enc = post("?grain=quarter&period=2026Q2", "gzip")
    assert enc == "gzip" and gzip.decompress(first) == plain_a          # the compressed form of the final body
    hits = compress.cache.hits
    again, _ = post("?grain=quarter&period=2026Q2", "gzip")
    assert again == first and compress.cache.hits == hits + 1           # the same bytes, compressed once
    other, _ = post("?grain=quarter&period=2026Q1", "gzip")             # another view: its own body
    assert json.loads(gzip.decompress(other)) != json.loads(plain_a)


def _pruned(tmp_path: Path, threshold: int):
    from core.file_cache import PrunedFileSystemCache
    folder = tmp_path / "cache"
    core_cache.lock_dir(folder).mkdir(parents=True)
    return folder, PrunedFileSystemCache(str(folder), threshold=threshold, default_timeout=3600)


def _entries(folder: Path) -> int:
    """Entry files (not cachelib's count file)."""
    from core.file_cache import PrunedFileSystemCache
    return sum(1 for _ in PrunedFileSystemCache(str(folder), threshold=0)._list_dir())


def test_the_served_file_cache_is_the_pruned_one(tmp_path):
    from core.file_cache import PrunedFileSystemCache
    assert isinstance(_app(tmp_path / "cache").extensions["result_cache"].cache, PrunedFileSystemCache)


def test_a_full_file_cache_is_pruned_in_one_pass_down_to_its_low_water_mark(tmp_path):
    """cachelib alone scans every entry on every write past the threshold and removes one; here a pass removes the
    oldest down to 80 % of it, so 200 writes into a cache of 50 make ~15 passes, and the newest entries stay."""
    folder, cache = _pruned(tmp_path, 50)
    before = type(cache).prunes
    for n in range(200):
        cache.set(f"k{n}", {"n": n})
        time.sleep(0.001)
        assert _entries(folder) <= 51
    passes = type(cache).prunes - before
    assert 10 <= passes <= 20, passes
    assert cache.get("k199") == {"n": 199} and cache.get("k0") is None
    assert cache._file_count == _entries(folder)          # the count is the files' after a pass


def test_expired_entries_go_first_and_a_count_that_drifted_low_is_corrected(tmp_path, monkeypatch):
    from core import file_cache
    monkeypatch.setattr(file_cache, "RECOUNT_EVERY", 10**9)
    folder, cache = _pruned(tmp_path, 50)
    for n in range(45):
        cache.set(f"old{n}", n, timeout=1)
    for n in range(45):
        cache.set(f"k{n}", n)
        cache._update_count(value=5)          # lost updates of several workers: the count says 5 of 90
    time.sleep(2.1)                           # the first 45 expire
    monkeypatch.setattr(file_cache, "RECOUNT_EVERY", 10)
    cache._writes = 0
    for n in range(9):
        cache.set(f"new{n}", n)
    assert _entries(folder) == 99             # the low count hides them from cachelib's own check
    cache.set("new9", 9)                      # the 10th write counts the files: 99 > 50, one pass
    assert _entries(folder) <= 50
    assert all(cache.get(f"old{n}") is None for n in range(45))
    assert cache.get("k44") == 44 and cache.get("new9") == 9


def test_a_pass_removes_key_lock_files_of_long_ago_only(tmp_path):
    import os
    folder, cache = _pruned(tmp_path, 5)
    locks = core_cache.lock_dir(folder)
    old, fresh, warmup = locks / "a", locks / "b", locks / "warmup"
    for path in (old, fresh, warmup):
        path.write_text("")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(warmup, (long_ago, long_ago))
    for n in range(8):
        cache.set(f"k{n}", n)
    assert not old.exists() and fresh.exists() and warmup.exists()
