"""Generate docs/indicators.md from the catalogue (``python -m metrics.docs`` rewrites it; a test checks it)."""
from __future__ import annotations

from pathlib import Path

from core.labels import LEVEL_ZH
from metrics.catalogue import BASIS_ZH, INDICATORS, MEASURES, TOPICS

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "indicators.md"
_DIR = {"up": "↑ 越高越好", "down": "↓ 越低越好", "band": "◇ 区间"}


def render() -> str:
    """The indicator reference as Markdown."""
    out = ["# 指标参考 Indicator reference", "",
           "Generated from `metrics/catalogue.py` by `python -m metrics.docs` — do not edit by hand.", "",
           "值 = 系数 × Σ分子 ÷ Σ分母 (ratio of sums at the requested level); 分母为 0 时无值 (—)。"
           "分母为病例数且 < 30 时标记“样本量小”。存量指标 (床位、人员、设备、在管慢病患者) 取期末月。", "",
           "每个机构 (范围内)、每个数据覆盖的期间都有一行：计数没有记录时为 0；比率分母为 0 时值为空，说明写"
           "“无病例”(有记录但分母为 0) 或“无数据”(没有记录)。尚未结束的期间标记 partial=1 (部分期间)；"
           "其中以存量为分母的指标 (实际开放总床日数、医师工作日、常住人口、平均开放床位、在管慢病患者) 的分母"
           "按数据覆盖的天数折算。数据截至当月第 D 天的期间，同比与去年同期的相同天数比较 (去年该月 1—D 日；"
           "比率的分子分母都取这些天)：全县、乡镇、机构按就诊机构的计数取自按日汇总表；科室、医生、按居住地的"
           "计数以及只有月报的数据 (资源月报；期间尚未结束时) 按天数比例折算。", "",
           "综合评价 (机构综合得分、默认指标集与权重、评分方法) 见 [assessment.md](assessment.md)。", ""]
    for topic, zh in TOPICS.items():
        out += [f"## {zh} ({topic})", "",
                "| id | 名称 | 定义 | 单位 | 方向 | 目标 | 口径 | 层级 | 来源 |", "|---|---|---|---|---|---|---|---|---|"]
        for ind in INDICATORS.values():
            if ind.topic != topic:
                continue
            levels = "、".join(LEVEL_ZH[lv] for lv in ind.levels)
            definition = ind.definition + (f" ({ind.note})" if ind.note else "")
            if not ind.available:
                definition = f"{ind.unavailable_zh}<br>{ind.unavailable_reason}"
            elif ind.kind == "exchange":
                definition += " — app database (exchange measure source)"
            out.append(f"| `{ind.id}` | {ind.zh}<br>{ind.en} | {definition} | {ind.unit or '—'} | "
                       f"{_DIR[ind.direction]} | {ind.target_text} | {BASIS_ZH[ind.basis]} | {levels} | {ind.source} |")
        out.append("")
    out += ["## 度量 Measures", "", "| id | 名称 | 表 | 列 | 筛选 | 期间合并 |", "|---|---|---|---|---|---|"]
    for m in MEASURES.values():
        parts = " ".join(("+" if s > 0 else "−") + p for p, s in m.parts)
        out.append(f"| `{m.id}` | {m.zh} | {m.table or parts} | {m.column or ''} | {', '.join(m.filters)} | "
                   f"{m.kind} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
