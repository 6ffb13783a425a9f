"""``python app.py forecast``: forecasts and their backtest as CSV/JSON (numbers from :mod:`metrics.forecast`)."""
from __future__ import annotations

import csv
import json
import math
import sys

import click

FORECAST_HEADER = ["indicator_id", "level", "org_code", "period", "value", "lower", "upper"]
BACKTEST_HEADER = ["indicator_id", "level", "org_code", "horizon", "mape", "mase"]


def _num(x: object, decimals: int) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), decimals)


def _fail(message: str) -> None:
    click.echo(f"错误 (error): {message}", err=True)
    sys.exit(2)


@click.command("forecast")
@click.option("--ids", "ids", required=True, help="comma-separated indicator ids")
@click.option("--level", required=True, type=click.Choice(["county", "township", "institution"]))
@click.option("--org", default=None, help="restrict to the subtree of this code")
@click.option("--horizon", default=3, show_default=True, type=click.IntRange(1, 24), help="months ahead")
@click.option("--backtest", is_flag=True, help="rolling-origin backtest over the last 12 months, horizons 1–3")
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "json"]), show_default=True)
def forecast_command(ids: str, level: str, org: str | None, horizon: int, backtest: bool, fmt: str) -> None:
    """Forecast indicators after the last complete month (95 % band), or backtest the forecasts."""
    from metrics.backtest import backtest_from_rows
    from metrics.catalogue import INDICATORS
    from metrics.engine import IndicatorError
    from metrics.forecast import ForecastError, forecast, history_rows

    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    try:
        if backtest:
            rows, through = history_rows(wanted, level, org)
            frame, header = backtest_from_rows(rows, through), BACKTEST_HEADER
        else:
            frame, header = forecast(wanted, level, org, horizon), FORECAST_HEADER
    except (ForecastError, IndicatorError) as exc:
        _fail(str(exc))
        return
    records = []
    for rec in frame.to_dict("records"):
        if backtest:
            out = {k: rec[k] for k in ("indicator_id", "level", "org_code", "horizon")}
            out["mape"], out["mase"] = _num(rec["mape"], 2), _num(rec["mase"], 3)
        else:
            dec = INDICATORS[rec["indicator_id"]].decimals + 1
            out = {k: rec[k] for k in ("indicator_id", "level", "org_code", "period")}
            out.update({k: _num(rec[k], dec) for k in ("value", "lower", "upper")})
        records.append(out)
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: "" if v is None else v for k, v in rec.items()})
