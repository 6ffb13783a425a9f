"""Account services: users, passwords, lockout, server-side sessions, demo accounts, log retention.

Every state change writes its audit row in the same transaction. Times come from ``clock.now()``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.config import Config
from core.masking import mask_text
from core.roles import ADMIN, AUDITOR, LEADER, MANAGER, OPERATOR, ROLE_ZH, ROLES, SCREEN
from dashboard.accounts import clock
from dashboard.accounts.audit import add_audit_row, current_actor
from dashboard.accounts.hashing import HASH_SLOTS, hash_password, verify_password  # noqa: F401  (HASH_SLOTS re-exported)
from dashboard.accounts.models import AuditLog, LoginLog, ServiceLog, User, UserInstitution, UserSession
from dashboard.appdb import init_app_db, session_factory

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION = dt.timedelta(minutes=30)
PASSWORD_MAX_AGE = dt.timedelta(days=90)
RETENTION_DAYS = 184
TOUCH_EVERY = dt.timedelta(seconds=30)   # activity is written at most this often (one UPDATE, not one per call)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


class AccountError(ValueError):
    """A refused account operation; the message is Chinese and shown to the user."""


def _session(cfg: Config) -> Session:
    return session_factory(cfg.app_db_url)()


# ---------------------------------------------------------------- passwords

def password_problems(password: str, username: str = "") -> list[str]:
    """Why ``password`` breaks the policy (empty list: acceptable).

    Policy: at least 8 characters, at least 3 of 4 classes (lower, upper, digit, symbol), not containing the
    username, not a common password with digits or symbols appended (``Password1!``).
    """
    problems = []
    if len(password) < 8:
        problems.append("密码长度至少 8 位")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少 3 类")
    if username and username.lower() in password.lower():
        problems.append("密码不得包含用户名")
    if _common_core(password) in COMMON_PASSWORDS:
        problems.append("密码过于常见，容易被猜中，请换一个")
    return problems


# The passwords attackers try first (lists of leaked passwords, common Chinese office choices), compared after
# dropping the trailing digits and symbols people append and mapping look-alike characters (P@ssw0rd = password).
COMMON_PASSWORDS = frozenset({
    "password", "passw", "pass", "admin", "administrator", "root", "qwer", "qwert", "qwerty", "qwertyuiop",
    "asdf", "asdfgh", "zxcv", "abc", "abcd", "abcde", "abcdef", "aa", "aaa", "welcome", "letmein", "iloveyou",
    "woaini", "test", "test1", "user", "guest", "hello", "changeme", "default", "system", "manager", "leader",
    "1qaz", "1qaz@wsx", "1qaz2wsx", "qazwsx", "zaq1", "zaq12wsx", "q1w2e3r4", "a1b2c3", "yiyuan", "weijian",
    "weishengju", "hospital", "doctor", "yigongti", "china", "beijing", "shanghai", "monkey", "dragon", "master",
    "sunshine", "princess", "football", "baseball", "superman", "trustno", "p", "pw", "pwd", "secret", "love",
})
_LOOKALIKE = str.maketrans({"@": "a", "0": "o", "1": "l", "3": "e", "$": "s", "5": "s", "!": "i", "4": "a"})


def _common_core(password: str) -> str:
    """The password reduced to what makes it guessable: lower case, trailing digits/symbols dropped, look-alike
    characters mapped (``Password1!``, ``P@ssw0rd2024``, ``Admin@123`` all reduce to a listed word)."""
    core = password.lower().rstrip("0123456789!@#$%^&*.-_=+?~ ")
    plain = core.translate(_LOOKALIKE)
    return core if core in COMMON_PASSWORDS else plain


def check_password_policy(password: str, username: str = "") -> None:
    """Raise AccountError when the password breaks the policy."""
    problems = password_problems(password, username)
    if problems:
        raise AccountError("；".join(problems))


def generate_password(length: int = 16) -> str:
    """A random password that satisfies the policy (all four classes)."""
    symbols = "!@#$%^&*-_=+"
    alphabet = string.ascii_letters + string.digits + symbols
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in pw) and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw)
                and any(c in symbols for c in pw)):
            return pw


def password_change_required(user: User, now: dt.datetime | None = None) -> bool:
    """Forced change at first login and after 90 days, for accounts an administrator creates (demo exempt)."""
    if user.is_demo:
        return False
    now = now or clock.now()
    return bool(user.must_change_password) or now - user.password_changed_at > PASSWORD_MAX_AGE


# ---------------------------------------------------------------- users

@dataclass(frozen=True)
class UserView:
    """A detached, read-only picture of a user (what pages and the CLI show)."""
    id: int
    username: str
    display_name: str
    role: str
    role_zh: str
    inst_codes: tuple[str, ...]
    is_active: bool
    is_demo: bool
    locked: bool
    must_change_password: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime


def _view(user: User, now: dt.datetime | None = None) -> UserView:
    now = now or clock.now()
    return UserView(user.id, user.username, mask_text(user.display_name), user.role, ROLE_ZH.get(user.role, user.role),
                    tuple(user.inst_codes), bool(user.is_active), bool(user.is_demo),
                    bool(user.locked_until and user.locked_until > now), password_change_required(user, now),
                    user.last_login_at, user.created_at)


def _snapshot(user: User) -> dict:
    """What the audit log records of a user (never the password hash)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "inst_codes": user.inst_codes, "is_active": bool(user.is_active)}


