"""Callbacks of 驾驶舱 /: headline cards, alert list, data-freshness banner."""
from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard.callbacks import _pagekit as kit
from dashboard.formatting import display_target, fmt_period_zh, fmt_value, is_flat_change, zh_only
from layouts import _ids as ids
from layouts import _pageparts as L
from layouts._components import kpi_card, status_badge

SPARK_MONTHS = 12
ALERT_LIMIT = 15
STATUS_ORDER = {"未达标": 0, "预警": 1}


def headline_ids() -> list[str]:
    """The cockpit's indicators that the catalogue knows, in display order."""
    cat = kit.catalogue()
    return [i for i in L.HEADLINE_IDS if i in cat]


def _direction(entry: Any) -> str | None:
    d = str(kit.attr(entry, "direction") or "").lower()
    return "up" if d in ("up", "↑") else "down" if d in ("down", "↓") else None


def _card(indicator_id: str, row: pd.Series | None, spark: pd.DataFrame, state,  # noqa: ANN001
          card_type: str = "home-card") -> Any:
    from dashboard.callbacks.indicator import is_count, months_with_data
    entry = kit.indicator(indicator_id)
    unit = kit.attr(entry, "unit") or ""
    notes = []
    value = status = yoy = None
    span = months_with_data() if is_count(entry) else None
    if span:
        # a count without rows is zero (nobody referred), not missing — inside the mart's months only
        start, end = kit.bounds(state)
        if row is None and start <= span[1] and end >= span[0]:
            row = pd.Series({"value": 0.0})
        spark = _zero_months(spark, kit.add_months(end, -(SPARK_MONTHS - 1)), end, span)
    if row is not None:
        value, status = kit.clean(row.get("value")), kit.clean(row.get("status"))
        yoy = kit.relative_yoy(row.get("value"), row.get("yoy_value"))
        if not kit.is_missing(row.get("complete")) and not bool(row.get("complete")):
            notes.append("数据不完整")
        if not kit.is_missing(row.get("small_sample")) and bool(row.get("small_sample")):
            notes.append("样本量小")
        if value is None and not kit.is_missing(row.get("note")):
            notes.append(str(row.get("note")))
    if value is None and not notes:
        notes.append(kit.NO_DATA)
    notes = [zh_only(n) for n in notes]
    spark_values = list(spark.sort_values("period")["value"]) if not spark.empty else None
    spark_x = list(spark.sort_values("period")["period"]) if not spark.empty else None
    flat = is_flat_change(yoy)
    card = kpi_card(kit.attr(entry, "zh", indicator_id), value, unit,
                    decimals=int(kit.attr(entry, "decimals", 1) or 0),
                    target_text=display_target(kit.attr(entry, "target_text")), status=status,
                    yoy=None if flat else yoy, direction=_direction(entry), spark=spark_values, spark_x=spark_x,
                    href=kit.href(f"/indicator/{indicator_id}", state), note="；".join(notes) or None,
                    card_id={"type": card_type, "id": indicator_id})
    if flat:
        _set_trend(card, html.Span(["同比 ", "持平"], className="trend trend-neutral"))
    return card


def _set_trend(card: Any, span: Any) -> None:
    """Replace the card's YoY span: a change that rounds to 0.0% reads 持平 (kpi_card would draw "–0.0%")."""
    for child in card.children:
        if "kpi-meta" in (getattr(child, "className", "") or ""):
            child.children[1] = span
            return


def _zero_months(spark: pd.DataFrame, first: str, last: str, span: tuple[str, str]) -> pd.DataFrame:
    """The sparkline of a count with a 0 for every month of the mart's range that has no row."""
    months = []
    month = max(first, span[0])
    while month <= min(last, span[1]):
        months.append(month)
        month = kit.add_months(month, 1)
    have = set(spark["period"]) if not spark.empty else set()
    extra = pd.DataFrame({"period": [m for m in months if m not in have], "value": 0.0})
    if extra.empty:
        return spark
    return pd.concat([spark[["period", "value"]] if not spark.empty else spark, extra], ignore_index=True)


def _compute_each(ids_: list[str], *args: Any) -> tuple[pd.DataFrame, set[str]]:
    """Engine call for all ids at once; when it fails, per id so that one bad indicator fails alone."""
    try:
        return kit.compute(ids_, *args), set()
    except Exception:  # noqa: BLE001
        kit.log.exception("cockpit batch compute failed; retrying per indicator")
    frames, failed = [], set()
    for i in ids_:
        try:
            frames.append(kit.compute([i], *args))
        except Exception:  # noqa: BLE001
            kit.log.exception("cockpit compute of %s failed", i)
            failed.add(i)
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["indicator_id", "period", "value"])), failed


