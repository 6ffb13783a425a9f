"""双向转诊 /referrals: volumes and ratio, acceptance and 24-hour response, flows between institutions, outflow
outside the county (orderly vs not, top destinations), top diagnoses referred up, pending referrals > 24 h."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import page_header, section
from layouts._pageparts import (
    REF_DEST,
    REF_DIAG,
    REF_FLOW,
    REF_KPIS,
    REF_NOTICE,
    REF_OUTSIDE,
    REF_PENDING,
    REF_READY,
    REF_SUBTITLE,
    REF_VOLUME,
)

dash.register_page(__name__, path="/referrals", title="双向转诊 · 医共体运营监测平台", name="双向转诊", order=40,
                   nav_icon="⇅")


def _box(box_id: str, height: int = 340) -> dcc.Loading:
    return dcc.Loading(html.Div(html.Div(className="chart-placeholder", style={"height": f"{height}px"}),
                                id=box_id), type="dot")


def layout(**_query: Any) -> html.Div:
    """Skeleton of the referral page (filled by ``dashboard.callbacks.referrals``)."""
    return html.Div([
        dcc.Store(id=REF_READY, data=True),
        page_header("双向转诊", html.Span(" ", id=REF_SUBTITLE)),
        html.Div(id=REF_NOTICE),
        html.Div(_box(REF_KPIS, 140), className="ref-kpis"),
        # charts of one height side by side; the flow diagram, as tall as its institutions need, on a row of its
        # own (beside it the 12-month trend left a half-empty card)
        html.Div([
            section("上转、下转人次与下转/上转比（近12个月）", _box(REF_VOLUME), className="span-6"),
            section("县外就医：有序转诊与自行外出（近12个月）", _box(REF_OUTSIDE), className="span-6"),
        ], className="grid-12"),
        html.Div([section("机构间转诊流向", _box(REF_FLOW), className="span-12")], className="grid-12"),
        html.Div([
            section("县外就医主要去向", _box(REF_DEST), className="span-6"),
            section("上转主要病种", _box(REF_DIAG), className="span-6"),
        ], className="grid-12"),
        section("超过24小时未响应的转诊", _box(REF_PENDING, 200)),
    ], className="page page-referrals")
