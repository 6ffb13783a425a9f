"""The ``users`` command group: create, reset-password, unlock, list, set, purge-logs."""
from __future__ import annotations

import sys

import click

from core.roles import ROLES


def _cfg():
    from core.config import load_config
    from dashboard.appdb import init_app_db
    cfg = load_config()
    init_app_db(cfg.app_db_url)
    return cfg


def _read_password(username: str) -> str:
    """Password from stdin when piped, else from a hidden prompt asked twice."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("未从标准输入读到密码")
        return line
    return click.prompt(f"{username} 的新密码", hide_input=True, confirmation_prompt="再次输入新密码")


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group("users")
def users_group() -> None:
    """管理账号 (manage accounts)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="角色")
@click.option("--inst", "insts", multiple=True, help="医院管理者可查看的机构代码 (可重复)")
@click.option("--name", "display_name", default="", help="显示名")
def create_cmd(username: str, role: str, insts: tuple[str, ...], display_name: str) -> None:
    """创建账号；密码从提示或标准输入读取，首次登录须修改。"""
    from dashboard.accounts.institutions import check_institutions
    from dashboard.accounts.service import AccountError, check_password_policy, create_user
    cfg = _cfg()
    try:
        # the admin form's check: codes the mart knows (asked before the password, so a typo costs nothing)
        codes = check_institutions(cfg, role, insts) if insts else []
    except AccountError as exc:
        _fail(exc)
    password = _read_password(username)
    try:
        check_password_policy(password, username)
        user = create_user(cfg, username, role, password, codes or list(insts), display_name)
    except AccountError as exc:
        _fail(exc)
    click.echo(f"已创建 {user.username} ({user.role_zh})" + (f" 机构: {','.join(user.inst_codes)}"
                                                          if user.inst_codes else ""))


@users_group.command("reset-password")
@click.argument("username")
def reset_cmd(username: str) -> None:
    """重置密码 (用户下次登录须修改)；同时解除锁定并注销其会话。"""
    from dashboard.accounts.service import AccountError, reset_password
    cfg = _cfg()
    password = _read_password(username)
    try:
        reset_password(cfg, username, password)
    except AccountError as exc:
        _fail(exc)
    click.echo(f"已重置 {username} 的密码")


@users_group.command("unlock")
@click.argument("username")
def unlock_cmd(username: str) -> None:
    """解除账号锁定。"""
    from dashboard.accounts.service import AccountError, unlock_user
    try:
        unlock_user(_cfg(), username)
    except AccountError as exc:
        _fail(exc)
    click.echo(f"已解锁 {username}")


@users_group.command("set")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option("--inst", "insts", multiple=True, help="替换机构范围 (可重复)")
@click.option("--disable/--enable", default=None)
def set_cmd(username: str, role: str | None, insts: tuple[str, ...], disable: bool | None) -> None:
    """修改角色、机构范围或停用/启用账号。"""
    from dashboard.accounts.institutions import check_institutions
    from dashboard.accounts.service import AccountError, get_user_view, update_user
    cfg = _cfg()
    try:
        codes = None
        if insts:
            current = get_user_view(cfg, username)
            codes = check_institutions(cfg, role or (current.role if current else None), insts) or list(insts)
        user = update_user(cfg, username, role=role, inst_codes=codes,
                           is_active=None if disable is None else not disable)
    except AccountError as exc:
        _fail(exc)
    click.echo(f"{user.username} {user.role_zh} {','.join(user.inst_codes)} {'启用' if user.is_active else '停用'}")


@users_group.command("list")
def list_cmd() -> None:
    """列出账号。"""
    from dashboard.accounts.institutions import describe_institutions, institution_names
    from dashboard.accounts.service import list_users
    cfg = _cfg()
    rows = list_users(cfg)
    names = institution_names(cfg) if any(u.inst_codes for u in rows) else None
    click.echo(f"{'username':<20} {'role':<9} {'状态':<6} institutions")
    for u in rows:
        state = "停用" if not u.is_active else "锁定" if u.locked else "须改密" if u.must_change_password else "正常"
        click.echo(f"{u.username:<20} {u.role:<9} {state:<6} {describe_institutions(u.inst_codes, names)}"
                   f"{'  (演示)' if u.is_demo else ''}")


@users_group.command("devices")
@click.option("--all", "show_all", is_flag=True, help="也列出已结束或已吊销的设备会话")
def devices_cmd(show_all: bool) -> None:
    """列出指挥中心大屏的设备会话。"""
    from dashboard.accounts.devices import list_devices
    rows = list_devices(_cfg(), include_ended=show_all)
    click.echo(f"{'id':<6} {'username':<16} {'状态':<6} {'登录时间':<17} {'最近刷新':<17} ip")
    for d in rows:
        click.echo(f"{d.id:<6} {d.username:<16} {d.state_zh:<6} {d.created_at:%Y-%m-%d %H:%M}  "
                   f"{d.last_seen:%Y-%m-%d %H:%M}  {d.ip}")


@users_group.command("revoke-device")
@click.argument("device_id", type=int)
def revoke_device_cmd(device_id: int) -> None:
    """吊销一个大屏设备会话 (大屏在下一次刷新时回到登录页)。"""
    from dashboard.accounts.devices import DeviceError, revoke_device
    try:
        d = revoke_device(_cfg(), device_id)
    except DeviceError as exc:
        _fail(exc)
    click.echo(f"已吊销 {d.username} 的设备会话 {d.id}")


@users_group.command("purge-logs")
@click.option("--days", default=184, show_default=True, type=int, help="保留天数 (不少于 184)")
def purge_cmd(days: int) -> None:
    """删除超过保留期的登录、服务、审计日志 (至少保留 184 天)。"""
    from dashboard.accounts.service import AccountError, purge_logs
    try:
        counts = purge_logs(_cfg(), days)
    except AccountError as exc:
        _fail(exc)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