def render_cards(search: str | None) -> tuple[list[Any], str]:
    """One card per headline indicator (an error card where that indicator failed)."""
    state = kit.view_state(search)
    path = kit.org_path(state.org)
    level = path[-1].level if path else "county"
    start, end = kit.bounds(state)
    hid = headline_ids()
    current, failed = _compute_each(hid, level, state.grain, start, end, state.org)
    months, failed_spark = _compute_each(hid, level, "month", kit.add_months(end, -(SPARK_MONTHS - 1)), end,
                                         state.org, False)
    cards = []
    for i in hid:
        if i in failed:
            cards.append(kit.error_box(kit.attr(kit.indicator(i), "zh", i)))
            continue
        rows = current[current["indicator_id"] == i]
        spark = months[months["indicator_id"] == i] if i not in failed_spark else months.iloc[0:0]
        cards.append(kit.guarded(kit.attr(kit.indicator(i), "zh", i),
                                 lambda i=i, rows=rows, spark=spark: _card(
                                     i, rows.iloc[-1] if not rows.empty else None, spark, state)))
    org_name = path[-1].name if path and level != "county" else "全县"
    return cards, f"{fmt_period_zh(state.grain, state.period)} · {org_name}"


def alert_ids() -> list[str]:
    """Indicators that have a target and can be computed by institution."""
    out = []
    for i, entry in kit.catalogue().items():
        levels = kit.attr(entry, "levels") or ()
        if kit.attr(entry, "available", True) is False or "institution" not in levels:
            continue
        target = str(kit.attr(entry, "target_text") or "")
        if not target or "监测" in target or target.lower().startswith("monitor"):
            continue
        out.append(i)
    return out


ALERTS_PER_INDICATOR = 3
PRIMARY_LEVELS = ("county", "township")     # institution levels a leader looks at first
# Indicators alerted only for institutions of these levels: the rest score 0 by design, not by failure.
# Down-referrals go from county hospitals to primary care, so a township centre's or village clinic's
# 下转与上转人次比 is always 0.00 — a structural zero that would crowd the list with non-findings.
ALERT_INST_LEVELS: dict[str, tuple[str, ...]] = {"down_up_ratio": ("county",)}


def rank_alerts(df: pd.DataFrame, inst_level: dict[str, str], limit: int = ALERT_LIMIT,
                per_indicator: int = ALERTS_PER_INDICATOR) -> pd.DataFrame:
    """Institution × indicator rows out of target, ranked for a leader's short list.

    Rows on a small sample or flagged incomplete are left out (their value is not a finding), and so are
    structural zeros (``ALERT_INST_LEVELS``: 下转与上转人次比 of a township centre); the rest rank by
    relative gap to the target (未达标 before 预警), at most ``per_indicator`` rows per indicator so that the list
    is diverse, county- and township-level institutions first — village clinics only when nothing else is out of
    target.
    """
    if df.empty:
        return df
    df = df[df["status"].isin(list(STATUS_ORDER))].copy()
    structural = [i in ALERT_INST_LEVELS and inst_level.get(c) not in ALERT_INST_LEVELS[i]
                  for i, c in zip(df["indicator_id"], df["org_code"])]
    df = df[[not s for s in structural]]
    for flag, bad in (("small_sample", True), ("complete", False)):
        if flag in df.columns:
            df = df[[kit.is_missing(v) or bool(v) != bad for v in df[flag]]]
    if df.empty:
        return df
    value = pd.to_numeric(df["value"], errors="coerce")
    target = pd.to_numeric(df["target"], errors="coerce")
    df["gap"] = ((value - target).abs() / target.abs().where(target.abs() > 0)).fillna(0.0)
    df["rank"] = df["status"].map(STATUS_ORDER)
    df["primary"] = [inst_level.get(c) in PRIMARY_LEVELS for c in df["org_code"]]
    if df["primary"].any():
        df = df[df["primary"]]
    df = df.sort_values(["rank", "gap"], ascending=[True, False], kind="stable")
    df = df.groupby("indicator_id", sort=False).head(per_indicator)
    return df.head(limit)


def alerts_frame(search: str | None) -> pd.DataFrame:
    """The cockpit's alert list for the logged-in user's scope (see ``rank_alerts``)."""
    from queries import org as qorg
    state = kit.view_state(search)
    start, end = kit.bounds(state)
    user = kit.scope()
    df = kit.compute(alert_ids(), "institution", state.grain, start, end, state.org, False)
    if df.empty:
        return df
    df = df[[user.may_see_institution(c) for c in df["org_code"]]]
    tree = qorg.org_tree(kit.mart_url())
    levels = dict(zip(tree["inst_code"], tree["level"])) if "level" in tree.columns else {}
    return rank_alerts(df, levels)


