"""Plotly figure builders of the indicator pages (pure functions of engine DataFrames; no queries)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.labels import STATUS_COLORS
from dashboard.views.pagekit import NO_DATA, clean, is_missing
from layouts._components import base_figure_layout, default_template_json
from layouts.formatting import fmt_month_zh, fmt_value

LINE = "#2f6fde"
LAST_YEAR = "#9aa5b1"
TARGET = "#d64545"


X_AXIS = {"showgrid": False, "linecolor": "#d0d7de", "automargin": True}
Y_AXIS = {"gridcolor": "#eef1f4", "zeroline": False, "automargin": True}


def base_layout(fig: go.Figure, height: int = 320, **kw: Any) -> go.Figure:
    """Common look: Chinese font, compact margins, white background, no plotly logo clutter; every x axis gets
    :data:`X_AXIS`, every y axis :data:`Y_AXIS` (those in ``kw`` — :func:`plain_layout` — and the figure's own).
    One layout update: what ``update_layout`` then ``update_xaxes``/``update_yaxes`` gave, at a sixth of the cost."""
    layout = plain_layout(height, **kw)
    for key in fig.layout:
        if key.startswith(("xaxis", "yaxis")) and fig.layout[key] is not None and key not in layout:
            layout[key] = X_AXIS if key.startswith("x") else Y_AXIS
    fig.update_layout(layout)
    return fig


def no_data_figure(message: str = NO_DATA, height: int = 320) -> go.Figure:
    """An empty chart that says why (never an empty axis)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=16, color="#7b8794"))
    base_layout(fig, height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _fmt(v: Any, unit: str, decimals: int) -> str:
    return fmt_value(clean(v), unit, decimals)


def plain_layout(height: int = 320, **kw: Any) -> dict[str, Any]:
    """The layout :func:`base_layout` gives a figure, as a plain dict (also for figures built without Plotly
    objects): every axis named in ``kw`` gets :data:`X_AXIS` / :data:`Y_AXIS` over what ``kw`` says of it."""
    layout = base_figure_layout(height=height, margin=dict(l=10, r=16, t=30, b=10), **kw)
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))]:
        given = layout[key]
        layout[key] = {**(given if isinstance(given, dict) else {}), **(X_AXIS if key.startswith("x") else Y_AXIS)}
    return layout


def _plain(values: Any) -> Any:
    """A data array as Plotly's validators keep it: a list or tuple as a list of Python scalars; a Series or
    array stays an array (sent as a typed array by :func:`plain_figure`, as Plotly sends it)."""
    if isinstance(values, (list, tuple)):
        return [v.item() if hasattr(v, "item") else v for v in values]
    return values


def plain_figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    """A figure as plain dicts, equal to what ``go.Figure(traces, layout).to_plotly_json()`` sends (the default
    template embedded unless ``layout`` names one; arrays as Plotly's typed-array specs): no Plotly objects are
    built or validated."""
    from _plotly_utils.utils import convert_to_base64
    tmpl = default_template_json()
    if "template" not in layout and tmpl is not None:
        layout = {"template": tmpl, **layout}
    fig = {"data": traces, "layout": layout}
    convert_to_base64(fig["data"])
    return fig


def _scatter(**kw: Any) -> dict[str, Any]:
    out = {k: (_plain(v) if k in ("x", "y", "hovertext") else v) for k, v in kw.items()}
    return {**out, "type": "scatter"}


