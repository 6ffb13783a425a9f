"""docs/exchange-api.md is generated from dashboard/exchange/ and its examples are true of the real app.

The walkthrough (``api_doc.EXAMPLES``) is replayed in the documented order against the real Flask app with a real
SQLite app DB and a real node token; the curl text in the document is parsed back and must be those requests.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dashboard.appdb import session_factory
from dashboard.exchange import api_doc
from dashboard.exchange.api_doc import (
    API,
    DOC_PATH,
    EXAMPLE_NODE,
    EXAMPLES,
    FIELD_DOCS,
    RESPONSE_DOCS,
    Example,
    main,
    render,
)
from dashboard.exchange.models import JobRun
from dashboard.exchange.schemas import AckIn, HeartbeatIn, LogLineIn, RunIn
from dashboard.exchange.service import request_rerun, run_logs
from tests.exchange_fixtures import client, ex_app, ex_cfg, token_for  # noqa: F401
from tests.http_text import body_text

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the file is the generator's output

def test_committed_document_is_current() -> None:
    assert DOC_PATH.exists(), "docs/exchange-api.md is missing: run python -m dashboard.exchange.api_doc --write"
    assert DOC_PATH.read_text(encoding="utf-8") == render(), \
        "docs/exchange-api.md is stale: run python -m dashboard.exchange.api_doc --write"
    assert main(["--check"]) == 0


def test_check_flags_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "exchange-api.md"
    stale.write_text(render().replace("rows_rejected", "rows_refused", 1), encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--check", "--output", str(tmp_path / "missing.md")]) == 1
    assert main(["--write", "--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0


def test_module_prints_the_document() -> None:
    """``python -m dashboard.exchange.api_doc > docs/exchange-api.md`` gives the same bytes (UTF-8, any locale)."""
    out = subprocess.run([sys.executable, "-m", "dashboard.exchange.api_doc"], cwd=ROOT, capture_output=True,
                         env=dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C"), timeout=120, check=True)
    assert out.stdout.decode("utf-8") == render()


# ---------------------------------------------------------------- every field and endpoint is documented

def test_every_request_field_is_documented() -> None:
    text = render()
    assert set(FIELD_DOCS) == {HeartbeatIn, RunIn, LogLineIn, AckIn}
    for model, docs in FIELD_DOCS.items():
        assert set(docs) == set(model.model_fields), f"{model.__name__}: documented {sorted(docs)}"
        table = api_doc.field_table(model)
        assert table in text
        for name in model.model_fields:
            assert re.search(rf"^\| `{name}` \|", table, re.M), f"{model.__name__}.{name} has no row"
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        for name in required:
            assert re.search(rf"^\| `{name}` \| [^|]+ \| 是 \|", table, re.M), f"{name} should read required"


def test_every_route_has_a_section_and_an_example(ex_app) -> None:
    text = render()
    def shape(path: str) -> str:                # placeholder names may differ: <int:command_id> vs <id>
        return re.sub(r"<[^>]+>", "<>", path)
    rules = {(next(iter(r.methods - {"HEAD", "OPTIONS"})), shape(r.rule))
             for r in ex_app.server.url_map.iter_rules() if r.endpoint.startswith("exchange_api.")}
    documented = {(ep.method, shape(API + ep.path)) for ep in api_doc.ENDPOINTS}
    assert rules == documented
    for ep in api_doc.ENDPOINTS:
        assert f"`{ep.method} {API}{ep.path}`" in text
    assert {ex.endpoint for ex in EXAMPLES} == {ep.key for ep in api_doc.ENDPOINTS}


# ---------------------------------------------------------------- the walkthrough answers as documented

@pytest.fixture()
def beijing_time():
    """The server's OS zone is UTC (a common host): the documented answers are county wall time (MART_TIMEZONE,
    Asia/Shanghai) all the same, so the +08:00 examples still come back as 10:00 (``dashboard.county_clock``)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def _drop(value: Any, path: str) -> Any:
    """``value`` without the key at dotted ``path`` (asserting the key is there)."""
    head, _, rest = path.partition(".")
    if isinstance(value, list):
        out = list(value)
        out[int(head)] = _drop(out[int(head)], rest) if rest else None
        return out
    assert head in value, f"volatile key {path} missing in {value}"
    out = dict(value)
    if rest:
        out[head] = _drop(out[head], rest)
    else:
        del out[head]
    return out


