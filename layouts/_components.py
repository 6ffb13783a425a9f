"""Shared UI components: pure functions returning Dash components (no queries, no callbacks).

Used by every page: KPI cards, status badges, empty/error states, breadcrumbs, sections, tables (dash-ag-grid),
the ECharts bridge container and the common Plotly look (``base_figure_layout``, ``GRAPH_CONFIG``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import dash_ag_grid as dag
import plotly.graph_objects as go
import plotly.io as pio
from dash import dcc, html

from core.labels import GRAIN_ZH, STATUS_COLORS
from layouts import _ids as ids
from layouts.formatting import MISSING, fmt_pct_change, fmt_pp_change, fmt_value

# ---------------------------------------------------------------------------------------------- look
FONT_FAMILY = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "Source Han Sans SC", sans-serif'
COLORWAY = ["#1f4e79", "#2e86c1", "#f39c12", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"]
STATUS_CLASS = {"达标": "status-ok", "预警": "status-warn", "未达标": "status-bad"}
TEMPLATE_NAME = "ygt"

# Plotly's zh-CN locale bundle is not shipped with the installed plotly/dash packages (checked: no
# locale-zh-cn.js anywhere), and nothing may be loaded from a CDN, so the default locale stays.
# The modebar is off on every chart: shown (even on hover) it sat over legends and colour bars (issue 17).
GRAPH_CONFIG: dict[str, Any] = {"displaylogo": False, "displayModeBar": False, "responsive": True}
STATIC_GRAPH_CONFIG: dict[str, Any] = {"displaylogo": False, "staticPlot": True, "displayModeBar": False}

DROPDOWN_LABELS_ZH: dict[str, str] = {
    "select_all": "全选", "deselect_all": "取消全选", "selected_count": "已选 {num_selected} 项",
    "search": "搜索", "clear_search": "清除搜索", "clear_selection": "清除选择", "no_options_found": "无匹配项",
}


def base_figure_layout(**overrides: Any) -> dict[str, Any]:
    """Layout every Plotly figure starts from: CJK font stack, tight margins, white background, no title gap."""
    layout: dict[str, Any] = dict(
        font=dict(family=FONT_FAMILY, size=13, color="#2c3e50"),
        margin=dict(l=48, r=16, t=32, b=40),
        paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
        colorway=COLORWAY,
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=12)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(gridcolor="#eef1f5", zerolinecolor="#d5dbe3", linecolor="#d5dbe3"),
        yaxis=dict(gridcolor="#eef1f5", zerolinecolor="#d5dbe3", linecolor="#d5dbe3"),
        separators=".,",
    )
    layout.update(overrides)
    return layout


def _register_template() -> None:
    """Register the 'ygt' Plotly template (the base layout) so ``template='ygt'`` works everywhere."""
    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = go.layout.Template(layout=base_figure_layout())
    # Our small template instead of Plotly's default one: every figure embeds its template, and the default
    # added ~6 kB to each (12 sparklines on the cockpit alone) and serialisation time to every callback.
    pio.templates.default = TEMPLATE_NAME


_register_template()


def empty_figure(message: str = "本期无数据") -> go.Figure:
    """A blank figure with a centred message (for charts whose data is missing)."""
    fig = go.Figure(layout=base_figure_layout(xaxis=dict(visible=False), yaxis=dict(visible=False)))
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#8c96a0"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


# ---------------------------------------------------------------------------------------------- small parts
def status_class(status: str | None) -> str:
    """CSS class of an indicator status: 达标 → status-ok, 预警 → status-warn, 未达标 → status-bad, else status-none."""
    return STATUS_CLASS.get(status or "", "status-none")


def status_badge(status: str | None, text: str | None = None) -> html.Span:
    """A coloured pill for 达标 / 预警 / 未达标 (grey '无目标' when there is no status)."""
    return html.Span(text or status or "无目标", className=f"badge {status_class(status)}")


def _direction(direction: str | None) -> str | None:
    """Normalise an indicator direction to 'up' (higher is better), 'down' or None (band / monitor)."""
    d = (direction or "").strip().lower()
    if d in ("up", "↑", "higher", "higher_better", "high", "+"):
        return "up"
    if d in ("down", "↓", "lower", "lower_better", "low", "-"):
        return "down"
    return None


def trend_arrow(change: float | None, direction: str | None, label: str = "同比", points: bool = False) -> html.Span:
    """'同比 ▲12.3%' coloured by whether the change is good for the indicator's direction.

    ``change`` is a relative change (0.123 = +12.3 %), or with ``points`` a difference in percentage points
    (a % indicator: 1.25 → '同比 ▲1.3个百分点'; a growth rate going from 3 % to −2.8 % is ▼5.8个百分点, never
    "▼192.5%"). Higher-is-better: ▲ green, ▼ red; lower-is-better the reverse; band or unknown direction: grey."""
    text = fmt_pp_change(change) if points else fmt_pct_change(change)
    if text == MISSING:
        return html.Span([f"{label} ", MISSING], className="trend trend-none")
    value = float(change)  # type: ignore[arg-type]
    if float(re.sub(r"[^0-9.]", "", text) or 0) == 0:       # rounds to no change: never "–0.0%"
        return html.Span([f"{label} ", "持平"], className="trend trend-neutral")
    arrow = "▲" if value > 0 else "▼" if value < 0 else "–"
    d = _direction(direction)
    if value == 0 or d is None:
        cls = "trend-neutral"
    elif (value > 0) == (d == "up"):
        cls = "trend-good"
    else:
        cls = "trend-bad"
    return html.Span([f"{label} ", html.Span(arrow, className="trend-arrow"), text.lstrip("+-")],
                     className=f"trend {cls}")


_ACTIVE_TAG = re.compile(r"<(?=\s*/?\s*(?:a|span|img|svg|script|style|iframe)\b)", re.IGNORECASE)
_TEXT_ATTRS = ("x", "y", "text", "hovertext", "labels", "name", "legendgrouptitle", "ids")


def plotly_text(value: Any) -> Any:
    """A data string made safe for Plotly's HTML-ish labels: link and style tags (``<a href=…>`` in an
    institution's name) are shown as text, never rendered; other values pass unchanged."""
    if isinstance(value, str) and "<" in value:
        return _ACTIVE_TAG.sub("&lt;", value)
    return value


