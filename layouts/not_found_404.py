"""页面不存在 (Dash serves this module for every unknown path; it replaces Dash's English 404 text)."""
import dash
from dash import dcc, html

dash.register_page(__name__, path="/404", title="页面不存在 · 医共体运营监测平台", name="页面不存在", toolbar=False,
                   nav=False)


def layout(**_query: str) -> html.Div:
    """A friendly message with a way back to the home page."""
    return html.Div([
        html.H2("页面不存在", className="page-title"),
        html.P("您访问的页面不存在或已移动，请从左侧导航进入。", className="page-subtitle"),
        dcc.Link("返回首页", href="/"),
    ], className="section", style={"padding": "24px"})
