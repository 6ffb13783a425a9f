"""What a health-bureau leader notices first, through the real Dash endpoint on the session's tiny demo mart:
the reform map's referral counts agree with /referrals, the cockpit's freshness banner and alert list."""
from __future__ import annotations

import json
import re

import pandas as pd

from metrics.engine import compute
from tests.test_maps_callbacks import render

PERIOD = "?grain=quarter&period=2026Q3"


def _number(text: str, label: str) -> int:
    m = re.search(re.escape(label) + r" ([\d,]+) 人次", text)
    assert m, (label, text)
    return int(m.group(1).replace(",", ""))


def test_reform_map_counts_equal_the_referral_page(client_as, app_cfg):
    out = render(client_as("leader"), "reform", PERIOD)
    text = json.dumps(out["subtitle"], ensure_ascii=False)
    inside, outside, down = _number(text, "县内上转"), _number(text, "转县外"), _number(text, "下转")
    eng = compute(["up_referrals", "down_referrals"], "county", "quarter", "2026-07", "2026-09",
                  mart_url=app_cfg.mart_url, comparisons=False).set_index("indicator_id")["value"]
    assert outside > 0 and inside > 0
    assert inside + outside == int(eng["up_referrals"])
    assert down == int(eng["down_referrals"])
    assert not re.search(r"(?<![内])上转 [\d,]+ 人次", text.replace("县内上转", "")), text


# ---------------------------------------------------------------------------------------------- freshness banner

def _banner(client) -> str:
    from layouts import _pageparts as L
    from tests.test_maps_callbacks import _post
    resp = _post(client, [(L.FRESHNESS, "children")], [(L.READY, "data", True)], [("url", "search", "")])
    return json.dumps(resp[L.FRESHNESS]["children"], ensure_ascii=False)


def _org(cfg) -> pd.DataFrame:
    from queries.org import org_tree
    return org_tree(cfg.mart_url)


def test_freshness_banner_names_each_institution_once_and_shows_the_exchange(client_as, app_cfg):
    from dashboard.exchange import quality as xq
    from dashboard.exchange import service as svc
    from queries.periods import incomplete_institutions, last_complete_month
    text = _banner(client_as("leader"))
    month = last_complete_month(app_cfg.mart_url)
    missing = incomplete_institutions(app_cfg.mart_url, month)
    assert missing["inst_code"].duplicated().any(), "the tiny demo should have an institution missing 2+ sources"
    for name in missing["name"].unique()[:5]:
        assert text.count(name) == 1, (name, text)
    # the exchange side: nodes offline or failing now and uploads behind schedule, with a link to /quality
    nodes = svc.node_states(app_cfg)
    down = nodes[nodes["state"].isin(["offline", "failed"])]
    behind = xq.behind_schedule(app_cfg)
    if len(down):
        assert f"前置机离线或异常 {len(down)} 台" in text, text
    if len(behind):
        assert f"上传滞后 {behind['inst_code'].nunique()} 家" in text, text
    if not len(down) and not len(behind):
        assert "数据交换正常" in text
    assert '"href": "/quality"' in text


def test_freshness_banner_respects_a_managers_scope(client_as, app_cfg):
    from tests.test_maps_callbacks import manager_codes
    codes = manager_codes(app_cfg)
    text = _banner(client_as("manager"))
    tree = _org(app_cfg)
    others = [n for c, n in zip(tree["inst_code"], tree["name"]) if c not in codes]
    leaked = [n for n in others if n in text]
    assert not leaked, leaked
    assert "数据更新至" in text


# ---------------------------------------------------------------------------------------------- alert list

def test_alert_list_is_diverse_and_skips_unreliable_rows(app_cfg):
    from dashboard.views.alert_list import ALERTS_PER_INDICATOR, alert_ids, rank_alerts
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    df = compute(alert_ids(), "institution", "month", month, month, mart_url=app_cfg.mart_url, comparisons=False)
    tree = _org(app_cfg)
    level = dict(zip(tree["inst_code"], tree["level"]))
    out = rank_alerts(df, level)
    out_of_target = df[df["status"].isin(["未达标", "预警"])]
    assert not out.empty and len(out_of_target) > len(out)
    assert out["indicator_id"].value_counts().max() <= ALERTS_PER_INDICATOR
    assert not out["small_sample"].fillna(False).astype(bool).any()
    assert out["complete"].fillna(True).astype(bool).all()
    reliable = out_of_target[~out_of_target["small_sample"].fillna(False).astype(bool)
                             & out_of_target["complete"].fillna(True).astype(bool)]
    if (reliable["org_code"].map(level) != "village").any():
        assert (out["org_code"].map(level) != "village").all()
    # within an indicator, the largest relative gap to the target comes first (未达标 before 预警)
    for _ind, grp in out.groupby("indicator_id"):
        keys = list(zip(grp["rank"], -grp["gap"]))
        assert keys == sorted(keys)