def _send(client, ex: Example, token: str):
    headers = {"Authorization": f"Bearer {token}"} if ex.auth else {}
    return client.open(API + ex.path, method=ex.method, json=ex.body, headers=headers)


def test_walkthrough_replays_as_documented(client, ex_cfg, beijing_time):
    token = token_for(ex_cfg, EXAMPLE_NODE)["Authorization"][len("Bearer "):]
    kinds = {"runs": "run", "logs": "logs", "ack": "command"}
    for number, ex in enumerate(EXAMPLES, 1):
        if ex.operator_rerun:
            request_rerun(ex_cfg, ex.operator_rerun, "operator")
        r = _send(client, ex, token)
        where = f"step {number} ({ex.title})"
        assert r.status_code == ex.status, f"{where}: {r.status_code} {body_text(r)}"
        if ex.response is None:
            assert r.data == b"", where
            continue
        assert r.mimetype == "application/json", where
        got, want = r.get_json(), ex.response
        for path in ex.volatile:
            got, want = _drop(got, path), _drop(want, path)
        assert got == want, where
        if ex.status < 400 and ex.endpoint in kinds:
            assert set(r.get_json()) == set(RESPONSE_DOCS[kinds[ex.endpoint]]), where
        if ex.endpoint == "commands":
            for cmd in r.get_json()["commands"]:
                assert set(cmd) == set(RESPONSE_DOCS["command"]), where
        if ex.status == 401:
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="exchange"'
    # what the walkthrough claims happened on the platform
    assert run_logs(ex_cfg, api_doc.RUN_1)["message"].tolist() == [
        line["message"] for line in api_doc.RUN_1_LOGS]
    with session_factory(ex_cfg.app_db_url)() as s:
        runs = {r.run_id: r for r in s.scalars(select(JobRun))}
    assert set(runs) == {api_doc.RUN_1, api_doc.RUN_2}
    assert runs[api_doc.RUN_1].status == "failed" and runs[api_doc.RUN_2].rerun_of == api_doc.RUN_1
    assert runs[api_doc.RUN_1].started_at == dt.datetime(2026, 3, 2, 10, 0)


def _curl_blocks(text: str) -> list[str]:
    section = text.split("## 5. ", 1)[1].split("\n## 6. ", 1)[0]
    return [b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if b.startswith("curl ")]


def _parse_curl(block: str) -> dict[str, Any]:
    argv = shlex.split(block.replace("\\\n", " "))
    assert argv[0] == "curl"
    out: dict[str, Any] = {"method": "GET", "headers": {}, "body": None, "url": None}
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("-X", "-H", "-d"):
            value = argv[i + 1]
            if arg == "-X":
                out["method"] = value
            elif arg == "-H":
                key, _, val = value.partition(": ")
                out["headers"][key] = val
            else:
                out["body"] = json.loads(value)
            i += 2
            continue
        if not arg.startswith("-"):
            out["url"] = arg
        i += 1
    return out


def test_curl_text_is_the_replayed_requests() -> None:
    """The shell text parses (quoting) back to exactly the requests the walkthrough test sends."""
    blocks = _curl_blocks(DOC_PATH.read_text(encoding="utf-8"))
    assert len(blocks) == len(EXAMPLES)
    for block, ex in zip(blocks, EXAMPLES):
        curl = _parse_curl(block)
        assert curl["method"] == ex.method
        assert curl["url"] == "$BASE" + API + ex.path
        assert curl["body"] == ex.body
        assert ("Authorization" in curl["headers"]) == ex.auth
        if ex.auth:
            assert curl["headers"]["Authorization"] == "Bearer $TOKEN"


# ---------------------------------------------------------------- claims of the prose

def _ok_bodies() -> dict[str, tuple[str, dict[str, Any] | list]]:
    now = dt.datetime.now().replace(microsecond=0).isoformat()
    return {
        "heartbeat": ("/heartbeat", {"ts": now}),
        "run": ("/runs", {"run_id": "C-1", "job_code": "HIS_OP", "started_at": now, "status": "running"}),
        "log": ("/runs/C-1/logs", [{"ts": now, "level": "INFO", "message": "x"}]),
    }


