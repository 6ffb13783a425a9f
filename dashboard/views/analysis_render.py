"""自助分析 /analysis: what the page shows — pickers from the URL, the grid, the heat map, the drill, the export.

Every function takes the URL query string and works inside a request (scope from the logged-in user); the
numbers come from :mod:`dashboard.views.analysis` (the engine's rows, totals of summed numerators/denominators).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html, no_update

from dashboard import urlstate
from dashboard.views import analysis as an
from dashboard.views import pagekit as kit
from layouts import _analysis_parts as A
from layouts._components import column_def, data_table
from layouts.formatting import fmt_period_zh, fmt_value

CONTROL_OUTPUTS: list[tuple[str, str]] = [
    (A.IND, "options"), (A.IND, "value"), (A.ROWS, "options"), (A.ROWS, "value"), (A.COLS, "options"),
    (A.COLS, "value"), (A.GRAIN, "value"), (A.FROM, "options"), (A.FROM, "value"), (A.FROM, "disabled"),
    (A.TO, "options"), (A.TO, "value"), (A.ORG, "options"), (A.ORG, "value"), (A.FDIM, "options"),
    (A.FDIM, "value"), (A.FDIM, "disabled"), (A.FMEM, "options"), (A.FMEM, "value"), (A.FMEM, "disabled"),
    (A.DIM_BOX, "style"), (A.HINT, "children"), (A.SUBTITLE, "children"), (A.NOTICE, "children"),
]
PIVOT_OUTPUTS: list[tuple[str, str]] = [
    (A.GRID, "rowData"), (A.GRID, "columnDefs"), (A.GRID, "dashGridOptions"), (A.GRID, "style"), (A.HEATMAP, "figure"),
    (A.GRID_TITLE, "children"), (A.PIVOT_NOTICE, "children"),
]
ONE_DIM_HINT = "一次只按一个维度拆分：行或列选了维度时，不再提供维度筛选。"


# ---------------------------------------------------------------------------------------------- pickers
def indicator_options() -> list[dict[str, Any]]:
    """Indicators grouped by theme (a disabled theme header before each group); search by name, theme or id."""
    from metrics.catalogue import TOPICS
    out: list[dict[str, Any]] = []
    ids_ = an.analysable_ids()
    for topic, topic_zh in TOPICS.items():
        items = [(i, kit.indicator(i)) for i in ids_ if kit.attr(kit.indicator(i), "topic") == topic]
        if not items:
            continue
        names = " ".join(str(kit.attr(e, "zh")) for _, e in items)
        out.append({"label": f"【{topic_zh}】", "value": f"__topic_{topic}", "disabled": True,
                    "search": f"{topic_zh} {names}"})
        out += [{"label": str(kit.attr(e, "zh", i)), "value": i, "search": f"{topic_zh} {kit.attr(e, 'zh')} {i}"}
                for i, e in items]
    return out


def period_options(grain: str) -> list[dict[str, str]]:
    """Every period of the grain the mart has data for, oldest first."""
    from queries.periods import data_range
    first, last = data_range(kit.mart_url())
    if not first or not last:
        return []
    return [{"label": fmt_period_zh(grain, p), "value": p}
            for p in reversed(urlstate.periods_between(grain, str(first), str(last)))]


def org_options() -> list[dict[str, str]]:
    """全县, the townships and the institutions the user may see in detail."""
    from queries import org as qorg
    url = kit.mart_url()
    user = kit.scope()
    towns = qorg.townships(url)
    tree = qorg.org_tree(url)
    out = [{"label": "全县", "value": an.COUNTY}]
    out += [{"label": f"乡镇 · {n}", "value": str(c)} for c, n in zip(towns["area_code"], towns["name"])]
    name_col = "inst_name" if "inst_name" in tree.columns else "name"
    out += [{"label": f"机构 · {n}", "value": str(c)} for c, n in zip(tree["inst_code"], tree[name_col])
            if user.may_see_institution(str(c))]
    return out


def controls(search: str | None) -> tuple:
    """Options and values of every picker from the URL (in :data:`CONTROL_OUTPUTS` order)."""
    spec = an.parse_spec(search)
    entry = kit.indicator(spec.indicator)
    dims = an.dimensions()
    can = an.split_dims(spec.indicator)
    rows = [{"label": "全县（一行）" if lv == "county" else f"按{an.ROW_LEVEL_ZH[lv]}", "value": lv} for lv in an.row_levels(entry, spec.org_level)]
    rows += [{"label": f"维度 · {an.dimension_label(d)}", "value": d} for d in can]
    cols = [{"label": "期间", "value": an.PERIOD}]
    cols += [{"label": f"维度 · {an.dimension_label(d)}", "value": d,
              "disabled": bool(spec.row_dim) or spec.rows not in an.dimension_levels()} for d in can]
    periods = period_options(spec.grain)
    org = spec.org if spec.org else an.COUNTY
    orgs = org_options()
    if org not in {o["value"] for o in orgs}:
        orgs.append({"label": kit.org_path(org)[-1].name, "value": org})
    fdim_off = bool(spec.row_dim or spec.col_dim) or spec.rows not in an.dimension_levels()
    fdims = [{"label": an.dimension_label(d), "value": d} for d in can]
    fmems = [{"label": n, "value": c} for c, n in an.members(spec.fdim)] if spec.fdim else []
    hint = (ONE_DIM_HINT if dims else "") + ("" if can or not dims else
                                            "该指标或所选范围不能按维度拆分（维度只到机构，且只适用于门诊、住院病例汇总的指标）。")
    notes = kit.notice("；".join(spec.notes)) if spec.notes else None
    return (indicator_options(), spec.indicator, rows, spec.rows, cols, spec.cols, spec.grain, periods,
            spec.start, spec.cols != an.PERIOD, periods, spec.end, orgs, org, fdims, spec.fdim, fdim_off or not can,
            fmems, spec.fmem, fdim_off or not spec.fdim, {} if dims else {"display": "none"}, hint,
            subtitle(spec), notes)


def subtitle(spec: an.Spec) -> str:
    """"门诊次均费用 · 2025年1月–2025年12月 · 全县"."""
    entry = kit.indicator(spec.indicator)
    when = fmt_period_zh(spec.grain, spec.end) if spec.start == spec.end else \
        f"{fmt_period_zh(spec.grain, spec.start)}–{fmt_period_zh(spec.grain, spec.end)}"
    where = kit.org_path(spec.org)[-1].name if spec.org else "全县"
    extra = f" · {an.dimension_label(spec.fdim)}：{dict(an.members(spec.fdim)).get(spec.fmem)}" if spec.fmem else ""
    return f"{kit.attr(entry, 'zh', spec.indicator)} · {when} · {where}{extra}"


def search_for(values: list[Any], search: str | None) -> Any:
    """The query string the pickers ask for (no_update when it is the view already shown)."""
    current = an.parse_spec(search)
    ind, rows, cols, grain, start, end, org, fdim, fmem = values
    grain = grain if grain in urlstate.GRAINS else current.grain
    if grain != current.grain:
        start = urlstate.convert_period(str(start or current.start), grain)
        end = urlstate.convert_period(str(end or current.end), grain)
    if fdim != current.fdim:
        fmem = None
    raw = urlstate.to_search(urlstate.ViewState(grain, str(end or current.end), None if org in (None, an.COUNTY)
                                                else str(org)).with_(extra={
        "ind": ind, "rows": rows, "cols": cols, "from": start, "fdim": fdim, "fmem": fmem}))
    wanted = an.parse_spec(raw)
    return no_update if wanted == current else an.to_search(wanted)


# ---------------------------------------------------------------------------------------------- grid and chart
def _unit(spec: an.Spec) -> tuple[str, int]:
    entry = kit.indicator(spec.indicator)
    return str(kit.attr(entry, "unit") or ""), int(kit.attr(entry, "decimals", 1) or 0)


def _round(v: Any, dec: int) -> float | None:
    return None if v is None else round(float(v), dec) + 0.0


def _nd(x: float) -> str:
    """A numerator or denominator as the tooltip shows it: integers plain, money with 2 places."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _tip(cell: dict[str, Any] | None) -> str:
    """The cell's tooltip: 分子 … / 分母 … and its flags (样本量小, 数据不完整)."""
    if not cell or cell.get("numerator") is None:
        return "无数据"
    den = cell.get("denominator")
    text = f"分子 {_nd(cell['numerator'])}" + (f" / 分母 {_nd(den)}" if den is not None and den == den else "")
    if cell.get("small") or not cell.get("complete", True):
        flags = (["样本量小"] if cell.get("small") else []) + ([] if cell.get("complete", True) else ["数据不完整"])
        text += f"（{'，'.join(flags)}）"
    return text


