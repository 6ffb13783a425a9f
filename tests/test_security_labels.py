"""Names from the mart never become links in a chart: Plotly's HTML-ish labels are escaped."""
from __future__ import annotations

import plotly.graph_objects as go

from layouts._components import plotly_text, safe_figure

EVIL = '<a href="https://evil.example/">点此领取</a>'


def test_every_text_a_figure_takes_from_data_is_escaped() -> None:
    fig = go.Figure(go.Bar(x=[EVIL, "乙卫生院"], y=[1, 2], name=EVIL, text=[EVIL, "2"]))
    fig.add_trace(go.Sankey(node=dict(label=[EVIL, "县医院"]), link=dict(source=[0], target=[1], value=[3])))
    fig.add_annotation(text=EVIL)
    fig.update_layout(title_text=EVIL, xaxis=dict(tickvals=[0], ticktext=[EVIL]))
    safe_figure(fig)
    dumped = fig.to_json()
    assert "<a " not in dumped and "\\u003ca " not in dumped.lower()
    assert fig.data[0].x[0].startswith("&lt;a href=")
    assert fig.data[1].node.label[0].startswith("&lt;a")


def test_plain_names_and_our_line_breaks_are_untouched() -> None:
    assert plotly_text("丰安县人民医院") == "丰安县人民医院"
    assert plotly_text("合计<br>2026年") == "合计<br>2026年"
    assert plotly_text(12.5) == 12.5
    assert plotly_text("<span style='color:red'>x</span>").startswith("&lt;span")