def _escape_seq(values: Any) -> Any:
    if isinstance(values, str):
        return plotly_text(values)
    if isinstance(values, (list, tuple)) or hasattr(values, "tolist"):
        seq = values.tolist() if hasattr(values, "tolist") else list(values)
        if any(isinstance(v, str) and "<" in v for v in seq):
            return [plotly_text(v) for v in seq]
    return values


def safe_figure(fig: Any) -> Any:
    """Escape every text a figure takes from data (trace x/y/text/labels/names, Sankey node and link labels,
    annotations, tick labels, titles) so that names from the mart cannot inject links into a chart. A figure
    built as plain dicts (``{"data": […], "layout": {…}}``) gets the same treatment, in place."""
    if isinstance(fig, dict):
        return _safe_plain_figure(fig)
    for trace in getattr(fig, "data", ()):
        for attr in _TEXT_ATTRS:
            if attr in trace and trace[attr] is not None and not isinstance(trace[attr], dict):
                try:
                    trace[attr] = _escape_seq(trace[attr])
                except (ValueError, TypeError):
                    pass
        for part in ("node", "link"):
            if part in trace and trace[part] is not None and trace[part]["label"] is not None:
                trace[part]["label"] = _escape_seq(trace[part]["label"])
    layout = getattr(fig, "layout", None)
    if layout is not None:
        for ann in layout.annotations or ():
            ann.text = plotly_text(ann.text)
        if layout.title and layout.title.text:
            layout.title.text = plotly_text(layout.title.text)
        for key in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
            axis = layout[key]
            if axis.ticktext is not None:
                axis.ticktext = _escape_seq(axis.ticktext)
            if axis.title and axis.title.text:
                axis.title.text = plotly_text(axis.title.text)
    return fig


