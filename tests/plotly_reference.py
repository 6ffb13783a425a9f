"""The Plotly-object figure builders that cold12 replaced with plain-dict ones, kept verbatim as the reference the
plain dicts must equal (``tests/test_cold_first_calls.py``)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.views.figures import LAST_YEAR, LINE, TARGET, _fmt, no_data_figure
from dashboard.views.pagekit import is_missing
from dashboard.views.referral_flow import (
    DOWN_COLOR,
    FLOW_LIMIT,
    LEGEND_TEXT,
    LINK_HOVER,
    NAME_DEFAULTS,
    NODE_HOVER,
    SANKEY_BOTTOM,
    SANKEY_PAD,
    SANKEY_TOP,
    UP_COLOR,
    _aggregate_unseen,
    _centres,
    _is_rest,
    _label_px,
)
from layouts._components import base_figure_layout, plotly_text
from layouts.formatting import fmt_month_zh


def base_layout(fig: go.Figure, height: int = 320, **kw: Any) -> go.Figure:
    """Common look: Chinese font, compact margins, white background, no plotly logo clutter."""
    fig.update_layout(base_figure_layout(height=height, margin=dict(l=10, r=16, t=30, b=10), **kw))
    fig.update_xaxes(showgrid=False, linecolor="#d0d7de", automargin=True)
    fig.update_yaxes(gridcolor="#eef1f4", zeroline=False, automargin=True)
    return fig


def plotly_trend_figure(rows: pd.DataFrame, unit: str, decimals: int, target_text: str = "",
                 forecast: pd.DataFrame | None = None) -> go.Figure:
    """Monthly trend: this period's line, last year dashed, target line; incomplete months marked hollow; the
    forecast of the coming months (when given) as a dashed line in a shaded 95 % band."""
    if rows.empty or rows["value"].isna().all():
        return no_data_figure()
    rows = rows.sort_values("period")
    x = [fmt_month_zh(p) for p in rows["period"]]
    incomplete = [not bool(c) if not is_missing(c) else False for c in rows.get("complete", [True] * len(rows))]
    partial = [bool(p) if not is_missing(p) else False for p in rows.get("partial", [False] * len(rows))]
    hollow = [i or p for i, p in zip(incomplete, partial)]
    fig = go.Figure()
    hover = [f"{xi}<br>本期 {_fmt(v, unit, decimals)}" + ("<br>未结束（数据截至目前）" if p else "")
             + ("<br>数据不完整" if inc else "") for xi, v, inc, p in zip(x, rows["value"], incomplete, partial)]
    values = list(rows["value"])
    # a period not over yet is drawn hollow at the end of a dashed segment, never as a solid point on the line
    solid = [None if p else v for v, p in zip(values, partial)]
    fig.add_trace(go.Scatter(
        x=x, y=solid, name="本期", mode="lines+markers", line=dict(color=LINE, width=2.5),
        marker=dict(size=[9 if i else 6 for i in hollow], color=["white" if i else LINE for i in hollow],
                    line=dict(color=LINE, width=2), symbol=["circle-open" if i else "circle" for i in hollow]),
        hovertext=hover, hoverinfo="text"))
    if any(partial):
        first = partial.index(True)
        seg = list(range(max(first - 1, 0), len(values)))
        fig.add_trace(go.Scatter(
            x=[x[i] for i in seg], y=[values[i] for i in seg], name="未结束", mode="lines+markers",
            line=dict(color=LINE, width=2, dash="dash"), showlegend=False,
            marker=dict(size=[9 if partial[i] else 0.1 for i in seg], color="white", line=dict(color=LINE, width=2),
                        symbol="circle-open"),
            hovertext=[hover[i] for i in seg], hoverinfo="text"))
    if "yoy_value" in rows and rows["yoy_value"].notna().any():
        fig.add_trace(go.Scatter(
            x=x, y=rows["yoy_value"], name="去年同期", mode="lines", line=dict(color=LAST_YEAR, dash="dash"),
            hovertext=[f"{xi}<br>去年同期 {_fmt(v, unit, decimals)}" for xi, v in zip(x, rows["yoy_value"])],
            hoverinfo="text"))
    targets = rows["target"].dropna() if "target" in rows else pd.Series(dtype=float)
    if not targets.empty:
        fig.add_trace(go.Scatter(x=x, y=rows["target"], name=f"目标 {target_text}".strip(), mode="lines",
                                 line=dict(color=TARGET, dash="dot", width=1.5), hoverinfo="skip"))
    if forecast is not None and not forecast.empty:
        _add_forecast(fig, x[-1], rows["value"].iloc[-1], forecast, unit, decimals)
    if any(hollow):
        why = "、".join(t for t, on in (("数据不完整", any(incomplete)), ("未结束", any(partial))) if on)
        fig.add_annotation(text=f"○ 空心点：{why}", xref="paper", yref="paper", x=1, y=1.12,
                           showarrow=False, font=dict(size=11, color="#b7791f"), xanchor="right")
    base_layout(fig)
    # never a negative axis for values that cannot be negative (a line of zeros would span −1 … 1)
    lowest = pd.to_numeric(rows["value"], errors="coerce").min()
    fig.update_yaxes(ticksuffix="%" if unit == "%" else "", separatethousands=True,
                     rangemode="nonnegative" if lowest >= 0 else "normal")
    return fig


def _add_forecast(fig: go.Figure, last_x: str, last_value: Any, fc: pd.DataFrame, unit: str,
                  decimals: int) -> None:
    """Dashed forecast line from the last actual month and its shaded 95 % prediction band."""
    fx = [fmt_month_zh(p) for p in fc["period"]]
    upper, lower = list(fc["upper"]), list(fc["lower"])
    fig.add_trace(go.Scatter(x=fx + fx[::-1], y=upper + lower[::-1], fill="toself", mode="lines",
                             line=dict(width=0), fillcolor="rgba(46,134,193,0.15)", name="预测区间 95%",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=[last_x] + fx, y=[last_value] + list(fc["value"]), name="预测", mode="lines+markers",
        line=dict(color=LINE, dash="dash", width=2), marker=dict(size=5),
        hovertext=[f"{last_x}<br>本期 {_fmt(last_value, unit, decimals)}"] + [
            f"{xi}<br>预测 {_fmt(v, unit, decimals)}（95%区间 {_fmt(lo, unit, decimals)}–{_fmt(hi, unit, decimals)}）"
            for xi, v, lo, hi in zip(fx, fc["value"], lower, upper)], hoverinfo="text"))


def plotly_flow_figure(df: pd.DataFrame, user: Any) -> go.Figure:
    """The Sankey of ``queries.referrals.referral_flows`` rows as ``user`` (a ``metrics.scope.Scope``) may see them:
    the ``FLOW_LIMIT`` largest flows, the rest summed by township. Hover texts come from customdata."""
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
    fig = go.Figure(go.Sankey(
        arrangement="fixed",
        node=dict(label=[""] * len(node_names), customdata=[plotly_text(n) for n in node_names], pad=SANKEY_PAD,
                  thickness=12, color="#1f4e79", x=[0.001] * len(left) + [0.999] * len(right), y=ys,
                  hovertemplate=NODE_HOVER),
        link=dict(source=[index_l[c] for c in df["from_inst_code"]],
                  target=[index_r[c] for c in df["to_inst_code"]], value=list(df["referrals"].astype(int)),
                  color=[UP_COLOR if d == "up" else DOWN_COLOR for d in df["direction"]],
                  customdata=["上转" if d == "up" else "下转" for d in df["direction"]],
                  hovertemplate=LINK_HOVER)))
    left_px = max(_label_px(n) for n in node_names[:len(left)]) + 16
    right_px = max(_label_px(n) for n in node_names[len(left):]) + 16
    base_layout(fig, height)
    fig.update_layout(margin=dict(l=left_px, r=right_px, t=SANKEY_TOP, b=SANKEY_BOTTOM),
                      template=go.layout.Template(layout=dict(annotationdefaults=NAME_DEFAULTS)))
    # all annotations in one assignment: add_annotation re-validates the whole list on every call (quadratic,
    # 0.3 s for 34 names); the shared keys come from NAME_DEFAULTS
    notes = [dict(text=name, x=0, y=round(1 - ys[i], 4), xanchor="right", xshift=-10) if i < len(left) else
             dict(text=name, x=1, y=round(1 - ys[i], 4), xanchor="left", xshift=10)
             for i, name in enumerate(node_names)]
    notes.append(dict(text=LEGEND_TEXT, x=0, y=1, yshift=24, yanchor="auto", font=dict(size=11, color="#6b7785"),
                      xanchor="left", xshift=-left_px + 10))
    fig.update_layout(annotations=notes)
    return fig


def _group_small_flows(df: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The ``limit`` largest flows as they are; the smaller ones summed by township, so that every band still
    names where patients come from and go to ("白沙镇其他机构 → 丰安县总医院"), never "其他机构 → 其他机构".
    An institution that has a node of its own (in a large flow) keeps it; the others merge into their township."""
    head, tail = df.iloc[:limit], df.iloc[limit:].copy()
    keep_to = set(head["to_inst_code"])
    town = {e: tail[f"{e}_township"].fillna("").astype(str) if f"{e}_township" in tail.columns
            else pd.Series("", index=tail.index) for e in ("from", "to")}
    merge_from = ~tail["from_inst_code"].isin(set(head["from_inst_code"]))
    tail.loc[merge_from, "from_name"] = (town["from"][merge_from].where(town["from"][merge_from] != "", "县内")
                                         + "其他机构")
    tail.loc[merge_from, "from_inst_code"] = "agg-src-" + town["from"][merge_from]
    merge_to = ~tail["to_inst_code"].isin(keep_to)
    tail.loc[merge_to, "to_name"] = town["to"][merge_to].where(town["to"][merge_to] != "", "县内") + "其他机构"
    tail.loc[merge_to, "to_inst_code"] = "agg-dst-" + town["to"][merge_to]
    rest = (tail.groupby(["direction", "from_inst_code", "from_name", "to_inst_code", "to_name"], as_index=False)
            ["referrals"].sum())
    out = pd.concat([head, rest], ignore_index=True)
    return (out.groupby(["direction", "from_inst_code", "from_name", "to_inst_code", "to_name"], as_index=False,
                        sort=False)["referrals"].sum().sort_values("referrals", ascending=False, kind="stable"))


