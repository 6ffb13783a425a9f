"""Callbacks of 驾驶舱 /: headline cards, alert list, data-freshness banner."""
from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard.views import my_cards, output_cache
from dashboard.views import pagekit as kit
from dashboard.views.alert_list import (  # noqa: F401
    ALERT_INST_LEVELS,
    ALERT_LIMIT,
    ALERTS_PER_INDICATOR,
    STATUS_ORDER,
    alert_ids,
    alerts_frame,
    rank_alerts,
)
from dashboard.views.cards import SPARK_MONTHS, year_end_lines
from dashboard.views.cards import card as _card
from dashboard.views.cards import compute_each as _compute_each
from layouts import _ids as ids
from layouts import _pageparts as L
from layouts._components import status_badge
from layouts.formatting import fmt_period_zh, fmt_value, target_phrase
from metrics.cache import read_version


def default_ids() -> list[str]:
    """The default cockpit cards that the catalogue knows, in display order."""
    cat = kit.catalogue()
    return [i for i in L.HEADLINE_IDS if i in cat]


def headline_ids() -> list[str]:
    """The logged-in account's own cards (my cockpit) when it chose some, else the default set."""
    return my_cards.own_or_default(default_ids())


def render_cards(search: str | None) -> tuple[list[Any], str]:
    """One card per headline indicator (an error card where that indicator failed); the whole output cached per
    view, scope, card set and data version of what the cards read (``views.output_cache``)."""
    state = kit.view_state(search)
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    start, end = kit.bounds(state)
    hid = headline_ids()
    spark_start = kit.add_months(end, -(SPARK_MONTHS - 1))
    projected = year_end_lines(hid, level, state.org, state.period)
    version = read_version(kit.mart_url(), hid, min(start, spark_start), end)
    return output_cache.cached("cockpit.cards", version,
                               (*output_cache.view_parts(state), tuple(hid), tuple(sorted(projected.items()))),
                               lambda: _render_cards(state, path, level, start, end, hid, spark_start, projected))


def _render_cards(state: Any, path: list, level: str, start: str, end: str, hid: list[str], spark_start: str,
                  projected: dict[str, str]) -> tuple[list[Any], str]:
    current, failed = _compute_each(hid, level, state.grain, start, end, state.org)
    months, failed_spark = _compute_each(hid, level, "month", spark_start, end, state.org, False)
    cards = []
    for i in hid:
        if i in failed:
            cards.append(kit.error_box(kit.attr(kit.indicator(i), "zh", i)))
            continue
        rows = current[current["indicator_id"] == i]
        spark = months[months["indicator_id"] == i] if i not in failed_spark else months.iloc[0:0]
        cards.append(kit.guarded(kit.attr(kit.indicator(i), "zh", i),
                                 lambda i=i, rows=rows, spark=spark: _card(
                                     i, rows.iloc[-1] if not rows.empty else None, spark, state,
                                     projection=projected.get(i))))
    org_name = path[-1].name if path and level != "county" else "全县"
    return cards, f"{fmt_period_zh(state.grain, state.period)} · {org_name}"


def render_alerts(search: str | None) -> Any:
    from dashboard.alerts.view import open_alert_list
    from dashboard.app import get_config
    stored = open_alert_list(get_config().app_db_url, kit.scope())     # the same store as 预警中心
    if stored is not None:
        return stored
    state = kit.view_state(search)
    start, end = kit.bounds(state)
    version = read_version(kit.mart_url(), alert_ids(), start, end)
    # the computed list reads the mart only: cached per view, scope and data version (the stored list above is
    # per-user lifecycle state in the app database and is read on every call)
    return output_cache.cached("cockpit.alerts", version, (*output_cache.view_parts(state), start, end),
                               lambda: _computed_alerts(search, state))


def _computed_alerts(search: str | None, state: Any) -> Any:
    df = alerts_frame(search)
    if df.empty:
        return kit.empty_box("本期无超出目标的机构指标")
    items = []
    for r in df.itertuples():
        entry = kit.indicator(r.indicator_id)
        unit = kit.attr(entry, "unit") or ""
        dec = int(kit.attr(entry, "decimals", 1) or 0)
        link = kit.href(f"/indicator/{r.indicator_id}", state, org=r.org_code)
        items.append(html.Li(dcc.Link([
            status_badge(r.status), html.Span(r.org_name, className="alert-org"),
            html.Span(kit.attr(entry, "zh", r.indicator_id), className="alert-ind"),
            html.Span(fmt_value(kit.clean(r.value), unit, dec), className="alert-value"),
            html.Span(target_phrase(kit.attr(entry, "target_text")), className="alert-target"),
        ], href=link, className="alert-link"), className="alert-item"))
    return html.Ol(items, className="alert-list")


FRESH_NAMES = 5          # institution names shown in the banner before "等N家"