def _safe_plain_figure(fig: dict) -> dict:
    """:func:`safe_figure` of a plain-dict figure."""
    for trace in fig.get("data") or ():
        for attr in _TEXT_ATTRS:
            if trace.get(attr) is not None and not isinstance(trace[attr], dict):
                trace[attr] = _escape_seq(trace[attr])
        for part in ("node", "link"):
            if isinstance(trace.get(part), dict) and trace[part].get("label") is not None:
                trace[part]["label"] = _escape_seq(trace[part]["label"])
    layout = fig.get("layout") or {}
    for ann in layout.get("annotations") or ():
        if "text" in ann:
            ann["text"] = plotly_text(ann["text"])
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        title["text"] = plotly_text(title["text"])
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[key]
        if not isinstance(axis, dict):
            continue
        if axis.get("ticktext") is not None:
            axis["ticktext"] = _escape_seq(axis["ticktext"])
        if isinstance(axis.get("title"), dict) and axis["title"].get("text"):
            axis["title"]["text"] = plotly_text(axis["title"]["text"])
    return fig


def sparkline(values: Sequence[float | None], x: Sequence[Any] | None = None, color: str = "#2e86c1",
              height: int = 36) -> dcc.Graph:
    """A tiny static line (no axes, no interaction) for KPI cards."""
    xs = list(x) if x is not None else list(range(len(values)))
    # a plain dict, what ``go.Figure(...).to_plotly_json()`` of the same line gives (the default template
    # included): building and validating Plotly objects cost ~3 ms a card, 12 cards a cockpit
    fig = {"data": [{"connectgaps": False, "hoverinfo": "skip", "line": {"color": color, "width": 1.8},
                     "mode": "lines", "x": [_plain(v) for v in xs], "y": [_plain(v) for v in values],
                     "type": "scatter"}],
           "layout": {"template": default_template_json(), "margin": {"l": 0, "r": 0, "t": 2, "b": 2},
                      "height": height, "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)",
                      "plot_bgcolor": "rgba(0,0,0,0)", "xaxis": {"visible": False}, "yaxis": {"visible": False}}}
    if fig["layout"]["template"] is None:
        del fig["layout"]["template"]
    return dcc.Graph(figure=fig, config=STATIC_GRAPH_CONFIG, className="sparkline",
                     style={"height": f"{height}px"})


_TEMPLATE_JSON: dict[str, dict] = {}


def default_template_json() -> dict | None:
    """The default Plotly template as a figure embeds it (``layout.template``), for figures built as plain dicts;
    made once per template name (each figure gets a copy of the cached dict's reference: never mutate it)."""
    name = pio.templates.default
    if not name:
        return None
    hit = _TEMPLATE_JSON.get(name)
    if hit is None:
        hit = _TEMPLATE_JSON[name] = pio.templates[name].to_plotly_json()
    return hit


def _plain(v: Any) -> Any:
    """A value as Plotly's validators keep it in a data array: numpy scalars become Python ones."""
    return v.item() if hasattr(v, "item") else v


