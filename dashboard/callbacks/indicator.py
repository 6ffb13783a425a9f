"""Callbacks of 指标分析 /indicator/<id>: breadcrumbs, trend, breakdown + table, ranking, drill, export.

Every callback reads the view state from the URL and the scope from the logged-in user, calls the engine once
per grain it needs, and guards its own errors (an error card for that section, the rest of the page renders).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, no_update

from dashboard.views import output_cache
from dashboard.views import pagekit as kit
from dashboard.views.figures import bar_figure, no_data_figure, trend_figure
from dashboard.views.pagekit import BASIS_PHRASE, basis_phrase, level_note
from dashboard.views.pagekit import levels_of as _levels
from layouts import _ids as ids
from layouts import _pageparts as L
from layouts._components import GRAPH_CONFIG, breadcrumbs, data_table, safe_figure
from layouts.formatting import NO_TARGET, display_target, fmt_period_zh, fmt_value, zh_only

TREND_MONTHS = 24
# AG Grid refuses HTML overlay templates (console error); our empty tables show an empty state instead.
NO_HTML_OVERLAY = {"overlayNoRowsTemplate": None}
RANK_LIMIT = 40
EXPORT_HEADERS = {"org_code": "代码", "org_name": "机构/单位", "level_zh": "层级", "period": "期间",
                  "numerator": "分子", "denominator": "分母", "value": "指标值", "target": "目标值",
                  "status": "状态", "yoy_value": "去年同期值", "yoy_change": "同比差值", "yoy_rel": "同比增减率（%）",
                  "share": "分子占比（%）",
                  "complete": "数据完整", "flags": "说明"}
NO_EXPORT = "无权导出该机构明细（该机构数值见同类机构排名）"
# How each basis reads in a sentence ("该指标按居民居住乡镇统计"): a residence-based township row counts the
# residents of the township wherever they were treated, so it is no institution's number.


class NotAtLevel(Exception):
    """The indicator is not computed at the org's level (a calm explanation, not an error)."""


# ---------------------------------------------------------------------------------------------- data
def _entry(indicator_id: str) -> Any:
    entry = kit.indicator(indicator_id)
    if entry is None:
        raise KeyError(f"unknown indicator {indicator_id!r}")
    return entry


def _unit(entry: Any) -> tuple[str, int]:
    return kit.attr(entry, "unit") or "", int(kit.attr(entry, "decimals", 1) or 0)


def _higher_is_worse(entry: Any) -> bool:
    return str(kit.attr(entry, "direction") or "").lower() in ("down", "↓", "lower")


def _flags(row: pd.Series) -> str:
    """The 说明 cell: incomplete data, small sample and the engine's notes, in Chinese, each once."""
    notes: list[str] = []
    if not kit.is_missing(row.get("complete")) and not bool(row.get("complete")):
        notes.append("数据不完整")
    if not kit.is_missing(row.get("small_sample")) and bool(row.get("small_sample")):
        notes.append("样本量小")
    note = row.get("note")
    if not kit.is_missing(note) and str(note):
        # the engine's notes carry English asides ("部分期间 (partial period)") and repeat the flags above
        notes += [t.strip() for t in zh_only(note).replace("；", ";").split(";") if t.strip()]
    return "；".join(dict.fromkeys(notes))


def org_context(state) -> tuple[list[kit.OrgNode], str, bool]:
    """(path from the county, the org's level, may the user see detail below it)."""
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    return path, level, kit.visible_detail(path, kit.scope())


# ---------------------------------------------------------------------------------------------- counts
def is_count(entry: Any) -> bool:
    """A count indicator (上转人次 …): no denominator, and zero is a value, not a missing one."""
    return kit.attr(entry, "kind") == "count"


