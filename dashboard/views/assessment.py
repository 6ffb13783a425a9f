"""综合评价 /assessment: the institutions' composite scores (``metrics.assessment``) for the page and its export.

Scores come from one engine call for the whole indicator set (``metrics.assessment.assess``, the engine's own
cache) with the weights of the app database. Scope, from the logged-in user on every call: the ranking (names
and total scores of institutions) is an aggregate, shown to anyone who may see aggregates (leaders, managers);
the indicator-by-indicator breakdown only for institutions in the user's scope — as the indicator pages' peer
ranking does.
"""
from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from core.labels import GRAIN_ZH, INST_TYPE_ZH
from dashboard.views import pagekit as kit
from dashboard.views.figures import base_layout, no_data_figure
from layouts import _assessment_parts as A
from layouts._components import column_def, data_table, status_badge
from layouts.formatting import fmt_value

GRAINS = ("year", "quarter")
DEFAULT_TYPE = "township_center"
CHART_MAX = 25          # bars drawn; the table holds every institution of the type
BAR = "#2e86c1"
BAR_OWN = "#1b4f72"
EXPORT_HEADERS = {"rank": "排名", "org_code": "机构编码", "org_name": "机构名称", "inst_type_zh": "机构类型",
                  "score": "综合得分", "indicators_scored": "参评指标数", "indicators_total": "指标集指标数",
                  "peers": "同类机构数"}


def _cfg():
    from dashboard.app import get_config
    return get_config()


def periods(grain: str) -> tuple[list[dict[str, str]], str | None]:
    """Period options of ``grain`` (newest first) and the default: the last complete period."""
    from dashboard.urlstate import first_month, last_complete_period, periods_between
    from queries.periods import last_complete_month
    grain = grain if grain in GRAINS else "year"
    url = kit.mart_url()
    last, first = last_complete_month(url), first_month(url)
    if not last or not first:
        return [], None
    values = periods_between(grain, first, last)
    values = values[::-1] if values and values[0] < values[-1] else values
    return [{"label": period_zh(grain, p), "value": p} for p in values], last_complete_period(grain, last, first)


def period_zh(grain: str, period: str) -> str:
    """'2025 年', '2026 年第 3 季度'."""
    return f"{period} 年" if grain == "year" else f"{period[:4]} 年第 {period[-1]} 季度"


def type_options() -> list[dict[str, str]]:
    """Institution types of the mart (同类机构), in the contract's order."""
    from queries import org as qorg
    present = set(qorg.org_tree(kit.mart_url())["inst_type"])
    return [{"label": zh, "value": code} for code, zh in INST_TYPE_ZH.items() if code in present]


def result(grain: str, period: str):  # noqa: ANN201 — metrics.assessment.Assessment
    """The assessment of every institution for the period (weights of the app database); the ranking and the
    breakdown callbacks of one pick share it (kept per weights, period and data version of the mart)."""
    from dashboard.assessment.store import current_weights
    from queries.periods import data_version
    url = kit.mart_url()
    weights = tuple(sorted(current_weights(_cfg()).items()))
    return _assessed(weights, grain, period, url, data_version(url))


@functools.lru_cache(maxsize=16)
def _assessed(weights: tuple[tuple[str, float], ...], grain: str, period: str, url: str, _version: object):
    from dashboard.urlstate import period_bounds
    from metrics.assessment import assess
    start, end = period_bounds(grain, period)
    return assess(dict(weights), grain, start, end, mart_url=url)


def _check(grain: str, period: str | None) -> str | None:
    """Why the request cannot be answered (Chinese), or None."""
    from dashboard.urlstate import is_valid_period
    scope = kit.scope()
    if not (scope.aggregates or scope.all_institutions):
        return "无权查看综合评价"
    if grain not in GRAINS or not period or not is_valid_period(grain, period):
        return "请选择统计期间"
    return None


def ranking_frame(grain: str, period: str, inst_type: str | None) -> pd.DataFrame:
    """Scores of the institutions of one type, best first, with ``is_own`` (in the user's scope)."""
    scores = result(grain, period).scores
    if inst_type:
        scores = scores[scores["inst_type"] == inst_type]
    scores = scores.copy()
    scores["inst_type_zh"] = scores["inst_type"].map(INST_TYPE_ZH)
    scores["is_own"] = scores["org_code"].map(kit.scope().may_see_institution).astype(bool)
    return scores.reset_index(drop=True)