def _validate_role_scope(role: str, inst_codes: list[str] | tuple[str, ...]) -> list[str]:
    if role not in ROLES:
        raise AccountError(f"未知角色 {role!r}，可选：{', '.join(ROLES)}")
    codes = sorted({c.strip() for c in inst_codes if c and c.strip()})
    if role == MANAGER and not codes:
        raise AccountError("医院管理者须至少分配一个机构 (--inst)")
    if role != MANAGER and codes:
        raise AccountError("只有医院管理者需要分配机构")
    for code in codes:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", code):
            raise AccountError(f"机构代码不合法：{code!r}")
    return codes


def _get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"用户不存在：{username}")
    return user


def create_user(cfg: Config, username: str, role: str, password: str, inst_codes: list[str] | tuple[str, ...] = (),
                display_name: str = "", is_demo: bool = False, actor: tuple[str, str, str] | None = None) -> UserView:
    """Create an account. Administrator-created accounts must change the password at first login."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError("用户名须为 2–64 位字母、数字、下划线、点或连字符")
    codes = _validate_role_scope(role, inst_codes)
    check_password_policy(password, username)
    now = clock.now()
    with _session(cfg) as session, session.begin():
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"用户名已存在：{username}")
        user = User(username=username, display_name=mask_text((display_name or username).strip())[:128], role=role,
                    password_hash=hash_password(password), password_changed_at=now,
                    must_change_password=not is_demo, is_demo=is_demo, is_active=True, failed_logins=0,
                    created_at=now, institutions=[UserInstitution(inst_code=c) for c in codes])
        session.add(user)
        session.flush()
        add_audit_row(session, "user.create", username, None, _snapshot(user), actor=actor)
        return _view(user, now)


def update_user(cfg: Config, username: str, *, role: str | None = None, inst_codes: list[str] | None = None,
                display_name: str | None = None, is_active: bool | None = None,
                actor: tuple[str, str, str] | None = None) -> UserView:
    """Change role, scope, display name or active flag (audited as one change). Disabling ends the sessions.

    Refused (AccountError): changing one's own role or disabling oneself (an administrator turning into an auditor
    would hold both powers for the rest of the session — 三权分立), and any change that leaves no active
    administrator (nobody could manage accounts any more).
    """
    acting = (actor or current_actor())[0]
    with _session(cfg) as session, session.begin():
        user = _get_user(session, username)
        before = _snapshot(user)
        new_role = role if role is not None else user.role
        if acting == user.username:
            if new_role != user.role:
                raise AccountError("不能修改自己的角色，请由另一名系统管理员操作")
            if is_active is not None and not is_active and user.is_active:
                raise AccountError("不能停用自己的账号，请由另一名系统管理员操作")
        was_admin = user.role == ADMIN and bool(user.is_active)
        stays_admin = new_role == ADMIN and (bool(user.is_active) if is_active is None else bool(is_active))
        if was_admin and not stays_admin:
            _keep_an_admin(session, user.id)
        codes = inst_codes if inst_codes is not None else (user.inst_codes if new_role == MANAGER else [])
        codes = _validate_role_scope(new_role, codes)
        user.role = new_role
        if sorted(codes) != user.inst_codes:
            # Change the scope row by row (replacing the collection would insert before deleting).
            for ui in [ui for ui in user.institutions if ui.inst_code not in codes]:
                user.institutions.remove(ui)
            session.flush()
            have = set(user.inst_codes)
            user.institutions.extend(UserInstitution(inst_code=c) for c in codes if c not in have)
        if display_name is not None:
            user.display_name = mask_text(display_name.strip())[:128] or user.username
        if is_active is not None:
            user.is_active = bool(is_active)
        after = _snapshot(user)
        if after == before:
            return _view(user)
        if before["role"] != after["role"] or not after["is_active"]:
            # A new role or a disabled account must not keep sessions opened under the old rights.
            _end_user_sessions(session, user.id, "disabled" if not after["is_active"] else "role")
        action = ("user.role" if before["role"] != after["role"] else
                  "user.scope" if before["inst_codes"] != after["inst_codes"] else
                  "user.disable" if before["is_active"] and not after["is_active"] else
                  "user.enable" if not before["is_active"] and after["is_active"] else "user.update")
        add_audit_row(session, action, username, before, after, actor=actor)
        view = _view(user)
    from dashboard.accounts import session_cache
    session_cache.forget_user(view.id)       # a new scope shows at once here (elsewhere within seconds)
    return view


def _keep_an_admin(session: Session, leaving_id: int) -> None:
    """Refuse when no other active administrator remains (rows locked on PostgreSQL: two admins demoting each
    other at once cannot both pass)."""
    others = session.scalars(select(User.id).where(User.role == ADMIN, User.is_active.is_(True),
                                                   User.id != leaving_id).with_for_update()).all()
    if not others:
        raise AccountError("至少须保留一个启用的系统管理员账号：请先为另一账号分配系统管理员角色")


def reset_password(cfg: Config, username: str, new_password: str,
                   actor: tuple[str, str, str] | None = None) -> UserView:
    """Set a new password by an administrator: the user must change it at next login; unlocks the account."""
    with _session(cfg) as session, session.begin():
        user = _get_user(session, username)
        check_password_policy(new_password, user.username)
        user.password_hash = hash_password(new_password)
        user.password_changed_at = clock.now()
        user.must_change_password = not user.is_demo
        user.failed_logins = 0
        user.locked_until = None
        _end_user_sessions(session, user.id, "password")
        add_audit_row(session, "user.reset_password", username, None, {"must_change_password":
                                                                        user.must_change_password}, actor=actor)
        return _view(user)


def change_own_password(cfg: Config, user_id: int, old_password: str, new_password: str,
                        keep_sid: str | None = None) -> None:
    """The user changes their own password (after a forced-change prompt or by choice). Every other session of the
    account ends (someone who suspects a stolen password or session changes it); ``keep_sid``, the session that
    made the change, goes on."""
    with _session(cfg) as session, session.begin():
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise AccountError("账号不可用")
        if not verify_password(user.password_hash, old_password):
            raise AccountError("原密码不正确")
        if old_password == new_password:
            raise AccountError("新密码不能与原密码相同")
        check_password_policy(new_password, user.username)
        user.password_hash = hash_password(new_password)
        user.password_changed_at = clock.now()
        user.must_change_password = False
        _end_user_sessions(session, user.id, "password",
                           keep_hash=_sid_hash(keep_sid) if keep_sid else None)
        add_audit_row(session, "user.change_password", user.username, None, None,
                      actor=(user.username, user.role, _request_ip()))


def unlock_user(cfg: Config, username: str, actor: tuple[str, str, str] | None = None) -> UserView:
    """Clear a lockout and the failure counter."""
    with _session(cfg) as session, session.begin():
        user = _get_user(session, username)
        before = {"failed_logins": user.failed_logins, "locked_until": user.locked_until}
        user.failed_logins = 0
        user.locked_until = None
        add_audit_row(session, "user.unlock", username, before, {"failed_logins": 0, "locked_until": None},
                      actor=actor)
        return _view(user)


def list_users(cfg: Config) -> list[UserView]:
    with _session(cfg) as session:
        now = clock.now()
        return [_view(u, now) for u in session.scalars(select(User).order_by(User.username))]


def get_user_view(cfg: Config, username: str) -> UserView | None:
    with _session(cfg) as session:
        user = session.scalar(select(User).where(User.username == username))
        return _view(user) if user else None


# ---------------------------------------------------------------- login and sessions

def _request_ip() -> str:
    from flask import has_request_context, request
    return (request.remote_addr or "") if has_request_context() else ""


def authenticate(cfg: Config, username: str, password: str, ip: str = "", user_agent: str = "") -> tuple[User | None, str]:
    """Check a login; returns (user, "success") or (None, reason). Writes the login log; locks after 5 failures.

    Reasons: unknown_user, bad_password, bad_password_locked, locked, disabled. The page shows one message for all
    of them, and every path does the same hash work, so that a stranger can tell neither which usernames exist nor
    which accounts are locked.

    The failure count and the lock are one conditional UPDATE (``failed_logins + 1``, evaluated by the database,
    only on an unlocked row): N parallel wrong passwords count N, exactly one of them sets the lock and writes the
    one ``user.lock`` audit row, and the rest find the row locked.
    """
    now = clock.now()
    username = (username or "").strip()[:64]
    with _session(cfg) as session:
        user = session.scalar(select(User).where(User.username == username)) if username else None
        if user is not None:
            session.expunge(user)
    # The slow scrypt check runs outside any transaction (a write lock is never held across it).
    password_ok = verify_password(user.password_hash if user is not None else _DUMMY_HASH(), password)
    inst = ",".join(user.inst_codes) if user is not None else ""
    unlocked = or_(User.locked_until.is_(None), User.locked_until <= now)
    with _session(cfg) as session, session.begin():
        if user is None:
            result = "unknown_user"
        elif not user.is_active:
            result = "disabled"
        elif password_ok:
            done = session.execute(update(User).where(User.id == user.id, unlocked)
                                   .values(failed_logins=0, locked_until=None, last_login_at=now)
                                   .execution_options(synchronize_session=False))
            result = "success" if done.rowcount == 1 else "locked"
        else:
            result = _count_failure(session, user, now, unlocked, ip)
        session.add(LoginLog(ts=now, username=username or "-", inst_code=inst, ip=ip[:64], result=result,
                             user_agent=(user_agent or "")[:256]))
    return (user if result == "success" else None), result


def _count_failure(session: Session, user: User, now: dt.datetime, unlocked, ip: str) -> str:  # noqa: ANN001
    """One atomic step: add the failure, and lock (count back to 0) when it reaches the threshold."""
    until = now + LOCKOUT_DURATION
    reaches = User.failed_logins + 1 >= LOCKOUT_THRESHOLD
    row = session.execute(
        update(User).where(User.id == user.id, unlocked)
        .values(failed_logins=case((reaches, 0), else_=User.failed_logins + 1),
                locked_until=case((reaches, until), else_=User.locked_until))
        .returning(User.failed_logins, User.locked_until)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return "locked"                     # another attempt locked it first: nothing counted twice
    if row.locked_until is not None and row.locked_until > now:
        add_audit_row(session, "user.lock", user.username, None,
                      {"locked_until": until, "reason": f"{LOCKOUT_THRESHOLD} 次密码错误"},
                      actor=("system", "", ip))
        return "bad_password_locked"
    return "bad_password"


def record_login_attempt(cfg: Config, username: str, result: str, ip: str = "", user_agent: str = "") -> None:
    """A login-log row for an attempt refused before the password was checked (e.g. ``rate_limited``)."""
    with _session(cfg) as session, session.begin():
        session.add(LoginLog(ts=clock.now(), username=(username or "").strip()[:64] or "-", inst_code="",
                             ip=(ip or "")[:64], result=result[:32], user_agent=(user_agent or "")[:256]))


_dummy_hash: list[str] = []


def _DUMMY_HASH() -> str:
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_hex(8)))
    return _dummy_hash[0]


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(cfg: Config, user_id: int, ip: str = "") -> str:
    """Open a server-side session; returns the session id to keep in the (signed) cookie."""
    sid = secrets.token_urlsafe(32)
    now = clock.now()
    with _session(cfg) as session, session.begin():
        session.add(UserSession(sid_hash=_sid_hash(sid), user_id=user_id, created_at=now, last_seen=now, ip=ip[:64]))
    return sid


def session_user(cfg: Config, sid: str, touch: bool = True) -> User | None:
    """The user of a live session, or None. Ends sessions past idle timeout or absolute lifetime.

    ``touch`` refreshes the activity time (not for auto-refresh intervals).
    """
    if not sid:
        return None
    now = clock.now()
    with _session(cfg) as session, session.begin():
        row = session.get(UserSession, _sid_hash(sid))
        if row is None or row.ended_at is not None:
            return None
        reason = None
        user = session.get(User, row.user_id)
        device = "not-a-device"
        if user is not None and user.role == SCREEN:
            # a wall screen's device session: its own lifetime, revocation, refresh ticks count as activity
            from dashboard.accounts.devices import device_end_reason
            device = reason = device_end_reason(session, row, now, touch)
            if reason == "not-a-device":
                reason = None
        if device != "not-a-device":
            pass
        elif now - row.last_seen > IDLE_TIMEOUT:
            reason = "idle"
        elif now - row.created_at > ABSOLUTE_LIFETIME:
            reason = "expired"
        if reason is None and (user is None or not user.is_active):
            reason = "disabled"
        if reason:
            row.ended_at, row.end_reason = now, reason
            return None
        if touch and now - row.last_seen >= TOUCH_EVERY:
            row.last_seen = now
        user.inst_codes  # noqa: B018  (load the scope before the session closes)
        session.expunge(user)
        return user


def end_session(cfg: Config, sid: str, reason: str = "logout") -> bool:
    """End a session server-side (logout); a replayed cookie of it is rejected afterwards."""
    with _session(cfg) as session, session.begin():
        row = session.get(UserSession, _sid_hash(sid))
        if row is None or row.ended_at is not None:
            return False
        row.ended_at, row.end_reason = clock.now(), reason
        return True


def _end_user_sessions(session: Session, user_id: int, reason: str, keep_hash: str | None = None) -> None:
    now = clock.now()
    for row in session.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                        UserSession.ended_at.is_(None))):
        if keep_hash is None or row.sid_hash != keep_hash:
            row.ended_at, row.end_reason = now, reason


# ---------------------------------------------------------------- retention

def purge_logs(cfg: Config, days: int = RETENTION_DAYS, actor: tuple[str, str, str] | None = None) -> dict[str, int]:
    """Delete log rows older than ``days`` (≥ 184, 等保 retention) and ended sessions; audited."""
    if days < RETENTION_DAYS:
        raise AccountError(f"日志至少保留 {RETENTION_DAYS} 天：--days {days} 被拒绝")
    from dashboard.accounts.audit import flush_service_log
    flush_service_log(cfg)
    cutoff = clock.now() - dt.timedelta(days=days)
    counts: dict[str, int] = {}
    with _session(cfg) as session, session.begin():
        for model in (LoginLog, ServiceLog, AuditLog):
            counts[model.__tablename__] = session.execute(
                delete(model).where(model.ts < cutoff).execution_options(synchronize_session=False)).rowcount
        counts["user_sessions"] = session.execute(
            delete(UserSession).where(UserSession.ended_at.is_not(None), UserSession.ended_at < cutoff)
            .execution_options(synchronize_session=False)).rowcount
        add_audit_row(session, "logs.purge", f"{days} 天以前的日志", None, counts, actor=actor)
    return counts


# ---------------------------------------------------------------- demo accounts

DEMO_ACCOUNTS = (
    (LEADER, "leader", "演示领导"), (MANAGER, "manager", "演示医院管理者"), (OPERATOR, "operator", "演示运维人员"),
    (ADMIN, "admin", "演示系统管理员"), (AUDITOR, "auditor", "演示审计员"), (SCREEN, "screen", "演示指挥大屏"),
)


def demo_manager_institutions(cfg: Config) -> list[str]:
    """The demo manager's scope: the lead hospital plus one township centre (from the mart when it exists)."""
    try:
        from mart.db import mart_exists
        if not mart_exists(cfg):
            return []
        from queries.account_orgs import institutions_for_accounts
        df = institutions_for_accounts(cfg.mart_url)
    except Exception:  # noqa: BLE001  (no mart yet: the manager gets a scope later, deny by default meanwhile)
        return []
    lead = df[df["is_lead"] == 1]["inst_code"].tolist()[:1]
    township = df[df["inst_type"] == "township_center"]["inst_code"].tolist()[:1]
    return lead + township