# ---------------------------------------------------------------------------------------------- frames
def table_frame(indicator_id: str, state) -> tuple[pd.DataFrame, dict]:
    """The drill table: the current org first, then its children (when allowed), with engine numbers.

    Returns (frame, info) where info holds the path, level, child level and whether detail was denied.
    Used by both the page table and the export, so that both show exactly the engine's numbers.
    Raises :class:`NotAtLevel` when the indicator is not computed at the org's level.
    """
    entry = _entry(indicator_id)
    path, level, visible = org_context(state)
    note = level_note(entry, level)
    if note:
        raise NotAtLevel(note)
    start, end = kit.bounds(state)
    child = kit.CHILD_LEVEL.get(level)
    if child not in _levels(entry):
        child = None
    denied = False
    if level in ("department", "doctor") and not visible:
        raise PermissionError(kit.NO_ACCESS)
    if child and not visible and level == "institution":
        child, denied = None, True
    own = kit.compute([indicator_id], level, state.grain, start, end, state.org)
    kids = kit.compute([indicator_id], child, state.grain, start, end, state.org) if child else None
    frames = [own.assign(_own=True)] + ([kids.assign(_own=False)] if kids is not None else [])
    df = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else own.assign(_own=True)
    if not df.empty:
        df = df[df["indicator_id"] == indicator_id].copy()
        df["level_zh"] = df["level"].map(kit.LEVEL_ZH).fillna(df["level"])
        df["target_text"] = display_target(kit.attr(entry, "target_text")) or NO_TARGET
        df["flags"] = df.apply(_flags, axis=1)
        # 同比 as the cards say it: percentage points for a % indicator (kept as a difference), else relative
        unit_ = kit.attr(entry, "unit") or ""
        df["yoy_rel"] = [kit.card_change(v, y, unit_) for v, y in zip(df["value"], df["yoy_value"])]
        kids_num = df.loc[~df["_own"], "numerator"].astype(float)
        total = kids_num.sum() if not kids_num.empty else 0.0
        df["share"] = [(float(n) / total if (not own_ and total and not kit.is_missing(n)) else None)
                       for n, own_ in zip(df["numerator"], df["_own"])]
        own_name = df.loc[df["_own"], "org_name"]
        if not own_name.empty:
            df.loc[df["_own"], "org_name"] = f"{own_name.iloc[0]}（合计）"
    return df, {"path": path, "level": level, "child": child, "denied": denied}


def trend_frame(indicator_id: str, state) -> pd.DataFrame:
    """24 months of the current org ending with the period's last month (with last year's values)."""
    entry = _entry(indicator_id)
    _path, level, visible = org_context(state)
    note = level_note(entry, level)
    if note:
        raise NotAtLevel(note)
    if level in ("department", "doctor") and not visible:
        raise PermissionError(kit.NO_ACCESS)
    _, end = kit.bounds(state)
    start = kit.add_months(end, -(TREND_MONTHS - 1))
    df = kit.compute([indicator_id], level, "month", start, end, state.org)
    return df[df["indicator_id"] == indicator_id] if not df.empty else df


@dataclass
class RankingView:
    """What the 同类机构排名 section shows: ranked rows, or a calm message why there is no ranking."""
    frame: pd.DataFrame
    title: str = ""                 # "乡镇卫生院" / "各乡镇"
    highlight: str | None = None    # the org of the view, outlined
    counter: str = "家"             # 家 (institutions) / 个 (townships)
    message: str | None = None


def ranking_frame(indicator_id: str, state) -> RankingView:
    """Peers of the current institution's type (township centres when above institution level).

    Indicators without an institution level (residence- or county-based ones) rank the townships when they are
    computed by township, else there is no ranking and the view says why (derived from the basis).
    """
    entry = _entry(indicator_id)
    path, level, _ = org_context(state)
    start, end = kit.bounds(state)
    levels = _levels(entry)
    if "institution" in levels:
        inst = next((n.inst_code for n in reversed(path) if n.inst_code), None)
        inst_type = kit.institution_type(inst) if inst else "township_center"
        df = kit.ranking(indicator_id, state.grain, start, end, inst_type)
        return RankingView(df, kit.INST_TYPE_ZH.get(inst_type, inst_type or "机构"), inst)
    if "township" in levels and level == "county":
        # the breakdown beside it already ranks the townships of the county: say so instead of drawing it twice
        return RankingView(pd.DataFrame(), message=f"该指标{basis_phrase(entry)}，不做机构排名；各乡镇排名见下级分布")
    if "township" in levels:
        df = kit.compute([indicator_id], "township", state.grain, start, end, None, False)
        suffix = "（按居民居住乡镇）" if basis_phrase(entry) == BASIS_PHRASE["residence"] else ""
        return RankingView(df, f"各乡镇{suffix}", kit.township_of(path), counter="个")
    return RankingView(pd.DataFrame(), message=f"该指标{basis_phrase(entry)}，不做机构或乡镇排名")


