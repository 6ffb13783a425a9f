"""Commands of the write side: demo, load."""
from __future__ import annotations

import click


@click.command("demo")
@click.option("--scale", default=1.0, show_default=True, type=float)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--years", default=3, show_default=True, type=int)
def demo_command(scale: float, seed: int, years: int) -> None:
    """Build the demo county into the mart."""
    raise click.ClickException("尚未实现 (not yet implemented)")