def grid_rows(pivot: an.Pivot) -> tuple[list[dict], list[dict]]:
    """(rows, pinned total row) of the grid: values rounded as shown, tooltips with numerator/denominator."""
    _, dec = _unit(pivot.spec)
    out = []
    for code, name in pivot.rows:
        row: dict[str, Any] = {"row_code": code, "row": name}
        for i, (ccode, _label) in enumerate(pivot.cols):
            cell = pivot.cells.get((code, ccode))
            row[f"c{i}"] = _round(cell["value"], dec) if cell else None
            row[f"t{i}"] = _tip(cell)
        row["total"] = _round(pivot.row_totals.get(code), dec)
        out.append(row)
    pinned = []
    if pivot.col_totals:
        total: dict[str, Any] = {"row_code": an.TOTAL, "row": "合计"}
        for i, (ccode, _label) in enumerate(pivot.cols):
            total[f"c{i}"] = _round(pivot.col_totals.get(ccode), dec)
        total["total"] = _round(pivot.grand, dec)
        pinned.append(total)
    return out, pinned


def axis_label(spec: an.Spec) -> str:
    return an.dimension_label(spec.row_dim) if spec.row_dim else an.ROW_LEVEL_ZH.get(spec.rows, spec.rows)


def grid_columns(pivot: an.Pivot) -> list[dict]:
    unit, dec = _unit(pivot.spec)
    cols = [column_def("row", axis_label(pivot.spec), pinned="left", minWidth=104)]
    # long member names (ICD chapters) wrap in the header instead of widening every column
    narrow = {"minWidth": 110, "wrapHeaderText": True, "autoHeaderHeight": True} if pivot.spec.col_dim else {}
    cols += [column_def(f"c{i}", label, "number", dec, unit, tooltipField=f"t{i}", headerTooltip=label, **narrow)
             for i, (_c, label) in enumerate(pivot.cols)]
    if pivot.row_totals:
        cols.append(column_def("total", "合计", "number", dec, unit, cellClass="an-total", pinned="right"))
    return cols