def ranking_figure(frame: pd.DataFrame, selected: str | None) -> go.Figure:
    """Horizontal bars of the best :data:`CHART_MAX` scores (best on top); the user's own institutions darker,
    the selected one outlined; customdata carries the org code for the click."""
    rows = frame.dropna(subset=["score"]).head(CHART_MAX).iloc[::-1]
    everyone = bool(rows["is_own"].all())       # a leader: no institution stands out as "own"
    if rows.empty:
        return no_data_figure()
    labels = [f"{int(r)}. {n}" for r, n in zip(rows["rank"], rows["org_name"])]
    fig = go.Figure(go.Bar(
        x=rows["score"], y=labels, orientation="h", customdata=[[c] for c in rows["org_code"]],
        marker=dict(color=[BAR_OWN if o and not everyone else BAR for o in rows["is_own"]],
                    line=dict(color="#c0392b", width=[3 if c == selected else 0 for c in rows["org_code"]])),
        text=[f"{s:.1f}" for s in rows["score"]], textposition="outside", cliponaxis=False,
        hovertext=[f"{lab}<br>综合得分 {s:.1f}<br>参评指标 {n} 项" for lab, s, n in
                   zip(labels, rows["score"], rows["indicators_scored"])], hoverinfo="text"))
    base_layout(fig, max(220, 26 * len(rows) + 60))
    fig.update_layout(showlegend=False, bargap=0.25, margin=dict(t=20))
    fig.update_xaxes(range=[0, 110], showgrid=True, gridcolor="#eef1f4", tickvals=[0, 20, 40, 60, 80, 100])
    return fig


RANK_COLUMNS = [column_def("rank", "排名", "int", maxWidth=90), column_def("org_name", "机构", minWidth=120, flex=2),
                column_def("score", "综合得分", "number", 1), column_def("indicators_scored", "参评", "int"),
                column_def("detail", "明细", sortable=False, filter=False)]


def ranking_view(grain: str, period: str | None, inst_type: str | None, selected: str | None
                 ) -> tuple[Any, Any, str]:
    """(chart, table, subtitle) of the ranking page."""
    reason = _check(grain, period)
    if reason:
        return kit.notice(reason), None, reason
    frame = ranking_frame(grain, period, inst_type)
    type_zh = INST_TYPE_ZH.get(inst_type or "", "全部机构")
    subtitle = f"{period_zh(grain, period)} · {type_zh} · 共 {len(frame)} 家 · 满分 100"
    if frame.empty:
        return kit.empty_box(), None, subtitle
    chart = dcc.Graph(id=A.CHART, figure=ranking_figure(frame, selected), config={"displayModeBar": False},
                      className="assess-chart")
    if len(frame) > CHART_MAX:
        chart = html.Div([chart, html.Div(f"图中显示前 {CHART_MAX} 名，完整排名见下表", className="section-hint")])
    rows = [{"rank": None if pd.isna(r.rank) else int(r.rank), "org_code": r.org_code, "org_name": r.org_name,
             "score": None if pd.isna(r.score) else round(float(r.score), 1),
             "indicators_scored": int(r.indicators_scored),
             "detail": "查看" if r.is_own else "无权查看"} for r in frame.itertuples(index=False)]
    table = data_table(A.TABLE, rows, RANK_COLUMNS, page_size=20, getRowId="params.data.org_code",
                       dashGridOptions={"rowSelection": "single"})
    return chart, table, subtitle


def _indicator_href(indicator_id: str, org: str, grain: str, period: str) -> str:
    return f"/indicator/{indicator_id}?" + urlencode({"grain": grain, "period": period, "org": org})


DETAIL_COLUMNS = [
    column_def("indicator", "指标", cellRenderer="markdown", minWidth=200),
    column_def("value_text", "本期值"), column_def("target_text", "目标"), column_def("status", "状态"),
    column_def("method", "评分方法"), column_def("weight", "权重", "number", 1),
    column_def("max_points", "满分", "number", 1), column_def("points", "得分", "number", 1),
]


def detail_rows(grain: str, period: str, org_code: str) -> tuple[pd.DataFrame, pd.Series | None]:
    """(per-indicator rows, score row) of one institution; raises PermissionError outside the user's scope."""
    if not kit.scope().may_see_institution(org_code):
        raise PermissionError(kit.NO_ACCESS)
    res = result(grain, period)
    det = res.detail[res.detail["org_code"] == org_code]
    total = res.scores[res.scores["org_code"] == org_code]
    return det.reset_index(drop=True), (None if total.empty else total.iloc[0])


