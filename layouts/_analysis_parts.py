"""Ids of the 自助分析 page (/analysis), kept apart from the page module (Dash imports page modules itself).

The callbacks (``dashboard.callbacks.analysis``) and the view model (``dashboard.views.analysis``) import them
from here, never from ``layouts/analysis.py``.
"""
from __future__ import annotations

READY = "an-ready"
SUBTITLE = "an-subtitle"
NOTICE = "an-notice"
HINT = "an-hint"
PIVOT_NOTICE = "an-pivot-notice"
DIM_BOX = "an-dim-box"   # the dimension filter pickers (hidden until the engine has dimensions)

# pickers: indicator, row axis, column axis, grain, range (from/to), org scope, one dimension filter
IND = "an-ind"
ROWS = "an-rows"
COLS = "an-cols"
GRAIN = "an-grain"
FROM = "an-from"
TO = "an-to"
ORG = "an-org"
FDIM = "an-fdim"
FMEM = "an-fmem"
CONTROLS = (IND, ROWS, COLS, GRAIN, FROM, TO, ORG, FDIM, FMEM)

GRID = "an-grid"
GRID_TITLE = "an-grid-title"
HEATMAP = "an-heatmap"
PANEL = "an-panel"
EXPORT_CSV = "an-export-csv"
EXPORT_XLSX = "an-export-xlsx"
EXPORT_MSG = "an-export-msg"
DOWNLOAD = "an-download"
