"""Ids, constants and pure component builders of the indicator pages (cockpit, indicator, topics, referrals).

Kept apart from the page modules because Dash imports page modules itself (``register_page`` must run once):
callbacks import ids from here, never from ``layouts/home.py`` etc.
"""
from __future__ import annotations

from typing import Any

from dash import html

from layouts._components import column_def

# ---------------------------------------------------------------------------------------------- cockpit
READY = "home-ready"
HOME_SUBTITLE = "home-subtitle"
FRESHNESS = "home-freshness"
CARDS = "home-cards"
ALERTS = "home-alerts"

# The 2024 national monitoring indicators of county medical communities first, then occupancy, ALOS, costs,
# antibiotics and referrals (DESIGN §6, issue 5). Ids missing from the catalogue are skipped.
HEADLINE_IDS: tuple[str, ...] = (
    "primary_visit_share", "in_county_ip_share", "insurance_in_county_share", "insured_ip_cost_in_county",
    "tcm_visit_share", "chronic_hospitalization_rate",
    "bed_occupancy", "alos", "op_cost_per_visit", "op_antibiotic_rate", "down_up_ratio", "referral_acceptance",
)

# my cockpit: the 自定义 editor (a multi dropdown keeps the order of choice)
CARDS_EDIT = "home-cards-edit"
CARDS_PANEL = "home-cards-panel"
CARDS_PICK = "home-cards-pick"
CARDS_SAVE = "home-cards-save"
CARDS_RESET = "home-cards-reset"
CARDS_MSG = "home-cards-msg"


# ---------------------------------------------------------------------------------------------- indicator
ID = "ind-id"
CRUMBS = "ind-crumbs"
NOTICE = "ind-notice"
SUBTITLE = "ind-subtitle"
TREND = "ind-trend"
TREND_BOX = "ind-trend-box"
BREAKDOWN = "ind-breakdown"
BREAKDOWN_BOX = "ind-breakdown-box"
BREAKDOWN_TITLE = "ind-breakdown-title"
BREAKDOWN_MODE = "ind-breakdown-mode"     # 按贡献 (share of the numerator) | 按比率 (the rate)
RANKING = "ind-ranking"
RANKING_BOX = "ind-ranking-box"
RANKING_TITLE = "ind-ranking-title"
TABLE = "ind-table"
TABLE_BOX = "ind-table-box"
EXPORT_CSV = "ind-export-csv"
EXPORT_XLSX = "ind-export-xlsx"
DOWNLOAD = "ind-download"
EXPORT_MSG = "ind-export-msg"

DIRECTION_ZH = {"up": "越高越好", "down": "越低越好", "band": "区间适宜", None: "监测"}

