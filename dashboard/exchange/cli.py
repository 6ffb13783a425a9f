"""The nodes command group."""
from __future__ import annotations

import click


@click.group("nodes")
def nodes_group() -> None:
    """Exchange nodes: list, token, simulate."""
