"""One truth: for every indicator, the card, the drill table, the export, the map and the CLI show the engine's
value, numerator and denominator for the same org and period (tiny demo mart, real app, real CLI process).

The view functions are the ones the page callbacks call (``render_cards``, ``table_frame``, ``export_frame``,
``township_values``), run inside the request context of a logged-in leader (Flask keeps the last request's
context inside ``with client:``). The exchange indicators are live figures of the app database (they move with
the clock), so they are checked against the CLI's own print-out in ``test_cli_prints_exchange_indicators``.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metrics.catalogue import INDICATORS

ROOT = Path(__file__).resolve().parents[1]
MART_IDS = [i.id for i in INDICATORS.values() if i.available and i.kind != "exchange"]


def _same(a: object, b: object, decimals: int | None = None) -> bool:
    fa = None if a is None or (isinstance(a, float) and math.isnan(a)) else float(a)
    fb = None if b is None or (isinstance(b, float) and math.isnan(b)) else float(b)
    if fa is None or fb is None:
        return fa is None and fb is None
    if decimals is not None:
        return round(fa, decimals) == round(fb, decimals)
    return math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-9)


def _cli(cfg, *args: str) -> list[dict]:
    env = {**os.environ, "DATA_DIR": str(Path(cfg.app_db_url.removeprefix("sqlite:///")).parent),
           "MART_URL": cfg.mart_url, "APP_DB_URL": cfg.app_db_url}
    r = subprocess.run([sys.executable, "app.py", "indicators", *args, "--format", "json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def leader(client_as):
    return client_as("leader")


@pytest.fixture(scope="module")
def client_as(flask_app, app_cfg):
    from dashboard.accounts.service import read_demo_accounts
    from tests.fixtures_web import login_client
    accounts = read_demo_accounts(app_cfg)

    def _make(role: str):
        client, resp = login_client(flask_app, *accounts[role])
        assert resp.status_code == 302
        return client
    return _make


@pytest.fixture(scope="module")
def month(app_cfg) -> str:
    from queries.periods import last_complete_month
    return last_complete_month(app_cfg.mart_url)


@pytest.fixture(scope="module")
def cli_rows(app_cfg, month):
    """The CLI's county and institution rows of every mart indicator for the month (one process per level)."""
    out: dict[tuple[str, str], dict] = {}
    for level in ("county", "institution"):
        ids = [i for i in MART_IDS if level in INDICATORS[i].levels]
        for rec in _cli(app_cfg, "--ids", ",".join(ids), "--level", level, "--grain", "month", "--from", month,
                        "--to", month):
            out[(rec["indicator_id"], rec["org_code"])] = rec
    return out


@pytest.mark.parametrize("ind", MART_IDS)
def test_views_agree_with_the_engine(ind, leader, app_cfg, month, cli_rows):
    from dashboard.urlstate import parse_state
    from dashboard.views import indicator as vind
    from metrics.engine import compute

    spec = INDICATORS[ind]
    state = parse_state(f"?grain=month&period={month}", month)
    county_level = "county" if "county" in spec.levels else spec.levels[0]
    assert county_level == "county"
    eng = compute([ind], "county", "month", month, month, mart_url=app_cfg.mart_url).iloc[0]
    child = "township" if "township" in spec.levels else None
    eng_kids = compute([ind], child, "month", month, month, mart_url=app_cfg.mart_url) if child else None
    with leader:
        leader.get("/")                                 # the leader's request context stays open in the block
        table, info = vind.table_frame(ind, state)
        own = table[table["_own"]].iloc[0]
        # drill table (own row) = engine
        for col in ("numerator", "denominator", "value"):
            assert _same(own[col], eng[col]), (ind, "drill", col, own[col], eng[col])
        try:
            exported, _h, _d, _info = vind.export_frame(ind, state)
        except LookupError:                              # nothing to export: the engine has no value either
            assert table["value"].isna().all(), ind
            exported = None
        if exported is not None:
            ex_own = exported[exported["_own"]].iloc[0]
            for col in ("numerator", "denominator", "value"):
                assert _same(ex_own[col], eng[col]), (ind, "export", col)
        if child:
            kids = table[~table["_own"]].set_index("org_code")
            assert info["child"] == child
            # every township has a row (complete rows), with the engine's numbers
            assert set(kids.index) == set(eng_kids["org_code"]), ind
            for r in eng_kids.itertuples():
                for col in ("numerator", "denominator", "value"):
                    assert _same(kids.loc[r.org_code, col], getattr(r, col)), (ind, "drill child", r.org_code, col)
            from dashboard.views import maps as vmaps
            mstate = vmaps.map_state("health", f"?grain=month&period={month}")
            mapped = vmaps.township_values(ind, mstate).set_index("area_code")
            for r in eng_kids.itertuples():
                for col in ("numerator", "denominator", "value"):
                    assert _same(mapped.loc[r.org_code, col], getattr(r, col)), (ind, "map", r.org_code, col)
        if ind in vcockpit_ids():
            from dashboard.callbacks import cockpit as vcock
            from layouts.formatting import fmt_value
            cards, _sub = vcock.render_cards(f"?grain=month&period={month}")
            text = json.dumps([c.to_plotly_json() for c in cards], default=str, ensure_ascii=False)
            assert fmt_value(eng["value"], spec.unit, spec.decimals) in text, (ind, "card")
    cli = cli_rows[(ind, str(eng["org_code"]))]
    # the CLI prints sums that are not whole numbers to 6 decimals
    for col in ("numerator", "denominator"):
        assert _same(cli[col], None if pd.isna(eng[col]) else round(float(eng[col]), 6)), (ind, "cli", col)
    assert _same(cli["value"], eng["value"], spec.decimals), (ind, "cli", cli["value"], eng["value"])