def _order(nodes: list[str], links: pd.DataFrame, key: str, other_key: str, other_pos: dict[str, float]) -> list[str]:
    """Nodes of one side sorted by the weighted mean position of the nodes they link to (fewer crossings)."""
    # one grouped pass (a filter per node cost ~2 ms each)
    w = links["referrals"].astype(float)
    weighted = (w * links[other_key].map(other_pos).astype(float)).groupby(links[key]).sum()
    totals = w.groupby(links[key]).sum()
    centre = {c: float(weighted[c] / totals[c]) if totals.get(c, 0) else 0.0 for c in totals.index}
    return sorted(nodes, key=lambda c: (_is_rest(c), centre.get(c, 0.0), c))     # the summed rest goes last


def plotly_outside_figure(search: str | None) -> go.Figure:
    """Outside-county settlements per month: with a referral (orderly) vs without, stacked (engine indicators
    ``outside_referred`` / ``outside_unreferred``, so they add up to ``outside_settlements``)."""
    from dashboard.callbacks.referrals import MONTHS, _context, _residence_org, kit
    ctx = _context(search)
    level, org = _residence_org(ctx)
    df = kit.compute(["outside_referred", "outside_unreferred"], level, "month",
                     kit.add_months(ctx["end"], -(MONTHS - 1)), ctx["end"], org, False)
    if df.empty or (df["value"].fillna(0) == 0).all():
        return no_data_figure()
    wide = df.pivot_table(index="period", columns="indicator_id", values="value", aggfunc="first").sort_index()
    x = [fmt_month_zh(p) for p in wide.index]
    fig = go.Figure([go.Bar(x=x, y=wide.get("outside_referred"), name="有序转诊", marker_color="#2e8b57"),
                     go.Bar(x=x, y=wide.get("outside_unreferred"), name="自行外出", marker_color="#c0392b")])
    base_layout(fig, 340, barmode="stack")
    fig.update_yaxes(title_text="结算人次", separatethousands=True)
    return fig


