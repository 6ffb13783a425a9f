"""Callbacks of 报表中心 /reports: generate a monthly report in the background (progress polled from its app-DB
row), list generated reports, custom reports (preview, Excel export, templates). Scope from the logged-in user."""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html, no_update

from core.periods import month_range
from dashboard.views import pagekit as kit
from layouts import _report_parts as L
from layouts._components import column_def, data_table
from layouts.formatting import fmt_month_zh

PREVIEW_ROWS = 5000


def _cfg():
    from dashboard.app import get_config
    return get_config()


def _user() -> str:
    from dashboard.accounts.access import current_user_info
    info = current_user_info()
    return info["username"] if info else ""


def _months() -> list[str]:
    from queries import periods
    lo, hi = periods.data_range(kit.mart_url())
    return month_range(lo, hi)[::-1] if lo and hi else []


def _org_options(user_scope) -> list[dict]:
    """Report scopes the user may pick: the county and townships for leaders, then institutions in scope."""
    from queries import org as qorg
    tree = qorg.org_tree(kit.mart_url())
    opts = []
    if user_scope.all_institutions:
        opts.append({"label": "全县", "value": ""})
        opts += [{"label": f"{r.name}（乡镇）", "value": r.area_code}
                 for r in qorg.townships(kit.mart_url()).itertuples()]
    opts += [{"label": r.name, "value": r.inst_code} for r in tree.itertuples()
             if user_scope.may_see_institution(r.inst_code) and r.level != "village"]
    return opts


def init_options() -> tuple:
    """Months (newest first, default: the last complete month), report scopes, indicators, templates."""
    from dashboard.reporting.templates_store import list_templates
    from metrics.catalogue import INDICATORS, TOPICS, computable_ids
    from queries import periods
    months = _months()
    default = periods.last_complete_month(kit.mart_url()) or (months[0] if months else None)
    orgs = _org_options(kit.scope())
    month_opts = [{"label": fmt_month_zh(m), "value": m} for m in months]     # 2026年11月, as on every page
    inds = [{"label": f"{TOPICS[INDICATORS[i].topic]} · {INDICATORS[i].zh}", "value": i} for i in computable_ids()]
    templates = [{"label": n, "value": t} for t, n in list_templates(_cfg(), _user())]
    start = kit.add_months(default, -5) if default else None
    return (month_opts, default, orgs, orgs[0]["value"] if orgs else None, inds, month_opts, start, month_opts,
            default, templates)


def progress_view(row: Any) -> Any:
    if row is None:
        return ""
    pct = int(round(row.progress * 100))
    text = f"{row.org_name} {row.month} {row.fmt.upper()}：{row.state_zh}（{pct}%）{row.message}"
    children = [html.Div(html.Div(style={"width": f"{pct}%"}), className="rep-bar"),
                html.Div(text, className="rep-status" + (" failed" if row.state == "failed" else ""))]
    if row.state == "done":
        children.append(html.A("下载", href=f"/api/reports/{row.id}/download", className="btn"))
    return html.Div(children)


def start_generation(month: str | None, org: str | None, fmt: str) -> tuple[Any, Any, bool]:
    from dashboard.reporting import service
    if not month:
        return None, kit.notice("请选择月份"), True
    user_scope = kit.scope()
    try:
        report_id = service.start(_cfg(), month, fmt, org or None, user_scope, _user())
    except service.ReportDenied:
        return None, kit.notice("无权生成该机构的报表（已记录审计日志）"), True
    except ValueError as exc:
        return None, kit.notice(str(exc)), True
    service.run_in_background(_cfg(), report_id, user_scope)
    return report_id, progress_view(service.get_report(_cfg(), report_id)), False


def poll(report_id: int | None) -> tuple[Any, bool]:
    from dashboard.reporting import service
    if report_id is None:
        return "", True
    row = service.get_report(_cfg(), report_id)
    return progress_view(row), row is None or row.state != "running"


def report_list() -> Any:
    from dashboard.reporting import service
    rows = service.list_reports(_cfg(), kit.scope())
    if not rows:
        return kit.empty_box("尚未生成报表")
    data = [{"month": r.month, "org": r.org_name, "fmt": r.fmt.upper(), "state": r.state_zh,
             "by": "自动生成" if r.created_by == "auto" else r.created_by, "at": r.created_at,
             "size": round((r.size_bytes or 0) / 1024), "link": f"[下载](/api/reports/{r.id}/download)"
             if r.state == "done" else ""} for r in rows]
    cols = [column_def("month", "月份"), column_def("org", "范围"), column_def("fmt", "格式"),
            column_def("state", "状态"), column_def("by", "生成人"), column_def("at", "生成时间"),
            column_def("size", "大小(KB)", "int"),
            column_def("link", "下载", cellRenderer="markdown", sortable=False, filter=False)]
    return data_table("rep-list-grid", data, cols, page_size=10, height=min(120 + 42 * len(data), 520))


def _spec(ids, level, grain, start, end, orgs):
    from reports.custom import CustomSpec
    return CustomSpec(list(ids or []), level or "county", grain or "month", start or "", end or "", list(orgs or []))


