"""The Sankey of /referrals (转诊流向): referring institutions on the left, receiving ones on the right.

Plotly draws a node's label on its inner side, across the link bands; here the nodes sit at fixed positions
computed the way Plotly sizes them, and the names are annotations outside the bands (left of the left column,
right of the right column). A manager sees institutions outside their scope only as "<township>其他机构".

The payload is kept small (it is sent on every view): each name is sent once per node (the link hover reads its
ends' names from the nodes: ``%{source.customdata}``), and what every name annotation shares (paper reference, no
arrow, font) is sent once, as the figure template's annotation defaults.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.views.figures import no_data_figure, plain_figure, plain_layout
from layouts._components import plotly_text

FLOW_LIMIT = 30
UP_COLOR, DOWN_COLOR = "rgba(46,109,164,0.55)", "rgba(46,139,87,0.55)"
REST_PREFIXES = ("agg-src-", "agg-dst-")     # the smallest flows, summed by township (see _group_small_flows)
SANKEY_PAD = 14                 # px between nodes of the busier side
SANKEY_TOP, SANKEY_BOTTOM = 40, 10
LABEL_FONT = 11                 # px; a CJK character is about as wide
NAME_COLOR = "#2c3e50"
LINK_HOVER = "%{customdata}：%{source.customdata} → %{target.customdata}<br>%{value:,} 人次<extra></extra>"
NODE_HOVER = "%{customdata}<br>%{value:,} 人次<extra></extra>"
# What every name annotation shares, sent once. The figure's explicit layout already holds every key of the
# app's base template (``base_layout``), so this small template replaces it without changing the picture.
NAME_DEFAULTS = dict(xref="paper", yref="paper", showarrow=False, yanchor="middle",
                     font=dict(size=LABEL_FONT, color=NAME_COLOR))
LEGEND_TEXT = "蓝色：上转　绿色：下转（左：转出机构，右：转入机构）"


def _aggregate_unseen(df: pd.DataFrame, user: Any) -> pd.DataFrame:
    """Replace institutions outside a manager's scope by their township's aggregate node."""
    if user.all_institutions or df.empty:
        return df
    df = df.copy()
    for end in ("from", "to"):
        hidden = ~df[f"{end}_inst_code"].map(user.may_see_institution)
        df.loc[hidden, f"{end}_name"] = df.loc[hidden, f"{end}_township"].fillna("") + "其他机构"
        df.loc[hidden, f"{end}_inst_code"] = "agg-" + df.loc[hidden, f"{end}_township"].fillna("")
    return (df.groupby(["direction", "from_inst_code", "from_name", "to_inst_code", "to_name"], as_index=False)
            ["referrals"].sum().sort_values("referrals", ascending=False))


FLOW_KEYS = ["direction", "from_inst_code", "from_name", "to_inst_code", "to_name"]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _group_small_flows(df: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The ``limit`` largest flows as they are; the smaller ones summed by township, so that every band still
    names where patients come from and go to ("白沙镇其他机构 → 丰安县总医院"), never "其他机构 → 其他机构".
    An institution that has a node of its own (in a large flow) keeps it; the others merge into their township.

    Plain Python over the rows (a few hundred at most): the pandas group-bys it replaces cost ~15 ms a call. The
    result is theirs: flows with a missing key left out, the merged tail summed in key order after the head,
    equal flows summed where first seen, then sorted by size (stable)."""
    cols = {c: df[c].tolist() for c in FLOW_KEYS + ["referrals"]}
    towns = {e: df[f"{e}_township"].tolist() if f"{e}_township" in df.columns else [None] * len(df)
             for e in ("from", "to")}
    head_from = set(cols["from_inst_code"][:limit])
    head_to = set(cols["to_inst_code"][:limit])
    rows = [tuple(cols[c][i] for c in FLOW_KEYS) + (cols["referrals"][i],) for i in range(min(limit, len(df)))]
    rest: dict[tuple, Any] = {}
    for i in range(limit, len(df)):
        key = [cols[c][i] for c in FLOW_KEYS]
        for end, side, keep in (("from", 1, head_from), ("to", 3, head_to)):
            if key[side] not in keep:
                town = "" if _missing(towns[end][i]) else str(towns[end][i])
                key[side + 1] = (town or "县内") + "其他机构"
                key[side] = ("agg-src-" if end == "from" else "agg-dst-") + town
        if any(_missing(k) for k in key):
            continue
        rest[tuple(key)] = rest.get(tuple(key), 0) + cols["referrals"][i]
    rows += [(*key, n) for key, n in sorted(rest.items(), key=lambda kv: kv[0])]
    summed: dict[tuple, Any] = {}
    for *key, n in rows:
        if any(_missing(k) for k in key):
            continue
        summed[tuple(key)] = summed.get(tuple(key), 0) + n
    out = pd.DataFrame([(*k, n) for k, n in summed.items()], columns=[*FLOW_KEYS, "referrals"])
    out["referrals"] = out["referrals"].astype(df["referrals"].dtype)
    return out.sort_values("referrals", ascending=False, kind="stable")


def _is_rest(code: str) -> bool:
    return str(code).startswith(REST_PREFIXES)


def _order(nodes: list[str], links: pd.DataFrame, key: str, other_key: str, other_pos: dict[str, float]) -> list[str]:
    """Nodes of one side sorted by the weighted mean position of the nodes they link to (fewer crossings)."""
    # one pass in plain Python (counts and positions are whole numbers: the sums are exact, as pandas' were)
    weighted: dict[str, float] = {}
    totals: dict[str, float] = {}
    for c, o, n in zip(links[key].tolist(), links[other_key].tolist(), links["referrals"].tolist()):
        weighted[c] = weighted.get(c, 0.0) + float(n) * float(other_pos[o])
        totals[c] = totals.get(c, 0.0) + float(n)
    centre = {c: weighted[c] / totals[c] if totals[c] else 0.0 for c in totals}
    return sorted(nodes, key=lambda c: (_is_rest(c), centre.get(c, 0.0), c))     # the summed rest goes last


