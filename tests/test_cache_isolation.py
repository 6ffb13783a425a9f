"""The caches attacked through the real app (Flask test client, real logins, the app's own per-process cache):

* a manager never receives another institution's detail, not even after the leader and a manager of that
  institution warmed the output cache with the very same inputs;
* a cached output is keyed by everything it carries: one user's extra URL keys never show up in another user's
  drill links (they did: the cockpit cards, breakdown, ranking and topic grid were keyed by grain/period/org only);
* the rights of a session follow the account at once: a narrowed scope, a disabled account, a reset or changed
  password, a logout — whatever the caches hold.

Its own copy of the tiny demo (mart and app database), so accounts can be created and changed freely.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from core import cache as core_cache
from layouts import _pageparts as L
from tests.fixtures_mart import copy_demo_dir
from tests.fixtures_web import login_client
from tests.http_text import body_text
from tests.test_security_matrix import callback_body, expected_roles, server_callbacks
from tests.test_security_scope_walk import _page_of, _with_org

pytest_plugins = ["tests.fixtures_mart"]

PASSWORD = "Cache-probe-2026!"
ORIGIN = {"Origin": "http://localhost"}
IND = "op_antibiotic_rate"


@pytest.fixture(scope="module")
def iso(demo_cfg, tmp_path_factory) -> Iterator[dict]:
    """A private app on a copy of the tiny demo, with two managers of disjoint institutions.

    ``a`` holds the lead hospital and the first township centre, ``b`` another township centre (and a community
    centre of its township when there is one); ``probe`` (scope of ``a``) is the account the revocation tests
    change."""
    from dashboard.accounts.service import create_user, read_demo_accounts
    from dashboard.app import create_app
    from mart.connection import dispose_engines
    from queries.org import org_tree

    data = tmp_path_factory.mktemp("cache_iso")
    cfg = copy_demo_dir(demo_cfg, data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATA_DIR", str(data))
        mp.setenv("MART_URL", cfg.mart_url)
        mp.setenv("APP_DB_URL", cfg.app_db_url)
        tree = org_tree(cfg.mart_url)
        lead = str(tree[tree["is_lead"] == 1]["inst_code"].iloc[0])
        centres = tree[tree["inst_type"] == "township_center"].sort_values("inst_code")
        own_town = str(centres["inst_code"].iloc[0])
        other = centres[centres["township_code"] != tree.set_index("inst_code").loc[lead, "township_code"]]
        other = other[other["township_code"] != centres["township_code"].iloc[0]]
        b_centre = str(other["inst_code"].iloc[0])
        b_town = str(other["township_code"].iloc[0])
        b_codes = [b_centre] + [str(c) for c in tree[(tree["township_code"] == b_town)
                                                      & (tree["inst_type"] == "community_center")]["inst_code"]]
        a_codes = [lead, own_town]
        actor = ("test:cache-isolation", "admin", "")
        create_user(cfg, "iso_a", "manager", PASSWORD, a_codes, is_demo=True, actor=actor)
        create_user(cfg, "iso_b", "manager", PASSWORD, b_codes, is_demo=True, actor=actor)
        create_user(cfg, "iso_probe", "manager", PASSWORD, a_codes, is_demo=True, actor=actor)
        app = create_app(cfg)
        app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
        try:
            yield {"cfg": cfg, "app": app, "a": a_codes, "b": b_codes, "leader": read_demo_accounts(cfg)["leader"]}
        finally:
            dispose_engines()


def _login(iso: dict, username: str, password: str = PASSWORD):
    client, resp = login_client(iso["app"], username, password)
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    return client


def _text(resp) -> str:
    data = resp.get_json(silent=True)
    return json.dumps(data, ensure_ascii=False) if data is not None else body_text(resp)


def _detail(iso: dict, inst: str, but_not: list[str]) -> dict:
    """Codes of ``inst``'s first department and doctor, and the names of its departments and staff that no
    institution of ``but_not`` shares (what must not reach a manager of ``but_not``)."""
    from mart.connection import read_df
    url = iso["cfg"].mart_url
    people = read_df(url, "SELECT s.staff_code, s.name, s.inst_code, s.role, d.dept_code, d.name AS dept "
                          "FROM staff s JOIN department d ON d.dept_code = s.dept_code")
    theirs = people[people["inst_code"] == inst]
    own = people[people["inst_code"].isin(but_not)]
    own_names = set(own["name"]) | set(own["dept"])
    secret = sorted({n for n in set(theirs["name"]) | set(theirs["dept"]) if n not in own_names and len(n) >= 2})
    doctor = theirs[theirs["role"] == "doctor"].sort_values("staff_code").iloc[0]
    return {"orgs": [inst, str(doctor["dept_code"]), str(doctor["staff_code"])], "secret": secret}


@pytest.mark.timeout(900)
def test_a_warm_cache_never_serves_a_manager_another_institutions_detail(iso):
    """Every callback a manager may call, drilled into the other manager's institution, its department and a
    doctor there: the leader asks first, then the manager who owns it, then the victim — who gets no name."""
    app = iso["app"]
    leader = _login(iso, *iso["leader"])
    clients = {"a": _login(iso, "iso_a"), "b": _login(iso, "iso_b")}
    callbacks = [(k, e) for k, e in server_callbacks(app) if "manager" in expected_roles(k, e)]
    assert len(callbacks) > 20
    leaks, leader_named = [], 0
    misses = core_cache.STATS["output:miss"]
    for victim, owner in (("a", "b"), ("b", "a")):
        probe = _detail(iso, iso[owner][0], iso[victim])
        assert probe["secret"], "no name unique to the other institution in the tiny demo"
        for org in probe["orgs"]:
            for key, entry in callbacks:
                body = _with_org(callback_body(key, entry), org, _page_of(entry))
                seen = _text(leader.post("/_dash-update-component", json=body, headers=ORIGIN))
                leader_named += any(n in seen for n in probe["secret"])
                clients[owner].post("/_dash-update-component", json=body, headers=ORIGIN)
                answer = clients[victim].post("/_dash-update-component", json=body, headers=ORIGIN)
                # a made-up input may break a callback's own parsing: a 500 carries no data, only leaks count
                text = _text(answer)
                leaks += [f"{victim} {key} org={org}: {n}" for n in probe["secret"] if n in text]
    assert not leaks, "\n".join(leaks[:40])
    assert leader_named, "the leader's answers never named the other institution's detail: the walk checks nothing"
    # the outputs were cached under these very inputs (one entry per scope), and the victim's own entry serves it
    assert core_cache.STATS["output:miss"] > misses, "no output was cached: the walk did not attack the cache"
    hits = core_cache.STATS["output:hit"]
    _breakdown(clients["a"], f"?grain=quarter&org={iso['a'][0]}")
    _breakdown(clients["a"], f"?grain=quarter&org={iso['a'][0]}")
    assert core_cache.STATS["output:hit"] == hits + 1


def _cards(client, search: str) -> str:
    body = {"output": f"..{L.CARDS}.children...{L.HOME_SUBTITLE}.children..",
            "outputs": [{"id": L.CARDS, "property": "children"}, {"id": L.HOME_SUBTITLE, "property": "children"}],
            "inputs": [{"id": L.READY, "property": "data", "value": True}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{L.READY}.data"]}
    resp = client.post("/_dash-update-component", json=body, headers=ORIGIN)
    assert resp.status_code == 200, body_text(resp)[:300]
    return _text(resp)


def _breakdown(client, search: str) -> str:
    body = {"output": f"..{L.BREAKDOWN_BOX}.children...{L.BREAKDOWN_TITLE}.children...{L.TABLE_BOX}.children..",
            "outputs": [{"id": L.BREAKDOWN_BOX, "property": "children"},
                        {"id": L.BREAKDOWN_TITLE, "property": "children"},
                        {"id": L.TABLE_BOX, "property": "children"}],
            "inputs": [{"id": L.ID, "property": "data", "value": IND},
                       {"id": L.BREAKDOWN_MODE, "property": "value", "value": "share"}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{L.ID}.data"]}
    resp = client.post("/_dash-update-component", json=body, headers=ORIGIN)
    assert resp.status_code == 200, body_text(resp)[:300]
    return _text(resp)


def test_one_users_url_keys_never_reach_another_users_links(iso):
    """Two sessions of the same scope: the first opens the view with an extra URL key; the second opens the plain
    view and must get links without it — and the plain view is still shared between them (a cache hit)."""
    first, second = _login(iso, *iso["leader"]), _login(iso, *iso["leader"])
    plain = "?grain=quarter&period=2026Q3"
    marked = plain + "&zzprobe=planted"
    for render in (_cards, _breakdown):
        assert "zzprobe" in render(first, marked)            # the links repeat the URL's keys …
        leaked = "zzprobe" in render(second, plain)
        assert not leaked, f"{render.__name__}: the other session's URL key is in the links"   # … of this URL only
        hits = core_cache.STATS["output:hit"]
        render(first, plain)
        assert core_cache.STATS["output:hit"] == hits + 1    # the same view of the same scope: shared


def _dept_view(iso: dict) -> tuple[str, list[str]]:
    """The lead hospital's breakdown by department (a manager of it sees its department names)."""
    from mart.connection import read_df
    lead = iso["a"][0]
    names = read_df(iso["cfg"].mart_url, "SELECT name FROM department WHERE inst_code = :i", {"i": lead})["name"]
    return f"?grain=year&period=2025&org={lead}", sorted(set(names))


