"""The sections of 指标分析 /indicator/<id> drawn from the view model (``dashboard.views.indicator``):
breadcrumbs, trend, breakdown and table, peer ranking, drill links and the export file."""
from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, no_update

from dashboard.views import pagekit as kit
from dashboard.views.figures import bar_figure, no_data_figure, trend_figure
from dashboard.views.indicator import (
    RANK_LIMIT,
    NotAtLevel,
    entry_of,
    export_frame,
    forecast_frame,
    higher_is_worse,
    org_context,
    ranking_frame,
    table_frame,
    trend_frame,
    unit_of,
)
from dashboard.views.pagekit import level_note
from layouts import _pageparts as L
from layouts._components import GRAPH_CONFIG, breadcrumbs, data_table, safe_figure
from layouts.formatting import display_target, fmt_period_zh, fmt_value

# AG Grid refuses HTML overlay templates (console error); our empty tables show an empty state instead.
NO_HTML_OVERLAY = {"overlayNoRowsTemplate": None}


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
    level_text = level_note(entry_of(indicator_id), level)
    if level_text:
        note = kit.notice(f"{level_text}；请在机构范围中选择全县或乡镇。")
    elif not visible and level in ("institution", "department", "doctor"):
        note = kit.notice(f"{kit.NO_ACCESS}：仅显示该机构汇总值与排名。")
    return breadcrumbs(items), subtitle, note


def render_trend(indicator_id: str, search: str | None) -> Any:
    entry = entry_of(indicator_id)
    unit, dec = unit_of(entry)
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
    entry = entry_of(indicator_id)
    unit, dec = unit_of(entry)
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
            fig = (bar_figure(kids, unit, dec, higher_is_worse(entry), links=drill_links(search, kids["org_code"]))
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
    entry = entry_of(indicator_id)
    unit, dec = unit_of(entry)
    state = kit.view_state(search)
    view = ranking_frame(indicator_id, state)
    if view.message:
        return kit.empty_box(view.message), ""
    df = view.frame
    if df.empty or df["value"].isna().all():
        return kit.empty_box(), view.title
    worse_high = higher_is_worse(entry)
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


def export_file(indicator_id: str, search: str | None, fmt: str) -> dict:
    """The drill table as CSV (UTF-8 BOM) or .xlsx (see :func:`export_frame`)."""
    from dashboard.export import CSV_MIME, XLSX_MIME, export_filename, to_csv_bytes, to_xlsx_bytes
    entry = entry_of(indicator_id)
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
