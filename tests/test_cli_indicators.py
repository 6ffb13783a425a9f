"""The indicators command as a real subprocess against the hand-made fixture mart."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine_fixture import build_fixture_mart

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict:
    url = build_fixture_mart(tmp_path_factory.mktemp("cli") / "fx.duckdb")
    return {**os.environ, "MART_URL": url}


def run(env, *args):
    return subprocess.run([sys.executable, "app.py", "indicators", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_csv_header_and_values(cli_env):
    r = run(cli_env, "--ids", "alos,down_up_ratio", "--level", "institution", "--grain", "month", "--from",
            "2025-01", "--to", "2025-01")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == \
        "indicator_id,level,org_code,org_name,period,numerator,denominator,value,target,status,yoy_value,mom_value," \
        "complete,small_sample,note,partial"
    rows = {(x["indicator_id"], x["org_code"]): x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows[("alos", "H1")]["value"] == "7.0" and rows[("alos", "H1")]["period"] == "2025-01"
    assert rows[("down_up_ratio", "H1")]["value"] == ""          # 1 down, 0 up: zero denominator


def test_all_at_every_level(cli_env):
    for level in ("county", "township", "institution", "department", "doctor"):
        r = run(cli_env, "--ids", "all", "--level", level, "--grain", "quarter", "--from", "2025-01", "--to",
                "2025-03")
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.splitlines()) > 1
    r = run(cli_env, "--ids", "all", "--level", "county", "--grain", "year", "--from", "2025-01", "--to", "2025-03",
            "--format", "json")
    assert r.returncode == 0 and '"period": "2025"' in r.stdout


def test_numbers_are_exact_and_readable(cli_env):
    """Counts print whole (never 2.07814e+06), values at the indicator's decimals, JSON numbers as numbers."""
    import json
    r = run(cli_env, "--ids", "op_cost_per_visit,op_antibiotic_rate", "--level", "county", "--grain", "year",
            "--from", "2025-01", "--to", "2025-03")
    assert r.returncode == 0, r.stderr
    assert "e+" not in r.stdout
    rows = {x["indicator_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows["op_antibiotic_rate"]["denominator"].isdigit()          # a count of visits
    assert rows["op_cost_per_visit"]["value"].count(".") == 1 and len(rows["op_cost_per_visit"]["value"].split(".")[1]) == 2
    j = run(cli_env, "--ids", "op_antibiotic_rate", "--level", "county", "--grain", "year", "--from", "2025-01",
            "--to", "2025-03", "--format", "json")
    rec = json.loads(j.stdout)[0]
    assert isinstance(rec["denominator"], int) and isinstance(rec["value"], float)
    assert rec["complete"] in (True, False) and "note" in rec and "yoy_value" in rec


@pytest.mark.parametrize("args,msg", [
    (["--ids", "nope"], "unknown indicator"),
    (["--ids", "in_county_ip_share", "--level", "doctor"], "not allowed"),
    (["--ids", "alos", "--from", "2025-13"], "YYYY-MM"),
    (["--ids", "alos", "--level", "galaxy"], "unknown level"),
])
def test_refusals_exit_2(cli_env, args, msg):
    base = {"--ids": "alos", "--level": "county", "--grain": "month", "--from": "2025-01", "--to": "2025-01"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    r = run(cli_env, *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and msg in r.stderr
