"""Shared components and the shell layout render the right structure (pure, no server)."""
from __future__ import annotations

import json

import plotly.io as pio
from dash import dcc, html

from layouts import _components as c
from layouts import _ids as ids
from layouts import _shell


def _texts(component) -> list[str]:
    """Every string child in the component tree."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
        elif hasattr(node, "children"):
            walk(node.children)
    walk(component)
    return out


def _classes(component) -> list[str]:
    out: list[str] = []

    def walk(node):
        if isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
        elif hasattr(node, "to_plotly_json"):
            cls = getattr(node, "className", None)
            if cls:
                out.extend(cls.split())
            walk(getattr(node, "children", None))
    walk(component)
    return out


def test_kpi_card_good_trend_for_higher_is_better():
    card = c.kpi_card("病床使用率", 86.04, "%", target_text="75–93%", status="达标", yoy=0.052, direction="up",
                      spark=[80, 82, 86], href="/indicator/bed_occupancy?grain=month")
    assert isinstance(card, dcc.Link) and card.href.startswith("/indicator/bed_occupancy")
    texts = "".join(_texts(card))
    assert "病床使用率" in texts and "86.0%" in texts and "目标 75–93%" in texts and "▲" in texts and "5.2%" in texts
    classes = _classes(card)
    assert "status-ok" in classes and "trend-good" in classes
    graphs = [n for n in [card.children[-1]] if isinstance(n, dcc.Graph)]
    assert graphs and graphs[0].config["staticPlot"] is True


def test_kpi_card_rise_is_bad_for_lower_is_better_and_grey_without_status():
    card = c.kpi_card("次均费用", 231.5, "元", yoy=0.1, direction="↓")
    assert isinstance(card, html.Div)
    classes = _classes(card)
    assert "trend-bad" in classes and "status-none" in classes
    assert "231.50 元" in _texts(card) and "无目标值" in _texts(card)


def test_kpi_card_missing_value_and_band_direction():
    card = c.kpi_card("平均住院日", None, "天", status="未达标", yoy=-0.03, direction="◇", note="样本量小")
    texts = _texts(card)
    assert "—" in texts and "样本量小" in texts
    classes = _classes(card)
    assert "status-bad" in classes and "trend-neutral" in classes


def test_status_badge_classes():
    assert c.status_badge("预警").className == "badge status-warn"
    assert c.status_badge("未达标").className == "badge status-bad"
    assert c.status_badge(None).children == "无目标"


def test_states_breadcrumbs_sections():
    assert "本期无数据" in _texts(c.empty_state())
    err = c.error_card("指标不支持按机构计算", "居民口径")
    assert "指标不支持按机构计算" in _texts(err) and err.role == "alert"
    crumbs = c.breadcrumbs([("全县", "/x?org="), ("城关镇", "/x?org=T1"), ("县总医院", None)])
    links = [n for n in crumbs.children if isinstance(n, dcc.Link)]
    assert [l.children for l in links] == ["全县", "城关镇"]
    assert crumbs.children[-1].className == "crumb crumb-current"
    sec = c.section("趋势", html.Div("x"), actions=html.Button("导出"))
    assert "趋势" in _texts(sec) and "导出" in _texts(sec)
    assert "驾驶舱" in _texts(c.page_header("驾驶舱", "2025年3月 · 全县"))


def test_data_table_has_chinese_locale_and_number_format():
    grid = c.data_table("t", [{"name": "县总医院", "v": 1234.5}],
                        [c.column_def("name", "机构"), c.column_def("v", "金额", "money")])
    opts = grid.dashGridOptions
    assert opts["localeText"]["noRowsToShow"] == "无数据" and opts["pagination"] is True
    v_col = grid.columnDefs[1]
    assert v_col["type"] == "rightAligned" and "d3.format(',.2f')" in v_col["valueFormatter"]["function"]
    assert grid.rowData == [{"name": "县总医院", "v": 1234.5}]


def test_echarts_container_ids():
    box = c.echarts("flows", 300)
    div, opt, click = box.children
    assert div.id == ids.echarts_box("flows") == {"type": "echarts", "id": "flows"}
    assert opt.id == ids.echarts_option("flows") and click.id == ids.echarts_click("flows")
    assert isinstance(opt, dcc.Store) and isinstance(click, dcc.Store) and div.style["height"] == "300px"


def test_base_figure_layout_and_template():
    layout = c.base_figure_layout(height=200)
    assert "Noto Sans CJK SC" in layout["font"]["family"] and layout["height"] == 200
    assert c.TEMPLATE_NAME in pio.templates
    assert c.GRAPH_CONFIG["displaylogo"] is False


def test_nav_filtered_by_role():
    leader = [i.href for i in _shell.visible_nav("leader")]
    admin = [i.href for i in _shell.visible_nav("admin")]
    auditor = [i.href for i in _shell.visible_nav("auditor")]
    assert "/" in leader and "/map/health" in leader and "/admin/users" not in leader
    assert admin == ["/exchange", "/admin/users", "/admin/alerts"]
    assert auditor == ["/admin/logs"]
    assert _shell.visible_nav(None) == []


def test_nav_active_matching():
    item = next(i for i in _shell.NAV_ITEMS if i.label == "指标分析")
    assert item.is_active("/indicator/bed_occupancy") and item.is_active("/indicators")
    home = _shell.NAV_ITEMS[0]
    assert home.is_active("/") and not home.is_active("/map/health")


def test_toolbar_hidden_on_admin_and_exchange():
    assert not _shell.shows_toolbar("/admin/users") and not _shell.shows_toolbar("/exchange")
    assert _shell.shows_toolbar("/")


def test_shell_layout_has_header_nav_toolbar_and_container():
    layout = _shell.shell()
    text = json.dumps(layout.to_plotly_json(), default=lambda o: o.to_plotly_json()
                      if hasattr(o, "to_plotly_json") else str(o), ensure_ascii=False)
    for needle in ("医共体运营监测平台", ids.URL, ids.TOOLBAR, ids.GRAIN, ids.PERIOD, ids.TOWNSHIP, ids.INST,
                   ids.USER_BOX, "_pages_content"):
        assert needle in text, needle


def test_nav_state_highlights_and_carries_view_state():
    from dashboard.callbacks.shell import nav_state
    link_ids = [ids.nav_link(i.href) for i in _shell.NAV_ITEMS]
    classes, hrefs, toolbar = nav_state("/indicator/bed_occupancy", "?grain=year&period=2024&org=H001&tab=x",
                                        link_ids)
    active = [i.label for i, cls in zip(_shell.NAV_ITEMS, classes) if "active" in cls.split()]
    assert active == ["指标分析"] and toolbar == "toolbar"
    assert hrefs[0] == "/?grain=year&period=2024&org=H001"      # page extras (tab) are not carried
    _, _, toolbar = nav_state("/admin/logs", "", link_ids)
    assert toolbar == "toolbar toolbar-hidden"


def test_trend_arrow_says_flat_when_the_change_rounds_to_zero() -> None:
    from layouts._components import trend_arrow
    assert trend_arrow(-0.00001, "up").children == ["同比 ", "持平"]
    assert trend_arrow(0.0, "down").children == ["同比 ", "持平"]
    assert trend_arrow(-0.05, "up").className == "trend trend-bad"