def _centres(values: list[float], plot_px: float, ky: float) -> list[float]:
    """Vertical centre (0 top … 1 bottom) of each node of one side, spread over the plot height."""
    heights = [v * ky for v in values]
    n = len(heights)
    if n == 1:
        return [0.5]
    gap = max((plot_px - sum(heights)) / (n - 1), 0.0)
    out, y = [], 0.0
    for h in heights:
        out.append((y + h / 2) / plot_px)
        y += h + gap
    return out


def _label_px(text: str) -> int:
    return sum(LABEL_FONT if ord(ch) > 0x2E7F else LABEL_FONT // 2 + 1 for ch in text)


def flow_figure(df: pd.DataFrame, user: Any) -> dict | go.Figure:
    """The Sankey of ``queries.referrals.referral_flows`` rows as ``user`` (a ``metrics.scope.Scope``) may see them:
    the ``FLOW_LIMIT`` largest flows, the rest summed by township. Hover texts come from customdata. A plain-dict
    figure (the no-data figure when there is nothing to draw)."""
    df = _aggregate_unseen(df, user)
    if df.empty:
        return no_data_figure()
    if len(df) > FLOW_LIMIT:
        df = _group_small_flows(df, FLOW_LIMIT)
    df = df[df["referrals"] > 0].reset_index(drop=True)
    if df.empty:
        return no_data_figure()
    names = dict(zip(df["from_inst_code"], df["from_name"]))
    rnames = dict(zip(df["to_inst_code"], df["to_name"]))
    left_total = df.groupby("from_inst_code")["referrals"].sum()
    right_total = df.groupby("to_inst_code")["referrals"].sum()
    right = sorted(right_total.index, key=lambda c: (_is_rest(c), -right_total[c], c))
    left = _order(list(left_total.index), df, "from_inst_code", "to_inst_code",
                  {c: i for i, c in enumerate(right)})
    right = _order(right, df, "to_inst_code", "from_inst_code", {c: i for i, c in enumerate(left)})
    left = _order(left, df, "from_inst_code", "to_inst_code", {c: i for i, c in enumerate(right)})

    height = max(340, 26 * max(len(left), len(right)) + 40)
    plot_px = height - SANKEY_TOP - SANKEY_BOTTOM
    total = float(df["referrals"].sum())
    busiest = max(len(left), len(right))
    ky = (plot_px - (busiest - 1) * SANKEY_PAD) / total     # px per referral, as Plotly scales the nodes
    # 4 decimals are far below a pixel; 18-digit floats in the payload also read like ID numbers to masking scans
    ys = [round(y, 4) for y in _centres([float(left_total[c]) for c in left], plot_px, ky)
          + _centres([float(right_total[c]) for c in right], plot_px, ky)]
    node_names = [str(names[c]) for c in left] + [str(rnames[c]) for c in right]
    index_l = {c: i for i, c in enumerate(left)}
    index_r = {c: len(left) + i for i, c in enumerate(right)}
    sankey = {"arrangement": "fixed",
              "link": {"color": [UP_COLOR if d == "up" else DOWN_COLOR for d in df["direction"]],
                       "customdata": ["上转" if d == "up" else "下转" for d in df["direction"]],
                       "hovertemplate": LINK_HOVER, "source": [index_l[c] for c in df["from_inst_code"]],
                       "target": [index_r[c] for c in df["to_inst_code"]],
                       "value": [int(v) for v in df["referrals"].astype(int)]},
              "node": {"color": "#1f4e79", "customdata": [plotly_text(n) for n in node_names],
                       "hovertemplate": NODE_HOVER, "label": [""] * len(node_names), "pad": SANKEY_PAD,
                       "thickness": 12, "x": [0.001] * len(left) + [0.999] * len(right), "y": ys},
              "type": "sankey"}
    left_px = max(_label_px(n) for n in node_names[:len(left)]) + 16
    right_px = max(_label_px(n) for n in node_names[len(left):]) + 16
    layout = plain_layout(height)
    layout["margin"] = {"l": left_px, "r": right_px, "t": SANKEY_TOP, "b": SANKEY_BOTTOM}
    layout["template"] = _names_template()
    # the shared keys of every name come from the template's NAME_DEFAULTS
    notes = [dict(text=name, x=0, y=round(1 - ys[i], 4), xanchor="right", xshift=-10) if i < len(left) else
             dict(text=name, x=1, y=round(1 - ys[i], 4), xanchor="left", xshift=10)
             for i, name in enumerate(node_names)]
    notes.append(dict(font=dict(color="#6b7785", size=11), text=LEGEND_TEXT, x=0, xanchor="left",
                      xshift=-left_px + 10, y=1, yanchor="auto", yshift=24))
    layout["annotations"] = notes
    # a plain dict (what the Plotly objects gave): building and validating ~50 annotations cost more than the rest
    return plain_figure([sankey], layout)


_TEMPLATE: dict | None = None


def _names_template() -> dict:
    """The figure template holding :data:`NAME_DEFAULTS` as Plotly serialises it (made once)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = go.layout.Template(layout=dict(annotationdefaults=NAME_DEFAULTS)).to_plotly_json()
    return _TEMPLATE