def test_a_narrowed_scope_applies_to_the_next_call(iso):
    from dashboard.accounts.service import update_user
    search, names = _dept_view(iso)
    probe, same_scope = _login(iso, "iso_probe"), _login(iso, "iso_a")
    assert any(n in _breakdown(probe, search) for n in names)       # warm: the cache holds the named view
    update_user(iso["cfg"], "iso_probe", inst_codes=[iso["a"][1]], actor=("test:cache-isolation", "admin", ""))
    try:
        after = _breakdown(probe, search)
        assert not [n for n in names if n in after], "the narrowed manager still got the departments"
        assert any(n in _breakdown(same_scope, search) for n in names)   # the view itself is still there
    finally:
        update_user(iso["cfg"], "iso_probe", inst_codes=iso["a"], actor=("test:cache-isolation", "admin", ""))


def _alive(client) -> bool:
    resp = client.post("/_dash-update-component", json=_cards_body(), headers=ORIGIN)
    assert resp.status_code in (200, 401), resp.status_code
    return resp.status_code == 200


def _cards_body() -> dict:
    return {"output": f"..{L.CARDS}.children...{L.HOME_SUBTITLE}.children..",
            "outputs": [{"id": L.CARDS, "property": "children"}, {"id": L.HOME_SUBTITLE, "property": "children"}],
            "inputs": [{"id": L.READY, "property": "data", "value": True}],
            "state": [{"id": "url", "property": "search", "value": "?grain=quarter&period=2026Q3"}],
            "changedPropIds": [f"{L.READY}.data"]}


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', body_text(client.get(path))).group(1)