def _shown(names: list[str], limit: int = FRESH_NAMES, unit: str = "家") -> str:
    """'甲、乙、丙' or '甲、乙、丙…等12家': every name once, the count of institutions (two village clinics of one
    name are two; the leader's banner said 等58家 where the manager's, counting codes, said 67家); ``unit`` 台 for
    exchange nodes (前置机离线或异常 5 台：…等5台, not 等5家)."""
    unique = list(dict.fromkeys(names))[:limit]
    return "、".join(unique) + (f"等{len(names)}{unit}" if len(names) > len(unique) else "")


def view_gaps(url: str, start: str, end: str, path: list, user: Any) -> tuple[list[str], int]:
    """Institutions under the viewed org (``path``'s last node) with upload gaps in ``start..end``, by the rule the
    engine's ``complete`` flag uses (``queries.measures.missing_uploads``): (names the user may see, how many
    more the user may not name)."""
    from queries import measures as qm
    from queries import org as qorg
    gaps = qm.missing_uploads(url, start, end)
    if gaps is None or gaps.empty:
        return [], 0
    under = kit.institutions_under(path)
    codes = [str(c) for c in pd.unique(gaps["inst_code"])]
    if under is not None:
        keep = set(under)
        codes = [c for c in codes if c in keep]
    tree = qorg.org_tree(url)
    name_of = dict(zip(tree["inst_code"].astype(str), tree["name"].astype(str)))
    shown = [name_of.get(c, c) for c in sorted(codes) if user.may_see_institution(c)]
    return shown, len(codes) - len(shown)


def incomplete_cards(state: Any, level: str, start: str, end: str) -> int:
    """How many headline cards the engine flags incomplete (``complete`` false) for this view: the same call,
    and so the same cached rows, as the cards themselves."""
    df = kit.compute(headline_ids(), level, state.grain, start, end, state.org)
    if df.empty or "complete" not in df.columns:
        return 0
    last = df.sort_values("period").groupby("indicator_id").tail(1)
    return int(sum(1 for v in last["complete"] if not kit.is_missing(v) and not bool(v)))


def exchange_problems(user: Any, now: Any = None) -> tuple[list[str], list[str]]:
    """(nodes offline or failing now, institutions whose uploads are behind schedule) within the user's scope,
    from the exchange side (``node_states`` / ``behind_schedule``): the freshness data feeds the cockpit banner."""
    from dashboard.app import get_config
    from dashboard.exchange import quality as xq
    from dashboard.exchange import service as svc
    from dashboard.views.minute_cache import cached
    cfg = get_config()
    now = now or svc.now_local()
    codes = None if user.all_institutions else sorted(user.inst_codes)

    def compute() -> tuple[list[str], list[str]]:
        nodes = svc.node_states(cfg, now, inst_codes=codes)
        down = nodes[nodes["state"].isin(["offline", "failed"])] if not nodes.empty else nodes
        # offline first: a silent node is worse than one whose last job failed
        if len(down):
            down = down.assign(_o=(down["state"] != "offline").astype(int)).sort_values(["_o", "code"])
        down_names = list(dict.fromkeys(str(n) for n in down["name"])) if len(down) else []
        behind = xq.behind_schedule(cfg, now=now, inst_codes=codes)
        behind_names = list(dict.fromkeys(str(n) for n in behind["name"])) if not behind.empty else []
        return down_names, behind_names

    # Once per minute and scope (the same per-minute cache as the quality page): every cockpit view asks for it.
    return cached("cockpit_exchange", now, codes, compute)


def render_freshness(search: str | None) -> Any:
    """'数据更新至 …', whether the viewed org's data of the viewed period is complete — by the engine's rule and at
    the cards' scope (the org in view, the whole period), so the banner never says 完整 while a card says
    数据不完整 — with the institutions that have upload gaps, and the exchange side now: nodes offline or failing, institutions behind their upload schedule (link to /quality)."""
    from queries import periods
    state = kit.view_state(search)
    start, end = kit.bounds(state)
    url = kit.mart_url()
    user = kit.scope()
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    org_name = path[-1].name if path and level != "county" else "全县"
    last = periods.last_data_date(url)
    hid = headline_ids()
    # the mart part (upload gaps, incomplete cards) per view, scope, card set and data version of what it reads;
    # the exchange part below is cached per minute
    names, hidden, n_cards = output_cache.cached(
        "cockpit.freshness", read_version(url, hid, start, end), (state.grain, state.period, state.org, start, end,
                                                                  str(last), tuple(hid)),
        lambda: (*view_gaps(url, start, end, path, user), incomplete_cards(state, level, start, end)))
    last_text = f"{last.year}年{last.month}月{last.day}日" if last is not None and hasattr(last, "year") else "—"
    parts = [html.Span(f"数据更新至 {last_text}", className="fresh-date")]
    where = f"{fmt_period_zh(state.grain, state.period)}{org_name}"
    if names or hidden or n_cards:
        who = _shown(names) if names else ""
        if hidden:
            who += ("，另有" if who else "") + f"{hidden}家机构"
        text = f"{where}数据不完整" + (f"（{n_cards}项核心指标受影响）" if n_cards else "（不影响核心指标）")
        parts.append(html.Span(text + (f"：{who}上传有缺口" if who else ""), className="fresh-warn fresh-mart"))
    else:
        parts.append(html.Span(f"{where}各机构数据完整", className="fresh-ok fresh-mart"))
    warn = bool(names or hidden or n_cards)
    try:
        down, behind = exchange_problems(user)
    except Exception:  # noqa: BLE001 — the mart part of the banner stays useful without the exchange side
        kit.log.exception("cockpit banner: exchange state unavailable")
        down, behind = None, None
    if down is None:
        parts.append(html.Span("数据交换状态暂不可用", className="fresh-muted"))
    elif down or behind:
        warn = True
        texts = []
        if down:
            texts.append(f"前置机离线或异常 {len(down)} 台：{_shown(down, 3, '台')}")
        if behind:
            texts.append(f"上传滞后 {len(behind)} 家：{_shown(behind, 3)}")
        parts.append(html.Span("；".join(texts), className="fresh-warn fresh-exchange"))
    else:
        parts.append(html.Span("当前数据交换正常", className="fresh-ok fresh-exchange"))
    parts.append(dcc.Link("数据质量 ›", href="/quality", className="fresh-link"))
    return html.Div(parts, className="freshness-banner" + (" has-warn" if warn else ""))