def kpi_card(title: str, value: float | None, unit: str | None = None, *, decimals: int | None = None,
             target_text: str | None = None, status: str | None = None, yoy: float | None = None,
             direction: str | None = None, spark: Sequence[float | None] | None = None,
             spark_x: Sequence[Any] | None = None, href: str | None = None, note: str | None = None,
             card_id: Any = None, mom: float | None = None, show_mom: bool = False,
             projection: str | None = None, points: bool = False) -> html.Div | dcc.Link:
    """A headline card: title, value with unit, target, status colour, YoY arrow, sparkline; a link when href.

    status: '达标' | '预警' | '未达标' | None; yoy: relative change vs. the same period last year;
    direction: 'up' (higher is better) | 'down' | 'band'/None; note: e.g. '样本量小' or '数据不完整';
    show_mom: also show 环比 (``mom``: relative change vs. the previous period) beside 同比;
    projection: a small line such as '预计全年 65.2%（达标）' (None: no line);
    points: ``yoy``/``mom`` are differences in percentage points (a % indicator), not relative changes.
    """
    trends = trend_arrow(yoy, direction, points=points)
    if show_mom:
        trends = html.Span([trends, trend_arrow(mom, direction, label="环比", points=points)],
                           className="kpi-trends")
    body = [
        html.Div([html.Span(title, className="kpi-title"), status_badge(status) if status else None],
                 className="kpi-head"),
        html.Div(fmt_value(value, unit, decimals), className="kpi-value"),
        html.Div([
            html.Span(f"目标 {target_text}" if target_text else "无目标值", className="kpi-target"),
            trends,
        ], className="kpi-meta"),
    ]
    if projection:
        body.append(html.Div(projection, className="kpi-projection"))
    if note:
        body.append(html.Div(note, className="kpi-note"))
    if spark is not None and len(spark) > 1:
        body.append(sparkline(spark, spark_x, color=STATUS_COLORS.get(status, STATUS_COLORS[None])
                              if status else "#2e86c1"))
    cls = f"kpi-card {status_class(status)}"
    kwargs = {"id": card_id} if card_id is not None else {}
    if href:
        return dcc.Link(body, href=href, className=cls + " kpi-link", **kwargs)
    return html.Div(body, className=cls, **kwargs)


def empty_state(message: str = "本期无数据", hint: str | None = None) -> html.Div:
    """A calm placeholder where a chart or table has nothing to show."""
    return html.Div([html.Div("○", className="empty-icon"), html.Div(message, className="empty-message"),
                     html.Div(hint, className="empty-hint") if hint else None], className="empty-state")


def error_card(message: str, detail: str | None = None) -> html.Div:
    """A red-edged card explaining what went wrong (never a stack trace)."""
    return html.Div([html.Div("出错了", className="error-title"), html.Div(message, className="error-message"),
                     html.Div(detail, className="error-detail") if detail else None],
                    className="error-card", role="alert")


def breadcrumbs(path: Iterable[tuple[str, str | None]]) -> html.Nav:
    """全县 › 乡镇 › 机构 …: a list of (label, href); the last item (or one without href) is plain text."""
    items = list(path)
    children: list[Any] = []
    for i, (label, href) in enumerate(items):
        if i:
            children.append(html.Span("›", className="crumb-sep"))
        last = i == len(items) - 1
        if href and not last:
            children.append(dcc.Link(label, href=href, className="crumb"))
        else:
            children.append(html.Span(label, className="crumb crumb-current" if last else "crumb"))
    return html.Nav(children, className="breadcrumbs", **{"aria-label": "位置"})


def section(title: str, children: Any, actions: Any = None, className: str = "") -> html.Section:
    """A white card with a title bar (and optional actions on its right)."""
    return html.Section([
        html.Div([html.H3(title, className="section-title"),
                  html.Div(actions, className="section-actions") if actions is not None else None],
                 className="section-head"),
        html.Div(children, className="section-body"),
    ], className=f"section {className}".strip())


def period_pickers(grain_id: str, period_id: str, grains: Iterable[str], value: str) -> html.Div:
    """统计周期: the grain switch (``grains``, ``value`` chosen) and the period dropdown (its options come from a
    callback), as in the toolbar."""
    return html.Div([
        html.Span("统计周期", className="tb-label"),
        dcc.RadioItems(id=grain_id, options=[{"label": GRAIN_ZH[g], "value": g} for g in grains],
                       value=value, inline=True, className="grain-switch", inputClassName="grain-input",
                       labelClassName="grain-option"),
        dcc.Dropdown(id=period_id, options=[], value=None, clearable=False, searchable=False,
                     placeholder="选择期间", labels=DROPDOWN_LABELS_ZH, className="tb-period"),
    ], className="tb-group")


