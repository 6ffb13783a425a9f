"""Every server callback walked as a manager with an out-of-scope township, institution, department and staff
code: no out-of-scope department or doctor name comes back; the referral page refuses rather than answering a
wrong number; the leader's answers to the same calls do name them (the walk can fail)."""
from __future__ import annotations

import json

import pytest

from mart.connection import read_df
from tests.test_pages_callbacks import manager_institutions
from tests.test_security_matrix import _module, callback_body, expected_roles, server_callbacks

REFUSED = "无权查看"


@pytest.fixture(scope="module")
def probe(app_cfg, flask_app):
    """Out-of-scope codes (a township without the manager's institutions, one of its institutions, a department
    and a doctor there) and the names that must not reach the manager."""
    url = app_cfg.mart_url
    mine = manager_institutions(app_cfg)
    tree = read_df(url, "SELECT inst_code, area_code FROM institution")
    own_towns = set(tree.loc[tree["inst_code"].isin(mine), "area_code"])
    other = tree[~tree["area_code"].isin(own_towns) & ~tree["inst_code"].isin(mine)]
    other = other[other["inst_code"].isin(read_df(url, "SELECT DISTINCT inst_code FROM staff")["inst_code"])]
    inst, town = str(other.iloc[0]["inst_code"]), str(other.iloc[0]["area_code"])
    people = read_df(url, "SELECT s.staff_code, s.name, s.dept_code, s.inst_code, s.role, d.name AS dept FROM staff s "
                          "JOIN department d ON d.dept_code = s.dept_code")
    staff = people[(people["inst_code"] == inst) & (people["role"] == "doctor")].iloc[0]
    own = people[people["inst_code"].isin(mine)]
    own_names = set(own["name"]) | set(own["dept"])
    secret = [n for n in (str(staff["name"]), str(staff["dept"])) if n not in own_names]
    assert secret, "no name unique to the out-of-scope institution in the tiny demo"
    return {"township": town, "inst": inst, "dept": str(staff["dept_code"]), "doctor": str(staff["staff_code"]),
            "secret": secret}


def _with_org(body: dict, org: str, page: str) -> dict:
    search = f"?grain=quarter&org={org}"
    for dep in body["inputs"] + body["state"]:
        if dep["id"] == "url" and dep["property"] == "search" or dep["property"] == "search":
            dep["value"] = search
        elif dep["property"] == "pathname":
            dep["value"] = page
        elif isinstance(dep["id"], str) and dep["id"] in SPECIAL:
            dep["value"] = SPECIAL[dep["id"]]
        elif dep["value"] is None and dep["property"] in ("data", "value"):
            dep["value"] = org if dep["property"] == "value" else True
    return body


SPECIAL = {"ind-id": "op_antibiotic_rate", "topic-id": "quality"}
PAGES = {"referrals": "/referrals", "indicator": "/indicator/op_antibiotic_rate", "topic": "/topic/quality",
         "maps": "/map", "cockpit": "/"}


def _page_of(entry: dict) -> str:
    module = _module(entry).rsplit(".", 1)[-1]
    return PAGES.get(module, "/")


@pytest.mark.parametrize("kind", ["township", "inst", "dept", "doctor"])
def test_manager_walk_finds_no_out_of_scope_names(flask_app, client_as, probe, kind):
    manager, leader = client_as("manager"), client_as("leader")
    leaks, leader_named = [], 0
    for key, entry in server_callbacks(flask_app):
        if "manager" not in expected_roles(key, entry):
            continue
        body = _with_org(callback_body(key, entry), probe[kind], _page_of(entry))
        answer = manager.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
        # (a made-up input may break a callback's own parsing: a 500 carries no data, so only leaks count here)
        text = json.dumps(answer.get_json(silent=True) or answer.get_data(as_text=True), ensure_ascii=False)
        leaks += [f"{key}: {name}" for name in probe["secret"] if name in text]
        seen = leader.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
        leader_named += any(n in seen.get_data(as_text=True) or n in json.dumps(seen.get_json(silent=True),
                                                                                ensure_ascii=False)
                            for n in probe["secret"])
    assert not leaks, "\n".join(leaks)
    if kind in ("dept", "doctor"):
        assert leader_named, "the leader's breadcrumb should name them: the walk checks nothing"


def test_referral_page_refuses_an_out_of_scope_township(flask_app, client_as, probe):
    manager, leader = client_as("manager"), client_as("leader")
    for key, entry in server_callbacks(flask_app):
        if not _module(entry).endswith("callbacks.referrals"):
            continue
        body = _with_org(callback_body(key, entry), probe["township"], "/referrals")
        mine = json.dumps(manager.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
        theirs = json.dumps(leader.post("/_dash-update-component", json=body).get_json(), ensure_ascii=False)
        assert REFUSED in mine, key
        assert REFUSED not in theirs, key


@pytest.mark.parametrize("path", ["//admin/users", "//exchange", "/./admin/users", "/admin//users", "/%2Fadmin/users",
                                  "\\admin\\users"])
def test_router_normalises_paths_before_the_role_check(client_as, path):
    from tests.test_security import page_call
    manager = client_as("manager")
    assert manager.post("/_dash-update-component", json=page_call(path)).status_code == 403
    assert manager.post("/_dash-update-component", json=page_call("/")).status_code == 200
