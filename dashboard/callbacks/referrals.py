"""Callbacks of 双向转诊 /referrals.

Indicator numbers (volumes, ratio, acceptance, 24-hour response, orderly outflow) come from the engine; the
lists and flows come from ``queries.referrals``. A manager sees other institutions only as aggregates: in the
flow view they are merged into "<township>其他机构", and pending referrals are listed only where one end is theirs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

from dashboard.views import output_cache, referral_flow
from dashboard.views import pagekit as kit
from dashboard.views.cards import card as _card
from dashboard.views.cards import compute_each as _compute_each
from dashboard.views.figures import base_layout, no_data_figure, plain_layout
from layouts import _ids as ids
from layouts import _pageparts as L
from layouts._components import GRAPH_CONFIG, column_def, data_table, safe_figure
from layouts.formatting import fmt_month_zh, fmt_number, fmt_period_zh
from metrics.cache import read_version

MONTHS = 12
ICD_ZH = {
    "I63.9": "脑梗死", "I21.9": "急性心肌梗死", "J18.9": "肺炎", "K35.8": "急性阑尾炎", "C34.9": "肺恶性肿瘤",
    "I10": "原发性高血压", "E11.9": "2型糖尿病", "S72.0": "股骨颈骨折", "N18.9": "慢性肾脏病",
    "J44.9": "慢性阻塞性肺疾病", "C16.9": "胃恶性肿瘤", "Q21.0": "室间隔缺损", "N18.5": "慢性肾脏病5期",
    "C50.9": "乳腺恶性肿瘤", "S06.5": "创伤性硬膜下出血", "K29.7": "胃炎", "I25.1": "动脉硬化性心脏病",
    "N39.0": "泌尿道感染", "J06.9": "急性上呼吸道感染",
}


def _month_excl(month: str) -> str:
    """First day of the month after ``month`` (the exclusive end of a period)."""
    return kit.add_months(month, 1) + "-01"


def _context(search: str | None) -> dict:
    state = kit.view_state(search)
    path = kit.org_path(state.org)
    start, end = kit.bounds(state)
    township = kit.township_of(path)
    return {"state": state, "path": path, "level": path[-1].level, "start": start, "end": end,
            "insts": kit.institutions_under(path), "areas": [township] if township else None,
            "scope": kit.scope()}


def _allowed(search: str | None) -> bool:
    """The referral page is built from rows (diagnoses, flows, pending lists): an org outside the user's
    institutions — a township where none of them stands included — is refused, never shown as a wrong 0."""
    return kit.org_allowed(kit.org_path(kit.view_state(search).org), kit.scope(), township_rows=True)


def _scoped_insts(ctx: dict) -> list[str] | None:
    """Institutions whose rows (pending list) the user may see, within the chosen org."""
    user = ctx["scope"]
    if user.all_institutions:
        return ctx["insts"]
    mine = set(user.inst_codes)
    return sorted(mine if ctx["insts"] is None else mine & set(ctx["insts"]))


# ---------------------------------------------------------------------------------------------- sections
def render_kpis(search: str | None) -> tuple[list[Any], str]:
    """Cards for the six referral indicators (value at the period, 12-month sparkline)."""
    ctx = _context(search)
    state = ctx["state"]
    ids_ = [i for i in L.REF_KPI_IDS if i in kit.catalogue() and ctx["level"] in
            (kit.attr(kit.indicator(i), "levels") or ())]
    current, failed = _compute_each(ids_, ctx["level"], state.grain, ctx["start"], ctx["end"], state.org)
    months, failed_spark = _compute_each(ids_, ctx["level"], "month", kit.add_months(ctx["end"], -(MONTHS - 1)),
                                         ctx["end"], state.org, False)
    cards = []
    for i in ids_:
        if i in failed:
            cards.append(kit.error_box(kit.attr(kit.indicator(i), "zh", i)))
            continue
        rows = current[current["indicator_id"] == i]
        spark = months[months["indicator_id"] == i] if i not in failed_spark else months.iloc[0:0]
        cards.append(kit.guarded(i, lambda i=i, rows=rows, spark=spark: _card(
            i, rows.iloc[-1] if not rows.empty else None, spark, state, card_type="ref-card")))
    org_name = ctx["path"][-1].name if ctx["level"] != "county" else "全县"
    return [html.Div(cards, className="kpi-grid")], f"{fmt_period_zh(state.grain, state.period)} · {org_name}"


def _monthly(ctx: dict, ids: list[str], level: str, org: str | None) -> pd.DataFrame:
    """The engine's 12 months of ``ids`` at ``level``/``org``. The monthly bars (up/down referrals, outside-county
    settlements) are asked for in one engine call when they are at the same level and org — the county and
    township views — so the page reads and assembles them once; each section keeps its own indicators' rows."""
    first = kit.add_months(ctx["end"], -(MONTHS - 1))
    shared = ENGINE_IDS["volume"] + ENGINE_IDS["outside"]
    if set(ids) <= set(shared) and _residence_org(ctx) == (ctx["level"], ctx["state"].org):
        df = kit.compute(shared, level, "month", first, ctx["end"], org, False)
        return df[df["indicator_id"].isin(ids)].reset_index(drop=True) if not df.empty else df
    return kit.compute(ids, level, "month", first, ctx["end"], org, False)


