"""Building the whole demo: mart, rollups, geometry, demo accounts and exchange history."""
from __future__ import annotations

import datetime as dt
import time

import click

from core.config import Config


def build_demo_everything(cfg: Config, scale: float = 1.0, seed: int = 42, years: int = 3,
                          quiet: bool = False, until: dt.date | None = None) -> dict[str, int]:
    """Build the demo county end to end; returns row counts per mart table."""
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import init_app_db
    from dashboard.exchange.seed import seed_demo_history
    from mart.demo import build_demo

    t0 = time.perf_counter()
    counts = build_demo(cfg, scale=scale, seed=seed, years=years, until=until, quiet=quiet)
    init_app_db(cfg.app_db_url)
    accounts = ensure_demo_accounts(cfg)
    if not quiet:
        click.echo("正在生成演示账号与前置机近 30 天的交换记录…")
    seed_demo_history(cfg, days=30)
    if not quiet:
        click.echo(f"演示数据已生成，用时 {time.perf_counter() - t0:.1f} 秒")
        if accounts:
            click.echo(f"演示账号已写入 {accounts}")
    return counts


@click.command("demo")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(min=0.0001, max=1000),
              help="residents and volumes × scale (1 = 300,000 residents)")
@click.option("--seed", default=42, show_default=True, type=int, help="same seed → same data")
@click.option("--years", default=3, show_default=True, type=click.IntRange(0, 30),
              help="full calendar years before the current one")
@click.option("--quiet", is_flag=True, help="no progress bar")
def demo_command(scale: float, seed: int, years: int, quiet: bool) -> None:
    """Build the demo county into the mart (replaces the mart atomically)."""
    from core.config import load_config

    cfg = load_config()
    from mart.pg import is_postgres
    if cfg.mart_path is None and not is_postgres(cfg.mart_url):
        raise click.ClickException("演示数据只能写入 DuckDB 或 PostgreSQL 数据集市 "
                                   "(MART_URL 须为 duckdb:///路径 或 postgresql://…)")
    t0 = time.perf_counter()
    try:
        counts = build_demo_everything(cfg, scale=scale, seed=seed, years=years, quiet=quiet)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"演示数据生成失败: {exc}") from exc
    width = max(len(name) for name in counts)
    click.echo(f"{'table':<{width}}  {'rows':>12}")
    for name, rows in counts.items():
        click.echo(f"{name:<{width}}  {rows:>12,}")
    click.echo(f"{'total':<{width}}  {sum(counts.values()):>12,}")
    click.echo(f"elapsed {time.perf_counter() - t0:.1f} s  ({cfg.mart_path})")
    from mart.loader_cli import _evaluate_alerts
    _evaluate_alerts(cfg)       # the warning rules see the new data (hooks registered by app.py)
