"""The nodes command group: list, token, simulate."""
from __future__ import annotations

import click


@click.group("nodes")
def nodes_group() -> None:
    """Exchange nodes: list, token, simulate."""


@nodes_group.command("list")
@click.option("--create/--no-create", default=True, show_default=True,
              help="create nodes for institutions of the mart that have none")
def list_command(create: bool) -> None:
    """Print node codes, institution and state."""
    from core.config import load_config
    from dashboard.appdb import init_app_db
    from dashboard.exchange.service import ensure_nodes, node_states
    cfg = load_config()
    init_app_db(cfg.app_db_url)
    if create:
        try:
            ensure_nodes(cfg)
        except Exception as exc:  # noqa: BLE001  (no mart yet: list what exists)
            click.echo(f"未能从数据集市读取机构（{exc.__class__.__name__}），仅列出已有节点", err=True)
    df = node_states(cfg)
    if df.empty:
        click.echo("没有交换节点")
        return
    for row in df.itertuples(index=False):
        last = row.last_heartbeat_at.strftime("%Y-%m-%d %H:%M:%S") if row.last_heartbeat_at is not None \
            and str(row.last_heartbeat_at) != "NaT" else "-"
        click.echo(f"{row.code}\t{row.inst_code}\t{row.inst_name or row.name}\t{row.state}\t{row.state_zh}\t{last}")


@nodes_group.command("token")
@click.argument("node")
def token_command(node: str) -> None:
    """Issue a new token for NODE (printed as the last line; the old token stops working)."""
    from core.config import load_config
    from dashboard.exchange.service import issue_token
    cfg = load_config()
    try:
        token = issue_token(cfg, node)
    except LookupError:
        raise click.ClickException(f"没有交换节点 {node}（用 `python app.py nodes list` 查看节点编码）") from None
    click.echo(f"节点 {node} 的新令牌（旧令牌已失效，请在前置机配置 Authorization: Bearer <令牌>）：")
    click.echo(token)


@nodes_group.command("simulate")
@click.option("--url", default="http://127.0.0.1:8050", show_default=True, help="running server")
@click.option("--speed", default=60.0, show_default=True, type=float, help="simulated time per real time")
@click.option("--duration", default=None, type=float, help="stop after SECONDS (default: until Ctrl+C)")
@click.option("--seed", default=None, type=int, help="random seed")
@click.option("--offline-after", default=120.0, show_default=True, type=float,
              help="one node falls silent after SECONDS (negative: none)")
def simulate_command(url: str, speed: float, duration: float | None, seed: int | None,
                     offline_after: float) -> None:
    """Run every institution's node against a running server (heartbeats, scheduled jobs, failures, re-runs)."""
    from core.config import load_config
    from dashboard.exchange.simulator import Simulator
    cfg = load_config()
    sim = Simulator(cfg, url, speed=speed, seed=seed, offline_after=None if offline_after < 0 else offline_after)
    click.echo(f"模拟 {len(sim.nodes)} 个前置机 → {url}（{speed:g} 倍速，"
               f"{'运行 %g 秒' % duration if duration else 'Ctrl+C 停止'}）；"
               f"{sim.stats.silent_node or '无'} 将在 {offline_after:g} 秒后离线")
    stats = sim.run(duration=duration)
    click.echo(f"心跳 {stats.heartbeats}，运行 {stats.runs}，失败 {stats.failures}，重跑 {stats.reruns}，"
               f"请求错误 {stats.errors}" + (f"（最后一个：{stats.last_error}）" if stats.last_error else ""))
