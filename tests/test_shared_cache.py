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
    monkeypatch.delenv("CACHE_URL", raising=False)
    stale = tmp_path / "cache" / "entry-of-older-code"
    stale.parent.mkdir()
    stale.write_text("x")
    share_results(load_config(), 1)
    import os
    assert "CACHE_URL" not in os.environ and stale.exists()          # one worker: its own cache, nothing touched
    share_results(load_config(), 2)
    assert os.environ["CACHE_URL"] == f"file://{tmp_path / 'cache'}"
    assert not stale.exists()
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/11")
    share_results(load_config(), 2)
    assert os.environ["CACHE_URL"] == "redis://127.0.0.1:6379/11"   # a named cache is kept
