"""The referral page's sections are cached whole (``views.output_cache``): per view, user scope and data version.

A manager's cached Sankey or pending list is never served to a manager of another institution (each gets their
own, computed for their scope), and a load of one month's referrals recomputes that month's sections while the
sections of another month stay served from the cache, unchanged.
"""
from __future__ import annotations

import shutil

import pandas as pd

from core import cache as core_cache
from layouts import _pageparts as L
from tests.fixtures_web import login_client
from tests.test_pages_callbacks import call

pytest_plugins = ["tests.fixtures_mart"]

SECTIONS = {"flow": L.REF_FLOW, "dest": L.REF_DEST, "diag": L.REF_DIAG, "volume": L.REF_VOLUME,
            "pending": L.REF_PENDING}


def _section(client, box: str, search: str) -> dict:
    return call(client, [(box, "children")], (L.REF_READY, "data", True), search)[box]["children"]


def _counted(fn):
    """(result of ``fn()``, output-cache hits, misses) of one call."""
    hits, misses = core_cache.STATS["output:hit"], core_cache.STATS["output:miss"]
    out = fn()
    return out, core_cache.STATS["output:hit"] - hits, core_cache.STATS["output:miss"] - misses


def _node_names(section: dict) -> list[str]:
    return list(section["props"]["figure"]["data"][0]["node"]["customdata"])


def _flow_total(section: dict) -> int:
    return int(sum(section["props"]["figure"]["data"][0]["link"]["value"]))


def test_a_managers_cached_referral_sections_are_never_served_to_another_manager(app_cfg, flask_app):
    from dashboard.accounts.service import create_user
    from dashboard.urlstate import month_to_period
    from queries.org import org_tree
    from queries.periods import last_complete_month
    from queries.referrals import referral_flows

    tree = org_tree(app_cfg.mart_url)
    month = last_complete_month(app_cfg.mart_url)
    search = f"?grain=quarter&period={month_to_period(month, 'quarter')}"
    start = pd.Period(month, "M").asfreq("Q").start_time.strftime("%Y-%m-%d")
    flows = referral_flows(app_cfg.mart_url, start, pd.Period(month, "M").asfreq("Q").end_time.strftime("%Y-%m-%d"))
    # two township centres of different townships, each referring someone in the quarter
    centres = tree[tree["inst_type"] == "township_center"]
    busy = [c for c in centres["inst_code"] if c in set(flows["from_inst_code"])]
    a = busy[0]
    town = dict(zip(tree["inst_code"], tree["township_code"]))
    b = next(c for c in busy if town[c] != town[a])
    insts = {a: [a], b: [b]}
    name = dict(zip(tree["inst_code"], tree["name"]))
    clients = {}
    for code, user in ((a, "refcache-a"), (b, "refcache-b")):
        password = "Qx7!" + user[::-1] + "-pw"
        create_user(app_cfg, user, "manager", password, insts[code], is_demo=True)
        clients[code], resp = login_client(flask_app, user, password)
        assert resp.status_code == 302

    first_a, _, miss_a = _counted(lambda: _section(clients[a], L.REF_FLOW, search))
    assert miss_a == 1 and name[a] in _node_names(first_a)
    first_b, hit_b, miss_b = _counted(lambda: _section(clients[b], L.REF_FLOW, search))
    assert (hit_b, miss_b) == (0, 1)                # the same view, another scope: computed, not A's entry
    assert name[b] in _node_names(first_b) and name[a] not in _node_names(first_b)
    assert name[b] not in _node_names(first_a)
    again_a, hit_a, _ = _counted(lambda: _section(clients[a], L.REF_FLOW, search))
    assert hit_a == 1 and again_a == first_a        # A's own entry, served from the cache

    # the pending list: B's call is computed for B, never A's entry (the tiny demo has no referral pending over
    # 24 h: both lists are empty here, so the key is what is checked)
    pend_a = _section(clients[a], L.REF_PENDING, search)
    _, hit_b, miss_b = _counted(lambda: _section(clients[b], L.REF_PENDING, search))
    assert (hit_b, miss_b) == (0, 1)
    again, hit_a, _ = _counted(lambda: _section(clients[a], L.REF_PENDING, search))
    assert hit_a == 1 and again == pend_a


def _referrals_again(cfg, month: str, out_dir, n: int = 40) -> tuple[int, int]:
    """Up to ``n`` referrals of ``month`` copied under new ids (a load that adds rows to that month only); returns
    (how many, how many of them link two institutions of the county: the Sankey's bands)."""
    from mart.connection import read_df
    df = read_df(cfg.mart_url, "SELECT * FROM referral WHERE strftime(request_time, '%Y-%m') = :m "
                               "ORDER BY referral_id LIMIT :n", {"m": month, "n": n})
    assert len(df) > 0
    df["referral_id"] = "RCACHE" + df["referral_id"].astype(str)
    for col in df.columns:
        if df[col].dtype == bool:
            df[col] = df[col].astype(int)
        elif pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif df[col].dtype.kind == "f" and (df[col].dropna() % 1 == 0).all():
            df[col] = df[col].astype("Int64")
    out_dir.mkdir()
    df.to_csv(out_dir / "referral.csv", index=False)
    return len(df), int(df["to_inst_code"].notna().sum())


def test_a_load_of_one_month_recomputes_that_months_referral_sections_only(demo_cfg, demo_copy, tmp_path):
    from dashboard.accounts.service import read_demo_accounts
    from dashboard.app import create_app
    from mart.connection import dispose_engines
    from mart.loader import load_directory
    from queries.periods import last_complete_month

    shutil.copy(demo_cfg.demo_accounts_path, demo_copy.demo_accounts_path)
    month = last_complete_month(demo_copy.mart_url)
    earlier = str(pd.Period(month, "M") - 12)
    app = create_app(demo_copy)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    client, resp = login_client(app, *read_demo_accounts(demo_copy)["leader"])
    assert resp.status_code == 302
    views = {m: f"?grain=month&period={m}" for m in (month, earlier)}
    try:
        before = {(m, s): _section(client, box, views[m]) for m in views for s, box in SECTIONS.items()}
        for (m, s), first in before.items():            # warm now
            again, hits, misses = _counted(lambda m=m, s=s: _section(client, SECTIONS[s], views[m]))
            assert (hits, misses, again) == (1, 0, first), (m, s)

        dispose_engines()
        rows, added = _referrals_again(demo_copy, month, tmp_path / "load")
        assert load_directory(demo_copy, tmp_path / "load").rows["referral"] == rows
        dispose_engines()

        for s, box in SECTIONS.items():
            same, hits, misses = _counted(lambda s=s, box=box: _section(client, box, views[earlier]))
            if s == "pending":      # as of the latest referral time of the whole table: any referral load
                assert misses == 1
                continue
            assert (hits, misses) == (1, 0), s          # another month: still served from the cache …
            assert same == before[(earlier, s)]
        for s, box in SECTIONS.items():
            fresh, hits, misses = _counted(lambda box=box: _section(client, box, views[month]))
            if s == "dest":         # outside-county settlements: not touched by a referral load
                assert (hits, misses, fresh) == (1, 0, before[(month, s)])
                continue
            assert (hits, misses) == (0, 1), s          # … the loaded month: recomputed
        flow = _section(client, L.REF_FLOW, views[month])
        assert _flow_total(flow) == _flow_total(before[(month, "flow")]) + added > 0
    finally:
        dispose_engines()
