"""One clock: the exchange API receives, stores and shows county wall time (MART_TIMEZONE) on a UTC host.

The server runs in a subprocess whose OS zone is UTC (env TZ=UTC); the county is Asia/Shanghai.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import datetime as dt, json, sys, time
from pathlib import Path
from tests.exchange_fixtures import build_tiny_mart, make_cfg, token_for
from dashboard.appdb import init_app_db
from dashboard.exchange.service import ensure_nodes, node_states, now_local
from dashboard.app import create_app
cfg = make_cfg(Path(sys.argv[1]))
build_tiny_mart(cfg); init_app_db(cfg.app_db_url); ensure_nodes(cfg)
app = create_app(cfg)
client = app.server.test_client()
nodes = node_states(cfg)
code = nodes.iloc[0]["code"]
h = token_for(cfg, code)
county = now_local()
out = {"os_now": dt.datetime.now().isoformat(timespec="seconds"), "county_now": county.isoformat()}
naive = client.post("/api/exchange/heartbeat", json={"ts": county.isoformat()}, headers=h)
out["naive_status"] = naive.status_code
run = {"run_id": "UTC-1", "job_code": "HIS_OP", "status": "running", "started_at": "2026-03-02T02:00:00Z"}
r = client.post("/api/exchange/runs", json=run, headers=h)
out["run"] = r.get_json()
states = node_states(cfg)
row = states[states["code"] == code].iloc[0]
out["last_heartbeat_at"] = str(row["last_heartbeat_at"])
out["state"] = str(row["state"])
from dashboard.views.exchange_page import refresh_overview
with app.server.app_context():
    _, _, subtitle, rows, _ = refresh_overview(True, None, None, None)
out["subtitle"] = subtitle
out["row"] = next(r for r in rows if r["code"] == code)["last_heartbeat"]
print(json.dumps(out, ensure_ascii=False))
'''


def test_utc_host_keeps_county_time(tmp_path: Path) -> None:
    env = {**os.environ, "TZ": "UTC", "MART_TIMEZONE": "Asia/Shanghai", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    county = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    utc = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs(dt.datetime.fromisoformat(out["os_now"]) - utc) < dt.timedelta(minutes=2)      # the OS is on UTC
    assert abs(dt.datetime.fromisoformat(out["county_now"]) - county) < dt.timedelta(minutes=2)
    # a naive node time equal to county now is not "8 h in the future", and the node is online on county time
    assert out["naive_status"] in (200, 201, 204), out
    assert abs(dt.datetime.fromisoformat(out["last_heartbeat_at"]) - county) < dt.timedelta(minutes=2)
    assert out["state"] != "offline"
    # a time with an offset is converted to county time, not to the OS zone
    assert out["run"].get("started_at") == "2026-03-02T10:00:00", out
    # the operator page (数据交换监测) shows county time: "更新于 <county now>" and the heartbeat seconds ago
    shown = dt.datetime.strptime(out["subtitle"].split("更新于 ")[1][:19], "%Y-%m-%d %H:%M:%S")
    assert abs(shown - county) < dt.timedelta(minutes=2), out["subtitle"]
    beat = dt.datetime.strptime(f"{county.year}-{out['row'][:14]}", "%Y-%m-%d %H:%M:%S")
    assert abs(beat - county) < dt.timedelta(minutes=2) and "秒前" in out["row"], out["row"]


def test_walkthrough_on_a_utc_host() -> None:
    """The documented walkthrough replayed by the API doc tests in a process whose OS zone is UTC."""
    env = {**os.environ, "TZ": "UTC", "MART_TIMEZONE": "Asia/Shanghai"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_exchange_api_doc.py::test_walkthrough_replays_as_documented",
                        "tests/test_exchange_api_doc.py::test_documented_time_and_id_rules"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stdout[-3000:]
    assert r.stdout.split()[0] == "..", r.stdout     # two tests, both passed (none skipped)
