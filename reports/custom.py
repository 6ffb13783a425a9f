"""Custom reports (自定义报表): indicators × orgs × periods at a grain, from the engine, to a formatted workbook.

A :class:`CustomSpec` is what a user picks (and may save as a named template: ``to_json`` / ``from_json``).
:func:`custom_frame` calls :func:`metrics.engine.compute` once with the user's scope (the engine keeps rows below
township level to the user's institutions); :func:`to_xlsx` writes one sheet per theme with frozen headers and
number formats by indicator (values rounded to the indicator's decimals, as the CLI prints them).
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from core.labels import LEVEL_ZH
from metrics.catalogue import INDICATORS, TOPICS
from metrics.engine import IndicatorError, compute
from metrics.scope import FULL_SCOPE, Scope
from reports import text as T

MAX_CELLS = 200_000
GRAIN_ZH = {"year": "年", "quarter": "季", "month": "月"}
COLUMNS_ZH = {"indicator": "指标", "org_name": "机构/区划", "org_code": "代码", "period": "期间", "value": "值",
              "unit": "单位", "numerator": "分子", "denominator": "分母", "target": "目标", "status": "状态",
              "yoy_value": "上年同期值", "mom_value": "上期值", "complete": "数据完整", "small_sample": "样本量小"}


@dataclass
class CustomSpec:
    """A custom report's selection. ``orgs`` empty: every org of ``level`` the user may see."""
    indicator_ids: list[str]
    level: str = "county"
    grain: str = "month"
    start: str = ""
    end: str = ""
    orgs: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CustomSpec:
        data = json.loads(text)
        return cls(**{k: data[k] for k in ("indicator_ids", "level", "grain", "start", "end", "orgs") if k in data})


def custom_frame(spec: CustomSpec, scope: Scope = FULL_SCOPE, mart_url: str | None = None) -> pd.DataFrame:
    """Engine rows of the selection (``compute`` columns plus ``topic``); raises IndicatorError with a Chinese
    reason for an empty or refused selection."""
    ids = [i for i in spec.indicator_ids if i in INDICATORS]
    if not ids:
        raise IndicatorError("请至少选择一个指标")
    df = compute(ids, spec.level, spec.grain, spec.start, spec.end, scope=scope, mart_url=mart_url)
    if spec.orgs:
        df = df[df["org_code"].isin(spec.orgs)]
    if len(df) * len(COLUMNS_ZH) > MAX_CELLS:
        raise IndicatorError(f"所选范围过大（{len(df)} 行），请减少指标、机构或期间")
    df = df.copy()
    df["topic"] = df["indicator_id"].map(lambda i: INDICATORS[i].topic)
    return df.reset_index(drop=True)


def display_rows(df: pd.DataFrame) -> list[dict]:
    """Rows for the preview grid (values as the CLI prints them)."""
    out = []
    for r in df.to_dict("records"):
        ind = INDICATORS[r["indicator_id"]]
        out.append({"indicator": ind.zh, "org_name": r["org_name"], "org_code": r["org_code"], "period": r["period"],
                    "value": T.value_text(r["value"], ind.decimals), "unit": ind.unit,
                    "numerator": None if T.missing(r["numerator"]) else float(r["numerator"]),
                    "denominator": None if T.missing(r["denominator"]) else float(r["denominator"]),
                    "target": ind.target_text, "status": "" if T.missing(r["status"]) else r["status"],
                    "yoy_value": T.value_text(r["yoy_value"], ind.decimals),
                    "mom_value": T.value_text(r["mom_value"], ind.decimals),
                    "complete": "是" if bool(r["complete"]) else "否",
                    "small_sample": "是" if bool(r["small_sample"]) else "否"})
    return out


def _number(x: object, decimals: int | None) -> float | None:
    if T.missing(x):
        return None
    return round(float(x), decimals) if decimals is not None else float(x)


def to_xlsx(df: pd.DataFrame, title: str = "自定义报表") -> bytes:
    """The rows as a workbook: one sheet per theme (资源, 质量, …), bold frozen header, number formats by
    indicator, widths to fit, and a 说明 sheet with the definitions."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    header = ["指标", "层级", "代码", "机构/区划", "期间", "值", "单位", "分子", "分母", "目标", "状态", "上年同期值",
              "上期值", "数据完整", "样本量小"]
    fill = PatternFill("solid", fgColor="E8EEF7")
    for topic, zh in TOPICS.items():
        part = df[df["topic"] == topic] if "topic" in df.columns else df.iloc[0:0]
        if part.empty:
            continue
        ws = wb.create_sheet(zh[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r in part.to_dict("records"):
            ind = INDICATORS[r["indicator_id"]]
            dec = ind.decimals
            ws.append([ind.zh, LEVEL_ZH.get(r["level"], r["level"]), r["org_code"], r["org_name"], r["period"],
                       _number(r["value"], dec), ind.unit, _number(r["numerator"], None),
                       _number(r["denominator"], None), ind.target_text,
                       "" if T.missing(r["status"]) else r["status"], _number(r["yoy_value"], dec),
                       _number(r["mom_value"], dec), "是" if bool(r["complete"]) else "否",
                       "是" if bool(r["small_sample"]) else "否"])
            fmt = "#,##0" if dec == 0 else "#,##0." + "0" * dec
            row = ws.max_row
            for col in (6, 12, 13):
                ws.cell(row=row, column=col).number_format = fmt
            for col in (8, 9):
                ws.cell(row=row, column=col).number_format = "#,##0.##"
        ws.freeze_panes = "B2"
        ws.auto_filter.ref = ws.dimensions
        for col, name in enumerate(header, start=1):
            width = max([len(str(name)) * 2] + [len(str(c.value or "")) * (2 if col in (1, 4, 10) else 1.2)
                                                 for c in ws[get_column_letter(col)][1:200]])
            ws.column_dimensions[get_column_letter(col)].width = min(max(8, width + 2), 44)
    notes = wb.create_sheet("说明")
    notes.append([title])
    notes["A1"].font = Font(bold=True, size=13)
    notes.append(["指标", "定义", "分子", "分母", "目标", "依据"])
    for cell in notes[2]:
        cell.font = Font(bold=True)
        cell.fill = fill
    for iid in dict.fromkeys(df["indicator_id"]):
        ind = INDICATORS[iid]
        notes.append([ind.zh, ind.definition, ind.numerator_zh, ind.denominator_zh, ind.target_text, ind.source])
    notes.freeze_panes = "A3"
    for col, width in zip("ABCDEF", (28, 60, 30, 30, 20, 30)):
        notes.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
