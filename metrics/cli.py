"""The indicators command: ``python app.py indicators --ids all|ID[,ID…] --level … --grain … --from … --to …``."""
from __future__ import annotations

import json
import math
import sys

import click

HEADER = ["indicator_id", "level", "org_code", "org_name", "period", "numerator", "denominator", "value", "target",
          "status", "yoy_value", "mom_value", "complete", "small_sample", "note", "partial"]


def _number(x: object, decimals: int | None = None) -> float | int | None:
    """A result number for output: None when missing; rounded to ``decimals`` when given; otherwise whole numbers as
    int and others to 6 decimals (sums of money or of averaged stocks), never in exponent notation."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    value = float(x)
    if decimals is not None:
        return round(value, decimals) if decimals > 0 else int(round(value))
    return int(value) if value.is_integer() else round(value, 6)


def _text(x: float | int | None, decimals: int | None = None) -> str:
    if x is None:
        return ""
    if decimals is not None and decimals > 0:
        return f"{x:.{decimals}f}"
    if isinstance(x, int):
        return str(x)
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _fail(message: str) -> None:
    click.echo(f"错误 (error): {message}", err=True)
    sys.exit(2)


@click.command("indicators")
@click.option("--ids", "ids", required=True, help="all, or comma-separated indicator ids")
@click.option("--level", required=True, help="county|township|institution|department|doctor")
@click.option("--grain", required=True, help="year|quarter|month")
@click.option("--from", "start", required=True, help="first month YYYY-MM")
@click.option("--to", "end", required=True, help="last month YYYY-MM")
@click.option("--org", default=None, help="restrict to the subtree of this code")
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "json"]), show_default=True)
@click.option("--by", "by", default=None,
              help="split by a dimension: icd_chapter|insurance|age_band|sex|visit_type|dept_category "
                   "(adds columns dimension,member after org_name)")
def indicators_command(ids: str, level: str, grain: str, start: str, end: str, org: str | None, fmt: str,
                       by: str | None = None) -> None:
    """Compute indicators from the mart and print CSV (or JSON). Exit code 2 on a refused request."""
    import csv

    from metrics.catalogue import INDICATORS, LEVELS, appdb_ids, computable_ids
    from metrics.dimensions import DIMENSIONS, dimension_refusal
    from metrics.engine import IndicatorError, compute

    if level not in LEVELS:
        _fail(f"未知层级 {level!r} (unknown level; one of {', '.join(LEVELS)})")
    if by is not None and by not in DIMENSIONS:
        _fail(f"未知维度 {by!r} (unknown dimension; one of {', '.join(DIMENSIONS)})")
    if ids.strip() == "all":
        wanted = computable_ids(level) + appdb_ids(level)
        if by is not None:
            wanted = [i for i in wanted if dimension_refusal(i, by) is None]
        skipped = [i for i in computable_ids() + appdb_ids() if i not in wanted]
        if skipped:
            why = f"按{level}不可计算" + ("" if by is None else f"或不能按{DIMENSIONS[by].label_zh}拆分")
            click.echo(f"{why}, 已跳过 (not allowed at level {level}{'' if by is None else ' or by ' + by}, skipped): "
                       f"{', '.join(skipped)}", err=True)
    else:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
    try:
        df = compute(wanted, level, grain, start, end, org=org, by=by)
    except IndicatorError as exc:
        _fail(str(exc))
        return
    refused = df.attrs.get("refused") or {}
    if refused:
        _fail("; ".join(refused.values()))
    records = []
    for r in df.itertuples(index=False):
        dec = INDICATORS[r.indicator_id].decimals
        records.append({
            "indicator_id": r.indicator_id, "level": r.level, "org_code": r.org_code, "org_name": r.org_name,
            **({"dimension": r.dimension, "member": r.member} if by is not None else {}),
            "period": r.period, "numerator": _number(r.numerator), "denominator": _number(r.denominator),
            "value": _number(r.value, dec), "target": _number(None if r.target is None else float(r.target)),
            "status": r.status or None, "yoy_value": _number(r.yoy_value, dec), "mom_value": _number(r.mom_value, dec),
            "complete": bool(r.complete), "small_sample": bool(r.small_sample), "note": r.note or None,
            "partial": int(r.partial),
            "_decimals": dec})
    if fmt == "json":
        click.echo(json.dumps([{k: v for k, v in rec.items() if not k.startswith("_")} for rec in records],
                              ensure_ascii=False, indent=1))
        return
    at = HEADER.index("org_name") + 1
    header = HEADER if by is None else [*HEADER[:at], "dimension", "member", *HEADER[at:]]
    writer = csv.DictWriter(sys.stdout, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        dec = rec["_decimals"]
        writer.writerow({**rec, "numerator": _text(rec["numerator"]), "denominator": _text(rec["denominator"]),
                         "value": _text(rec["value"], dec), "target": _text(rec["target"]),
                         "status": rec["status"] or "", "yoy_value": _text(rec["yoy_value"], dec),
                         "mom_value": _text(rec["mom_value"], dec), "complete": int(rec["complete"]),
                         "small_sample": int(rec["small_sample"]), "note": rec["note"] or ""})
