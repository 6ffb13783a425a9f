"""The load command."""
from __future__ import annotations

import click


@click.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def load_command(directory: str) -> None:
    """Validate and load <table>.csv|parquet files from DIRECTORY in one transaction."""
    raise click.ClickException("尚未实现 (not yet implemented)")
