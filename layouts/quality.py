"""数据质量 /quality: upload timeliness, job success, node online and reject rates by institution and day, with
trend; the last successful upload of every institution and source system; institutions behind schedule.

Skeleton only: ``dashboard.callbacks.quality`` fills it (leaders and operators see every institution, a manager
the assigned ones).
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts import _exchange_parts as P
from layouts._components import DROPDOWN_LABELS_ZH, page_header, section
from metrics.catalogue import INDICATORS

dash.register_page(__name__, path="/quality", title="数据质量 · 医共体运营监测平台", name="数据质量",
                   toolbar=False, order=61, nav_icon="✓")

FIGURE_OPTIONS = [{"label": INDICATORS[f].zh, "value": f}          # named as the catalogue names them
                  for f in ("upload_timeliness", "job_success_rate", "node_online_rate", "reject_rate")]


def _box(box_id: str, height: int = 320) -> dcc.Loading:
    return dcc.Loading(html.Div(html.Div(className="chart-placeholder", style={"height": f"{height}px"}),
                                id=box_id), type="dot")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the data-quality page."""
    return html.Div([
        dcc.Store(id=P.Q_READY, data=True),
        page_header("数据质量", html.Span("加载中…", id=P.Q_SUBTITLE), actions=html.Div([
            dcc.Dropdown(id=P.Q_DAYS, options=P.DAY_OPTIONS, value=P.DEFAULT_DAYS, clearable=False,
                         searchable=False, labels=DROPDOWN_LABELS_ZH, className="ex-filter"),
        ], className="ex-filters")),
        html.Div(id=P.Q_NOTICE),
        html.Div(_box(P.Q_KPIS, 130), className="q-kpis"),
        html.Div([
            section("逐日趋势", _box(P.Q_TREND), className="span-6"),
            section("机构 × 日", _box(P.Q_HEAT), className="span-6",
                    actions=dcc.Dropdown(id=P.Q_FIGURE, options=FIGURE_OPTIONS, value="upload_timeliness",
                                         clearable=False, searchable=False, labels=DROPDOWN_LABELS_ZH,
                                         className="ex-filter")),
        ], className="grid-12"),
        section("各机构数据质量（所选期间合计，分子/分母）", _box(P.Q_INST, 380),
                actions=html.Span("红色行：有源系统未按计划上传", className="ex-muted")),
        # full width: each list has five columns whose headers and institution names need more than half a page
        section("未按计划上传的机构与源系统", _box(P.Q_BEHIND, 300)),
        section("各机构最近一次成功上传", _box(P.Q_LAST, 300)),
    ], className="page page-quality")