TABLE_COLUMNS = [
    ("org_name", "机构/单位", "text"), ("level_zh", "层级", "text"), ("numerator", "分子", "number"),
    ("denominator", "分母", "number"), ("value", "指标值", "number"), ("target_text", "目标", "text"),
    ("status", "状态", "text"), ("yoy_rel", "同比", "number"), ("share", "分子占比", "number"),
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


def formula_text(entry: Any) -> str:
    """"分子 ÷ 分母（×100）", or just the numerator for a count (an indicator without a denominator)."""
    factor = _attr(entry, "factor")
    times = f"（×{factor:g}）" if isinstance(factor, (int, float)) and factor != 1 else ""
    numerator = _attr(entry, "numerator_zh") or "分子"
    if not _attr(entry, "denominator") and not _attr(entry, "denominator_zh"):
        return numerator + times
    return f"{numerator} ÷ {_attr(entry, 'denominator_zh') or '分母'}{times}"


def definition_panel(entry: Any) -> html.Div:
    """Formula with numerator and denominator names, unit, target, direction, basis and source."""
    from layouts.formatting import NO_TARGET, display_target
    unit = _attr(entry, "unit") or ""
    available = _attr(entry, "available", True) is not False
    has_denominator = bool(_attr(entry, "denominator") or _attr(entry, "denominator_zh"))
    target = _attr(entry, "target_text") or ""
    basis = "；".join(t for t in (_attr(entry, "definition"), _attr(entry, "note")) if t)
    rows = [
        ("计算公式", formula_text(entry)) if available else None,
        # a count is its numerator: the formula says it all, no 分子/分母 rows
        ("分子", _attr(entry, "numerator_zh") or "—") if available and has_denominator else None,
        ("分母", _attr(entry, "denominator_zh") or "—") if available and has_denominator else None,
        ("单位", unit or "—"),
        ("目标值", display_target(target) or NO_TARGET),
        ("方向", DIRECTION_ZH.get(_direction_key(_attr(entry, "direction")), "监测")),
        ("口径", basis or "—") if available else ("暂不可计算", _attr(entry, "unavailable_zh") or "缺少所需数据"),
        ("依据", _attr(entry, "source") or "—"),
    ]
    items = []
    for label, value in (r for r in rows if r is not None):
        items += [html.Dt(label), html.Dd(str(value))]
    return html.Dl(items, className="definition-list")


def table_column_defs(unit: str, decimals: int) -> list[dict]:
    cols = []
    for field, header, kind in TABLE_COLUMNS:
        if field == "value":
            cols.append(column_def(field, f"{header}（{unit}）" if unit else header, "number",
                                   decimals=decimals, unit=unit))
        elif field in ("yoy_rel", "share"):
            # numbers (percent × 100) so that sorting is numeric; the sign shows on changes only
            # a change that rounds to 0.0 reads "持平", not "+0.0%" / "−0.0%"
            # a % indicator's change is in percentage points, as on its card
            flat = "params.value == 0 ? '持平' : " if field == "yoy_rel" else ""
            fmt = "+,.1f" if field == "yoy_rel" else ",.1f"
            suffix = "个百分点" if field == "yoy_rel" and (unit or "").strip() == "%" else "%"
            wide = {"minWidth": 120} if suffix != "%" else {}
            cols.append(column_def(field, header, "number", **wide, valueFormatter={
                "function": f"params.value == null ? '—' : {flat}"
                            f"d3.format('{fmt}')(params.value) + '{suffix}'"}))
        elif field in ("numerator", "denominator"):
            cols.append(column_def(field, header, "number", decimals=2 if unit == "元" else 0))
        elif field == "flags":
            # "数据不完整" / "样本量小" whole (it was cut to "数据不…" once 同比 read in 个百分点)
            # (112 px holds the five characters and keeps the table within its grid at 1366 px)
            cols.append(column_def(field, header, kind, minWidth=112, tooltipField="flags"))
        else:
            cols.append(column_def(field, header, kind))
    cols[0]["pinned"] = "left"
    cols[0]["minWidth"] = 160
    cols[0]["tooltipField"] = "org_name"     # a long name (石门镇卫生院（合计）) is cut at 1366 px: whole on hover
    return cols


# ---------------------------------------------------------------------------------------------- topic boards
TOPIC_ID = "topic-id"
TOPIC_TABS = "topic-tabs"
TOPIC_SUBTITLE = "topic-subtitle"
TOPIC_GRID = "topic-grid"
BOARD_TOPICS: dict[str, str] = {"resources": "资源配置", "quality": "医疗质量", "cost": "费用控制",
                                "referrals": "分级诊疗", "health": "健康管理"}

# ---------------------------------------------------------------------------------------------- referrals
REF_READY = "ref-ready"
REF_SUBTITLE = "ref-subtitle"
REF_NOTICE = "ref-notice"
REF_KPIS = "ref-kpis"
REF_VOLUME = "ref-volume"
REF_FLOW = "ref-flow"
REF_OUTSIDE = "ref-outside"
REF_DEST = "ref-dest"
REF_DIAG = "ref-diag"
REF_PENDING = "ref-pending"
REF_KPI_IDS: tuple[str, ...] = ("up_referrals", "down_referrals", "down_up_ratio", "referral_acceptance",
                                "referral_response_24h", "orderly_outflow_rate")

# ---------------------------------------------------------------------------------------------- indicator catalogue
CATALOG_SEARCH = "catalog-search"
CATALOG_LIST = "catalog-list"
CATALOG_SUBTITLE = "catalog-subtitle"
