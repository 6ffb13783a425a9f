"""The report as an editable Word document (python-docx).

Every text uses a named style (正文 = Normal, 标题 1/2, 表格文字, 图题) whose fonts are set for Latin and East Asian
text (``w:eastAsia``), so Word and WPS render the Chinese with the named font and a reader can restyle the whole
report by editing a style. Charts are PNG pictures; tables use the built-in 'Table Grid' style.
"""
from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from reports import text as T
from reports.content import Line, Report, Section
from reports.html_writer import SOURCE_ZH, fmt_num, indicator_zh

BODY_FONT, HEADING_FONT = "宋体", "黑体"
BODY_FONT_LATIN = "Times New Roman"
STATUS_COLOUR = {"达标": RGBColor(0x1D, 0x7A, 0x46), "预警": RGBColor(0xB7, 0x79, 0x1F),
                 "未达标": RGBColor(0xC5, 0x30, 0x30)}
TABLE_STYLE = "表格文字"


def _fonts(style, east_asia: str, latin: str, size: float, bold: bool | None = None,  # noqa: ANN001
           colour: RGBColor | None = None) -> None:
    """Name the style's fonts for Latin and East Asian text (w:rFonts ascii/hAnsi/eastAsia)."""
    style.font.name = latin
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    style.font.color.rgb = colour or RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asia), ("w:cs", latin)):
        rfonts.set(qn(attr), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)


def _styles(doc: Document) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    styles = doc.styles
    _fonts(styles["Normal"], BODY_FONT, BODY_FONT_LATIN, 12)
    styles["Normal"].paragraph_format.line_spacing = 1.5
    _fonts(styles["Title"], HEADING_FONT, "Arial", 24, bold=True)
    _fonts(styles["Heading 1"], HEADING_FONT, "Arial", 16, bold=True)
    _fonts(styles["Heading 2"], HEADING_FONT, "Arial", 13, bold=True)
    _fonts(styles["Caption"], BODY_FONT, BODY_FONT_LATIN, 9, colour=RGBColor(0x55, 0x55, 0x55))
    table = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    table.base_style = styles["Normal"]
    _fonts(table, BODY_FONT, BODY_FONT_LATIN, 9)
    table.paragraph_format.line_spacing = 1.0
    table.paragraph_format.space_after = Pt(0)
    body = styles.add_style("报告正文", WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = styles["Normal"]
    body.paragraph_format.first_line_indent = Pt(24)


def _set_style(paragraph, style_id: str) -> None:  # noqa: ANN001
    """Set a paragraph's style by id (python-docx's ``paragraph.style =`` scans the style list every time)."""
    paragraph._p.get_or_add_pPr().style = style_id


def _table(doc: Document, header: list[str], rows: list[list[str]], status_col: int | None = None,
           widths: list[float] | None = None) -> None:
    t = doc.add_table(rows=1 + len(rows), cols=len(header))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    style_id = doc.styles[TABLE_STYLE].style_id
    for cell, text in zip(t.rows[0].cells, header):
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        _set_style(cell.paragraphs[0], style_id)
    for table_row, row in zip(t.rows[1:], rows):
        for c, (cell, text) in enumerate(zip(table_row.cells, row)):
            para = cell.paragraphs[0]
            _set_style(para, style_id)
            run = para.add_run(text)
            if c == status_col and text in STATUS_COLOUR:
                run.font.color.rgb = STATUS_COLOUR[text]
    if widths:
        for row in t.rows:
            for cell, w in zip(row.cells, widths):
                cell.width = Cm(w)


def _value(line: Line) -> str:
    return line.display


def _section(doc: Document, s: Section) -> None:
    doc.add_heading(s.title, level=1)
    doc.add_paragraph(s.paragraph, style="报告正文")
    if s.lines:
        _table(doc, ["指标", "本月值", "分子", "分母", "目标", "状态", "同比", "环比"],
               [[l.name + ("（数据不完整）" if not l.complete else "") + ("（样本量小）" if l.small_sample else ""),
                 _value(l), fmt_num(l.numerator), fmt_num(l.denominator), l.target_text, l.status or "—",
                 l.yoy_text, l.mom_text] for l in s.lines], status_col=5)
    if s.chart is not None and s.chart.png:
        doc.add_picture(io.BytesIO(s.chart.png), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        doc.add_paragraph(f"图：{s.chart.title}（近 12 个月，与上年同期对比）", style="Caption").alignment = \
            WD_ALIGN_PARAGRAPH.CENTER
    if s.ranking is not None:
        doc.add_heading(f"{s.ranking.title}（按{s.ranking.level_zh}）", level=2)
        _table(doc, ["名次", s.ranking.level_zh, "本月值", "状态", "说明"],
               [[str(r["rank"]), r["org_name"], r["value_text"], r["status"] or "—", r["note"]]
                for r in s.ranking.rows], status_col=3)
        if s.ranking.excluded_small:
            doc.add_paragraph(f"另有 {s.ranking.excluded_small} 个{s.ranking.level_zh}样本量小（分母不足 30 例），"
                              f"未参与排名。", style="Caption")
    if s.extra_table:
        doc.add_heading("上报不完整的机构", level=2)
        _table(doc, ["机构", "数据源", "有数据天数/应报天数", "情况"],
               [[r["org_name"], SOURCE_ZH.get(r["source"], r["source"]), r["days"], r["missing_month"]]
                for r in s.extra_table])
    if s.key != "data_quality":
        doc.add_heading("本月预警及处置情况", level=2)
        if s.alerts:
            _table(doc, ["机构", "指标", "预警内容", "级别", "处置状态"],
                   [[str(a.get("org_name", "")), indicator_zh(str(a.get("indicator", ""))), str(a.get("message", "")),
                     str(a.get("severity", "")), str(a.get("status", ""))] for a in s.alerts], status_col=3)
        else:
            doc.add_paragraph("本月本部分无预警。", style="报告正文")


def render_docx(report: Report) -> bytes:
    """The .docx bytes of the report. Charts must be rendered first (:func:`reports.charts.render_all`)."""
    doc = Document()
    for sec in doc.sections:
        sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
        sec.left_margin = sec.right_margin = Cm(2.2)
    _styles(doc)
    doc.core_properties.title = report.title
    doc.core_properties.author = f"{report.county_name}医共体运营监测平台"
    for _ in range(6):
        doc.add_paragraph()
    doc.add_paragraph(report.heading, style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in (T.month_zh(report.month), f"{report.county_name}卫生健康局",
                 f"数据截至 {report.as_of} · 生成于 {report.generated_at}"):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
    doc.add_heading("一、总体情况", level=1)
    doc.add_paragraph(report.summary, style="报告正文")
    _table(doc, ["指标", "本月值", "目标", "状态", "同比", "环比"],
           [[l.name, _value(l), l.target_text, l.status or "—", l.yoy_text, l.mom_text] for l in report.headline],
           status_col=3)
    for s in report.sections:
        _section(doc, s)
    doc.add_heading("附录一、指标定义", level=1)
    _table(doc, ["指标", "分子", "分母", "目标", "依据"],
           [[d["name"], d["numerator"], d["denominator"], d["target"], d["source"]] for d in report.definitions])
    doc.add_heading("附录二、数据完整性说明", level=1)
    for n, c in enumerate(report.caveats, start=1):
        doc.add_paragraph(f"{n}. {c}", style="报告正文")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write_docx(report: Report, path: Path) -> Path:
    path.write_bytes(render_docx(report))
    return path
