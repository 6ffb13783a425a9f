"""The users command group."""
from __future__ import annotations

import click


@click.group("users")
def users_group() -> None:
    """Manage accounts."""
