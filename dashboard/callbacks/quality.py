"""Callbacks of 数据质量 /quality (leaders, managers, operators; the web gate checks the role per module).

One callback per section; each calls one exchange-quality service function for the chosen number of days.
Scope: a manager sees only the assigned institutions (the figures are computed over them); leaders and
operators see every institution (exchange figures hold no patient rows).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboard.exchange import quality as qsvc
from dashboard.exchange.service import now_local
from dashboard.views.minute_cache import CACHE_SECONDS, cached  # noqa: F401 — CACHE_SECONDS read by tests
from layouts import _exchange_parts as P
from layouts._components import (
    GRAPH_CONFIG,
    base_figure_layout,
    column_def,
    data_table,
    empty_state,
    error_card,
    kpi_card,
    safe_figure,
)

log = logging.getLogger(__name__)
LAST_TIMINGS: dict[str, float] = {}
FIG_COLORS = {"upload_timeliness": "#1f4e79", "job_success_rate": "#27ae60", "node_online_rate": "#8e44ad",
              "reject_rate": "#c0392b"}


def _cfg():
    from dashboard.app import get_config
    return get_config()


def scope_codes() -> tuple[frozenset[str] | None, str]:
    """(institutions the user may see, None = all; label) from the logged-in user, on the server."""
    from dashboard.accounts.access import current_role, current_scope
    role = current_role()
    if role == "manager":
        scope = current_scope()
        return frozenset(scope.inst_codes), f"授权机构 {len(scope.inst_codes)} 家"
    if role in ("leader", "operator"):
        return None, "全部机构"
    return frozenset(), "无"


def days_arg(days: Any) -> int:
    """The day window (7, 14 or 30; anything else → the default)."""
    return days if days in {o["value"] for o in P.DAY_OPTIONS} else P.DEFAULT_DAYS


def _window(days: int, now: dt.datetime) -> tuple[dt.date, dt.date]:
    end = now.date()
    return end - dt.timedelta(days=days - 1), end


def _indicator(fig: str):
    from metrics.catalogue import INDICATORS
    return INDICATORS.get(fig)


def _status(fig: str, ratio: float | None) -> str | None:
    from metrics.status import status_of
    ind = _indicator(fig)
    if ind is None or ratio is None or (isinstance(ratio, float) and np.isnan(ratio)):
        return None
    return status_of(ind, ratio * 100)


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


PAST_BUCKET_MINUTES = 10     # settled days before today are recomputed at most every 10 minutes
COUNT_COLS = [c for f in qsvc.FIGURES for c in qsvc.FIGURE_PARTS[f]]


def quality_frame(days: Any, now: dt.datetime, codes: Iterable[str] | None) -> pd.DataFrame:
    """Figures by institution and day for the window, computed once per minute, window and scope and shared by
    the page's sections (each section regroups it: every figure is a ratio of sums)."""
    days = days_arg(days)
    now = now.replace(second=0, microsecond=0)
    start, end = _window(days, now)
    by = ["inst_code", "day"]
    today = cached("daily", now, codes, lambda: qsvc.quality_daily(
        _cfg(), end, end, now=now, by=by, inst_codes=codes))
    if start >= end:
        return today
    # Past days are settled (their slots have closed), so they are computed once per 10 minutes and only today
    # once per minute: a window of 30 days then costs one day's work on most requests. Rows are per day, so the
    # two parts concatenate to exactly the whole window.
    bucket = now.replace(minute=now.minute - now.minute % PAST_BUCKET_MINUTES)
    past = cached("daily_past", bucket, codes, lambda: qsvc.quality_daily(
        _cfg(), start, end - dt.timedelta(days=1), now=now, by=by, inst_codes=codes), days,
        timeout=PAST_BUCKET_MINUTES * 60 + 60)
    if past.empty:
        return today
    if today.empty:
        return past
    return pd.concat([past, today], ignore_index=True)


def behind_frame(now: dt.datetime, codes: Iterable[str] | None) -> pd.DataFrame:
    """``behind_schedule`` once per minute and scope."""
    now = now.replace(second=0, microsecond=0)
    return cached("behind", now, codes, lambda: qsvc.behind_schedule(_cfg(), now=now, inst_codes=codes))


def last_frame(now: dt.datetime, codes: Iterable[str] | None) -> pd.DataFrame:
    """``last_upload`` once per minute and scope."""
    return cached("last", now.replace(second=0, microsecond=0), codes,
                  lambda: qsvc.last_upload(_cfg(), inst_codes=codes))