def page_header(title: str, subtitle: str | None = None, actions: Any = None) -> html.Div:
    """Page title with an optional subtitle (e.g. the period and org shown) and actions."""
    return html.Div([
        html.Div([html.H2(title, className="page-title"),
                  html.Div(subtitle, className="page-subtitle") if subtitle else None]),
        html.Div(actions, className="page-actions") if actions is not None else None,
    ], className="page-header")


# ---------------------------------------------------------------------------------------------- tables
AG_GRID_LOCALE_ZH: dict[str, str] = {
    "page": "第", "more": "更多", "to": "至", "of": "共", "next": "下一页", "last": "末页", "first": "首页",
    # noRowsToShow replaces an HTML overlay template, which dash-ag-grid blocks as a possible XSS vector.
    "previous": "上一页", "loadingOoo": "加载中…", "loadingError": "加载出错", "noRowsToShow": "无数据",
    "pageSizeSelectorLabel": "每页条数：", "ariaPageSizeSelectorLabel": "每页条数", "pageLastRowUnknown": "?",
    "firstPage": "首页", "lastPage": "末页", "nextPage": "下一页", "previousPage": "上一页",
    "filterOoo": "筛选…", "equals": "等于", "notEqual": "不等于", "contains": "包含", "notContains": "不包含",
    "startsWith": "开头是", "endsWith": "结尾是", "blank": "为空", "notBlank": "不为空", "empty": "请选择",
    "lessThan": "小于", "greaterThan": "大于", "lessThanOrEqual": "小于等于", "greaterThanOrEqual": "大于等于",
    "inRange": "介于", "inRangeStart": "从", "inRangeEnd": "到", "andCondition": "且", "orCondition": "或",
    "applyFilter": "应用", "resetFilter": "重置", "clearFilter": "清除", "cancelFilter": "取消",
    "selectAll": "全选", "searchOoo": "搜索…", "noMatches": "无匹配项", "sortAscending": "升序",
    "sortDescending": "降序", "sortUnSort": "取消排序", "columns": "列", "filters": "筛选",
    "pinColumn": "固定列", "pinLeft": "固定在左侧", "pinRight": "固定在右侧", "noPin": "不固定",
    "autosizeThisColumn": "自动调整此列宽", "autosizeAllColumns": "自动调整所有列宽", "resetColumns": "重置列",
    "copy": "复制", "copyWithHeaders": "连同表头复制", "export": "导出", "csvExport": "导出 CSV",
    "excelExport": "导出 Excel", "true": "是", "false": "否", "ariaFilterValue": "筛选值",
    "ariaFilterInput": "筛选输入", "columnFilter": "列筛选", "filterConditions": "筛选条件",
    "ariaSortableColumn": "按回车排序", "ariaFilteringOperator": "筛选运算符", "ariaColumn": "列",
    "ariaRowSelect": "按空格选择此行", "ariaSearch": "搜索", "ariaSearchFilterValues": "搜索筛选值",
}

_NUMBER_KINDS = {"number", "int", "money", "percent", "float"}


def _value_formatter(kind: str, decimals: int, unit: str | None) -> dict[str, str]:
    """AG Grid valueFormatter using its bundled d3-format: thousands separators; '—' for empty cells."""
    suffix = {"percent": "%"}.get(kind, "")
    if unit and kind != "percent":
        suffix = unit if unit in ("%", "‰") else ""
    fmt = f",.{decimals}f"
    # No isNaN: dash-ag-grid evaluates these strings in a sandbox without JS globals, where isNaN throws and
    # the grid silently shows raw numbers. JSON has no NaN anyway (missing values arrive as null).
    return {"function": f"params.value == null ? '—' : "
                        f"d3.format('{fmt}')(params.value) + '{suffix}'"}


