"""Building the whole demo: mart, rollups, geometry, demo accounts and exchange history."""
from __future__ import annotations

import datetime as dt
import time

import click

from dashboard.config import Config


def build_demo_everything(cfg: Config, scale: float = 1.0, seed: int = 42, years: int = 3,
                          quiet: bool = False, until: dt.date | None = None) -> dict[str, int]:
    """Build the demo county end to end; returns row counts per mart table."""
    from dashboard.appdb import init_app_db
    from dashboard.accounts.service import ensure_demo_accounts
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