HOVER_CELLS = 1500      # above this many cells the hover shows the value only (names cost bytes per cell)
TEXT_CELLS = 240        # up to this many cells the values are written into the cells


def heatmap(pivot: an.Pivot) -> dict[str, Any] | go.Figure:
    """Rows × columns coloured by value (red where the indicator is worse); a click drills like the grid.

    A plain figure dict (Plotly's per-value validation of a few thousand cells costs more than the engine):
    the axes carry the row and column codes (what a click reports), their tick texts the names."""
    from dashboard.views.figures import no_data_figure
    from layouts._components import base_figure_layout, plotly_text
    unit, dec = _unit(pivot.spec)
    if not pivot.rows or not any(c.get("value") is not None for c in pivot.cells.values()):
        return no_data_figure(pivot.refused or kit.NO_DATA)
    z = [[(pivot.cells.get((r, c)) or {}).get("value") for c, _ in pivot.cols] for r, _ in pivot.rows]
    direction = str(kit.attr(kit.indicator(pivot.spec.indicator), "direction") or "")
    scale = [[0, "#eef4fb"], [1, "#c0392b"]] if direction == "down" else \
        [[0, "#c0392b"], [1, "#eef4fb"]] if direction == "up" else [[0, "#eef4fb"], [1, "#1f4e79"]]
    cells = len(pivot.rows) * len(pivot.cols)
    trace: dict[str, Any] = {"type": "heatmap", "z": z, "x": [c for c, _ in pivot.cols],
                             "y": [r for r, _ in pivot.rows], "colorscale": scale, "hoverongaps": False,
                             "colorbar": {"thickness": 12, "title": {"text": unit}},
                             "hovertemplate": f"%{{z:,.{dec}f}}{unit}<extra></extra>"}
    if cells <= HOVER_CELLS:
        text = [[fmt_value(v, unit, dec) if v is not None else "无数据" for v in row] for row in z]
        trace["hovertext"] = [[f"{plotly_text(rn)} · {plotly_text(cl)}<br>{t}" for (_c, cl), t in zip(pivot.cols, row)]
                              for (_r, rn), row in zip(pivot.rows, text)]
        trace["hovertemplate"] = "%{hovertext}<extra></extra>"
        if cells <= TEXT_CELLS:
            trace["text"] = [[t if t != "无数据" else "" for t in row] for row in text]
            trace["texttemplate"] = "%{text}"
    base = base_figure_layout()
    layout = base_figure_layout(
        height=min(max(260, 26 * len(pivot.rows) + 110), 1400), margin=dict(l=8, r=8, t=16, b=40),
        yaxis={**base["yaxis"], "autorange": "reversed", "automargin": True, "type": "category",
               "tickmode": "array", "tickvals": trace["y"],
               "ticktext": [plotly_text(_short(n, 12)) for _, n in pivot.rows]},
        xaxis={**base["xaxis"], "automargin": True, "side": "top", "type": "category", "tickmode": "array",
               "tickvals": trace["x"], "ticktext": [plotly_text(_short(lbl)) for _, lbl in pivot.cols]})
    return {"data": [trace], "layout": layout}