def volume_figure(search: str | None) -> go.Figure:
    """Up and down referrals per month (bars) with the down/up ratio (line, right axis), from the engine."""
    ctx = _context(search)
    state = ctx["state"]
    df = _monthly(ctx, ENGINE_IDS["volume"], ctx["level"], state.org)
    if df.empty or df["value"].isna().all() or (df.loc[df.indicator_id != "down_up_ratio", "value"]
                                                .fillna(0) == 0).all():
        return no_data_figure()
    wide = df.pivot_table(index="period", columns="indicator_id", values="value", aggfunc="first").sort_index()
    x = [fmt_month_zh(p) for p in wide.index]
    fig = go.Figure()
    fig.add_bar(x=x, y=wide.get("up_referrals"), name="上转人次", marker_color="#2e6da4")
    fig.add_bar(x=x, y=wide.get("down_referrals"), name="下转人次", marker_color="#2e8b57")
    if "down_up_ratio" in wide:
        fig.add_scatter(x=x, y=wide["down_up_ratio"], name="下转/上转比", yaxis="y2", mode="lines+markers",
                        line=dict(color="#d68f00", width=2))
    ratios = pd.to_numeric(wide["down_up_ratio"], errors="coerce") if "down_up_ratio" in wide else pd.Series()
    base_layout(fig, 340, barmode="group",
                yaxis2=dict(overlaying="y", side="right", showgrid=False, title="比值", **ratio_axis(ratios.max())))
    fig.update_yaxes(title_text="人次", selector=dict(anchor="x"), separatethousands=True)
    return fig


