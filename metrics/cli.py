"""The indicators command: ``python app.py indicators --ids all|ID[,ID…] --level … --grain … --from … --to …``."""
from __future__ import annotations

import json
import math
import sys

import click

HEADER = ["indicator_id", "level", "org_code", "org_name", "period", "numerator", "denominator", "value", "target",
          "status"]


def _fmt(x: object, decimals: int | None = None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float):
        if decimals is not None:
            return f"{x:.{decimals}f}"
        return f"{x:.6g}" if abs(x) < 1e15 else f"{x:.0f}"
    return str(x)


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
def indicators_command(ids: str, level: str, grain: str, start: str, end: str, org: str | None, fmt: str) -> None:
    """Compute indicators from the mart and print CSV (or JSON). Exit code 2 on a refused request."""
    import csv

    from metrics.catalogue import INDICATORS, LEVELS, computable_ids
    from metrics.engine import IndicatorError, compute

    if level not in LEVELS:
        _fail(f"未知层级 {level!r} (unknown level; one of {', '.join(LEVELS)})")
    if ids.strip() == "all":
        wanted = computable_ids(level)
        skipped = [i for i in computable_ids() if i not in wanted]
        if skipped:
            click.echo(f"按{level}不可计算, 已跳过 (not allowed at level {level}, skipped): {', '.join(skipped)}",
                       err=True)
    else:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
    try:
        df = compute(wanted, level, grain, start, end, org=org)
    except IndicatorError as exc:
        _fail(str(exc))
        return
    refused = df.attrs.get("refused") or {}
    if refused:
        _fail("; ".join(refused.values()))
    rows = []
    for r in df.itertuples(index=False):
        dec = INDICATORS[r.indicator_id].decimals
        rows.append({"indicator_id": r.indicator_id, "level": r.level, "org_code": r.org_code,
                     "org_name": r.org_name, "period": r.period, "numerator": _fmt(r.numerator),
                     "denominator": _fmt(r.denominator), "value": _fmt(r.value, dec),
                     "target": _fmt(None if r.target is None else float(r.target)),
                     "status": r.status or ""})
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