def render_alerts(search: str | None) -> Any:
    from dashboard.alerts.view import open_alert_list
    from dashboard.app import get_config
    stored = open_alert_list(get_config().app_db_url, kit.scope())     # the same store as 预警中心
    if stored is not None:
        return stored
    state = kit.view_state(search)
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
            html.Span(f"目标 {display_target(kit.attr(entry, 'target_text')) or '—'}", className="alert-target"),
        ], href=link, className="alert-link"), className="alert-item"))
    return html.Ol(items, className="alert-list")


FRESH_NAMES = 5          # institution names shown in the banner before "等N家"


def _shown(names: list[str], limit: int = FRESH_NAMES) -> str:
    """'甲、乙、丙' or '甲、乙、丙…等12家' (every name once)."""
    return "、".join(names[:limit]) + (f"等{len(names)}家" if len(names) > limit else "")


def incomplete_names(url: str, month: str, user: Any) -> list[str]:
    """Names of the institutions the user may see whose uploads of ``month`` are incomplete, one per institution
    (``incomplete_institutions`` gives a row per institution and source)."""
    from queries import periods
    missing = periods.incomplete_institutions(url, month)
    if missing is None or len(missing) == 0:
        return []
    if isinstance(missing, pd.DataFrame) and "inst_code" in missing.columns:
        missing = missing[[user.may_see_institution(c) for c in missing["inst_code"]]]
        return list(dict.fromkeys(str(n) for n in missing.drop_duplicates("inst_code")["name"]))
    return list(dict.fromkeys(_names(missing)))


def exchange_problems(user: Any, now: Any = None) -> tuple[list[str], list[str]]:
    """(nodes offline or failing now, institutions whose uploads are behind schedule) within the user's scope,
    from the exchange side (``node_states`` / ``behind_schedule``): the freshness data feeds the cockpit banner."""
    from dashboard.app import get_config
    from dashboard.exchange import quality as xq
    from dashboard.exchange import service as svc
    from dashboard.callbacks.quality import cached
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
    """'数据更新至 …', the institutions (in the user's scope) with incomplete data in the period's last month, and
    the exchange side now: nodes offline or failing, institutions behind their upload schedule (link to /quality)."""
    from queries import periods
    state = kit.view_state(search)
    _, end = kit.bounds(state)
    url = kit.mart_url()
    user = kit.scope()
    last = periods.last_data_date(url)
    names = incomplete_names(url, end, user)
    last_text = f"{last.year}年{last.month}月{last.day}日" if last is not None and hasattr(last, "year") else "—"
    parts = [html.Span(f"数据更新至 {last_text}", className="fresh-date")]
    if names:
        parts.append(html.Span(f"{fmt_period_zh('month', end)}数据不完整：{_shown(names)}", className="fresh-warn"))
    else:
        parts.append(html.Span(f"{fmt_period_zh('month', end)}各机构数据完整", className="fresh-ok"))
    warn = bool(names)
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
            texts.append(f"前置机离线或异常 {len(down)} 台：{_shown(down, 3)}")
        if behind:
            texts.append(f"上传滞后 {len(behind)} 家：{_shown(behind, 3)}")
        parts.append(html.Span("；".join(texts), className="fresh-warn fresh-exchange"))
    else:
        parts.append(html.Span("数据交换正常", className="fresh-ok fresh-exchange"))
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


def register(app: dash.Dash) -> None:
    """Wire the cockpit's callbacks."""

    @app.callback(Output(L.CARDS, "children"), Output(L.HOME_SUBTITLE, "children"),
                  Input(L.READY, "data"), State(ids.URL, "search"))
    def _cards(_ready, search):  # noqa: ANN001, ANN202
        try:
            return render_cards(search)
        except Exception:  # noqa: BLE001
            kit.log.exception("cockpit cards failed")
            return [kit.error_box("核心指标")], ""

    @app.callback(Output(L.ALERTS, "children"), Input(L.READY, "data"), State(ids.URL, "search"))
    def _alerts(_ready, search):  # noqa: ANN001, ANN202
        return kit.guarded("预警清单", lambda: render_alerts(search))

    @app.callback(Output(L.FRESHNESS, "children"), Input(L.READY, "data"), State(ids.URL, "search"))
    def _fresh(_ready, search):  # noqa: ANN001, ANN202
        return kit.guarded("数据时效", lambda: render_freshness(search))
