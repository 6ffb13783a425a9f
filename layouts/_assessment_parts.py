"""Ids of the 综合评价 pages (/assessment and the admin's /admin/assessment), kept apart from the page modules
(Dash imports those itself): callbacks import ids from here."""
from __future__ import annotations

# /assessment
GRAIN = "assess-grain"
PERIOD = "assess-period"
TYPE = "assess-type"
SUBTITLE = "assess-subtitle"
CHART_BOX = "assess-chart-box"
CHART = "assess-chart"
TABLE_BOX = "assess-table-box"
TABLE = "assess-table"
SELECTED = "assess-selected"
DETAIL_TITLE = "assess-detail-title"
DETAIL_BOX = "assess-detail-wrap"
EXPORT_CSV = "assess-export-csv"
EXPORT_XLSX = "assess-export-xlsx"
DOWNLOAD = "assess-download"
EXPORT_MSG = "assess-export-msg"

# /admin/assessment
W_TABLE = "aw-table"
W_WEIGHT = "aw-weight"         # pattern-matching: {"type": W_WEIGHT, "id": indicator id}
W_ENABLED = "aw-enabled"       # pattern-matching: {"type": W_ENABLED, "id": indicator id}
W_SUM = "aw-sum"
W_SAVE = "aw-save"
W_RESET = "aw-reset"
W_CONFIRM_SAVE = "aw-confirm-save"
W_CONFIRM_RESET = "aw-confirm-reset"
W_MSG = "aw-msg"
W_TICK = "aw-tick"             # bumped after a save or reset: the form reloads