HEADER_CJK_PX = 14           # one CJK character of the 13 px header font (ASCII about half of it)
HEADER_CHROME_PX = 58        # cell padding, sort arrow and the filter/menu icon of an AG Grid header cell


def header_min_width(header: str) -> int:
    """Smallest column width that shows a (Chinese) header in full, icons included; at least 90 px."""
    text = sum(HEADER_CJK_PX if ord(ch) > 0x2E7F else HEADER_CJK_PX // 2 + 1 for ch in header)
    return max(90, text + HEADER_CHROME_PX)


def column_def(field: str, header: str, kind: str = "text", decimals: int | None = None,
               unit: str | None = None, **extra: Any) -> dict[str, Any]:
    """One AG Grid column: kind 'text' | 'int' | 'number' | 'money' | 'percent'; numbers right-aligned."""
    col: dict[str, Any] = {"field": field, "headerName": header, "minWidth": header_min_width(header)}
    if kind in _NUMBER_KINDS:
        if decimals is None:
            decimals = {"int": 0, "money": 2, "percent": 1}.get(kind, 2)
        col.update(type="rightAligned", filter="agNumberColumnFilter",
                   valueFormatter=_value_formatter(kind, decimals, unit))
    else:
        col.update(filter="agTextColumnFilter")
    col.update(extra)
    return col


def data_table(table_id: Any, rows: Sequence[dict[str, Any]] | Any, columns: Sequence[dict[str, Any]],
               page_size: int = 20, height: int | None = None, export_name: str | None = None,
               **grid_kwargs: Any) -> dag.AgGrid:
    """A dash-ag-grid table with Chinese texts, sorting, filtering, paging and number formatting.

    rows: list of dicts or a pandas DataFrame; columns: ``column_def(...)`` dicts (or raw AG Grid columnDefs).
    """
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    options: dict[str, Any] = {
        "localeText": AG_GRID_LOCALE_ZH, "pagination": True, "paginationPageSize": page_size,
        # the page size is one of the choices (else AG Grid shows an empty 每页条数 box: the channel list's 5)
        "paginationPageSizeSelector": sorted({page_size, 10, 20, 50, 100}), "animateRows": False,
        "enableCellTextSelection": True, "ensureDomOrder": True,
    }
    options.update(grid_kwargs.pop("dashGridOptions", {}))
    kwargs: dict[str, Any] = dict(
        id=table_id, rowData=list(rows), columnDefs=list(columns),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90,
                       "floatingFilter": False},
        dashGridOptions=options, columnSize="responsiveSizeToFit", className="data-table",
        style={"height": f"{height}px" if height else f"{min(60 + 42 * page_size, 600)}px", "width": "100%"},
    )
    if export_name:
        kwargs["csvExportParams"] = {"fileName": export_name}
    kwargs.update(grid_kwargs)
    return dag.AgGrid(**kwargs)


# ---------------------------------------------------------------------------------------------- ECharts
def echarts(name: str, height: int | str = 420, className: str = "") -> html.Div:
    """Container of one ECharts chart (drawn by ``assets/echarts_bridge.js``).

    Write the option into ``Output(ids.echarts_option(name), 'data')``; read clicks from
    ``Input(ids.echarts_click(name), 'data')``. Option key ``_geo: {name, geojson}`` registers a map first.
    """
    h = f"{height}px" if isinstance(height, int) else height
    return html.Div([
        html.Div(id=ids.echarts_box(name), className="echarts-box", style={"height": h}),
        dcc.Store(id=ids.echarts_option(name)),
        dcc.Store(id=ids.echarts_click(name)),
    ], className=f"echarts-wrap {className}".strip())
