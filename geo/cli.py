"""The geo command group."""
from __future__ import annotations

import click


@click.group("geo")
def geo_group() -> None:
    """County geometry."""