def _short(label: str, size: int = 8) -> str:
    """A heat-map axis label: ICD chapters by their code range ("A00-B99 某些传染病…" → "A00-B99"), other long
    names cut with an ellipsis (the hover shows the cell's value; the grid keeps the full names)."""
    head = label.split(" ", 1)[0]
    if head != label and any(ch.isdigit() for ch in head):
        return head
    return label if len(label) <= size else label[:size - 1] + "…"


def grid_options(pinned: list[dict]) -> dict[str, Any]:
    """The grid's options (the shared table's defaults) with the pinned total row."""
    base = data_table(A.GRID, [], [], page_size=50).dashGridOptions
    return {**base, "pinnedBottomRowData": pinned, "overlayNoRowsTemplate": None, "tooltipShowDelay": 300}


def pivot_view(search: str | None) -> tuple:
    """(rowData, columnDefs, grid options, grid style, heat map, grid title, notice) of the URL's pivot."""
    pivot = an.build(an.parse_spec(search))
    rows, pinned = grid_rows(pivot)
    title = pivot.totals_note + ("；" if pivot.totals_note else "") + "点击单元格下钻"
    notice = kit.notice(pivot.refused) if pivot.refused else (
        None if rows else kit.notice("本期无数据或无权查看该范围的明细"))
    # the grid as tall as its rows (a header of wrapped member names, the pinned total, the pager), at most 560 px
    height = min(560, 112 + 42 * (len(rows) + len(pinned)) + (40 if pivot.spec.col_dim else 0))
    return (rows, grid_columns(pivot), grid_options(pinned), {"height": f"{height}px", "width": "100%"},
            heatmap(pivot), title, notice)


