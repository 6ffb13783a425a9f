"""指标分析 /indicator/<id>: definition, trend, breakdown of child orgs, peer ranking, table, export.

The layout only builds the skeleton and the definition panel (from the catalogue, no query); the callbacks in
``dashboard.callbacks.indicator`` fill the charts from the URL state (grain, period, org) and the user's scope.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from layouts._components import column_def, page_header, section

dash.register_page(__name__, path_template="/indicator/<indicator_id>", title="指标分析 · 医共体运营监测平台",
                   name="指标分析", order=20)

ID = "ind-id"
CRUMBS = "ind-crumbs"
NOTICE = "ind-notice"
SUBTITLE = "ind-subtitle"
TREND = "ind-trend"
TREND_BOX = "ind-trend-box"
BREAKDOWN = "ind-breakdown"
BREAKDOWN_BOX = "ind-breakdown-box"
BREAKDOWN_TITLE = "ind-breakdown-title"
RANKING = "ind-ranking"
RANKING_BOX = "ind-ranking-box"
RANKING_TITLE = "ind-ranking-title"
TABLE = "ind-table"
TABLE_BOX = "ind-table-box"
EXPORT_CSV = "ind-export-csv"
EXPORT_XLSX = "ind-export-xlsx"
DOWNLOAD = "ind-download"

DIRECTION_ZH = {"up": "越高越好", "down": "越低越好", "band": "区间适宜", None: "监测"}

TABLE_COLUMNS = [
    ("org_name", "机构/单位", "text"), ("level_zh", "层级", "text"), ("numerator", "分子", "number"),
    ("denominator", "分母", "number"), ("value", "指标值", "number"), ("target_text", "目标", "text"),
    ("status", "状态", "text"), ("yoy_change", "同比", "number"), ("share", "分子占比", "number"),
    ("flags", "说明", "text"),
]


def _attr(entry: Any, name: str, default: Any = None) -> Any:
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


def _direction_key(direction: Any) -> str | None:
    d = str(direction or "").lower()
    if d in ("up", "↑", "higher"):
        return "up"
    if d in ("down", "↓", "lower"):
        return "down"
    if d in ("band", "◇", "range"):
        return "band"
    return None


def definition_panel(entry: Any) -> html.Div:
    """Formula with numerator and denominator names, unit, target, direction, basis and source."""
    unit = _attr(entry, "unit") or ""
    rows = [
        ("计算公式", f"{_attr(entry, 'numerator_zh', '分子')} ÷ {_attr(entry, 'denominator_zh', '分母')}"
                     + (f"（×{_attr(entry, 'factor')}）" if _attr(entry, "factor") not in (None, 1, 1.0) else "")),
        ("分子", _attr(entry, "numerator_zh", "—")),
        ("分母", _attr(entry, "denominator_zh", "—")),
        ("单位", unit or "—"),
        ("目标值", _attr(entry, "target_text") or "无（监测）"),
        ("方向", DIRECTION_ZH.get(_direction_key(_attr(entry, "direction")), "监测")),
        ("口径", _attr(entry, "definition") or "—"),
        ("依据", _attr(entry, "source") or "—"),
    ]
    items = []
    for label, value in rows:
        items += [html.Dt(label), html.Dd(str(value))]
    if _attr(entry, "available", True) is False:
        items += [html.Dt("暂不可计算"), html.Dd(_attr(entry, "unavailable_reason") or "缺少所需数据")]
    return html.Dl(items, className="definition-list")


def table_column_defs(unit: str, decimals: int) -> list[dict]:
    cols = []
    for field, header, kind in TABLE_COLUMNS:
        if field == "value":
            cols.append(column_def(field, f"{header}（{unit}）" if unit else header, "number",
                                   decimals=decimals, unit=unit))
        elif field == "yoy_change":
            cols.append(column_def(field, header, "text", valueFormatter={"function": (
                "params.value == null || isNaN(params.value) ? '—' : "
                "(params.value > 0 ? '+' : '') + d3.format(',.1f')(params.value * 100) + '%'")}))
        elif field == "share":
            cols.append(column_def(field, header, "text", valueFormatter={"function": (
                "params.value == null || isNaN(params.value) ? '—' : d3.format(',.1f')(params.value * 100) + '%'")}))
        elif field in ("numerator", "denominator"):
            cols.append(column_def(field, header, "number", decimals=2 if unit == "元" else 0))
        else:
            cols.append(column_def(field, header, kind))
    cols[0]["pinned"] = "left"
    cols[0]["minWidth"] = 160
    return cols


def _placeholder(height: int = 320) -> html.Div:
    """Reserved space while a section loads (no empty axes)."""
    return html.Div(className="chart-placeholder", style={"height": f"{height}px"})


def layout(indicator_id: str | None = None, **_query: Any) -> html.Div:
    """Skeleton of the indicator page; unknown ids get a clear message."""
    from metrics.catalogue import INDICATORS
    entry = INDICATORS.get(indicator_id or "")
    if entry is None:
        return html.Div([page_header("指标分析"),
                         html.Div(f"未找到指标“{indicator_id}”，请从驾驶舱或专题页进入。", className="page-notice")],
                        className="page page-indicator")
    unit = _attr(entry, "unit") or ""
    decimals = int(_attr(entry, "decimals", 1) or 0)
    export = html.Div([
        html.Button("导出 CSV", id=EXPORT_CSV, className="btn btn-secondary", n_clicks=0),
        html.Button("导出 Excel", id=EXPORT_XLSX, className="btn btn-secondary", n_clicks=0),
        dcc.Download(id=DOWNLOAD),
    ], className="btn-group")
    return html.Div([
        dcc.Store(id=ID, data=indicator_id),
        html.Div(id=CRUMBS, className="crumbs-row"),
        page_header(_attr(entry, "zh", indicator_id), html.Span(id=SUBTITLE)),
        html.Div(id=NOTICE),
        html.Div([
            section("指标定义", definition_panel(entry), className="span-4"),
            section("24个月趋势", dcc.Loading(html.Div(_placeholder(), id=TREND_BOX), type="dot"),
                    className="span-8"),
        ], className="grid-12"),
        html.Div([
            section("下级分布", dcc.Loading(html.Div(_placeholder(), id=BREAKDOWN_BOX), type="dot"),
                    actions=html.Span(id=BREAKDOWN_TITLE, className="section-hint"), className="span-6"),
            section("同类机构排名", dcc.Loading(html.Div(_placeholder(), id=RANKING_BOX), type="dot"),
                    actions=html.Span(id=RANKING_TITLE, className="section-hint"), className="span-6"),
        ], className="grid-12"),
        section("明细表", dcc.Loading(html.Div(_placeholder(480), id=TABLE_BOX), type="dot"), actions=export),
    ], className="page page-indicator")
