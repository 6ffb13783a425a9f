"""One call from a month to a written report file: content → charts → Word / PDF / HTML."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from metrics.scope import FULL_SCOPE, Scope
from reports.charts import render_all
from reports.content import Report, build_report

FORMATS = ("docx", "pdf", "html")
SUFFIX = {"docx": ".docx", "pdf": ".pdf", "html": ".html"}


def render(report: Report, fmt: str) -> bytes:
    """The bytes of ``report`` in ``fmt`` (docx, pdf or html)."""
    if fmt == "docx":
        from reports.docx_writer import render_docx
        return render_docx(report)
    if fmt == "pdf":
        from reports.pdf_writer import render_pdf
        return render_pdf(report)
    if fmt == "html":
        from reports.html_writer import render_html
        return render_html(report).encode("utf-8")
    raise ValueError(f"不支持的格式 {fmt!r}（可选 {', '.join(FORMATS)}）")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder (no half-written report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(month: str, fmt: str, out: Path, org: str | None = None, alerts: list[dict] | None = None,
             scope: Scope = FULL_SCOPE, mart_url: str | None = None,
             progress: Callable[[float, str], None] | None = None) -> Report:
    """Build the report of ``month`` (county or ``org``) and write it to ``out`` as ``fmt``; returns the content."""
    if fmt not in FORMATS:
        raise ValueError(f"不支持的格式 {fmt!r}（可选 {', '.join(FORMATS)}）")
    step = progress or (lambda _f, _m: None)
    report = build_report(month, org=org, alerts=alerts, scope=scope, mart_url=mart_url,
                          progress=lambda f, m: step(f * 0.7, m))
    step(0.72, "绘制图表")
    render_all(report)
    step(0.8, f"写出{ {'docx': 'Word', 'pdf': 'PDF', 'html': 'HTML'}[fmt] }文件")
    write_atomic(Path(out), render(report, fmt))
    step(1.0, "完成")
    return report
