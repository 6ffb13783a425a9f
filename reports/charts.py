"""Charts of the report rendered server-side as PNG (matplotlib, Agg, Noto CJK fonts; no network)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from reports.content import Chart, Report

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "SimHei")
THIS_YEAR, LAST_YEAR, TARGET = "#1f5fa8", "#a0a7b4", "#2e9d5b"


def cjk_font() -> str:
    """The first installed CJK font family (fonts-noto-cjk on Debian)."""
    have = {f.name for f in font_manager.fontManager.ttflist}
    if not have.intersection(CJK_FONTS):
        # matplotlib's font cache may predate the font package: add the system's CJK files once
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
        have = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in have:
            return name
    raise RuntimeError("未找到中文字体 (no CJK font installed; apt-get install fonts-noto-cjk)")


def _short(month: str, first: bool) -> str:
    """'3月'; the first month and every January with its year ('2026年1月')."""
    return f"{int(month[5:])}月\n{month[:4]}" if first or month.endswith("-01") else f"{int(month[5:])}月"


def render_trend(chart: Chart, width_in: float = 6.2, height_in: float = 2.6, dpi: int = 150) -> bytes:
    """A PNG line chart: this year's months, the same months a year earlier, the target (band or line)."""
    font = cjk_font()
    with plt.rc_context({"font.family": [font], "axes.unicode_minus": False, "font.size": 9}):
        fig = Figure(figsize=(width_in, height_in), dpi=dpi)
        ax = fig.add_subplot(1, 1, 1)
        x = list(range(len(chart.months)))
        ax.plot(x, chart.last_year, color=LAST_YEAR, linestyle="--", marker="o", markersize=3, label="上年同期")
        ax.plot(x, chart.values, color=THIS_YEAR, marker="o", markersize=4, linewidth=2, label="本期")
        lo, hi = chart.target_low, chart.target_high
        if lo is not None and hi is not None:
            ax.axhspan(lo, hi, color=TARGET, alpha=0.10, label="目标区间")
        elif lo is not None or hi is not None:
            ax.axhline(lo if lo is not None else hi, color=TARGET, linestyle=":", linewidth=1.5, label="目标")
        ax.set_xticks(x, [_short(m, n == 0) for n, m in enumerate(chart.months)], fontsize=8)
        ax.set_title(chart.title, fontsize=11)
        if chart.unit:
            ax.set_ylabel(chart.unit)
        ax.grid(axis="y", alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="best", fontsize=8, frameon=False, ncol=3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()


def render_all(report: Report) -> Report:
    """Render every chart of ``report`` into its ``png`` (in place) and return the report."""
    for chart in report.charts():
        chart.png = render_trend(chart)
    return report