# ---------------------------------------------------------------------------------------------- drill
def column_codes(spec: an.Spec) -> list[str]:
    """The column codes in grid order (derived from the spec alone, as the grid was built)."""
    return [c for c, _ in an.members(spec.col_dim)] if spec.col_dim else spec.periods


def drill_target(spec: an.Spec, row: str, col: str) -> tuple[str | None, str, str | None]:
    """(org, period, member) of a cell."""
    period = col if spec.cols == an.PERIOD else spec.end
    member = row if spec.row_dim else col if spec.col_dim else spec.fmem
    org = spec.org if spec.row_dim else (None if spec.rows == "county" else row)
    return org, period, member


def indicator_href(spec: an.Spec, org: str | None, period: str) -> str:
    return f"/indicator/{spec.indicator}" + urlstate.to_search(urlstate.ViewState(spec.grain, period, org))


def drill(search: str | None, row: str | None, col: str | None) -> tuple[Any, Any]:
    """(new address or no_update, side panel) of a clicked cell: org × period cells open the indicator page;
    a cell with a dimension member shows that member across the org's next level in the panel."""
    if row is None and col is None:
        return no_update, no_update
    spec = an.parse_spec(search)
    codes = column_codes(spec)
    if not row or row == an.TOTAL or col not in codes:
        return no_update, html.Div("合计单元格：分子之和 ÷ 分母之和，无下钻", className="an-panel-hint")
    org, period, member = drill_target(spec, row, col)
    if spec.by is None:
        return indicator_href(spec, org, period), no_update
    from layouts.formatting import zh_only
    from metrics.engine import IndicatorError
    try:
        return no_update, member_panel(spec, org, period, member)
    except IndicatorError as exc:       # e.g. a mart built before the dimension rollups: said in Chinese
        return no_update, kit.notice(zh_only(str(exc)) or str(exc))


def member_panel(spec: an.Spec, org: str | None, period: str, member: str | None) -> html.Div:
    """One member at one org and period: its figures and its split over the org's next level (engine rows)."""
    dim = spec.by
    unit, dec = _unit(spec)
    name = dict(an.members(dim)).get(member or "", member or "")
    path = kit.org_path(org) if org else kit.org_path(None)
    org_level = path[-1].level if org else "county"
    one = replace(spec, rows=org_level, cols=an.PERIOD, start=period, end=period, org=org, org_level=org_level,
                  fdim=dim, fmem=member)
    own = an.engine_rows(one)
    value = own["value"].iloc[0] if not own.empty else None
    head = [html.H4(f"{an.dimension_label(dim)}：{name}", className="an-panel-title"),
            html.Div(f"{path[-1].name if org else '全县'} · {fmt_period_zh(spec.grain, period)}",
                     className="an-panel-sub"),
            html.Div(fmt_value(kit.clean(value), unit, dec), className="an-panel-value"),
            html.Div(_tip(None if own.empty else {k: kit.clean(own[k].iloc[0]) for k in
                                                  ("numerator", "denominator")} | {"complete": True}),
                     className="an-panel-nd")]
    entry = kit.indicator(spec.indicator)
    child = kit.CHILD_LEVEL.get(org_level)
    table: Any = None
    child = child if child in an.dimension_levels() and child in an.row_levels(entry, org_level) else None
    if child and kit.visible_detail(path, kit.scope()):
        kids = an.engine_rows(replace(one, rows=child))
        kids = kids.dropna(subset=["value"]).sort_values("value", ascending=False)
        table = data_table(A.PANEL + "-table", [{"name": n, "value": _round(v, dec), "numerator": kit.clean(a),
                                                 "denominator": kit.clean(b)}
                                                for n, v, a, b in zip(kids["org_name"], kids["value"],
                                                                      kids["numerator"], kids["denominator"])],
                           [column_def("name", an.ROW_LEVEL_ZH[child]), column_def("value", "指标值", "number", dec,
                                                                                   unit),
                            column_def("numerator", "分子", "number", 0), column_def("denominator", "分母", "number", 0)],
                           page_size=10, height=320)
    links = [dcc.Link("进入指标分析（不分维度）›", href=indicator_href(spec, org, period), className="map-drill")]
    if child:
        pivot = replace(spec, rows=child, cols=an.PERIOD, org=org, fdim=dim, fmem=member,
                        start=spec.start if spec.cols == an.PERIOD else period, end=spec.end)
        links.append(dcc.Link(f"按{an.ROW_LEVEL_ZH[child]}透视该成员 ›", href="/analysis" + an.to_search(pivot),
                              className="map-drill"))
    return html.Div(head + ([html.H5(f"各{an.ROW_LEVEL_ZH[child]}", className="an-panel-sub"), table]
                            if table is not None else []) + [html.Div(links, className="an-panel-links")], className="an-panel-body")