# ---------------------------------------------------------------------------------------------- rendering
def render_crumbs(indicator_id: str, search: str | None) -> tuple[Any, Any, Any]:
    """Breadcrumbs 全县 › 乡镇 › 机构 › 科室 › 医生 (links keep the period), subtitle and notices."""
    state = kit.view_state(search)
    path, level, visible = org_context(state)
    base = f"/indicator/{indicator_id}"
    items = []
    for i, node in enumerate(path):
        label = "全县" if node.level == "county" else node.name
        org = None if node.level == "county" else node.code
        items.append((label, base + kit.to_search(state.with_(org=org)) if i < len(path) - 1 else None))
    org_name = path[-1].name if path and path[-1].level != "county" else "全县"
    subtitle = f"{fmt_period_zh(state.grain, state.period)} · {org_name}"
    note = None
    level_text = level_note(_entry(indicator_id), level)
    if level_text:
        note = kit.notice(f"{level_text}；请在机构范围中选择全县或乡镇。")
    elif not visible and level in ("institution", "department", "doctor"):
        note = kit.notice(f"{kit.NO_ACCESS}：仅显示该机构汇总值与排名。")
    return breadcrumbs(items), subtitle, note


def render_trend(indicator_id: str, search: str | None) -> Any:
    entry = _entry(indicator_id)
    unit, dec = _unit(entry)
    state = kit.view_state(search)
    df = trend_frame(indicator_id, state)
    if df.empty or df["value"].isna().all():
        _, level, visible = org_context(state)
        if not visible and level == "institution":
            # The engine hides an out-of-scope institution's own rows: say why instead of "no data".
            return kit.empty_box(f"{kit.NO_ACCESS}（该机构数值见同类机构排名）")
    fig = trend_figure(df, unit, dec, display_target(kit.attr(entry, "target_text")) or "",
                       forecast=forecast_frame(indicator_id, state, df))
    return dcc.Graph(id=L.TREND, figure=safe_figure(fig), config=GRAPH_CONFIG)


FORECAST_MONTHS = 3


def forecast_frame(indicator_id: str, state, trend: pd.DataFrame) -> pd.DataFrame | None:
    """The next months' forecast (95 % band) when the trend reaches the last complete month; None otherwise.
    Cached per data version by ``metrics.forecast``: a click never refits."""
    from metrics.forecast import ForecastError, forecast, forecastable
    from queries.periods import last_complete_month
    entry = kit.indicator(indicator_id)
    _, level, visible = org_context(state)
    if entry is None or not forecastable(entry) or level not in ("county", "township", "institution") \
            or (level == "institution" and not visible) or trend.empty:
        return None
    last = last_complete_month(kit.mart_url())
    if last is None or str(trend["period"].max()) < last:
        return None
    try:
        fc = forecast([indicator_id], level, state.org if level != "county" else None, FORECAST_MONTHS,
                      mart_url=kit.mart_url(), scope=kit.scope())
    except (ForecastError, ValueError) as exc:
        kit.log.info("no forecast for %s: %s", indicator_id, exc)
        return None
    if state.org and level != "county":
        fc = fc[fc["org_code"] == state.org]
    return fc if not fc.empty else None


def share_rows(kids: pd.DataFrame, unit: str, decimals: int) -> pd.DataFrame:
    """The breakdown by contribution: each child's share of the numerator (percent) as the bar value, largest
    first, with the child's own rate in the label — the answer to "which department drives it"."""
    rows = kids.dropna(subset=["share"]).copy()
    rows["rate_text"] = [fmt_value(kit.clean(v), unit, decimals) for v in rows["value"]]
    rows["value"] = rows["share"].astype(float) * 100.0
    rows["target"] = float("nan")
    return rows