def preview(spec: Any) -> tuple[Any, Any]:
    from metrics.engine import IndicatorError
    from reports.custom import COLUMNS_ZH, custom_frame, display_rows
    try:
        df = custom_frame(spec, kit.scope(), kit.mart_url())
    except IndicatorError as exc:
        return kit.notice(str(exc)), ""
    if df.empty:
        return kit.notice("所选范围无数据"), ""
    rows = display_rows(df.head(PREVIEW_ROWS))
    cols = [column_def(k, v, "number" if k in ("numerator", "denominator") else "text",
                       **({"minWidth": 190, "pinned": "left"} if k == "indicator" else {}))
            for k, v in COLUMNS_ZH.items()]
    note = "" if len(df) <= PREVIEW_ROWS else kit.notice(f"共 {len(df)} 行，预览前 {PREVIEW_ROWS} 行；导出包含全部")
    return note, data_table("rep-custom-grid", rows, cols, page_size=20)


def export(spec: Any) -> Any:
    from metrics.engine import IndicatorError
    from reports.custom import custom_frame, to_xlsx
    try:
        df = custom_frame(spec, kit.scope(), kit.mart_url())
    except IndicatorError:
        return no_update
    from dashboard.accounts.audit import record_audit
    record_audit("report.custom_export", f"自定义报表 {len(df)} 行", after=spec.to_json())
    return dcc.send_bytes(to_xlsx(df), f"自定义报表_{spec.start}_{spec.end}.xlsx")


def register(app: dash.Dash) -> None:
    """Wire the report centre's callbacks."""
    @app.callback(Output(L.MONTH, "options"), Output(L.MONTH, "value"), Output(L.ORG, "options"),
                  Output(L.ORG, "value"), Output(L.C_INDICATORS, "options"), Output(L.C_START, "options"),
                  Output(L.C_START, "value"), Output(L.C_END, "options"), Output(L.C_END, "value"),
                  Output(L.T_PICK, "options"), Input(L.READY, "data"))
    def _init(_ready):
        return init_options()

    @app.callback(Output(L.JOB, "data"), Output(L.PROGRESS, "children"), Output(L.POLL, "disabled"),
                  Input(L.GENERATE, "n_clicks"), State(L.MONTH, "value"), State(L.ORG, "value"),
                  State(L.FORMAT, "value"), prevent_initial_call=True)
    def _generate(_n, month, org, fmt):
        return start_generation(month, org, fmt)

    @app.callback(Output(L.PROGRESS, "children", allow_duplicate=True), Output(L.POLL, "disabled", allow_duplicate=True),
                  Input(L.POLL, "n_intervals"), State(L.JOB, "data"), prevent_initial_call=True)
    def _poll(_n, report_id):
        return poll(report_id)

    @app.callback(Output(L.LIST, "children"), Input(L.READY, "data"), Input(L.POLL, "disabled"))
    def _list(_ready, _disabled):
        return kit.guarded("已生成的报表", report_list)

    @app.callback(Output(L.C_MESSAGE, "children"), Output(L.C_GRID, "children"), Input(L.C_PREVIEW, "n_clicks"),
                  State(L.C_INDICATORS, "value"), State(L.C_LEVEL, "value"), State(L.C_GRAIN, "value"),
                  State(L.C_START, "value"), State(L.C_END, "value"), State(L.C_ORGS, "value"),
                  prevent_initial_call=True)
    def _preview(_n, *sel):
        return preview(_spec(*sel))

    @app.callback(Output(L.C_DOWNLOAD, "data"), Input(L.C_EXPORT, "n_clicks"),
                  State(L.C_INDICATORS, "value"), State(L.C_LEVEL, "value"), State(L.C_GRAIN, "value"),
                  State(L.C_START, "value"), State(L.C_END, "value"), State(L.C_ORGS, "value"),
                  prevent_initial_call=True)
    def _export(_n, *sel):
        return export(_spec(*sel))

    @app.callback(Output(L.C_ORGS, "options"), Input(L.C_LEVEL, "value"))
    def _orgs(level):
        from queries import org as qorg
        if level == "township":
            return [{"label": r.name, "value": r.area_code} for r in qorg.townships(kit.mart_url()).itertuples()]
        if level == "institution":
            user_scope = kit.scope()
            return [{"label": r.name, "value": r.inst_code} for r in qorg.org_tree(kit.mart_url()).itertuples()
                    if user_scope.may_see_institution(r.inst_code)]
        return []

    @app.callback(Output(L.T_MESSAGE, "children"), Output(L.T_PICK, "options", allow_duplicate=True),
                  Input(L.T_SAVE, "n_clicks"), State(L.T_NAME, "value"),
                  State(L.C_INDICATORS, "value"), State(L.C_LEVEL, "value"), State(L.C_GRAIN, "value"),
                  State(L.C_START, "value"), State(L.C_END, "value"), State(L.C_ORGS, "value"),
                  prevent_initial_call=True)
    def _save(_n, name, *sel):
        from dashboard.reporting.templates_store import list_templates, save_template
        try:
            save_template(_cfg(), _user(), name, _spec(*sel))
        except ValueError as exc:
            return str(exc), no_update
        return f"已保存模板“{name.strip()}”", [{"label": n, "value": t} for t, n in list_templates(_cfg(), _user())]

    @app.callback(Output(L.C_INDICATORS, "value"), Output(L.C_LEVEL, "value"), Output(L.C_GRAIN, "value"),
                  Output(L.C_START, "value", allow_duplicate=True), Output(L.C_END, "value", allow_duplicate=True),
                  Output(L.C_ORGS, "value"), Input(L.T_PICK, "value"), prevent_initial_call=True)
    def _load(template_id):
        from dashboard.reporting.templates_store import load_template
        spec = load_template(_cfg(), _user(), int(template_id)) if template_id else None
        if spec is None:
            return (no_update,) * 6
        return spec.indicator_ids, spec.level, spec.grain, spec.start, spec.end, spec.orgs

