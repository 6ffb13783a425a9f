"""医共体运营监测平台 — command line.

    python app.py                 build the demo mart on first run, then serve on 127.0.0.1:8050
    python app.py serve           serve (production WSGI server) [--host --port --workers]
    python app.py demo            build the demo county        [--scale --seed --years]
    python app.py load DIR        validate and load <table>.csv|parquet files atomically
    python app.py export DIR      write the mart's tables as files the loader accepts [--format --table --partition]
    python app.py rollups         rebuild every rollup [--engine mart|spark --master --lake]
    python app.py partition-facts move a PostgreSQL mart's fact tables to monthly partitions (made before them)
    python app.py indicators ...  compute indicators (CSV/JSON)
    python app.py forecast ...    forecast indicators / backtest the forecasts (CSV/JSON)
    python app.py users ...       manage accounts
    python app.py nodes ...       exchange nodes: list, token, simulate
    python app.py alerts ...      early warnings: run, list, ack/handle/close, rules, channels
    python app.py assessment ...  综合评价: institutions' scores and ranks (CSV/JSON); assessment weights
    python app.py geo import ...  replace the demo geometry with a real county's townships
    python app.py report ...      the monthly report as Word/PDF/HTML [--month --org --format --out]; report auto

``server`` is the WSGI app for gunicorn: ``gunicorn 'app:server'``.
"""
from __future__ import annotations

import os

import click

from dashboard.accounts.cli import users_group
from dashboard.alerts.cli import after_data_change, alerts_group
from dashboard.assessment.cli import assessment_group
from dashboard.bootstrap import demo_command
from dashboard.exchange.cli import nodes_group
from dashboard.reporting.cli import report_group
from dashboard.serve import run_default, serve_command
from geo.cli import geo_group
from mart.cli import export_command, partition_facts_command, rollups_command
from mart.loader_cli import AFTER_DATA_CHANGE, load_command
from metrics.cli import indicators_command
from metrics.forecast_cli import forecast_command


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """医共体运营监测平台 (county medical community operations monitoring)."""
    os.umask(0o077)     # the mart, app database, exports and logs hold personal data: owner only (mode 600)
    if ctx.invoked_subcommand == "indicators":
        # the exchange indicators read the app database through a measure source the web package owns
        from core.config import load_config
        from dashboard.exchange.measures import install
        install(load_config())
    if ctx.invoked_subcommand is None:
        run_default()


cli.add_command(serve_command)
cli.add_command(demo_command)
cli.add_command(load_command)
cli.add_command(export_command)
cli.add_command(rollups_command)
cli.add_command(partition_facts_command)
cli.add_command(indicators_command)
cli.add_command(forecast_command)
cli.add_command(users_group)
cli.add_command(nodes_group)
cli.add_command(geo_group)
cli.add_command(report_group)
cli.add_command(alerts_group)
cli.add_command(assessment_group)
AFTER_DATA_CHANGE.append(after_data_change)     # alerts after each load and demo build


def __getattr__(name: str):
    """Lazy ``server`` so that CLI commands do not build the web app."""
    if name == "server":
        from dashboard.app import create_app
        return create_app().server
    raise AttributeError(name)


if __name__ == "__main__":
    cli()