def applied_target(low: float, high: float, unit: str | None, decimals: int) -> str:
    """The target this institution is scored against ('≥ 95%', '≤ 7.0 天', '75.0%–93.0%'); none → 同类排名."""
    lo, hi = kit.clean(low), kit.clean(high)
    if lo is not None and hi is not None:
        return f"{fmt_value(lo, unit, decimals)}–{fmt_value(hi, unit, decimals)}"
    if lo is not None:
        return f"≥ {fmt_value(lo, unit, decimals)}"
    if hi is not None:
        return f"≤ {fmt_value(hi, unit, decimals)}"
    return "无目标（同类排名）"


def breakdown_view(grain: str, period: str | None, org_code: str | None) -> tuple[str, Any]:
    """(title, body) of the breakdown of the clicked institution."""
    if not org_code:
        return "得分明细", kit.notice("点击图或表中的机构，查看各指标的值、目标、权重与得分")
    reason = _check(grain, period)
    if reason:
        return "得分明细", kit.notice(reason)
    try:
        det, total = detail_rows(grain, period, org_code)
    except PermissionError:
        return "得分明细", kit.notice(kit.NO_ACCESS)
    if total is None:
        return "得分明细", kit.empty_box()
    rows = []
    for r in det.itertuples(index=False):
        entry = kit.indicator(r.indicator_id)
        rows.append({
            "indicator": f"[{r.indicator_zh}]({_indicator_href(r.indicator_id, org_code, grain, period)})",
            "value_text": fmt_value(kit.clean(r.value), entry.unit, entry.decimals),
            "target_text": applied_target(r.low, r.high, entry.unit, entry.decimals),
            "status": kit.clean(r.status) or ("—" if r.method != "不适用" else "无数据"),
            "method": r.method, "weight": float(r.weight), "max_points": kit.clean(r.max_points),
            "points": kit.clean(r.points)})
    score = "—" if pd.isna(total["score"]) else f"{float(total['score']):.1f}"
    head = html.Div([
        html.Span(f"{total['org_name']}", className="assess-org"),
        html.Span(f"综合得分 {score}", className="assess-score"),
        html.Span(f"同类排名 {'' if pd.isna(total['rank']) else int(total['rank'])}/{int(total['peers'])}",
                  className="assess-rank"),
        status_badge(None, f"参评 {int(total['indicators_scored'])}/{int(total['indicators_total'])} 项"),
    ], className="assess-head")
    note = html.Div("无数据的指标（如无住院的机构的住院指标）不参评，其权重按比例分给参评指标（满分列）。",
                    className="section-hint")
    return (f"得分明细 · {total['org_name']}",
            html.Div([head, note, data_table("assess-detail", rows, DETAIL_COLUMNS, page_size=50, height=560)],
                     id="assess-detail-box"))


def export_file(grain: str, period: str | None, inst_type: str | None, fmt: str) -> dict:
    """The ranking as CSV (UTF-8 BOM) or .xlsx; audited as ``data.export``. ValueError (Chinese) when refused."""
    from dashboard.accounts.audit import record_audit
    from dashboard.export import CSV_MIME, XLSX_MIME, export_filename, to_csv_bytes, to_xlsx_bytes
    reason = _check(grain, period)
    if reason:
        raise ValueError(reason)
    frame = ranking_frame(grain, period, inst_type)
    if frame.empty:
        raise ValueError(kit.NO_DATA)
    type_zh = INST_TYPE_ZH.get(inst_type or "", "全部机构")
    record_audit("data.export", f"综合评价 {type_zh} {period}", None,
                 {"page": "assessment", "grain": grain, "period": period, "inst_type": inst_type or "all",
                  "format": "xlsx" if fmt == "xlsx" else "csv", "rows": int(len(frame))})
    stem = f"综合评价_{type_zh}_{period}"
    decimals = {"score": 2}
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(frame, EXPORT_HEADERS, title=f"综合评价 · {type_zh} · {period}"
                                            f"（{GRAIN_ZH[grain]}）", decimals=decimals),
                              export_filename(stem, "xlsx"), type=XLSX_MIME)
    return dcc.send_bytes(to_csv_bytes(frame, EXPORT_HEADERS, decimals=decimals), export_filename(stem, "csv"),
                          type=CSV_MIME)
