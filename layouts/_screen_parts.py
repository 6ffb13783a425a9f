"""Ids and settings of the command-centre wall /screen (layouts/screen.py builds it, dashboard/callbacks/screen.py
fills it). A module of its own so that callbacks never import the page module (Dash imports pages itself)."""
from __future__ import annotations

DEFAULT_ROTATE_S, DEFAULT_REFRESH_S = 30, 60

ROOT = "screen-root"
ROTATE = "screen-rotate"
REFRESH = "screen-refresh"
SCALE = "screen-scale"
CLOCK = "screen-clock"
ASOF = "screen-asof"
UPDATED = "screen-updated"
KPIS = "screen-kpis"
KPI_PERIOD = "screen-kpi-period"
CENTRE_TITLE = "screen-centre-title"
CENTRE_CAPTION = "screen-centre-caption"
CENTRE_DOTS = "screen-centre-dots"
REF_FIGURES = "screen-ref-figures"
GAUGE_TITLE = "screen-gauge-title"
EX_COUNTS = "screen-ex-counts"
TICKER = "screen-ticker"
PAUSE_MARK = "screen-pause-mark"
CONN_MARK = "screen-conn"
CHART_CENTRE, CHART_TREND, CHART_GAUGE, CHART_NODES = "screen-centre", "screen-trend", "screen-gauge", "screen-nodes"