def trend_figure(rows: pd.DataFrame, unit: str, decimals: int, target_text: str = "",
                 forecast: pd.DataFrame | None = None) -> dict[str, Any] | go.Figure:
    """Monthly trend: this period's line, last year dashed, target line; incomplete months marked hollow; the
    forecast of the coming months (when given) as a dashed line in a shaded 95 % band. A plain-dict figure (the
    one Plotly's objects gave, without building them); the no-data figure when there is nothing to draw."""
    if rows.empty or rows["value"].isna().all():
        return no_data_figure()
    rows = rows.sort_values("period")
    x = [fmt_month_zh(p) for p in rows["period"]]
    incomplete = [not bool(c) if not is_missing(c) else False for c in rows.get("complete", [True] * len(rows))]
    partial = [bool(p) if not is_missing(p) else False for p in rows.get("partial", [False] * len(rows))]
    hollow = [i or p for i, p in zip(incomplete, partial)]
    traces: list[dict[str, Any]] = []
    hover = [f"{xi}<br>本期 {_fmt(v, unit, decimals)}" + ("<br>未结束（数据截至目前）" if p else "")
             + ("<br>数据不完整" if inc else "") for xi, v, inc, p in zip(x, rows["value"], incomplete, partial)]
    values = _plain(list(rows["value"]))
    # a period not over yet is drawn hollow at the end of a dashed segment, never as a solid point on the line
    solid = [None if p else v for v, p in zip(values, partial)]
    traces.append(_scatter(
        x=x, y=solid, name="本期", mode="lines+markers", line=dict(color=LINE, width=2.5),
        marker=dict(size=[9 if i else 6 for i in hollow], color=["white" if i else LINE for i in hollow],
                    line=dict(color=LINE, width=2), symbol=["circle-open" if i else "circle" for i in hollow]),
        hovertext=hover, hoverinfo="text"))
    if any(partial):
        first = partial.index(True)
        seg = list(range(max(first - 1, 0), len(values)))
        traces.append(_scatter(
            x=[x[i] for i in seg], y=[values[i] for i in seg], name="未结束", mode="lines+markers",
            line=dict(color=LINE, width=2, dash="dash"), showlegend=False,
            marker=dict(size=[9 if partial[i] else 0.1 for i in seg], color="white", line=dict(color=LINE, width=2),
                        symbol="circle-open"),
            hovertext=[hover[i] for i in seg], hoverinfo="text"))
    if "yoy_value" in rows and rows["yoy_value"].notna().any():
        traces.append(_scatter(
            x=x, y=rows["yoy_value"], name="去年同期", mode="lines", line=dict(color=LAST_YEAR, dash="dash"),
            hovertext=[f"{xi}<br>去年同期 {_fmt(v, unit, decimals)}" for xi, v in zip(x, rows["yoy_value"])],
            hoverinfo="text"))
    targets = rows["target"].dropna() if "target" in rows else pd.Series(dtype=float)
    if not targets.empty:
        traces.append(_scatter(x=x, y=rows["target"], name=f"目标 {target_text}".strip(), mode="lines",
                               line=dict(color=TARGET, dash="dot", width=1.5), hoverinfo="skip"))
    if forecast is not None and not forecast.empty:
        traces += _forecast_traces(x[-1], rows["value"].iloc[-1], forecast, unit, decimals)
    layout = plain_layout()
    if any(hollow):
        why = "、".join(t for t, on in (("数据不完整", any(incomplete)), ("未结束", any(partial))) if on)
        layout["annotations"] = [dict(font=dict(color="#b7791f", size=11), showarrow=False,
                                      text=f"○ 空心点：{why}", x=1, xanchor="right", xref="paper", y=1.12,
                                      yref="paper")]
    # never a negative axis for values that cannot be negative (a line of zeros would span −1 … 1)
    lowest = pd.to_numeric(rows["value"], errors="coerce").min()
    layout["yaxis"] = {**layout["yaxis"], "ticksuffix": "%" if unit == "%" else "", "separatethousands": True,
                       "rangemode": "nonnegative" if lowest >= 0 else "normal"}
    return plain_figure(traces, layout)


def _forecast_traces(last_x: str, last_value: Any, fc: pd.DataFrame, unit: str,
                     decimals: int) -> list[dict[str, Any]]:
    """Dashed forecast line from the last actual month and its shaded 95 % prediction band."""
    fx = [fmt_month_zh(p) for p in fc["period"]]
    upper, lower = _plain(list(fc["upper"])), _plain(list(fc["lower"]))
    last_value = last_value.item() if hasattr(last_value, "item") else last_value
    return [_scatter(x=fx + fx[::-1], y=upper + lower[::-1], fill="toself", mode="lines",
                     line=dict(width=0), fillcolor="rgba(46,134,193,0.15)", name="预测区间 95%",
                     hoverinfo="skip"),
            _scatter(
                x=[last_x] + fx, y=[last_value] + _plain(list(fc["value"])), name="预测", mode="lines+markers",
                line=dict(color=LINE, dash="dash", width=2), marker=dict(size=5),
                hovertext=[f"{last_x}<br>本期 {_fmt(last_value, unit, decimals)}"] + [
                    f"{xi}<br>预测 {_fmt(v, unit, decimals)}（95%区间 {_fmt(lo, unit, decimals)}–"
                    f"{_fmt(hi, unit, decimals)}）" for xi, v, lo, hi in zip(fx, fc["value"], lower, upper)],
                hoverinfo="text")]


