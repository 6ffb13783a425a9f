"""The content model of the monthly report, built from the engine's ``compute()`` rows only.

:func:`build_report` makes one :class:`Report` (cover, 一、总体情况, the sections of :mod:`reports.sections`,
appendix). Alerts are an input (``alerts``: list of dicts with ``org_name``, ``indicator`` (id or Chinese name),
``message``, ``severity``, ``status``): the caller supplies them from its alert source, the report only files them
under the section of their indicator.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from core.labels import LEVEL_ZH
from core.periods import add_months
from layouts.formatting import NO_TARGET, display_target
from metrics.catalogue import INDICATORS, Indicator
from metrics.engine import compute
from metrics.scope import FULL_SCOPE, Scope
from queries import org as qorg
from queries import periods as qperiods
from reports import text as T
from reports.sections import HEADLINE_IDS, RANK_ROWS, SECTIONS, SectionSpec

TREND_MONTHS = 12
GAP_ROWS = 15          # upload gaps listed in the data-quality table (the 数据质量 page has all)
Progress = Callable[[float, str], None]


@dataclass
class Line:
    """One indicator of the report: the engine row's numbers and their texts."""
    indicator_id: str
    name: str
    unit: str
    value: float | None
    value_text: str
    target_text: str
    status: str
    yoy_text: str
    mom_text: str
    numerator: float | None
    denominator: float | None
    complete: bool
    small_sample: bool

    @property
    def display(self) -> str:
        """'64.2%', '129.24 元', '—'."""
        return T.display(self.value_text, self.unit)


@dataclass
class Ranking:
    """Child orgs ranked by one indicator (best first)."""
    indicator_id: str
    title: str
    level_zh: str
    rows: list[dict] = field(default_factory=list)     # rank, org_name, value_text, status, note
    excluded_small: int = 0                             # orgs left out: fewer than 30 cases


@dataclass
class Chart:
    """A trend to draw: this year's months and the same months a year earlier (engine values)."""
    indicator_id: str
    title: str
    unit: str
    months: list[str]
    values: list[float | None]
    last_year: list[float | None]
    target_low: float | None
    target_high: float | None
    png: bytes | None = None


@dataclass
class Section:
    key: str
    title: str
    paragraph: str
    lines: list[Line]
    chart: Chart | None
    ranking: Ranking | None
    alerts: list[dict]
    extra_table: list[dict] = field(default_factory=list)   # data-quality gaps


@dataclass
class Report:
    county_name: str
    org_code: str | None
    org_name: str
    org_level: str
    month: str
    as_of: str
    generated_at: str
    headline: list[Line]
    summary: str
    sections: list[Section]
    definitions: list[dict]
    caveats: list[str]

    @property
    def heading(self) -> str:
        """'丰安县医共体运行监测月报' (county), '丰安县总医院运行监测月报' (a township or institution)."""
        return f"{self.org_name}{'医共体' if self.org_level == 'county' else ''}运行监测月报"

    @property
    def title(self) -> str:
        return f"{self.heading}（{T.month_zh(self.month)}）"

    def charts(self) -> list[Chart]:
        return [s.chart for s in self.sections if s.chart is not None]


def _row_map(df: pd.DataFrame) -> dict[str, dict]:
    return {r["indicator_id"]: r for r in df.to_dict("records")}


def _line(ind: Indicator, row: dict | None) -> Line:
    get = (row or {}).get
    value = None if T.missing(get("value")) else float(get("value"))
    return Line(ind.id, ind.zh, ind.unit, value, T.value_text(value, ind.decimals), display_target(ind.target_text) or NO_TARGET,
                "" if T.missing(get("status")) else str(get("status")),
                T.change_text(value, get("yoy_value"), ind, "") or "—",
                T.change_text(value, get("mom_value"), ind, "") or "—",
                None if T.missing(get("numerator")) else float(get("numerator")),
                None if T.missing(get("denominator")) else float(get("denominator")),
                True if T.missing(get("complete")) else bool(get("complete")),
                False if T.missing(get("small_sample")) else bool(get("small_sample")))


def _paragraph(ids: list[str], rows: dict[str, dict], limit: int = 6) -> str:
    shown = [i for i in ids if i in rows][:limit]
    sentences = [T.sentence(INDICATORS[i], rows[i]) for i in shown]
    failing = [INDICATORS[i].zh for i in ids if i in rows and rows[i].get("status") == "未达标"]
    text = "；".join(sentences) + "。" if sentences else "本月无可计算的指标。"
    if failing:
        text += f"未达目标的指标：{'、'.join(failing)}。"
    partial = [INDICATORS[i].zh for i in shown if not T.missing(rows[i].get("complete"))
               and not bool(rows[i].get("complete"))]
    if partial:
        text += f"其中{'、'.join(partial)}因部分机构本月上报不完整，数值可能偏低（见“数据上报质量”）。"
    return text


