"""Exports of page tables: CSV (UTF-8 with BOM so Excel opens Chinese) and real .xlsx (openpyxl).

Both take a DataFrame and a mapping of column → Chinese header; values are written as numbers (not formatted
strings) so that a spreadsheet can compute with them and a test can compare them with the engine. ``decimals``
(column → places) rounds a column as the page shows it: the CSV writes exactly that many places, the workbook
keeps numeric cells with a matching number format (thousands separators). True/False read 是/否.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Mapping

import pandas as pd

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')
# Spreadsheet formula injection: cells starting with these are prefixed so Excel shows them as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH, MAX_WIDTH = 8, 48        # Excel column widths, in characters of the default font


def _frame(df: pd.DataFrame, headers: Mapping[str, str] | None) -> pd.DataFrame:
    """Select and rename the exported columns (all columns when ``headers`` is None)."""
    if headers:
        missing = [c for c in headers if c not in df.columns]
        if missing:
            raise KeyError(f"export columns missing from the table: {missing}")
        out = df[list(headers)].rename(columns=dict(headers))
    else:
        out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map(_yes_no)
        elif out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: _safe_text(_yes_no(v)))
    return out


def _yes_no(value: object) -> object:
    """Booleans as people read them (是/否); anything else unchanged."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "是" if value else "否"
    return value


def _renamed(decimals: Mapping[str, int] | None, headers: Mapping[str, str] | None) -> dict[str, int]:
    """``decimals`` keyed by the exported (renamed) column."""
    if not decimals:
        return {}
    return {(headers or {}).get(k, k): int(v) for k, v in decimals.items()}


def _safe_text(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(value: object) -> float | None:
    """A finite float, or None (missing, text)."""
    if value is None or isinstance(value, (bool, str)):
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def to_csv_bytes(df: pd.DataFrame, headers: Mapping[str, str] | None = None,
                 decimals: Mapping[str, int] | None = None) -> bytes:
    """CSV encoded as UTF-8 with a byte-order mark (Excel on Windows then reads Chinese correctly).

    Columns in ``decimals`` are written with exactly that many places (no thousands separators, so the file
    reads back as numbers); missing values are empty.
    """
    frame = _frame(df, headers)
    for col, places in _renamed(decimals, headers).items():
        if col in frame.columns:
            frame[col] = [_fixed(v, places) for v in frame[col]]
    text = frame.to_csv(index=False, lineterminator="\r\n")
    return (BOM + text).encode("utf-8")


def _fixed(value: object, places: int) -> str:
    """``12.345, 1 → '12.3'``; missing → ''; never '-0.0'."""
    f = _number(value)
    if f is None:
        return ""
    text = f"{f:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def number_format(places: int) -> str:
    """Excel number format with thousands separators and ``places`` decimals: 2 → ``#,##0.00``."""
    return "#,##0" + ("." + "0" * places if places > 0 else "")


def display_width(text: str) -> int:
    """Width of a text in Excel character units: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def to_xlsx_bytes(df: pd.DataFrame, headers: Mapping[str, str] | None = None, sheet: str = "数据",
                  title: str | None = None, decimals: Mapping[str, int] | None = None) -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet: optional title row, bold header, numbers as numbers.

    Columns in ``decimals`` hold numbers rounded to that many places with a matching number format; column
    widths fit the header and the values as displayed (CJK counted double).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    frame = _frame(df, headers)
    places = _renamed(decimals, headers)
    wb = Workbook()
    ws = wb.active
    ws.title = _UNSAFE_NAME.sub("_", sheet)[:31] or "数据"
    if title:
        ws.append([title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=12)
    ws.append([str(c) for c in frame.columns])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    widths = [display_width(str(c)) for c in frame.columns]
    for row in frame.itertuples(index=False):
        values = []
        for idx, v in enumerate(row):
            col = frame.columns[idx]
            if col in places:
                f = _number(v)
                values.append(None if f is None else round(f, places[col]) + 0.0)
            else:
                values.append(_cell(v))
        ws.append(values)
        for idx, v in enumerate(values):
            col = frame.columns[idx]
            shown = (f"{v:,.{places[col]}f}" if col in places and v is not None else
                     "" if v is None else str(v))
            widths[idx] = max(widths[idx], display_width(shown))
    first_data = header_row + 1
    for idx, col in enumerate(frame.columns, start=1):
        letter = get_column_letter(idx)
        if col in places:
            fmt = number_format(places[col])
            for (cell,) in ws.iter_rows(min_row=first_data, min_col=idx, max_col=idx):
                cell.number_format = fmt
        ws.column_dimensions[letter].width = min(max(widths[idx - 1] + 2, MIN_WIDTH), MAX_WIDTH)
    ws.freeze_panes = ws.cell(row=first_data, column=1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: object) -> object:
    """A value openpyxl accepts: NaN/NA → empty, numpy scalars → Python numbers, timestamps → datetime."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def export_filename(stem: str, ext: str) -> str:
    """A file name safe on every OS (Chinese kept), e.g. ``门诊抗菌药物使用率_2025Q3.csv``."""
    clean = _UNSAFE_NAME.sub("_", stem).strip("_.") or "export"
    return f"{clean[:80]}.{ext}"
