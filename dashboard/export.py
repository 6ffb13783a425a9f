"""Exports of page tables: CSV (UTF-8 with BOM so Excel opens Chinese) and real .xlsx (openpyxl).

Both take a DataFrame and a mapping of column → Chinese header; values are written as numbers (not formatted
strings) so that a spreadsheet can compute with them and a test can compare them with the engine.
"""
from __future__ import annotations

import io
import re
from typing import Mapping

import pandas as pd

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')
# Spreadsheet formula injection: cells starting with these are prefixed so Excel shows them as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_safe_text)
    return out


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


def to_csv_bytes(df: pd.DataFrame, headers: Mapping[str, str] | None = None) -> bytes:
    """CSV encoded as UTF-8 with a byte-order mark (Excel on Windows then reads Chinese correctly)."""
    text = _frame(df, headers).to_csv(index=False, lineterminator="\r\n")
    return (BOM + text).encode("utf-8")


def to_xlsx_bytes(df: pd.DataFrame, headers: Mapping[str, str] | None = None, sheet: str = "数据",
                  title: str | None = None) -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet: optional title row, bold header, numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    frame = _frame(df, headers)
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
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for idx, col in enumerate(frame.columns, start=1):
        width = max([len(str(col))] + [len(str(v)) for v in frame.iloc[:200, idx - 1].tolist()]) + 2
        ws.column_dimensions[get_column_letter(idx)].width = min(max(width * 1.6, 8), 48)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
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
