"""The report as PDF: WeasyPrint (Debian's pango) prints the HTML rendering with the Noto CJK fonts."""
from __future__ import annotations

from pathlib import Path

from reports.content import Report
from reports.html_writer import render_html


def render_pdf(report: Report) -> bytes:
    """PDF bytes of the report (A4, page numbers)."""
    import weasyprint
    return weasyprint.HTML(string=render_html(report), base_url=str(Path(__file__).parent)).write_pdf()


def write_pdf(report: Report, path: Path) -> Path:
    path.write_bytes(render_pdf(report))
    return path
