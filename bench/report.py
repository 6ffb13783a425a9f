"""Time the monthly county report: content (engine calls), charts, Word, PDF, HTML — and check the PDF's glyphs.

    python bench/report.py [--scale 1] [--keep DIR] [--month YYYY-MM] [--repeat 1]

Builds (or reuses, ``--keep DIR``) a demo county at ``--scale``, then generates the county report of the last
complete month and prints a table of timings per step against the budget (DESIGN §8: Word + PDF ≤ 30 s), the page
count of the PDF and the characters WeasyPrint could not draw (must be none).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_S = 30.0


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


@click.command()
@click.option("--scale", default=1.0, show_default=True, type=float)
@click.option("--keep", default=None, type=click.Path(file_okay=False), help="reuse/keep the demo in this folder")
@click.option("--month", default=None, help="report month (default: the last complete month)")
@click.option("--repeat", default=1, show_default=True, type=int)
def main(scale: float, keep: str | None, month: str | None, repeat: int) -> None:
    from bench._common import prepare_data_dir
    data_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench_report_"))
    t0 = time.perf_counter()
    cfg = prepare_data_dir(data_dir, scale=scale)
    prep = time.perf_counter() - t0

    import weasyprint

    from dashboard.reporting.alerts import month_alerts
    from metrics.scope import FULL_SCOPE
    from queries import periods
    from reports.charts import render_all
    from reports.content import build_report
    from reports.docx_writer import render_docx
    from reports.html_writer import render_html

    month = month or periods.last_complete_month(cfg.mart_url)
    rows: list[tuple[str, float]] = []
    t, alerts = _timed(lambda: month_alerts(cfg, month, None, FULL_SCOPE), repeat)
    rows.append(("alerts (cockpit thresholds, institution level)", t))
    t, report = _timed(lambda: build_report(month, alerts=alerts, mart_url=cfg.mart_url), repeat)
    rows.append(("content: engine calls (month, 12-month trend, rankings)", t))
    t, _ = _timed(lambda: render_all(report), repeat)
    rows.append((f"charts: {len(report.charts())} PNG (matplotlib)", t))
    t, docx_bytes = _timed(lambda: render_docx(report), repeat)
    rows.append((f"Word .docx ({len(docx_bytes) // 1024} KB)", t))
    t, html = _timed(lambda: render_html(report), repeat)
    rows.append(("HTML", t))
    t, document = _timed(lambda: weasyprint.HTML(string=html).render(), repeat)
    t2, pdf = _timed(lambda: document.write_pdf(), repeat)
    rows.append((f"PDF layout + write ({len(document.pages)} pages, {len(pdf) // 1024} KB)", t + t2))
    word_pdf = sum(v for k, v in rows)
    missing = {f.name.decode(): sorted(chr(c) for c in f.missing) for f in document.fonts.values() if f.missing}

    print(f"\nmonthly county report, {month}, demo scale {scale} (data prepared in {prep:.1f} s)")
    print(f"{'step':60s} {'seconds':>8s}")
    print("-" * 69)
    for name, secs in rows:
        print(f"{name:60s} {secs:8.2f}")
    print("-" * 69)
    print(f"{'Word + PDF (+HTML), all steps':60s} {word_pdf:8.2f}   budget {BUDGET_S:.0f} s "
          f"{'OK' if word_pdf <= BUDGET_S else 'OVER'}")
    print(f"PDF pages: {len(document.pages)}; fonts: {', '.join(sorted(f.family for f in document.fonts.values()))}")
    print(f"characters without a glyph: {missing or 'none'}")


if __name__ == "__main__":
    main()