def _names(missing: Any) -> list[str]:
    """Institution names from what ``incomplete_institutions`` returns (DataFrame or list)."""
    if missing is None:
        return []
    if isinstance(missing, pd.DataFrame):
        if missing.empty:
            return []
        col = next((c for c in ("name", "inst_name", "org_name") if c in missing.columns), missing.columns[0])
        return [str(v) for v in missing[col]]
    return [str(m.get("name", m) if isinstance(m, dict) else m) for m in missing]


def warm_default_view() -> None:
    """The cockpit as the logged-in user first opens it, into the cache (``dashboard.warmup`` calls this for each
    scope after a load and at start): the cards at once, then — once the year-end projection of this data version
    is stored in the app database (computed here, or by whichever process claimed it) — the cards again with their
    预计全年 lines."""
    import time

    from dashboard.alerts.projections import ensure_year_end, stored_year_end
    from dashboard.app import get_config
    from dashboard.views.cards import projection_ids
    render_cards("")
    pids = projection_ids(headline_ids())
    if not pids:
        return
    app_db, url, scope = get_config().app_db_url, kit.mart_url(), kit.scope()
    deadline = time.monotonic() + 600
    while stored_year_end(app_db, url, pids, "county", None, scope) is None and time.monotonic() < deadline:
        # computes here when nobody holds the claim; returns at once while another thread or process computes
        if ensure_year_end(app_db, url, pids, "county", None, scope, background=False) is None:
            time.sleep(2)
    render_cards("")


def register(app: dash.Dash) -> None:
    """Wire the cockpit's callbacks."""
    output_cache.register_warmer("cockpit.cards", warm_default_view)

    @app.callback(Output(L.CARDS, "children"), Output(L.HOME_SUBTITLE, "children"),
                  Input(L.READY, "data"), State(ids.URL, "search"))
    def _cards(_ready, search):
        try:
            return render_cards(search)
        except Exception:  # noqa: BLE001
            kit.log.exception("cockpit cards failed")
            return [kit.error_box("核心指标")], ""

    @app.callback(Output(L.CARDS_PANEL, "hidden"), Output(L.CARDS_PICK, "options"), Output(L.CARDS_PICK, "value"),
                  Input(L.CARDS_EDIT, "n_clicks"), State(L.CARDS_PANEL, "hidden"), prevent_initial_call=True)
    def _edit(_n, hidden):
        return (not hidden, *my_cards.editor(headline_ids()))

    @app.callback(Output(L.READY, "data"), Output(L.CARDS_MSG, "children"), Output(L.CARDS_PICK, "value",
                                                                                    allow_duplicate=True),
                  Input(L.CARDS_SAVE, "n_clicks"), Input(L.CARDS_RESET, "n_clicks"), State(L.CARDS_PICK, "value"),
                  prevent_initial_call=True)
    def _save(_save, _reset, picked):
        reset = dash.ctx.triggered_id == L.CARDS_RESET
        message = my_cards.save(None if reset else picked)
        return dash.ctx.triggered_id + str(_save) + str(_reset), message, headline_ids()

    @app.callback(Output(L.ALERTS, "children"), Input(L.READY, "data"), State(ids.URL, "search"))
    def _alerts(_ready, search):
        return kit.guarded("预警清单", lambda: render_alerts(search))

    @app.callback(Output(L.FRESHNESS, "children"), Input(L.READY, "data"), State(ids.URL, "search"))
    def _fresh(_ready, search):
        return kit.guarded("数据时效", lambda: render_freshness(search))