@pytest.mark.parametrize("target,field", [("heartbeat", "backlog"), ("run", "rows_extracted"),
                                          ("run", "rows_loaded"), ("run", "rows_rejected"), ("log", "seq")])
@pytest.mark.parametrize("bad", ["12", 12.0, True])
def test_integer_fields_take_json_integers_only(client, ex_cfg, target, field, bad):
    """Documented: "12", 12.0 and true are refused in integer fields."""
    h = token_for(ex_cfg, EXAMPLE_NODE)
    bodies = _ok_bodies()
    assert client.post(API + "/runs", json=bodies["run"][1], headers=h).status_code == 201
    path, body = bodies[target]
    if isinstance(body, list):
        good, bad_body = [dict(body[0], **{field: 12})], [dict(body[0], **{field: bad})]
    else:
        good, bad_body = dict(body, **{field: 12}), dict(body, **{field: bad})
    r = client.post(API + path, json=bad_body, headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"].split(".")[-1] == field
    assert client.post(API + path, json=good, headers=h).status_code in (200, 201, 204)


def test_documented_time_and_id_rules(client, ex_cfg, beijing_time):
    h = token_for(ex_cfg, EXAMPLE_NODE)
    hb = API + "/heartbeat"
    for ts in ("2026-03-02T10:00:00+08:00", "2026-03-02 10:00:00", "2026-03-02T02:00:00Z",
               "2026-03-02T10:00:00.250"):
        assert client.post(hb, json={"ts": ts}, headers=h).status_code == 204, ts
    for ts in ("1999-12-31T23:59:59", (dt.datetime.now() + dt.timedelta(days=2)).isoformat(), "02/03/2026 10:00"):
        assert client.post(hb, json={"ts": ts}, headers=h).status_code == 400, ts
    # +08:00 and Z name the same instant: stored as Beijing local time
    run = {"job_code": "HIS_OP", "status": "running"}
    for run_id, started in (("T-1", "2026-03-02T10:00:00+08:00"), ("T-2", "2026-03-02T02:00:00Z")):
        r = client.post(API + "/runs", json=dict(run, run_id=run_id, started_at=started), headers=h)
        assert r.get_json()["started_at"] == "2026-03-02T10:00:00"
    # run_id: 1-64 characters, letter or digit first
    ok, long_, dash = "A" + "b" * 63, "A" + "b" * 64, "-A"
    assert client.post(API + "/runs", json=dict(run, run_id=ok, started_at="2026-03-02T10:00:00"),
                       headers=h).status_code == 201
    for bad in (long_, dash):
        r = client.post(API + "/runs", json=dict(run, run_id=bad, started_at="2026-03-02T10:00:00"), headers=h)
        assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "run_id"
    # unknown fields are refused, naming the field; text is trimmed
    r = client.post(hb, json={"ts": "2026-03-02T10:00:00", "temperature": 40}, headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "temperature"
    r = client.post(API + "/runs/" + ok + "/logs", json={"logs": [{"ts": "2026-03-02T10:00:00", "level": "warning",
                                                                    "message": "  已重试  "}]}, headers=h)
    assert r.status_code == 201
    logs = run_logs(ex_cfg, ok)
    assert logs["message"].tolist() == ["已重试"] and logs["level"].tolist() == ["WARN"]


def test_wrong_method_or_path_answers_the_json_error_body(client, ex_cfg):
    """Documented: a wrong path is a JSON 404 (field path), a wrong method a JSON 405 (field method, Allow)."""
    h = token_for(ex_cfg, EXAMPLE_NODE)
    r = client.post(API + "/commands/first/ack", json={"state": "picked"}, headers=h)
    assert r.status_code == 404 and r.is_json and r.get_json()["errors"][0]["field"] == "path"
    r = client.get(API + "/heartbeat", headers=h)
    assert r.status_code == 405 and r.is_json and r.get_json()["errors"][0]["field"] == "method"
    assert r.headers["Allow"] == "POST"