def render_breakdown(indicator_id: str, search: str | None, mode: str = "share") -> tuple[Any, Any, Any]:
    """(breakdown chart box, its hint, table box). ``mode`` 'share' ranks the children by their share of the
    numerator (按贡献, the default), 'rate' by the indicator's value (按比率)."""
    entry = _entry(indicator_id)
    unit, dec = _unit(entry)
    state = kit.view_state(search)
    df, info = table_frame(indicator_id, state)
    child = info["child"]
    if info["denied"]:
        chart = kit.empty_box(kit.NO_ACCESS)
        hint = ""
    elif child is None:
        chart = kit.empty_box("已是最末级，无下级分布" if info["level"] == "doctor" else "该指标不支持向下钻取")
        hint = ""
    else:
        kids = df[~df["_own"]] if not df.empty else df
        by_share = mode != "rate" and not kids.empty and kids["share"].notna().any()
        if by_share:
            rows = share_rows(kids, unit, dec)
            fig = bar_figure(rows, "%", 1, True, links=drill_links(search, rows["org_code"]))
            if fig.data:
                fig.data[0].text = [f"{t}（{r}）" for t, r in zip(fig.data[0].text, rows.sort_values(
                    "value", ascending=False).iloc[::-1]["rate_text"])]
                # room on the right for "40.3%（13.4%）" beside the longest bar, also on a phone's narrow plot
                fig.update_xaxes(title_text="占分子的比例（%）；括号内为本级指标值",
                                 range=[0, float(rows["value"].max()) * 1.38])
                fig.update_layout(margin=dict(r=44))
        else:
            fig = (bar_figure(kids, unit, dec, _higher_is_worse(entry), links=drill_links(search, kids["org_code"]))
                   if not kids.empty else no_data_figure())
        chart = dcc.Graph(id=L.BREAKDOWN, figure=safe_figure(fig), config=GRAPH_CONFIG, clear_on_unhover=True)
        hint = (f"按{kit.LEVEL_ZH[child]}占分子的比例排序，点击柱条下钻" if by_share
                else f"按{kit.LEVEL_ZH[child]}，点击柱条下钻")
    if df.empty or df["value"].isna().all():
        # An institution outside a manager's scope has no own row either (the engine hides it): say why.
        table = kit.empty_box(f"{kit.NO_ACCESS}（该机构数值见同类机构排名）" if info["denied"] else kit.NO_DATA)
    else:
        rows = [_display_row(r, dec, kit.in_points(unit)) for r in df[[c for c, _, _ in L.TABLE_COLUMNS] + ["org_code", "_own"]]
                .to_dict("records")]
        total = [r for r in rows if r.pop("_own")]
        kids_rows = [r for r in rows if r not in total]
        options = dict(NO_HTML_OVERLAY)
        if total and kids_rows:
            # the total stays on top whatever column the user sorts by
            options["pinnedTopRowData"] = total
        else:
            kids_rows = total + kids_rows
        table = data_table(L.TABLE, kids_rows, L.table_column_defs(unit, dec), page_size=20, height=480,
                           dashGridOptions=options)
    return chart, hint, table


def _display_row(row: dict, decimals: int, points: bool = False) -> dict:
    """Table row for the page: values rounded as displayed, shares and changes in percent (exports stay raw);
    ``points``: the change of a % indicator is already in percentage points."""
    out = {k: kit.clean(v) for k, v in row.items()}
    if out.get("value") is not None:
        out["value"] = round(float(out["value"]), decimals) + 0.0      # + 0.0: no "-0.0"
    for key in ("yoy_rel", "share"):
        if out.get(key) is not None:
            out[key] = round(float(out[key]) * (1 if key == "yoy_rel" and points else 100), 1) + 0.0
    return out


def render_ranking(indicator_id: str, search: str | None) -> tuple[Any, Any]:
    entry = _entry(indicator_id)
    unit, dec = _unit(entry)
    state = kit.view_state(search)
    view = ranking_frame(indicator_id, state)
    if view.message:
        return kit.empty_box(view.message), ""
    df = view.frame
    if df.empty or df["value"].isna().all():
        return kit.empty_box(), view.title
    worse_high = _higher_is_worse(entry)
    df = df.dropna(subset=["value"]).sort_values("value", ascending=not worse_high)
    inst = view.highlight
    if len(df) > RANK_LIMIT:
        keep = df.head(RANK_LIMIT)
        if inst and inst not in set(keep["org_code"]):
            keep = pd.concat([keep.head(RANK_LIMIT - 1), df[df["org_code"] == inst]])
        df = keep
    fig = bar_figure(df, unit, dec, worse_high, highlight=inst, links=drill_links(search, df["org_code"]))
    what = "该乡镇" if view.counter == "个" else "该机构"
    return (dcc.Graph(id=L.RANKING, figure=safe_figure(fig), config=GRAPH_CONFIG),
            f"{view.title}共{len(df)}{view.counter}，最差在上，点击柱条查看{what}")