def _child_level(org_level: str, ind: Indicator) -> str | None:
    order = {"county": ("institution", "township"), "township": ("institution",), "institution": ("department",)}
    return next((lv for lv in order.get(org_level, ()) if lv in ind.levels), None)


def _ranking(ind: Indicator, org_level: str, org: str | None, month: str, scope: Scope, url: str | None
             ) -> Ranking | None:
    level = _child_level(org_level, ind)
    if level is None:
        return None
    df = compute([ind.id], level, "month", month, month, org=org, scope=scope, mart_url=url)
    small = int(df["small_sample"].fillna(False).astype(bool).sum())
    df = df[df["value"].notna() & ~df["small_sample"].fillna(False).astype(bool)].copy()
    if df.empty:
        return None
    if ind.direction == "band" and ind.target_low is not None and ind.target_high is not None:
        df["_key"] = (df["value"] - (ind.target_low + ind.target_high) / 2).abs()
        ascending = True
    else:
        df["_key"] = df["value"]
        ascending = ind.direction == "down"
    df = df.sort_values("_key", ascending=ascending, kind="stable").reset_index(drop=True)
    df["rank"] = range(1, len(df) + 1)
    cut = len(df) > RANK_ROWS
    if cut:
        half = RANK_ROWS // 2
        df = pd.concat([df.head(half), df.tail(half)])
    rows: list[dict] = [{"rank": int(r["rank"]), "org_name": str(r["org_name"]),
             "value_text": T.value_text(r["value"], ind.decimals),
             "status": "" if T.missing(r["status"]) else str(r["status"]),
             "note": "；".join(n for n, on in (("样本量小", r["small_sample"]), ("数据不完整", not r["complete"])) if on)}
            for r in df.to_dict("records")]
    unit = f"（{ind.unit}）" if ind.unit else ""
    if cut:
        rows.insert(RANK_ROWS // 2, {"rank": "…", "org_name": "…", "value_text": "", "status": "", "note": ""})
    ranking = Ranking(ind.id, f"{ind.zh}{unit}排名", LEVEL_ZH[level], rows)
    ranking.excluded_small = small
    return ranking


def _chart(ind: Indicator, trend: pd.DataFrame) -> Chart | None:
    df = trend[trend["indicator_id"] == ind.id].sort_values("period")
    if df.empty or df["value"].notna().sum() == 0:
        return None
    num = lambda s: [None if T.missing(v) else float(v) for v in s]  # noqa: E731
    return Chart(ind.id, f"{ind.zh}月度趋势", ind.unit, [str(p) for p in df["period"]], num(df["value"]),
                 num(df["yoy_value"]), ind.target_low, ind.target_high)


def _alerts_of(spec: SectionSpec, alerts: list[dict]) -> list[dict]:
    names = {INDICATORS[i].zh for i in spec.indicator_ids if i in INDICATORS}
    return [a for a in alerts if a.get("indicator") in spec.indicator_ids or a.get("indicator") in names]


def _data_quality(month: str, org: str | None, org_level: str, url: str | None, scope: Scope,
                  incomplete_lines: list[str]) -> Section:
    gaps = qperiods.incomplete_institutions(_url(url), month)
    tree = qorg.org_tree(_url(url))
    if org_level == "township":
        inside = set(tree.loc[tree["township_code"] == org, "inst_code"])
    elif org_level == "institution":
        inside = {org}
    else:
        inside = set(tree["inst_code"])
    gaps = gaps[[c in inside and scope.may_see_institution(c) for c in gaps["inst_code"]]]
    rows = [{"org_name": str(r["name"]), "source": str(r["source"]),
             "days": f"{int(r['days_with_data'])}/{int(r['days_expected'])}",
             "missing_month": "整月缺报" if int(r["missing_month"]) else "部分缺报"} for r in gaps.to_dict("records")]
    n_inst = gaps["inst_code"].nunique()
    total = len(rows)
    rows = rows[:GAP_ROWS]
    para = (f"本月共有 {n_inst} 家机构数据上报不完整（{total} 项数据源，下表列出前 {len(rows)} 项），相关指标已标注“数据不完整”，"
            f"其数值可能偏低，请结合上报情况解读。" if n_inst else "本月各机构数据按时完整上报。")
    if incomplete_lines:
        shown = "、".join(incomplete_lines[:8]) + (f"等 {len(incomplete_lines)} 项" if len(incomplete_lines) > 8 else "")
        para += f"受影响的指标：{shown}（各部分表中已逐项标注）。"
    return Section("data_quality", "七、数据上报质量", para, [], None, None, [], rows)


def _url(url: str | None) -> str:
    from metrics.engine import _config_url  # the engine's own default (MART_URL / DATA_DIR)
    return _config_url(url)


def build_report(month: str, org: str | None = None, alerts: list[dict] | None = None,
                 scope: Scope = FULL_SCOPE, mart_url: str | None = None,
                 progress: Progress | None = None) -> Report:
    """The report of ``month`` ('YYYY-MM') for the county (``org`` None) or one township / institution.

    Every number comes from :func:`metrics.engine.compute` (the CLI ``indicators`` command prints the same).
    ``alerts`` (the month's alerts within the reader's scope, any source) are filed under their sections.
    ``progress(fraction, message)`` is called as the parts are done.
    """
    step = progress or (lambda _f, _m: None)
    url = _url(mart_url)
    org_level = "county" if not org else (qorg.org_level(org, url) or "county")
    county = qorg.county(url)
    org_name = county["name"] if org_level == "county" else (qorg.org_name(url, org) or org)
    step(0.05, "计算本月指标")
    all_ids = list(dict.fromkeys(list(HEADLINE_IDS) + [i for s in SECTIONS for i in s.indicator_ids]))
    all_ids = [i for i in all_ids if i in INDICATORS and org_level in INDICATORS[i].levels
               and INDICATORS[i].available and INDICATORS[i].kind != "exchange"]
    current = compute(all_ids, org_level, "month", month, month, org=org, scope=scope, mart_url=url)
    rows = _row_map(current)
    step(0.25, "计算月度趋势")
    chart_of = {s.key: next((i for i in (s.chart, s.rank) if i in all_ids), None) for s in SECTIONS}
    chart_ids = [i for i in chart_of.values() if i]
    first = add_months(month, 1 - TREND_MONTHS)
    trend = compute(chart_ids, org_level, "month", first, month, org=org, scope=scope, mart_url=url)
    alerts = list(alerts or [])
    headline = [_line(INDICATORS[i], rows.get(i)) for i in HEADLINE_IDS if i in all_ids]
    sections: list[Section] = []
    incomplete = [INDICATORS[i].zh for i in all_ids if i in rows and not T.missing(rows[i].get("complete"))
                  and not bool(rows[i].get("complete"))]
    for n, spec in enumerate(SECTIONS):
        step(0.3 + 0.6 * n / len(SECTIONS), f"编写{spec.title[2:]}")
        if spec.key == "data_quality":
            sections.append(_data_quality(month, org, org_level, url, scope, incomplete))
            continue
        ids = [i for i in spec.indicator_ids if i in all_ids]
        rank_ind = INDICATORS.get(spec.rank) if spec.rank else None
        sections.append(Section(
            spec.key, spec.title, _paragraph(ids, rows), [_line(INDICATORS[i], rows.get(i)) for i in ids],
            _chart(INDICATORS[chart_of[spec.key]], trend) if chart_of[spec.key] else None,
            _ranking(rank_ind, org_level, org, month, scope, url) if rank_ind else None,
            _alerts_of(spec, alerts)))
    last = qperiods.last_data_date(url)
    definitions = [{"name": INDICATORS[i].zh, "definition": INDICATORS[i].definition,
                    "numerator": INDICATORS[i].numerator_zh or "—", "denominator": INDICATORS[i].denominator_zh or "—",
                    "target": display_target(INDICATORS[i].target_text) or NO_TARGET, "source": INDICATORS[i].source}
                   for i in all_ids]
    caveats = [f"数据截至 {last:%Y年%m月%d日}；本报告所有数值由平台指标引擎按统一口径计算（分子、分母之比），"
               f"与驾驶舱及指标命令行输出一致。" if last else "集市中尚无数据。",
               "标注“数据不完整”的指标：所涉机构本月上报缺失或不足，数值可能偏低。",
               "标注“样本量小”的数值：分母不足 30 例，波动较大，仅供参考。",
               "同比、环比：百分比类指标为百分点差，其余为相对变化率。"]
    if incomplete:
        caveats.append(f"本月受上报不完整影响的指标：{'、'.join(incomplete)}。")
    if not any(s.alerts for s in sections) and not alerts:
        caveats.append("本月无预警记录。")
    elif any(a.get("status") == "未登记" for a in alerts):
        caveats.append("预警中心尚无本月预警登记：各部分所列预警按目标值计算得出，处置状态为“未登记”。")
    summary = _paragraph([i for i in HEADLINE_IDS if i in rows], rows, limit=5)
    step(0.95, "内容完成")
    return Report(county["name"] or "全县", org, org_name, org_level, month,
                  f"{last:%Y-%m-%d}" if last else "—", dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                  headline, summary, sections, definitions, caveats)
