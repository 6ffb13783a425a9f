"""Device sessions of the command-centre wall (role ``screen``): long-lived, revocable, listed for the admin.

A ``screen`` account's login opens an ordinary server-side session plus a ``DeviceSession`` row. While the wall
shows /screen its refresh ticks keep the session alive (they count as activity here, unlike on other pages), and
the 12 h absolute lifetime becomes ``DEVICE_LIFETIME``. An administrator revokes a device: the session ends at
once, so the wall's next refresh answers 401 and the browser returns to the login page.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Config
from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row
from dashboard.accounts.models import DeviceSession, User, UserSession
from dashboard.appdb import session_factory

DEVICE_LIFETIME = dt.timedelta(days=30)
DEVICE_IDLE = dt.timedelta(minutes=30)     # the wall refreshes every minute; 30 min of silence = switched off
STATE_ZH = {"active": "在用", "revoked": "已吊销", "ended": "已结束"}


class DeviceError(ValueError):
    """A refused device operation; the message is Chinese."""


@dataclass(frozen=True)
class DeviceView:
    """What the admin page and the CLI show of one device session."""
    id: int
    username: str
    display_name: str
    created_at: dt.datetime
    last_seen: dt.datetime
    ip: str
    user_agent: str
    state: str
    state_zh: str
    revoked_by: str | None


def register_device(cfg: Config, sid_hash: str, user_id: int, ip: str = "", user_agent: str = "") -> int:
    """Record the session ``sid_hash`` (just opened by a ``screen`` login) as a device session; returns its id."""
    now = clock.now()
    with session_factory(cfg.app_db_url)() as session, session.begin():
        row = DeviceSession(sid_hash=sid_hash, user_id=user_id, created_at=now, last_seen=now, ip=ip[:64],
                            user_agent=(user_agent or "")[:256])
        session.add(row)
        session.flush()
        return row.id


def device_end_reason(session: Session, row: UserSession, now: dt.datetime, touch: bool) -> str | None:
    """For a device session: why it ends now (``revoked``/``idle``/``expired``) or None; refreshes its activity.

    Called by ``service.session_user`` inside its transaction for sessions of ``screen`` accounts only. Returns
    ``"not-a-device"`` when ``row`` has no device record (an ordinary session of a screen account: rules as usual).
    """
    device = session.scalar(select(DeviceSession).where(DeviceSession.sid_hash == row.sid_hash))
    if device is None:
        return "not-a-device"
    if device.revoked_at is not None:
        return "revoked"
    if now - max(device.last_seen, row.last_seen) > DEVICE_IDLE:
        return "idle"
    if now - row.created_at > DEVICE_LIFETIME:
        return "expired"
    from dashboard.accounts.service import TOUCH_EVERY
    if now - device.last_seen >= TOUCH_EVERY:
        device.last_seen = now       # every request of the wall counts, its refresh ticks included
        row.last_seen = now
    return None


def _state(device: DeviceSession, sess: UserSession | None) -> str:
    if device.revoked_at is not None:
        return "revoked"
    if sess is None or sess.ended_at is not None:
        return "ended"
    return "active"


def list_devices(cfg: Config, include_ended: bool = False) -> list[DeviceView]:
    """Device sessions, newest first (only those still in use unless ``include_ended``)."""
    with session_factory(cfg.app_db_url)() as session:
        rows = session.execute(
            select(DeviceSession, UserSession, User)
            .join(User, User.id == DeviceSession.user_id)
            .outerjoin(UserSession, UserSession.sid_hash == DeviceSession.sid_hash)
            .order_by(DeviceSession.created_at.desc(), DeviceSession.id.desc())).all()
        out = []
        for device, sess, user in rows:
            state = _state(device, sess)
            if state != "active" and not include_ended:
                continue
            out.append(DeviceView(device.id, user.username, user.display_name, device.created_at,
                                  device.last_seen, device.ip, device.user_agent, state, STATE_ZH[state],
                                  device.revoked_by))
        return out


def revoke_device(cfg: Config, device_id: int, actor: tuple[str, str, str] | None = None) -> DeviceView:
    """Revoke a device session: its server-side session ends now (audited as ``device.revoke``)."""
    now = clock.now()
    with session_factory(cfg.app_db_url)() as session, session.begin():
        device = session.get(DeviceSession, int(device_id))
        if device is None:
            raise DeviceError(f"设备会话不存在：{device_id}")
        if device.revoked_at is not None:
            raise DeviceError(f"设备会话 {device_id} 已被吊销")
        from dashboard.accounts.audit import current_actor
        who = actor or current_actor()
        device.revoked_at, device.revoked_by = now, who[0][:64]
        sess = session.get(UserSession, device.sid_hash)
        if sess is not None and sess.ended_at is None:
            sess.ended_at, sess.end_reason = now, "revoked"
        user = session.get(User, device.user_id)
        add_audit_row(session, "device.revoke", f"{user.username if user else device.user_id}#{device.id}",
                      {"ip": device.ip, "created_at": device.created_at}, {"revoked_at": now}, actor=who)
        return DeviceView(device.id, user.username if user else "", user.display_name if user else "",
                          device.created_at, device.last_seen, device.ip, device.user_agent, "revoked",
                          STATE_ZH["revoked"], device.revoked_by)
