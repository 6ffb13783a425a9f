"""``python app.py assessment --period 2025 [--grain year|quarter] [--type township] --format csv|json`` (the
ranking) and ``python app.py assessment weights [--set ID=W …] [--disable ID] [--enable ID] [--reset]`` (the
weights, every change audited)."""
from __future__ import annotations

import csv
import json
import sys

import click

HEADER = ["org_code", "org_name", "inst_type", "score", "rank", "indicators_scored"]
# short names of institution types accepted by --type (the contract's codes are accepted as they are)
TYPE_ALIASES = {"township": "township_center", "community": "community_center", "village": "village_clinic",
                "county": "county_hospital", "general": "general_hospital", "tcm": "tcm_hospital",
                "maternal": "maternal_child"}


def _cfg():
    from core.config import load_config
    return load_config()


def _fail(message: str) -> None:
    click.echo(f"错误: {message}", err=True)
    sys.exit(2)


def _inst_type(value: str | None) -> str | None:
    from core.labels import INST_TYPE_ZH
    if not value:
        return None
    code = TYPE_ALIASES.get(value, value)
    if code not in INST_TYPE_ZH:
        _fail(f"未知机构类型 {value!r}（可选：{', '.join(list(TYPE_ALIASES) + list(INST_TYPE_ZH))}）")
    return code


@click.group("assessment", invoke_without_command=True)
@click.option("--period", default=None, help="2025 (year) or 2025Q3 (quarter)")
@click.option("--grain", default="year", type=click.Choice(["year", "quarter"]), show_default=True)
@click.option("--type", "inst_type", default=None, help="institution type: township, community, village, county … "
              "or a contract code (township_center …)")
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "json"]), show_default=True)
@click.pass_context
def assessment_group(ctx: click.Context, period: str | None, grain: str, inst_type: str | None, fmt: str) -> None:
    """综合评价: institutions' weighted scores and their rank within their type (CSV or JSON)."""
    if ctx.invoked_subcommand is not None:
        return
    import pandas as pd

    from dashboard.assessment.store import current_weights
    from dashboard.urlstate import is_valid_period, period_bounds
    from metrics.assessment import AssessmentError, assess
    from metrics.engine import IndicatorError
    if not period:
        _fail("请给出 --period（年如 2025，季如 2025Q3）")
    if not is_valid_period(grain, period):
        _fail(f"期间 {period!r} 与粒度 {grain} 不符（年如 2025，季如 2025Q3）")
    wanted = _inst_type(inst_type)
    cfg = _cfg()
    start, end = period_bounds(grain, period)
    try:
        result = assess(current_weights(cfg), grain, start, end, mart_url=cfg.mart_url)
    except (AssessmentError, IndicatorError) as exc:
        _fail(str(exc))
        return
    scores = result.scores
    if wanted:
        scores = scores[scores["inst_type"] == wanted]
    records = [{"org_code": r.org_code, "org_name": r.org_name, "inst_type": r.inst_type,
                "score": None if pd.isna(r.score) else round(float(r.score), 2),
                "rank": None if pd.isna(r.rank) else int(r.rank),
                "indicators_scored": int(r.indicators_scored)} for r in scores.itertuples(index=False)]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: "" if v is None else (f"{v:.2f}" if k == "score" else v) for k, v in rec.items()})


def _parse_set(items: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        iid, sep, w = item.partition("=")
        if not sep or not iid.strip():
            _fail(f"--set 的格式是 指标ID=权重（收到 {item!r}）")
        try:
            out[iid.strip()] = float(w)
        except ValueError:
            _fail(f"{iid.strip()} 的权重不是数字：{w!r}")
    return out


@assessment_group.command("weights")
@click.option("--set", "sets", multiple=True, help="ID=WEIGHT (weight > 0; enables the indicator)")
@click.option("--disable", "disable", multiple=True, help="indicator id to leave out of the score")
@click.option("--enable", "enable", multiple=True, help="indicator id to count again (its weight kept)")
@click.option("--reset", is_flag=True, help="back to the default set and weights")
def weights_command(sets: tuple[str, ...], disable: tuple[str, ...], enable: tuple[str, ...], reset: bool) -> None:
    """List the assessment weights; change them with --set/--disable/--enable or --reset (audited)."""
    from dashboard.assessment.store import reset_weights, save_weights, weight_table
    from metrics.assessment import AssessmentError
    cfg = _cfg()
    if reset:
        click.echo("已恢复默认权重" if reset_weights(cfg) else "已是默认权重，未作修改")
    changes: dict[str, tuple[float, bool]] = {i: (w, True) for i, w in _parse_set(sets).items()}
    table = {r.indicator_id: r for r in weight_table(cfg)}
    for iid, flag in [(i, False) for i in disable] + [(i, True) for i in enable]:
        if iid not in table:
            _fail(f"{iid} 不在评价指标集中（先用 --set {iid}=权重 加入）")
        changes[iid] = (changes.get(iid, (table[iid].weight, flag))[0], flag)
    if changes:
        try:
            n = save_weights(cfg, changes)
        except AssessmentError as exc:
            _fail(str(exc))
            return
        click.echo(f"已修改 {n} 项权重" if n else "权重未变化，未作修改")
    rows = weight_table(cfg)
    total = sum(r.weight for r in rows if r.enabled)
    click.echo("indicator_id\tweight\tenabled\tdefault\tdimension\tname")
    for r in rows:
        click.echo(f"{r.indicator_id}\t{r.weight:g}\t{int(r.enabled)}\t"
                   f"{'' if r.default_weight is None else f'{r.default_weight:g}'}\t{r.dimension}\t{r.zh}")
    click.echo(f"合计权重（启用）: {total:g}", err=True)