def test_rank_alerts_rules_on_a_small_frame():
    from dashboard.views.alert_list import rank_alerts
    rows = []
    for n in range(6):              # one indicator with six failing township centres
        rows.append(("a", f"T{n}", 10.0 + n, 5.0, "未达标", True, False))
    rows += [("b", "V1", 50.0, 5.0, "未达标", True, False),      # a village clinic with the biggest gap
             ("b", "T9", 9.0, 5.0, "未达标", True, True),        # small sample
             ("c", "T8", 9.0, 5.0, "未达标", False, False),      # incomplete month
             ("c", "H1", 5.5, 5.0, "预警", True, False)]
    df = pd.DataFrame(rows, columns=["indicator_id", "org_code", "value", "target", "status", "complete",
                                     "small_sample"])
    level = {**{f"T{n}": "township" for n in range(10)}, "V1": "village", "H1": "county"}
    out = rank_alerts(df, level)
    assert list(out["org_code"]) == ["T5", "T4", "T3", "H1"]
    villages_only = rank_alerts(df[df["org_code"] == "V1"], level)
    assert list(villages_only["org_code"]) == ["V1"]


# ---------------------------------------------------------------------------------------------- issue 5 audit

def test_alerts_leave_out_structural_zero_ratios(app_cfg):
    """Township centres never refer down by design: their 下转与上转人次比 0.00 took 3 of the top 4 alerts."""
    from dashboard.views.alert_list import ALERT_INST_LEVELS, alert_ids, rank_alerts
    from queries.periods import last_complete_month
    month = last_complete_month(app_cfg.mart_url)
    df = compute(alert_ids(), "institution", "month", month, month, mart_url=app_cfg.mart_url, comparisons=False)
    tree = _org(app_cfg)
    level = dict(zip(tree["inst_code"], tree["level"]))
    ratio = df[(df["indicator_id"] == "down_up_ratio") & df["status"].isin(["未达标", "预警"])]
    assert (ratio["org_code"].map(level) != "county").any(), "the demo has failing township ratios to leave out"
    out = rank_alerts(df, level, limit=1000, per_indicator=1000)
    hits = out[out["indicator_id"] == "down_up_ratio"]
    assert set(hits["org_code"].map(level)) <= set(ALERT_INST_LEVELS["down_up_ratio"])
    # the rule on a small frame: the county hospital's ratio stays, the centre's goes
    small = pd.DataFrame([("down_up_ratio", "T1", 0.0, 0.5, "未达标", True, False),
                          ("down_up_ratio", "H1", 0.2, 0.5, "未达标", True, False)],
                         columns=["indicator_id", "org_code", "value", "target", "status", "complete",
                                  "small_sample"])
    assert list(rank_alerts(small, {"T1": "township", "H1": "county"})["org_code"]) == ["H1"]


def _referral_figure(client, box: str) -> dict:
    from layouts import _pageparts as L
    from tests.test_maps_callbacks import _post
    resp = _post(client, [(box, "children")], [(L.REF_READY, "data", True)], [("url", "search", PERIOD)])
    return resp[box]["children"]["props"]["figure"]


def test_sankey_names_sit_outside_the_link_bands(client_as):
    """Plotly draws node labels on the inner side, over the bands: the names are annotations in the margins."""
    from layouts import _pageparts as L
    fig = _referral_figure(client_as("leader"), L.REF_FLOW)
    sankey = fig["data"][0]
    nodes = sankey["node"]
    assert set(nodes["label"]) == {""}                         # Plotly draws no label itself
    names = nodes["customdata"]
    xs, ys = nodes["x"], nodes["y"]
    labels = [a for a in fig["layout"]["annotations"] if a["text"] in names]
    assert len(labels) == len(names)
    for a in labels:
        i = next(k for k, n in enumerate(names) if n == a["text"] and abs(1 - ys[k] - a["y"]) < 1e-9)
        if xs[i] < 0.5:       # left column: right-aligned left of the plot area
            assert a["x"] == 0 and a["xanchor"] == "right" and a["xshift"] < 0
        else:
            assert a["x"] == 1 and a["xanchor"] == "left" and a["xshift"] > 0
    margin = fig["layout"]["margin"]
    assert margin["l"] >= 11 * max(len(a["text"]) for a in labels if a["x"] == 0)
    assert all(0 <= y <= 1 for y in ys)
    assert "%{customdata" in sankey["link"]["hovertemplate"] and "%{customdata}" in nodes["hovertemplate"]


def test_ratio_axis_has_round_ticks(client_as):
    import math

    from dashboard.callbacks.referrals import ratio_axis
    from layouts import _pageparts as L
    fig = _referral_figure(client_as("leader"), L.REF_VOLUME)
    axis = fig["layout"]["yaxis2"]
    ticks = axis["tickvals"]
    step = round(ticks[1] - ticks[0], 10)
    assert ticks[0] == 0 and len(ticks) >= 3
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5), ticks
    assert axis["range"][1] >= ticks[-1]
    assert ratio_axis(0.39)["tickvals"] == [0.0, 0.1, 0.2, 0.3, 0.4]      # was 0, 0.13, 0.26, 0.39