def plotly_volume_figure(search: str | None) -> go.Figure:
    """Up and down referrals per month (bars) with the down/up ratio (line, right axis), from the engine."""
    from dashboard.callbacks.referrals import MONTHS, _context, kit, ratio_axis
    ctx = _context(search)
    state = ctx["state"]
    df = kit.compute(["up_referrals", "down_referrals", "down_up_ratio"], ctx["level"], "month",
                     kit.add_months(ctx["end"], -(MONTHS - 1)), ctx["end"], state.org, False)
    if df.empty or df["value"].isna().all() or (df.loc[df.indicator_id != "down_up_ratio", "value"]
                                                .fillna(0) == 0).all():
        return no_data_figure()
    wide = df.pivot_table(index="period", columns="indicator_id", values="value", aggfunc="first").sort_index()
    x = [fmt_month_zh(p) for p in wide.index]
    fig = go.Figure()
    fig.add_bar(x=x, y=wide.get("up_referrals"), name="上转人次", marker_color="#2e6da4")
    fig.add_bar(x=x, y=wide.get("down_referrals"), name="下转人次", marker_color="#2e8b57")
    if "down_up_ratio" in wide:
        fig.add_scatter(x=x, y=wide["down_up_ratio"], name="下转/上转比", yaxis="y2", mode="lines+markers",
                        line=dict(color="#d68f00", width=2))
    ratios = pd.to_numeric(wide["down_up_ratio"], errors="coerce") if "down_up_ratio" in wide else pd.Series()
    base_layout(fig, 340, barmode="group",
                yaxis2=dict(overlaying="y", side="right", showgrid=False, title="比值", **ratio_axis(ratios.max())))
    fig.update_yaxes(title_text="人次", selector=dict(anchor="x"), separatethousands=True)
    return fig