def drill_search(search: str | None, org_code: str | None) -> str:
    """The query string after drilling into ``org_code`` (period kept)."""
    state = kit.view_state(search)
    return kit.to_search(state.with_(org=org_code))


def drill_links(search: str | None, codes: Any) -> dict[str, str]:
    """org code → query string of the drill into it (written into the bars, followed in the browser)."""
    return {str(c): drill_search(search, str(c)) for c in codes}


def export_frame(indicator_id: str, state) -> tuple[pd.DataFrame, dict[str, str], dict[str, int], dict]:
    """The drill table as people read it: (frame, headers, decimals per column, info).

    Values keep the engine's numbers rounded to the indicator's decimals (as the page shows them), the period
    reads 2026年第3季度, 数据完整 是/否, changes and shares in percent. Raises PermissionError when the user may
    not see what the view would export (another institution's detail), NotAtLevel, or LookupError for no data.
    """
    entry = _entry(indicator_id)
    unit, dec = _unit(entry)
    df, info = table_frame(indicator_id, state)
    if info["denied"]:
        raise PermissionError(NO_EXPORT)
    if df.empty or df["value"].isna().all():
        raise LookupError(f"{kit.NO_DATA}，没有可导出的内容")
    out = df.copy()
    out["period"] = [fmt_period_zh(state.grain, p) for p in out["period"]]
    out["complete"] = ["" if kit.is_missing(c) else ("是" if bool(c) else "否") for c in out["complete"]]
    # the file has both: 同比差值 (the engine's difference; percentage points for a % indicator) and the
    # relative 同比增减率, whatever the page's 同比 column shows
    out["yoy_rel"] = [kit.relative_yoy(v, y) for v, y in zip(out["value"], out["yoy_value"])]
    for key in ("yoy_rel", "share"):
        out[key] = pd.to_numeric(out[key], errors="coerce") * 100
    headers = {k: v for k, v in EXPORT_HEADERS.items() if k in out.columns}
    if unit:
        headers["value"] = f"指标值（{unit}）"
    decimals = {"value": dec, "target": dec, "yoy_value": dec, "yoy_change": dec, "yoy_rel": 1, "share": 1}
    for key in ("numerator", "denominator"):
        vals = pd.to_numeric(out[key], errors="coerce").dropna()
        decimals[key] = 0 if (vals.round(0) == vals).all() else 2
    return out, headers, decimals, info


def export_file(indicator_id: str, search: str | None, fmt: str) -> dict:
    """The drill table as CSV (UTF-8 BOM) or .xlsx (see :func:`export_frame`)."""
    from dashboard.export import CSV_MIME, XLSX_MIME, export_filename, to_csv_bytes, to_xlsx_bytes
    entry = _entry(indicator_id)
    state = kit.view_state(search)
    df, headers, decimals, info = export_frame(indicator_id, state)
    org_name = info["path"][-1].name if info["path"] and info["level"] != "county" else "全县"
    stem = f"{kit.attr(entry, 'zh', indicator_id)}_{state.period}_{org_name}"
    title = f"{kit.attr(entry, 'zh', indicator_id)} · {fmt_period_zh(state.grain, state.period)} · {org_name}"
    from dashboard.accounts.audit import record_audit
    # who exported what: indicator, org, period, format and the number of rows (data leaving the platform)
    record_audit("data.export", f"{indicator_id} {state.org or '全县'} {state.period}", None,
                 {"indicator": indicator_id, "org": state.org or "county", "org_name": org_name,
                  "grain": state.grain, "period": state.period, "format": "xlsx" if fmt == "xlsx" else "csv",
                  "rows": int(len(df))})
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(df, headers, title=title, decimals=decimals),
                              export_filename(stem, "xlsx"), type=XLSX_MIME)
    return dcc.send_bytes(to_csv_bytes(df, headers, decimals=decimals), export_filename(stem, "csv"),
                          type=CSV_MIME)


def export_or_message(indicator_id: str, search: str | None, fmt: str) -> tuple[Any, str]:
    """(download data or no_update, message under the buttons): refusals are explained, never a server error."""
    try:
        return export_file(indicator_id, search, fmt), ""
    except (PermissionError, NotAtLevel, LookupError) as exc:
        return no_update, str(exc.args[0]) if exc.args else kit.NO_DATA
    except Exception:  # noqa: BLE001
        kit.log.exception("indicator export failed")
        return no_update, "导出失败，请稍后重试；如持续出现请联系运维人员。"


