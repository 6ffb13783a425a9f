"""The report as one self-contained HTML page (charts inline as PNG data URIs); the PDF is printed from it."""
from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from metrics.catalogue import INDICATORS
from reports import text as T
from reports.content import Report

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=jinja2.select_autoescape(["html"]))
SOURCE_ZH = {"outpatient_visit": "门急诊", "inpatient_discharge": "住院出院", "lab_order": "检验",
             "resource_month": "资源月报"}


def fmt_num(x: float | None) -> str:
    """Numerator/denominator as counted ('12,345' or '12,345.67'); '—' when missing."""
    if x is None:
        return "—"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def indicator_zh(key: str) -> str:
    ind = INDICATORS.get(key)
    return ind.zh if ind else key


def render_html(report: Report) -> str:
    """The report as HTML (UTF-8 text). Charts must be rendered first (:func:`reports.charts.render_all`)."""
    return _ENV.get_template("report.html").render(
        r=report, month_zh=T.month_zh(report.month), fmt_num=fmt_num, indicator_zh=indicator_zh,
        source_zh=lambda s: SOURCE_ZH.get(s, s), b64=lambda b: base64.b64encode(b).decode("ascii"))


def write_html(report: Report, path: Path) -> Path:
    path.write_text(render_html(report), encoding="utf-8")
    return path
