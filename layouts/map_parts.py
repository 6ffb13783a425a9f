"""Ids, choices and pure component builders of the three county maps (一张图).

Kept apart from the page modules (``map_institutions``, ``map_health``, ``map_reform``) so that callbacks import
ids from here; Dash imports page modules itself. No queries here: indicator choices come from the catalogue.
"""
from __future__ import annotations

from typing import Any

from dash import dcc, html

from layouts._components import DROPDOWN_LABELS_ZH, echarts

MAP_HEIGHT = "max(520px, calc(100vh - 250px))"   # the whole county visible at 1440×900

# page keys: "inst", "health", "reform"
PATHS = {"inst": "/map/institutions", "health": "/map/health", "reform": "/map/reform"}
TITLES = {"inst": "医疗机构运行一张图", "health": "居民健康一张图", "reform": "医改动态监测一张图"}


def mid(page: str, part: str) -> str:
    """Component id of one part of a map page: ``mid('health', 'panel') → 'map-health-panel'``."""
    return f"map-{page}-{part}"


def chart_name(page: str) -> str:
    """Name of the ECharts bridge triple of a page (``layouts._ids.echarts_*``)."""
    return f"map-{page}"


# URL extras of the maps (the toolbar owns grain, period and org)
URL_INDICATOR = "ind"
URL_METHOD = "cls"
URL_CLASSES = "k"
URL_TOP = "top"
URL_SELECTION = "sel"     # the clicked item: inst:CODE, town:CODE or flow:up|down:FROM>TO (restored on load)

# ------------------------------------------------------------------------------------------------ indicator choices
INST_DEFAULT = "op_antibiotic_rate"
INST_PREFERRED = ("op_antibiotic_rate", "op_cost_per_visit", "op_drug_share", "bed_occupancy", "alos",
                  "ip_cost_per_discharge", "self_pay_share", "tcm_visit_share", "lab_timeliness",
                  "referral_acceptance")
HEALTH_DEFAULT = "htn_standard_rate"
HEALTH_PREFERRED = ("htn_standard_rate", "dm_standard_rate", "htn_control_rate", "dm_control_rate",
                    "visits_per_capita", "hospitalization_rate", "in_county_ip_share", "in_county_visit_rate",
                    "chronic_hospitalization_rate", "orderly_outflow_rate", "insurance_in_county_share",
                    "primary_visit_share")
REFORM_DEFAULT = "primary_visit_share"
REFORM_COLOURING = ("primary_visit_share", "in_county_visit_rate", "in_county_ip_share")
REFORM_HEADLINE = ("primary_visit_share", "in_county_visit_rate", "in_county_ip_share", "insurance_in_county_share",
                   "down_up_ratio", "referral_acceptance", "referral_response_24h", "orderly_outflow_rate")
INST_PROFILE = ("op_antibiotic_rate", "op_cost_per_visit", "op_drug_share", "bed_occupancy", "alos",
                "ip_cost_per_discharge", "referral_acceptance", "self_pay_share")

METHOD_OPTIONS = [{"label": "分位数", "value": "quantile"}, {"label": "等间距", "value": "equal_interval"},
                  {"label": "自然断点", "value": "natural_breaks"}]
TOP_OPTIONS = [{"label": f"前 {n} 条", "value": n} for n in (10, 20, 40, 80)]
DEFAULT_TOP = 20


def _attr(entry: Any, name: str, default: Any = None) -> Any:
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


def _catalogue() -> dict:
    try:
        from metrics.catalogue import INDICATORS
        return INDICATORS
    except ImportError:  # the catalogue is being written in parallel; pages still render
        return {}


def indicator_choices(page: str) -> list[str]:
    """Indicator ids offered by a page, preferred ones first, only those the catalogue can compute there."""
    cat = _catalogue()
    if page == "inst":
        preferred = INST_PREFERRED
        ok = [i for i, e in cat.items() if "institution" in (_attr(e, "levels") or ())
              and _attr(e, "available", True) and _attr(e, "kind", "ratio") not in ("exchange", "unavailable")]
    elif page == "health":
        preferred = HEALTH_PREFERRED
        ok = [i for i, e in cat.items() if "township" in (_attr(e, "levels") or ())
              and (_attr(e, "basis") == "residence" or _attr(e, "township_by") == "residence")
              and _attr(e, "available", True) and _attr(e, "kind", "ratio") not in ("exchange", "unavailable")]
    else:
        preferred = REFORM_COLOURING
        ok = [i for i in REFORM_COLOURING if i in cat and "township" in (_attr(cat[i], "levels") or ())]
    ordered = [i for i in preferred if i in ok] + sorted(i for i in ok if i not in preferred)
    return ordered if page != "reform" else [i for i in preferred if i in ok]


def indicator_options(page: str) -> list[dict[str, str]]:
    """Dropdown options {label: 中文名, value: id}."""
    cat = _catalogue()
    return [{"label": _attr(cat[i], "zh", i), "value": i} for i in indicator_choices(page)]


def default_indicator(page: str) -> str | None:
    choices = indicator_choices(page)
    preferred = {"inst": INST_DEFAULT, "health": HEALTH_DEFAULT, "reform": REFORM_DEFAULT}[page]
    return preferred if preferred in choices else (choices[0] if choices else None)