def vcockpit_ids() -> list[str]:
    from layouts import _pageparts as L
    return list(L.HEADLINE_IDS)


def test_cli_has_one_row_per_institution(app_cfg, month, cli_rows):
    """``up_referrals`` by institution: one row per institution, zero where nobody was referred."""
    from queries.org import org_tree
    insts = set(org_tree(app_cfg.mart_url)["inst_code"])
    rows = {code: rec for (ind, code), rec in cli_rows.items() if ind == "up_referrals" and code in insts}
    assert set(rows) == insts
    assert any(rec["value"] == 0 for rec in rows.values()) and any(rec["value"] > 0 for rec in rows.values())


def test_ratio_without_cases_is_present_and_empty(app_cfg, month, cli_rows):
    """A ratio whose denominator is 0 is a row with an empty value and the reason in its note."""
    empty = [rec for (ind, _c), rec in cli_rows.items() if ind == "surgery_share" and rec["value"] is None]
    assert empty, "village clinics operate on nobody: their surgery share must be present and empty"
    assert all(rec["denominator"] == 0 and ("无病例" in rec["note"] or "无数据" in rec["note"]) for rec in empty)


def test_cli_prints_exchange_indicators(app_cfg, month):
    """The four exchange indicators come out of compute() through the app-database measure source."""
    ids = ["upload_timeliness", "job_success_rate", "node_online_rate", "reject_rate"]
    rows = _cli(app_cfg, "--ids", ",".join(ids), "--level", "county", "--grain", "month", "--from", month,
                "--to", month)
    assert [r["indicator_id"] for r in rows] == ids
    for r in rows:
        assert r["denominator"] is not None and r["numerator"] is not None
        if r["denominator"]:
            factor = INDICATORS[r["indicator_id"]].factor
            assert r["value"] == pytest.approx(factor * r["numerator"] / r["denominator"],
                                               abs=10 ** -INDICATORS[r["indicator_id"]].decimals)
        else:
            assert r["value"] is None and "无" in r["note"]
    frame = pd.DataFrame(rows)
    assert frame["period"].eq(month).all()


def test_referral_page_totals_agree_with_the_engine(leader, app_cfg, month):
    """/referrals' monthly up/down bars and outside-county bars, and the reform map's referral totals, are the
    engine's up_referrals / down_referrals / outside_referred / outside_unreferred / up_referrals_outside."""
    from dashboard.callbacks import maps as vmaps
    from dashboard.callbacks import referrals as vref
    from metrics.engine import compute

    ids = ["up_referrals", "down_referrals", "up_referrals_outside", "outside_referred", "outside_unreferred",
           "outside_settlements"]
    eng = compute(ids, "county", "month", month, month, mart_url=app_cfg.mart_url, comparisons=False)
    val = dict(zip(eng["indicator_id"], eng["value"]))
    assert val["outside_referred"] + val["outside_unreferred"] == val["outside_settlements"] > 0
    assert 0 < val["up_referrals_outside"] < val["up_referrals"]
    search = f"?grain=month&period={month}"
    with leader:
        leader.get("/")
        bars = {t.name: list(t.y)[-1] for t in vref.volume_figure(search).data if t.type == "bar"}
        assert bars == {"上转人次": val["up_referrals"], "下转人次": val["down_referrals"]}
        outside = {t.name: list(t.y)[-1] for t in vref.outside_figure(search).data}
        assert outside == {"有序转诊": val["outside_referred"], "自行外出": val["outside_unreferred"]}
        subtitle = vmaps.reform_view(search)[1]
    inside = int(val["up_referrals"] - val["up_referrals_outside"])
    assert f"县内上转 {inside:,} 人次" in subtitle, subtitle
    assert f"转县外 {int(val['up_referrals_outside']):,} 人次" in subtitle
    assert f"下转 {int(val['down_referrals']):,} 人次" in subtitle