# ---------------------------------------------------------------------------------------------- export
def export(search: str | None, fmt: str) -> tuple[Any, str]:
    """(download, message): the grid as CSV (UTF-8 BOM) or .xlsx, numbers as the grid shows them; audited."""
    from dashboard.accounts.audit import record_audit
    from dashboard.export import CSV_MIME, XLSX_MIME, export_filename, to_csv_bytes, to_xlsx_bytes
    spec = an.parse_spec(search)
    pivot = an.build(spec)
    rows, pinned = grid_rows(pivot)
    if not rows:
        return no_update, pivot.refused or f"{kit.NO_DATA}，没有可导出的内容"
    import pandas as pd
    _, dec = _unit(spec)
    headers = {"row": axis_label(spec)} | {f"c{i}": lbl for i, (_c, lbl) in enumerate(pivot.cols)}
    if pivot.row_totals:
        headers["total"] = "合计"
    frame = pd.DataFrame(rows + pinned)
    frame = frame.reindex(columns=list(headers))
    title = subtitle(spec)
    record_audit("data.export", f"{spec.indicator} 自助分析 {spec.org or '全县'} {spec.start}–{spec.end}", None,
                 {"indicator": spec.indicator, "page": "analysis", "rows_axis": spec.rows, "cols_axis": spec.cols,
                  "org": spec.org or "county", "grain": spec.grain, "from": spec.start, "to": spec.end,
                  "filter": f"{spec.fdim}={spec.fmem}" if spec.fmem else None,
                  "format": "xlsx" if fmt == "xlsx" else "csv", "rows": len(rows)})
    decimals = {k: dec for k in headers if k != "row"}
    stem = f"自助分析_{kit.attr(kit.indicator(spec.indicator), 'zh', spec.indicator)}_{spec.start}_{spec.end}"
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(frame, headers, title=title, decimals=decimals),
                              export_filename(stem, "xlsx"), type=XLSX_MIME), ""
    return dcc.send_bytes(to_csv_bytes(frame, headers, decimals=decimals), export_filename(stem, "csv"),
                          type=CSV_MIME), ""


def clicked_cell(trigger: Any, cell: dict | None, click: dict | None, search: str | None
                 ) -> tuple[str | None, str | None]:
    """(row code, column code) of a grid cell click (``cellClicked``) or a heat-map click (``clickData``)."""
    if trigger == A.GRID and isinstance(cell, dict):
        col_id, row = str(cell.get("colId") or ""), cell.get("rowId")
        codes = column_codes(an.parse_spec(search))
        idx = int(col_id[1:]) if col_id[:1] == "c" and col_id[1:].isdigit() else -1
        pinned = cell.get("rowPinned") or (isinstance(row, str) and row.startswith(("b-", "t-")))
        return (an.TOTAL if pinned else row), (codes[idx] if 0 <= idx < len(codes) else None)
    point = ((click or {}).get("points") or [{}])[0]
    if point.get("x") is not None and point.get("y") is not None:     # the heat map's axes carry the codes
        return str(point["y"]), str(point["x"])
    return None, None
