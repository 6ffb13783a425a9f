"""驾驶舱 (placeholder until the pages issue lands)."""
import dash
from dash import html

dash.register_page(__name__, path="/", title="驾驶舱 · 医共体运营监测平台", name="驾驶舱")

layout = html.Div([html.H2("驾驶舱"), html.P("正在建设中")])
