"""The indicators command."""
from __future__ import annotations

import click


@click.command("indicators")
def indicators_command() -> None:
    """Compute indicators and print CSV or JSON."""
    raise click.ClickException("尚未实现 (not yet implemented)")