def test_disable_and_password_reset_end_the_session_at_once(iso):
    from dashboard.accounts.service import reset_password, update_user
    actor = ("test:cache-isolation", "admin", "")
    client = _login(iso, "iso_probe")
    assert _alive(client) and _alive(client)                  # (the session lookup is warm, if it is cached)
    update_user(iso["cfg"], "iso_probe", is_active=False, actor=actor)
    try:
        assert not _alive(client)
    finally:
        update_user(iso["cfg"], "iso_probe", is_active=True, actor=actor)
    client = _login(iso, "iso_probe")
    assert _alive(client)
    reset_password(iso["cfg"], "iso_probe", PASSWORD + "x", actor=actor)
    try:
        assert not _alive(client)
    finally:
        reset_password(iso["cfg"], "iso_probe", PASSWORD, actor=actor)


def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(iso):
    client = _login(iso, "iso_probe")
    assert _alive(client)
    cookie = client.get_cookie("ygt_session")
    assert client.post("/logout", data={"csrf_token": _csrf(client, "/logout")}).status_code == 302
    replay = iso["app"].server.test_client()
    replay.set_cookie("ygt_session", cookie.value)
    assert not _alive(replay)


def test_changing_ones_own_password_ends_the_other_sessions(iso):
    """Someone who suspects a stolen password or session changes it: the other sessions (the thief's) end; the
    session that changed it goes on."""
    from dashboard.accounts.service import reset_password
    mine, thief = _login(iso, "iso_probe"), _login(iso, "iso_probe")
    assert _alive(thief)
    resp = mine.post("/password", data={"old_password": PASSWORD, "new_password": PASSWORD + "-new",
                                        "confirm_password": PASSWORD + "-new", "csrf_token": _csrf(mine, "/password")})
    try:
        assert resp.status_code == 302, body_text(resp)[:300]
        assert _alive(mine)
        assert not _alive(thief), "the other session survived the password change"
    finally:
        reset_password(iso["cfg"], "iso_probe", PASSWORD, actor=("test:cache-isolation", "admin", ""))