# ------------------------------------------------------------------------------------------------ components
def control(label: str, child: Any) -> html.Div:
    return html.Div([html.Span(label, className="map-ctl-label"), child], className="map-ctl")


SYMBOL_NOTE = "形状：机构类型；大小：门急诊+出院人次"


def status_legend() -> html.Div:
    """Colour legend of the institution map for an indicator with a target: the status, and symbol meaning."""
    from core.labels import STATUS_COLORS
    from geo.options import STATUS_NONE_LABEL
    rows = [html.Div([html.Span(className="map-swatch map-swatch-dot", style={"background": STATUS_COLORS[s]}),
                      html.Span(s or STATUS_NONE_LABEL)], className="map-legend-row")
            for s in ("达标", "预警", "未达标", None)]
    return html.Div([html.Div("颜色：所选指标状态", className="map-legend-title"), *rows,
                     html.Div(SYMBOL_NOTE, className="map-legend-note")],
                    className="map-legend map-legend-status")


def value_legend(rows: list[dict], title: str) -> html.Div:
    """Colour legend of the institution map for an indicator without a target: value classes (in the
    indicator's unit, named in ``title``), institutions per class, and symbol meaning."""
    from geo.options import VALUE_MODE_NOTE
    return html.Div([class_legend(rows, title, count_word="家"),
                     html.Div(f"{VALUE_MODE_NOTE}（颜色越深数值越大）", className="map-legend-note"),
                     html.Div(SYMBOL_NOTE, className="map-legend-note")], className="map-legend-value")


def class_legend(rows: list[dict], title: str, count_word: str = "个") -> html.Div:
    """Legend of a choropleth: one row per class with its colour, label and number of townships (or
    ``count_word`` units)."""
    items = [html.Div([html.Span(className="map-swatch", style={"background": r["color"]}),
                       html.Span(r["label"], className="map-legend-label"),
                       html.Span(f"{r['count']} {count_word}", className="map-legend-count")],
                      className="map-legend-row")
             for r in rows]
    return html.Div([html.Div(title, className="map-legend-title"), *items], className="map-legend")


def flow_legend(shown: dict[str, int], total: dict[str, int], focus: str | None = None,
                by_town: bool = False) -> html.Div:
    """Legend of the flow lines: colours, and how many flows are shown of how many (of ``focus`` only when an
    institution or township is chosen; ``by_town``: the county view's lines between townships)."""
    from geo.options import FLOW_COLORS, FLOW_ZH
    what = "条乡镇间流向" if by_town else "条"
    rows = [html.Div([html.Span(className="map-swatch map-swatch-line", style={"background": FLOW_COLORS[d]}),
                      html.Span(f"{FLOW_ZH[d]}：显示 {shown.get(d, 0)} / {total.get(d, 0)} {what}")],
                     className="map-legend-row") for d in ("up", "down")]
    title = (f"转诊流向：仅{focus}（线宽：人次）" if focus else
             "转诊流向：按乡镇汇总（线宽：人次；点击乡镇或机构看机构间流向）" if by_town else "转诊流向（线宽：人次）")
    return html.Div([html.Div(title, className="map-legend-title"), *rows], className="map-legend")


def panel_placeholder(text: str) -> html.Div:
    return html.Div([html.Div("☝", className="map-panel-icon"), html.Div(text, className="map-panel-hint")],
                    className="map-panel-empty")


def map_page(page: str, controls: list[Any], hint: str, side_top: Any = None, panel_first: bool = False) -> html.Div:
    """The frame shared by the three maps: header, controls, map on the left, legend and panel on the right.

    ``panel_first`` puts the click panel at the top of the side column (a page whose side column is taller
    than the screen, so that a click's answer is seen without scrolling)."""
    panel = html.Div(panel_placeholder(hint), id=mid(page, "panel"),
                     className="section map-panel" + (" map-panel-first" if panel_first else ""))
    return html.Div([
        # page_header() drops an empty subtitle component, and this one is filled by a callback
        html.Div([html.Div([html.H2(TITLES[page], className="page-title"),
                            html.Div(id=mid(page, "subtitle"), className="page-subtitle")])],
                 className="page-header"),
        html.Div(controls, className="map-controls"),
        html.Div(id=mid(page, "notice")),
        html.Div([
            html.Div(echarts(chart_name(page), height=MAP_HEIGHT), className="map-canvas section"),
            html.Div([
                panel if panel_first else None,
                side_top if side_top is not None else None,
                html.Div(id=mid(page, "legend"), className="section map-legend-box"),
                None if panel_first else panel,
            ], className="map-side"),
        ], className="map-layout"),
        dcc.Store(id=mid(page, "ready"), data=page),
        # the clicked item's URL value, written into the address bar by a clientside callback
        dcc.Store(id=mid(page, "sel")),
        html.Span(id=mid(page, "sel-sink"), hidden=True),
    ], className=f"map-page map-page-{page}")


def indicator_dropdown(page: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=mid(page, "indicator"), options=indicator_options(page), value=default_indicator(page),
                        clearable=False, searchable=True, labels=DROPDOWN_LABELS_ZH, className="map-dd")
