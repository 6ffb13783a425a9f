"""Warm-up after a load: the server notices the new data version, renders the cockpit's default view for each
scope in the background, and the first cockpit call after the load is then served from the cache."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from core import cache as core_cache
from layouts import _pageparts as L
from tests.fixtures_web import login_client
from tests.test_cache_versions import _visits_of
from tests.test_pages_callbacks import call

pytest_plugins = ["tests.fixtures_mart"]
ROOT = Path(__file__).resolve().parents[1]


def _wait_round(rounds: list, count: int, timeout: float = 120) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        if len(rounds) >= count:
            return rounds[count - 1]
        time.sleep(0.2)
    raise AssertionError(f"no warm-up round {count} within {timeout:.0f} s: {rounds}")


def test_first_cockpit_call_after_a_load_is_warm(demo_cfg, demo_copy, tmp_path, monkeypatch, caplog):
    from dashboard import warmup
    from dashboard.accounts.service import read_demo_accounts
    from dashboard.app import create_app
    from mart.connection import dispose_engines

    shutil.copy(demo_cfg.demo_accounts_path, demo_copy.demo_accounts_path)
    shutil.copytree(demo_cfg.geo_dir, demo_copy.geo_dir, dirs_exist_ok=True)     # the maps are warmed too
    user, password = read_demo_accounts(demo_copy)["leader"]
    app = create_app(demo_copy)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    monkeypatch.setattr(warmup, "POLL_SECONDS", 0.3)
    monkeypatch.setattr(warmup, "ROUNDS", [])
    try:
        assert warmup.start(app.server)
        first = _wait_round(warmup.ROUNDS, 1)
        assert first["views"] >= 1                       # the leader's scope (and the managers', the wall's)

        _visits_of(demo_copy, "2026-10", tmp_path / "load")
        env = dict(os.environ, DATA_DIR=str(demo_copy.data_dir), MART_URL=demo_copy.mart_url,
                   APP_DB_URL=demo_copy.app_db_url)
        done = subprocess.run([sys.executable, str(ROOT / "app.py"), "load", str(tmp_path / "load")], env=env,
                              cwd=str(ROOT), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        second = _wait_round(warmup.ROUNDS, 2)
        assert second["version"] != first["version"] and second["views"] >= 1
        # every warmer ran through (a merge once left the cockpit's calling a removed function: 预热失败 at start)
        assert not [r.getMessage() for r in caplog.records if r.getMessage().startswith("预热失败")]

        client, resp = login_client(app, user, password)
        assert resp.status_code == 302
        hits, misses = core_cache.STATS["output:hit"], core_cache.STATS["output:miss"]
        cards = call(client, [(L.CARDS, "children"), (L.HOME_SUBTITLE, "children")], (L.READY, "data", True), "")
        assert core_cache.STATS["output:hit"] == hits + 1          # served from the warmed cache …
        assert core_cache.STATS["output:miss"] == misses
        assert cards[L.CARDS]["children"]                         # … and it is the cards
        # the referral page's sections were warmed too: its first calls are hits, no section computed
        hits, misses = core_cache.STATS["output:hit"], core_cache.STATS["output:miss"]
        boxes = [(L.REF_KPIS, "children"), (L.REF_VOLUME, "children"), (L.REF_FLOW, "children"),
                 (L.REF_OUTSIDE, "children"), (L.REF_DEST, "children"), (L.REF_DIAG, "children"),
                 (L.REF_PENDING, "children")]
        for box, prop in boxes:
            outputs = [(box, prop), (L.REF_SUBTITLE, "children")] if box == L.REF_KPIS else [(box, prop)]
            got = call(client, outputs, (L.REF_READY, "data", True), "")
            assert got[box][prop], box
        assert core_cache.STATS["output:hit"] == hits + len(boxes)
        assert core_cache.STATS["output:miss"] == misses
        # and the one map: the three maps and the reform cards as first opened are hits too
        from bench.maps import calls as map_calls
        hits, misses = core_cache.STATS["output:hit"], core_cache.STATS["output:miss"]
        firsts = [(name, payload) for name, payload in map_calls("", "-", "-") if "click" not in name]
        for name, payload in firsts:
            resp = client.post("/_dash-update-component", json=payload)
            assert resp.status_code == 200 and b"error-card" not in resp.data, name
        assert len(firsts) == 4
        assert core_cache.STATS["output:hit"] == hits + len(firsts)
        assert core_cache.STATS["output:miss"] == misses
    finally:
        warmup.stop(app.server)
        time.sleep(0.5)                                           # its last poll is over
        dispose_engines()