def regroup(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sum numerators and denominators over ``by`` (all rows when empty) and recompute the figures."""
    cols = COUNT_COLS
    if by:
        out = df.groupby(by, as_index=False)[cols].sum()
        if "inst_code" in by:
            out = out.merge(df[["inst_code", "name"]].drop_duplicates("inst_code"), on="inst_code", how="left")
    else:
        out = df[cols].sum().to_frame().T
    for fig, (num, den) in qsvc.FIGURE_PARTS.items():
        out[fig] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0, 1), np.nan)
    return out


def kpis(days: Any, now: dt.datetime | None = None, codes: Iterable[str] | None = None) -> Any:
    """Four cards: each figure over the window, with numerator/denominator, target and status."""
    now = now or now_local()
    base = quality_frame(days, now, codes)
    total = regroup(base, []) if len(base) else base
    if total.empty:
        return empty_state("尚无交换数据")
    row = total.iloc[0]
    cards = []
    for fig in qsvc.FIGURES:
        num, den = qsvc.FIGURE_PARTS[fig]
        value = _ratio(float(row[num]), float(row[den]))
        ind = _indicator(fig)
        cards.append(kpi_card(qsvc.FIGURE_ZH[fig], None if np.isnan(value) else value * 100, "%",
                              decimals=2 if fig == "reject_rate" else 1,
                              target_text=getattr(ind, "target_text", None), status=_status(fig, value),
                              direction=getattr(ind, "direction", None),
                              note=f"{int(row[num]):,} / {int(row[den]):,}"))
    return html.Div(cards, className="kpi-grid")


def reject_axis_top(reject_pct: Iterable[float], target_pct: float | None) -> float:
    """Top of the reject-rate axis (%): twice the target (so the target sits mid-axis; 1 % without one) or
    1.2 × the largest value when that is higher. Rates of a few hundredths of a percent then stay near the floor
    instead of swinging across the whole chart as they would on an axis fitted to them."""
    values = [float(v) for v in reject_pct if v is not None and not np.isnan(v)]
    floor = 2 * target_pct if target_pct else 1.0
    return max(floor, 1.2 * max(values, default=0.0))


def nice_step(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least ``x`` (> 0)."""
    exp = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** exp >= x * (1 - 1e-9):
            return round(m * 10 ** exp, 12)
    return 10 ** (exp + 1)


def trend(days: Any, now: dt.datetime | None = None, codes: Iterable[str] | None = None) -> Any:
    """Daily lines of the four figures (reject rate on the right axis, from 0 to ``reject_axis_top``, with its
    target as a dotted line)."""
    now = now or now_local()
    base = quality_frame(days, now, codes)
    df = regroup(base, ["day"]) if len(base) else base
    if df.empty:
        return empty_state("尚无交换数据")
    ind = _indicator("reject_rate")
    target = getattr(ind, "target_high", None)
    reject_pct = (df["reject_rate"] * 100).round(3)
    # the right axis ticks at the left axis' gridlines (every 20 %): a round step covering the top in five
    step = nice_step(reject_axis_top(reject_pct, target) / 5)
    fig = go.Figure(layout=base_figure_layout(height=320, hovermode="x unified",
                                              yaxis=dict(title="%", ticksuffix="%", range=[0, 105], tick0=0,
                                                         dtick=20, tickmode="linear"),
                                              margin=dict(l=56, r=64, t=32, b=48),
                                              yaxis2=dict(title="拒收率 %", overlaying="y", side="right",
                                                          ticksuffix="%", tickformat=".2~f", showgrid=False,
                                                          range=[0, 5.25 * step], tick0=0, dtick=step,
                                                          tickmode="linear", fixedrange=True, automargin=True)))
    days_x = [f"{d:%m-%d}" for d in df["day"]]
    for f in qsvc.FIGURES:
        y = reject_pct if f == "reject_rate" else (df[f] * 100).round(2)
        fig.add_trace(go.Scatter(x=days_x, y=y, name=qsvc.FIGURE_ZH[f],
                                 mode="lines+markers", line=dict(color=FIG_COLORS[f], width=2,
                                                                 dash="dot" if f == "reject_rate" else None),
                                 hovertemplate="%{y:.3f}%" if f == "reject_rate" else "%{y:.1f}%",
                                 yaxis="y2" if f == "reject_rate" else "y"))
    if target:
        fig.add_trace(go.Scatter(x=[days_x[0], days_x[-1]], y=[target, target], yaxis="y2", mode="lines",
                                 name=f"拒收率目标 {getattr(ind, 'target_text', '')}".strip(), hoverinfo="skip",
                                 line=dict(color=FIG_COLORS["reject_rate"], width=1, dash="dash"), opacity=0.5))
    fig.update_xaxes(type="category")
    return dcc.Graph(figure=safe_figure(fig), config=GRAPH_CONFIG, style={"height": "320px"})


def heat(days: Any, figure: Any, now: dt.datetime | None = None, codes: Iterable[str] | None = None) -> Any:
    """Institution × day heat map of one figure."""
    figure = figure if figure in qsvc.FIGURES else "upload_timeliness"
    now = now or now_local()
    df = quality_frame(days, now, codes)
    if df.empty:
        return empty_state("尚无交换数据")
    wide = df.pivot_table(index="name", columns="day", values=figure, aggfunc="first") * 100
    good_high = figure != "reject_rate"
    scale = [[0, "#d64545"], [0.5, "#f0a202"], [1, "#2e9d5b"]] if good_high else \
        [[0, "#2e9d5b"], [0.5, "#f0a202"], [1, "#d64545"]]
    z = wide.to_numpy()
    fig = go.Figure(go.Heatmap(z=np.round(z, 2), x=[f"{c:%m-%d}" for c in wide.columns], y=list(wide.index),
                               colorscale=scale, hoverongaps=False, colorbar=dict(ticksuffix="%"),
                               hovertemplate="%{y}<br>%{x}<br>" + qsvc.FIGURE_ZH[figure] + "：%{z}%<extra></extra>"))
    fig.update_layout(base_figure_layout(height=max(320, 18 * len(wide) + 80), margin=dict(l=10, r=16, t=16, b=56)))
    fig.update_xaxes(type="category", tickangle=-45, automargin=True)
    fig.update_yaxes(automargin=True)     # room for the longest name (城西街道社区卫生服务中心), not a fixed 150 px
    return dcc.Graph(figure=safe_figure(fig), config=GRAPH_CONFIG)


# Headers wrap and set their own height rather than being cut off; each figure is a column group (its name over
# "%" and "分子/分母"), so the columns stay narrow enough to fit the page without a horizontal scroll.
WRAP_HEADERS = {"sortable": True, "filter": True, "resizable": True, "minWidth": 80, "floatingFilter": False,
                "wrapHeaderText": True, "autoHeaderHeight": True}


def _tip(col: dict[str, Any], tip: str | None = None) -> dict[str, Any]:
    return {**col, "headerTooltip": tip or col["headerName"]}


INST_COLUMNS: list[dict[str, Any]] = [_tip(column_def("name", "机构", minWidth=180, pinned="left"))]
for _f in qsvc.FIGURES:
    _n, _d = qsvc.FIGURE_PARTS[_f]
    # no filter menu on the figures' columns (sorting is what one does with them): without its icon each pair is
    # narrow enough that the whole table, 未按计划 included, fits a 1366 px screen (its last column was cut)
    INST_COLUMNS.append({"headerName": qsvc.FIGURE_ZH[_f], "headerTooltip": qsvc.FIGURE_ZH[_f], "children": [
        _tip(column_def(_f, "%", "number", decimals=2 if _f == "reject_rate" else 1, filter=False, minWidth=72),
             f"{qsvc.FIGURE_ZH[_f]}（%）"),
        _tip(column_def(f"{_f}_parts", "分子/分母", filter=False, minWidth=104), f"{qsvc.FIGURE_ZH[_f]}的分子/分母")]})
INST_COLUMNS.append(_tip(column_def("behind", "未按计划", "int"), "未按计划上传的源系统数"))


def by_institution(days: Any, now: dt.datetime | None = None, codes: Iterable[str] | None = None) -> Any:
    """Table of the four figures per institution over the window; behind-schedule institutions in red."""
    now = now or now_local()
    base = quality_frame(days, now, codes)
    df = regroup(base, ["inst_code"]) if len(base) else base
    if df.empty:
        return empty_state("尚无交换数据")
    behind = behind_frame(now, codes)
    counts = behind.groupby("inst_code").size()
    df["behind"] = df["inst_code"].map(counts).fillna(0).astype(int)
    for f in qsvc.FIGURES:
        num, den = qsvc.FIGURE_PARTS[f]
        df[f] = (df[f] * 100).round(2 if f == "reject_rate" else 1)
        df[f"{f}_parts"] = [f"{int(a):,} / {int(b):,}" for a, b in zip(df[num], df[den])]
    df = df.sort_values(["behind", "upload_timeliness"], ascending=[False, True])
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return data_table("q-inst-table", rows, INST_COLUMNS, page_size=20, height=380, export_name="数据质量.csv",
                      getRowId="params.data.inst_code", defaultColDef=WRAP_HEADERS,
                      rowClassRules={"q-row-behind": "params.data.behind > 0"})


LAST_COLUMNS = [_tip(c) for c in (
    column_def("name", "机构", minWidth=220), column_def("job_name", "源系统"),
    column_def("last_success", "最近成功上传"), column_def("rows_loaded", "入库行数", "int"),
    column_def("late", "状态"))]
BEHIND_COLUMNS = [_tip(c) for c in (
    column_def("name", "机构", minWidth=220), column_def("job_name", "源系统"),
    column_def("last_success", "最近成功上传"), column_def("allowed", "允许间隔"),
    column_def("overdue", "已超时"))]


def _minutes_zh(m: float) -> str:
    m = int(round(m))
    if m < 60:
        return f"{m} 分钟"
    if m < 1440:
        return f"{m // 60} 小时 {m % 60} 分"
    return f"{m // 1440} 天 {m % 1440 // 60} 小时"


def _ts(v: Any) -> str:
    return "从未成功" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%m-%d %H:%M")


def uploads(now: dt.datetime | None = None, codes: Iterable[str] | None = None) -> tuple[Any, Any]:
    """(behind-schedule table, last-upload table)."""
    now = now or now_local()
    behind = behind_frame(now, codes)
    last = last_frame(now, codes)
    late = set(zip(behind["inst_code"], behind["job_code"]))
    last = last.assign(last_success=[_ts(v) for v in last["last_success_at"]],
                       late=["未按计划" if (i, j) in late else "正常" for i, j in zip(last["inst_code"],
                                                                                 last["job_code"])])
    last_rows = last[["inst_code", "name", "job_code", "job_name", "last_success", "rows_loaded", "late"]]
    last_rows = last_rows.astype(object).where(last_rows.notna(), None).to_dict("records")
    last_table = data_table("q-last-table", last_rows, LAST_COLUMNS, page_size=10, height=300,
                            defaultColDef=WRAP_HEADERS, rowClassRules={"q-row-behind": "params.data.late == '未按计划'"})
    if behind.empty:
        behind_box = empty_state("所有机构均按计划上传", "没有超过计划间隔的源系统")
    else:
        b = behind.assign(last_success=[_ts(v) for v in behind["last_success_at"]],
                          allowed=[_minutes_zh(m) for m in behind["allowed_minutes"]],
                          overdue=[_minutes_zh(m) for m in behind["overdue_minutes"]])
        rows = b[["inst_code", "name", "job_name", "last_success", "allowed", "overdue"]].to_dict("records")
        behind_box = data_table("q-behind-table", rows, BEHIND_COLUMNS, page_size=10, height=300,
                                defaultColDef=WRAP_HEADERS, rowClassRules={"q-row-behind": "true"})
    return behind_box, last_table


def _timed(name: str, fn, *args):
    t = time.perf_counter()
    try:
        return fn(*args)
    except Exception:
        log.exception("quality section %s failed", name)
        return error_card("数据质量加载失败", "请稍后重试")
    finally:
        LAST_TIMINGS[name] = (time.perf_counter() - t) * 1000


def register(app: dash.Dash) -> None:
    """Register the /quality callbacks."""
    @app.callback(Output(P.Q_KPIS, "children"), Output(P.Q_SUBTITLE, "children"),
                  Input(P.Q_READY, "data"), Input(P.Q_DAYS, "value"))
    def _kpis(_ready, days):
        codes, label = scope_codes()
        now = now_local()
        start, end = _window(days_arg(days), now)
        return _timed("kpis", kpis, days, now, codes), f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} · {label}"

    @app.callback(Output(P.Q_TREND, "children"), Input(P.Q_READY, "data"), Input(P.Q_DAYS, "value"))
    def _trend(_ready, days):
        return _timed("trend", trend, days, None, scope_codes()[0])

    @app.callback(Output(P.Q_HEAT, "children"), Input(P.Q_READY, "data"), Input(P.Q_DAYS, "value"),
                  Input(P.Q_FIGURE, "value"))
    def _heat(_ready, days, figure):
        return _timed("heat", heat, days, figure, None, scope_codes()[0])

    @app.callback(Output(P.Q_INST, "children"), Input(P.Q_READY, "data"), Input(P.Q_DAYS, "value"))
    def _inst(_ready, days):
        return _timed("inst", by_institution, days, None, scope_codes()[0])

    @app.callback(Output(P.Q_BEHIND, "children"), Output(P.Q_LAST, "children"), Input(P.Q_READY, "data"))
    def _uploads(_ready):
        out = _timed("uploads", uploads, None, scope_codes()[0])
        return out if isinstance(out, tuple) else (out, None)