# ---------------------------------------------------------------------------------------------- wiring
def register(app: dash.Dash) -> None:
    """Wire the indicator page's callbacks (the layout re-renders on every URL change)."""

    @app.callback(Output(L.CRUMBS, "children"), Output(L.SUBTITLE, "children"), Output(L.NOTICE, "children"),
                  Input(L.ID, "data"), State(ids.URL, "search"))
    def _crumbs(indicator_id, search):
        try:
            return render_crumbs(indicator_id, search)
        except PermissionError as exc:
            return None, "", kit.notice(str(exc))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator crumbs failed")
            return None, "", kit.error_box("位置导航")

    @app.callback(Output(L.TREND_BOX, "children"), Input(L.ID, "data"), State(ids.URL, "search"))
    def _trend(indicator_id, search):
        return _permission_guard("趋势", lambda: _cached("indicator.trend", indicator_id, search, (),
                                                       lambda: render_trend(indicator_id, search)))

    @app.callback(Output(L.BREAKDOWN_BOX, "children"), Output(L.BREAKDOWN_TITLE, "children"),
                  Output(L.TABLE_BOX, "children"), Input(L.ID, "data"), Input(L.BREAKDOWN_MODE, "value"),
                  State(ids.URL, "search"))
    def _breakdown(indicator_id, mode, search):
        try:
            return _cached("indicator.breakdown", indicator_id, search, (mode or "share",),
                           lambda: render_breakdown(indicator_id, search, mode or "share"))
        except (PermissionError, NotAtLevel) as exc:
            return kit.empty_box(str(exc)), "", kit.empty_box(str(exc))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator breakdown failed")
            return kit.error_box("下级分布"), "", kit.error_box("明细表")

    @app.callback(Output(L.RANKING_BOX, "children"), Output(L.RANKING_TITLE, "children"),
                  Input(L.ID, "data"), State(ids.URL, "search"))
    def _ranking(indicator_id, search):
        try:
            return _cached("indicator.ranking", indicator_id, search, (),
                           lambda: render_ranking(indicator_id, search))
        except Exception:  # noqa: BLE001
            kit.log.exception("indicator ranking failed")
            return kit.error_box("同类机构排名"), ""

    # One drill callback per chart: a chart may be absent (empty state), and a callback whose inputs are only
    # partly on the page is an error in the browser.
    for graph in (L.BREAKDOWN, L.RANKING):
        _register_drill(app, graph)

    @app.callback(Output(L.DOWNLOAD, "data"), Output(L.EXPORT_MSG, "children"), Input(L.EXPORT_CSV, "n_clicks"),
                  Input(L.EXPORT_XLSX, "n_clicks"), State(L.ID, "data"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _export(_csv, _xlsx, indicator_id, search):
        if not dash.ctx.triggered_id or not (_csv or _xlsx):
            return no_update, no_update
        return export_or_message(indicator_id, search,
                                 "xlsx" if dash.ctx.triggered_id == L.EXPORT_XLSX else "csv")


def _cached(name: str, indicator_id: str, search: str | None, extra: tuple, build) -> Any:
    """A whole output of this page, cached per indicator, normalised view, scope and data version."""
    state = kit.view_state(search)
    return output_cache.cached(name, output_cache.mart_version([str(indicator_id)]),
                               (indicator_id, *output_cache.view_parts(state), *extra), build)


def _register_drill(app: dash.Dash, graph: str) -> None:
    # Clientside: the server already wrote each bar's drill query string into its customdata, so a click costs
    # no server round trip (and the chart's insertion does not fire a server callback). The new search makes
    # the page router render the page once for the drilled org; Back undoes it.
    app.clientside_callback(
        """function(click) {
            const p = click && click.points && click.points[0];
            const cd = p && p.customdata;
            if (Array.isArray(cd) && typeof cd[1] === "string" && cd[1].startsWith("?")) { return cd[1]; }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.URL, "search", allow_duplicate=True), Input(graph, "clickData"), prevent_initial_call=True)


def _permission_guard(title: str, build) -> Any:
    try:
        return build()
    except (PermissionError, NotAtLevel) as exc:
        return kit.empty_box(str(exc))
    except Exception:  # noqa: BLE001
        kit.log.exception("indicator %s failed", title)
        return kit.error_box(title)