def bar_figure(rows: pd.DataFrame, unit: str, decimals: int, worst_first_desc: bool,
               highlight: str | None = None, height: int | None = None, name_col: str = "org_name",
               links: dict[str, str] | None = None) -> go.Figure:
    """Horizontal bars sorted worst on top, coloured by status; customdata carries org codes for drilling.

    ``worst_first_desc``: True when higher is worse (direction ↓), so the largest value is drawn on top.
    Incomplete rows are labelled with '*' and hatched; the highlighted org is outlined. ``links`` maps org codes
    to the query string a click should open: customdata is ``[org_code, search]`` so that the browser can follow
    the drill without another server round trip.
    """
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return no_data_figure(height=height or 320)
    rows = rows.sort_values("value", ascending=not worst_first_desc)
    rows = rows.iloc[::-1]      # plotly draws the first category at the bottom
    incomplete = [not bool(c) if not is_missing(c) else False for c in rows.get("complete", [True] * len(rows))]
    labels = [f"{n}*" if inc else str(n) for n, inc in zip(rows[name_col], incomplete)]
    colors = [STATUS_COLORS.get(clean(s), STATUS_COLORS[None]) for s in rows.get("status", [None] * len(rows))]
    outline = [3 if highlight and c == highlight else 0 for c in rows["org_code"]]
    text = [_fmt(v, unit, decimals) for v in rows["value"]]
    fig = go.Figure(go.Bar(
        x=rows["value"], y=labels, orientation="h", marker=dict(
            color=colors, line=dict(color="#243447", width=outline),
            pattern=dict(shape=["/" if i else "" for i in incomplete], fgcolor="white")),
        text=text, textposition="outside", cliponaxis=False, customdata=[[str(c), (links or {}).get(str(c))] for c in rows["org_code"]],
        hovertext=[f"{lab}<br>{t}<br>{clean(s) or '无目标'}" for lab, t, s in
                   zip(labels, text, rows.get("status", [None] * len(rows)))], hoverinfo="text"))
    targets = rows["target"].dropna() if "target" in rows else pd.Series(dtype=float)
    top = 30
    if not targets.empty and targets.nunique() == 1:
        target = float(targets.iloc[0])
        fig.add_vline(x=target, line=dict(color=TARGET, dash="dot", width=1.5))
        # The label sits above the plot area, not at the top bar where it would cover that bar's value label.
        fig.add_annotation(x=target, xref="x", y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=f"目标 {_fmt(target, unit, decimals)}", font=dict(size=11, color=TARGET))
        top = 40
    base_layout(fig, height or max(220, 26 * len(rows) + 70))
    fig.update_layout(margin=dict(t=top))
    fig.update_layout(showlegend=False, bargap=0.25)
    vals = pd.to_numeric(rows["value"], errors="coerce")
    vmax = max(float(vals.max()), float(targets.max()) if not targets.empty else float("-inf"))
    vmin = min(0.0, float(vals.min()))
    if vmax > 0:     # room on the right for the value labels drawn outside the bars
        fig.update_xaxes(range=[vmin * 1.15, vmax * 1.15])
    elif vmin == 0:  # every bar is 0 (a count nobody reached): an axis from 0, not −1 … 1
        fig.update_xaxes(range=[0, 1], tickvals=[0])
    fig.update_xaxes(showgrid=True, gridcolor="#eef1f4", ticksuffix="%" if unit == "%" else "")
    return fig


def sparkline(values: Sequence[Any], status: str | None = None) -> go.Figure:
    """A 12-month sparkline for a card (no axes)."""
    ys = [clean(v) for v in values]
    fig = go.Figure(go.Scatter(y=ys, mode="lines", line=dict(color=STATUS_COLORS.get(status, LINE)
                                                              if status else LINE, width=2),
                               hoverinfo="skip"))
    fig.update_layout(height=44, margin=dict(l=0, r=0, t=2, b=2), paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", showlegend=False)
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)
    return fig