def ensure_demo_accounts(cfg: Config) -> Path | None:
    """Create one demo account per role (generated passwords, marked demo) and write DATA_DIR/demo-accounts.txt.

    The file (lines ``role username password``, mode 600) is written only when it does not exist or when accounts
    were just created; returns its path when written, else None.
    """
    init_app_db(cfg.app_db_url)
    path = cfg.demo_accounts_path
    existing = {u.username for u in list_users(cfg)}
    missing = [a for a in DEMO_ACCOUNTS if a[1] not in existing]
    if not missing and path.exists():
        manager = get_user_view(cfg, "manager")
        if manager is not None and manager.is_demo and not manager.inst_codes:
            # Accounts made before the mart existed: give the demo manager its scope now.
            insts = demo_manager_institutions(cfg)
            if insts:
                update_user(cfg, "manager", inst_codes=insts, actor=("system:demo", "", ""))
        return None
    actor = ("system:demo", "", "")
    lines: list[str] = []
    insts = demo_manager_institutions(cfg)
    for role, username, display in DEMO_ACCOUNTS:
        password = generate_password()
        if username in existing:
            # File lost but accounts exist: give them fresh passwords so that the new file is true.
            reset_password(cfg, username, password, actor=actor)
            with _session(cfg) as session, session.begin():
                user = _get_user(session, username)
                user.is_demo, user.must_change_password = True, False
        else:
            if role == MANAGER and not insts:
                # No mart yet: create the manager with no scope (deny by default) through the model directly.
                _create_unscoped_demo_manager(cfg, username, display, password, actor)
            else:
                create_user(cfg, username, role, password, insts if role == MANAGER else (), display,
                            is_demo=True, actor=actor)
        lines.append(f"{role} {username} {password}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# 演示账号 (role username password) — 仅供演示，请勿用于生产\n")
        fh.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _create_unscoped_demo_manager(cfg: Config, username: str, display: str, password: str,
                                  actor: tuple[str, str, str]) -> None:
    now = clock.now()
    with _session(cfg) as session, session.begin():
        user = User(username=username, display_name=display, role=MANAGER, password_hash=hash_password(password),
                    password_changed_at=now, must_change_password=False, is_demo=True, is_active=True,
                    failed_logins=0, created_at=now)
        session.add(user)
        session.flush()
        add_audit_row(session, "user.create", username, None, _snapshot(user), actor=actor)


def read_demo_accounts(cfg: Config) -> dict[str, tuple[str, str]]:
    """role → (username, password) from DATA_DIR/demo-accounts.txt (tests and tools)."""
    out: dict[str, tuple[str, str]] = {}
    for line in cfg.demo_accounts_path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out[parts[0]] = (parts[1], parts[2])
    return out


def count_rows(cfg: Config, model) -> int:  # noqa: ANN001
    with _session(cfg) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0