def nice_step(span: float, ticks: int = 4) -> float:
    """A step of 1, 2, 2.5 or 5 × 10^k giving about ``ticks`` intervals over ``span`` (0.39 → 0.1)."""
    if not span or span <= 0 or math.isnan(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def ratio_axis(top: float | None) -> dict:
    """Axis settings of the down/up ratio: from 0 to a round top with round ticks (0, 0.1, 0.2 …), not the
    0.13 / 0.26 that syncing with the counts axis gives."""
    top = float(top) if top is not None and not pd.isna(top) and top > 0 else 1.0
    step = nice_step(top)
    end = math.ceil(top / step - 1e-9) * step
    places = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    if step * 10 ** places % 1:          # 0.25 needs two places
        places += 1
    vals = [round(i * step, places + 1) for i in range(int(round(end / step)) + 1)]
    return dict(range=[0, end * 1.04], tickmode="array", tickvals=vals,
                ticktext=[f"{v:.{places}f}" for v in vals])


def flow_figure(search: str | None) -> go.Figure | dict:
    """Sankey of referrals between institutions (``views.referral_flow``), the user's unseen ones merged."""
    from queries import referrals as q
    ctx = _context(search)
    df = q.referral_flows(kit.mart_url(), ctx["start"] + "-01", _month_excl(ctx["end"]), ctx["insts"])
    return referral_flow.flow_figure(df, ctx["scope"])


def _residence_org(ctx: dict) -> tuple[str, str | None]:
    """(level, org) of the residence-based outflow indicators: an institution's township (they have no
    institution level: outside care is counted by where the insured person lives)."""
    if ctx["level"] in ("county", "township"):
        return ctx["level"], ctx["state"].org
    township = kit.township_of(ctx["path"])
    return ("township", township) if township else ("county", None)


def outside_figure(search: str | None) -> go.Figure:
    """Outside-county settlements per month: with a referral (orderly) vs without, stacked (engine indicators
    ``outside_referred`` / ``outside_unreferred``, so they add up to ``outside_settlements``)."""
    ctx = _context(search)
    level, org = _residence_org(ctx)
    df = _monthly(ctx, ENGINE_IDS["outside"], level, org)
    if df.empty or (df["value"].fillna(0) == 0).all():
        return no_data_figure()
    wide = df.pivot_table(index="period", columns="indicator_id", values="value", aggfunc="first").sort_index()
    x = [fmt_month_zh(p) for p in wide.index]
    layout = plain_layout(340, barmode="stack")
    layout["yaxis"] = {**layout["yaxis"], "title": {"text": "结算人次"}, "separatethousands": True}
    # one constructor call with the whole layout: the same figure as base_layout + update_yaxes, at a sixth
    return go.Figure([go.Bar(x=x, y=wide.get("outside_referred"), name="有序转诊", marker_color="#2e8b57"),
                      go.Bar(x=x, y=wide.get("outside_unreferred"), name="自行外出", marker_color="#c0392b")],
                     layout=layout)


def destinations_figure(search: str | None) -> go.Figure:
    from queries import referrals as q
    ctx = _context(search)
    df = q.outside_destinations(kit.mart_url(), ctx["start"] + "-01", _month_excl(ctx["end"]), ctx["areas"])
    if df.empty:
        return no_data_figure()
    df = df.iloc[::-1]
    fig = go.Figure([
        go.Bar(y=df["hospital_name"], x=df["orderly"], orientation="h", name="有序转诊", marker_color="#2e8b57"),
        go.Bar(y=df["hospital_name"], x=df["unorderly"], orientation="h", name="自行外出", marker_color="#c0392b")])
    base_layout(fig, 340, barmode="stack")
    fig.update_xaxes(title_text="结算人次", separatethousands=True)
    return fig


def diagnoses_figure(search: str | None) -> go.Figure:
    from queries import referrals as q
    ctx = _context(search)
    df = q.top_up_diagnoses(kit.mart_url(), ctx["start"] + "-01", _month_excl(ctx["end"]), ctx["insts"])
    if df.empty:
        return no_data_figure()
    df = df.iloc[::-1]
    labels = [f"{c} {ICD_ZH.get(c, '')}".strip() for c in df["diagnosis_code"]]
    fig = go.Figure([
        go.Bar(y=labels, x=df["referrals"] - df["outside"], orientation="h", name="县内上转", marker_color="#2e6da4"),
        go.Bar(y=labels, x=df["outside"], orientation="h", name="转往县外", marker_color="#d68f00")])
    base_layout(fig, 340, barmode="stack")
    fig.update_xaxes(title_text="上转人次", separatethousands=True)
    return fig


# the referral number (RF + date + institution + serial, up to 22 characters) and the diagnosis are read whole, not
# "RF2026120…": they get their width from the two-character 方向 and 类型 columns
PENDING_COLUMNS = [
    column_def("referral_id", "转诊单号", minWidth=200), column_def("direction_zh", "方向", maxWidth=90),
    column_def("from_name", "转出机构"), column_def("to_name", "转入机构"),
    column_def("setting_zh", "类型", maxWidth=90), column_def("request_text", "申请时间", minWidth=160),
    column_def("hours_waiting", "已等待（小时）", "number", decimals=1), column_def("diagnosis", "诊断", minWidth=170),
]


def render_pending(search: str | None) -> Any:
    """Referrals pending more than 24 h as of the data's latest time, oldest first (no patient identifiers)."""
    from queries import referrals as q
    ctx = _context(search)
    url = kit.mart_url()
    as_of = q.last_referral_time(url)
    if as_of is None:
        return kit.empty_box()
    df = q.pending_referrals(url, as_of, 24, _scoped_insts(ctx))
    if df.empty:
        return kit.empty_box("没有超过24小时未响应的转诊")
    df = df.assign(
        direction_zh=df["direction"].map({"up": "上转", "down": "下转"}),
        setting_zh=df["setting"].map({"outpatient": "门诊", "inpatient": "住院"}),
        request_text=df["request_time"].dt.strftime("%Y-%m-%d %H:%M"),
        diagnosis=[f"{c} {ICD_ZH.get(c, '')}".strip() if isinstance(c, str) else "—" for c in df["diagnosis_code"]],
        to_name=df["to_name"].fillna("—"))
    rows = df[["referral_id", "direction_zh", "from_name", "to_name", "setting_zh", "request_text",
               "hours_waiting", "diagnosis"]].to_dict("records")
    return html.Div([
        html.Div(f"截至 {as_of:%Y-%m-%d %H:%M}，共 {fmt_number(len(df))} 条", className="section-hint"),
        data_table("ref-pending-table", rows, PENDING_COLUMNS, page_size=10, height=_table_height(len(rows)),
                   dashGridOptions={"overlayNoRowsTemplate": None})])


def _table_height(n_rows: int, page_size: int = 10) -> int:
    """Grid height that fits the rows shown on one page (header + rows + pager), so one row is not a tall box."""
    return 56 + 42 * min(max(n_rows, 1), page_size) + 52


def _graph(fig: go.Figure | dict) -> dcc.Graph:
    # the sections are output-cached, which stores figures as plain dicts (output_cache.plain)
    return dcc.Graph(figure=safe_figure(fig), config=GRAPH_CONFIG)


# ---------------------------------------------------------------------------------------------- output cache
ENGINE_IDS = {"kpis": list(L.REF_KPI_IDS), "volume": ["up_referrals", "down_referrals", "down_up_ratio"],
              "outside": ["outside_referred", "outside_unreferred"]}
FACT_TABLES = {"flow": ("referral",), "diag": ("referral",), "dest": ("outside_settlement",)}
ORG_TABLES = ("institution", "area")        # names, townships and the org filter of every list


def section_version(name: str, ctx: dict) -> str:
    """The data version of what section ``name`` reads for the view ``ctx``: the engine's inputs of its
    indicators over the months shown (the 12-month series included); for the lists the fact table's months of
    the period; for the pending list every month (its 'now' is the latest referral time of the whole table)."""
    from queries import periods as qperiods
    url = kit.mart_url()
    if name in ENGINE_IDS:
        lo = min(ctx["start"], kit.add_months(ctx["end"], -(MONTHS - 1)))
        return read_version(url, ENGINE_IDS[name], lo, ctx["end"])
    if name == "pending":
        return qperiods.table_versions(url, ("referral", *ORG_TABLES))
    return qperiods.table_versions(url, (*FACT_TABLES[name], *ORG_TABLES), ctx["start"], ctx["end"])


def cached_section(name: str, search: str | None, build: Callable[[], Any]) -> Any:
    """``build()`` (the whole output of section ``name``) once per view, user scope (``output_cache.cached``)
    and data version of what the section reads."""
    ctx = _context(search)
    state = ctx["state"]
    return output_cache.cached(f"referrals.{name}", section_version(name, ctx),
                               (*output_cache.view_parts(state), ctx["start"], ctx["end"]), build)


def _graph_sections() -> tuple[tuple[str, str, str, Callable[[str | None], Any]], ...]:
    """(output box, section name, title, figure builder) of the page's chart sections."""
    return ((L.REF_VOLUME, "volume", "转诊人次", volume_figure),
            (L.REF_FLOW, "flow", "转诊流向", flow_figure),
            (L.REF_OUTSIDE, "outside", "县外就医", outside_figure),
            (L.REF_DEST, "dest", "县外去向", destinations_figure),
            (L.REF_DIAG, "diag", "上转病种", diagnoses_figure))


def warm_default_view() -> None:
    """Every section of the referral page as the logged-in user first opens it, into the cache
    (``dashboard.warmup`` calls this for each scope after a load and at start)."""
    if not _allowed(""):
        return
    cached_section("kpis", "", lambda: render_kpis(""))
    for _box, name, _title, build in _graph_sections():
        cached_section(name, "", lambda build=build: _graph(build("")))
    cached_section("pending", "", lambda: render_pending(""))


def register(app: dash.Dash) -> None:
    """Wire the referral page's callbacks (each section guards its own errors)."""

    @app.callback(Output(L.REF_KPIS, "children"), Output(L.REF_SUBTITLE, "children"),
                  Input(L.REF_READY, "data"), State(ids.URL, "search"))
    def _kpis(_r, search):
        if not _allowed(search):
            return [kit.empty_box(kit.NO_ACCESS)], ""
        try:
            return cached_section("kpis", search, lambda: render_kpis(search))
        except Exception:  # noqa: BLE001
            kit.log.exception("referral kpis failed")
            return [kit.error_box("转诊核心指标")], ""

    for box, name, title, build in _graph_sections():
        _register_graph(app, box, name, title, build)
    output_cache.register_warmer("referrals", warm_default_view)

    @app.callback(Output(L.REF_PENDING, "children"), Input(L.REF_READY, "data"), State(ids.URL, "search"))
    def _pending(_r, search):
        if not _allowed(search):
            return kit.empty_box(kit.NO_ACCESS)
        return kit.guarded("待响应转诊", lambda: cached_section("pending", search, lambda: render_pending(search)))


def _register_graph(app: dash.Dash, box: str, name: str, title: str, build) -> None:
    @app.callback(Output(box, "children"), Input(L.REF_READY, "data"), State(ids.URL, "search"))
    def _section(_r, search):
        if not _allowed(search):
            return kit.empty_box(kit.NO_ACCESS)
        return kit.guarded(title, lambda: cached_section(name, search, lambda: _graph(build(search))))
