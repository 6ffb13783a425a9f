"""评价权重 /admin/assessment: the admin edits the composite assessment's weights (validated, confirmed,
audited); ``dashboard.callbacks.assessment_weights`` fills and saves the form."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts import _assessment_parts as A
from layouts._components import page_header, section

dash.register_page(__name__, path="/admin/assessment", title="评价权重 · 医共体运营监测平台", name="评价权重",
                   toolbar=False, order=92, nav_icon="⚖")


def layout(**_query: Any) -> html.Div:
    """Skeleton: the weights form (filled by the callback), the sum, save and reset with confirmation."""
    actions = html.Div([
        html.Span(id=A.W_SUM, className="aw-sum", role="status"),
        html.Button("保存权重", id=A.W_SAVE, className="btn btn-primary", n_clicks=0),
        html.Button("恢复默认", id=A.W_RESET, className="btn btn-secondary", n_clicks=0),
    ], className="btn-group")
    return html.Div([
        page_header("综合评价权重", "权重须大于 0；停用的指标不参与评分；各机构无数据的指标不参评，其权重按比例重新归一"),
        dcc.Store(id=A.W_TICK, data=0),
        dcc.ConfirmDialog(id=A.W_CONFIRM_SAVE, message=""),
        dcc.ConfirmDialog(id=A.W_CONFIRM_RESET, message="确定恢复默认指标集与权重？当前的修改将被清除（记入审计日志）。"),
        html.Div(id=A.W_MSG, className="page-notice aw-msg", role="status"),
        section("指标与权重", dcc.Loading(html.Div(id=A.W_TABLE, className="aw-form"), type="dot"), actions=actions),
    ], className="page page-admin page-assessment-weights")
