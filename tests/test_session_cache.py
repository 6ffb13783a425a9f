"""The in-process session cache (dashboard/accounts/session_cache.py): cheap per request, never stale on revocation.

Real app database (the session fixture's SQLite), real Flask app and login form. "Another worker" is simulated by
writing the app database directly, as a logout or an account change in another process does: this process's
kept entry is not told, so only the per-request re-validation can refuse the session.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from dashboard.accounts import clock, service, session_cache
from dashboard.accounts.models import User, UserSession
from dashboard.appdb import app_engine
from tests.fixtures_web import login_client
from tests.http_text import body_text


def _user(app_cfg, name: str, role: str = "leader", insts: tuple[str, ...] = ()) -> tuple[str, str]:
    password = "Qx7!" + name[::-1] + "-pw"
    service.create_user(app_cfg, name, role, password, list(insts), is_demo=True)
    return name, password


def _user_id(app_cfg, name: str) -> int:
    return service.get_user_view(app_cfg, name).id


def _write(app_cfg, stmt) -> None:
    with app_engine(app_cfg.app_db_url).begin() as conn:
        conn.execute(stmt)


@pytest.fixture
def fresh_cache():
    session_cache.clear()
    yield session_cache
    session_cache.clear()
    clock.set_clock(None)


def test_a_kept_session_is_served_without_the_full_check_and_per_user(app_cfg, fresh_cache) -> None:
    a_id = _user_id(app_cfg, _user(app_cfg, "cache_a")[0])
    b_id = _user_id(app_cfg, _user(app_cfg, "cache_b")[0])
    sid_a, sid_b = service.start_session(app_cfg, a_id), service.start_session(app_cfg, b_id)
    full = fresh_cache.STATS["full"]
    for _ in range(3):
        assert fresh_cache.session_user(app_cfg, sid_a).username == "cache_a"
        assert fresh_cache.session_user(app_cfg, sid_b).username == "cache_b"
    assert fresh_cache.STATS["full"] - full == 2            # one full check per session, then kept
    assert fresh_cache.session_user(app_cfg, "not-a-session") is None


def test_logout_on_another_worker_is_honoured_at_the_next_request(flask_app, app_cfg, fresh_cache) -> None:
    name, password = _user(app_cfg, "cache_logout")
    client, resp = login_client(flask_app, name, password)
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    hits = fresh_cache.STATS["hit"]
    assert client.get("/").status_code == 200
    assert fresh_cache.STATS["hit"] > hits                  # served from the kept entry
    # the other worker's logout: the session row ends there; this process keeps its entry
    _write(app_cfg, update(UserSession).where(UserSession.user_id == _user_id(app_cfg, name))
           .values(ended_at=clock.now(), end_reason="logout"))
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["Location"]


def test_logout_in_this_process_forgets_the_entry(flask_app, app_cfg, fresh_cache) -> None:
    name, password = _user(app_cfg, "cache_logout_here")
    client, _resp = login_client(flask_app, name, password)
    assert client.get("/").status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', body_text(client.get("/logout"))).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert client.get("/", follow_redirects=False).status_code in (302, 303)


@pytest.mark.parametrize("change", ["disabled", "role", "password"])
def test_account_changes_elsewhere_take_effect_at_once(app_cfg, fresh_cache, change: str) -> None:
    name = f"cache_{change}"
    uid = _user_id(app_cfg, _user(app_cfg, name)[0])
    sid = service.start_session(app_cfg, uid)
    user = fresh_cache.session_user(app_cfg, sid)
    assert user.role == "leader" and not service.password_change_required(user)
    values = {"disabled": {"is_active": False}, "role": {"role": "operator"},
              "password": {"must_change_password": True, "is_demo": False,
                           "password_changed_at": clock.now() - dt.timedelta(seconds=1)}}[change]
    _write(app_cfg, update(User).where(User.id == uid).values(**values))
    got = fresh_cache.session_user(app_cfg, sid)
    if change == "disabled":
        assert got is None
    elif change == "role":
        assert got.role == "operator"
    else:
        assert service.password_change_required(got)


def test_idle_timeout_ends_a_kept_session(app_cfg, fresh_cache) -> None:
    uid = _user_id(app_cfg, _user(app_cfg, "cache_idle")[0])
    sid = service.start_session(app_cfg, uid)
    assert fresh_cache.session_user(app_cfg, sid) is not None
    later = clock.now() + service.IDLE_TIMEOUT + dt.timedelta(seconds=5)
    clock.set_clock(lambda: later)
    assert fresh_cache.session_user(app_cfg, sid, touch=False) is None


def test_a_scope_change_in_this_process_shows_at_once(app_cfg, fresh_cache) -> None:
    from mart.connection import read_df
    insts = read_df(app_cfg.mart_url, "SELECT inst_code FROM institution ORDER BY inst_code LIMIT 2")["inst_code"]
    first, second = str(insts.iloc[0]), str(insts.iloc[1])
    name = _user(app_cfg, "cache_scope", "manager", (first,))[0]
    sid = service.start_session(app_cfg, _user_id(app_cfg, name))
    assert fresh_cache.session_user(app_cfg, sid).inst_codes == [first]
    service.update_user(app_cfg, name, inst_codes=[second], actor=("admin", "admin", ""))
    assert fresh_cache.session_user(app_cfg, sid).inst_codes == [second]
