"""Node API robustness: JSON 400 for every bad body (depth, type), strict numbers, idempotent parallel run
starts over a real HTTP server, and a per-node rate limit answering 429."""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.exchange_fixtures import client, ex_app, ex_cfg, token_for  # noqa: F401

NOW = dt.datetime.now().replace(microsecond=0)


def _hb(**kw) -> dict:
    return {"ts": NOW.isoformat(), **kw}


@pytest.mark.parametrize("raw", ['[' * 100000 + ']' * 100000, '{"a":' * 5000 + '1' + '}' * 5000,
                                 '{"ts": "x"', '\xff\xfe', '"just a string"', '[1, 2]', 'null'])
def test_every_bad_body_is_a_json_400(client, ex_cfg, raw):
    r = client.post("/api/exchange/heartbeat", data=raw.encode("utf-8", "surrogatepass") if raw != '\xff\xfe'
                    else b"\xff\xfe", headers={**token_for(ex_cfg, "EX-H001"), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.is_json and r.get_json()["errors"], (r.status_code, r.get_data()[:200])


def test_numbers_are_strict(client, ex_cfg):
    h = token_for(ex_cfg, "EX-H001")
    r = client.post("/api/exchange/heartbeat", json=_hb(cpu="10"), headers=h)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "cpu"
    assert client.post("/api/exchange/heartbeat", json=_hb(cpu=10, mem=55.5), headers=h).status_code == 204


def test_parallel_identical_run_starts_never_fail(ex_app, ex_cfg):
    from werkzeug.serving import make_server
    srv = make_server("127.0.0.1", 0, ex_app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/api/exchange/runs"
        h = token_for(ex_cfg, "EX-H001")
        body = {"run_id": "PAR-1", "job_code": "HIS_OP", "started_at": (NOW - dt.timedelta(minutes=1)).isoformat(),
                "status": "running"}
        gate = threading.Barrier(8)

        def one(_i: int) -> int:
            gate.wait()
            return requests.post(url, json=body, headers=h, timeout=30).status_code
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(8)))
    finally:
        srv.shutdown()
    assert sorted(codes) == [200] * 7 + [201], codes


@pytest.fixture()
def limited_client(monkeypatch, request):
    monkeypatch.setenv("NODE_RATE_LIMIT", "5 per minute")
    return request.getfixturevalue("client")


def test_per_node_rate_limit(limited_client, ex_cfg):
    a, b = token_for(ex_cfg, "EX-H001"), token_for(ex_cfg, "EX-T001")
    codes = [limited_client.post("/api/exchange/heartbeat", json=_hb(), headers=a).status_code for _ in range(7)]
    assert codes == [204] * 5 + [429] * 2
    over = limited_client.post("/api/exchange/heartbeat", json=_hb(), headers=a)
    assert over.is_json and over.headers["Retry-After"]
    # another node has its own budget
    assert limited_client.post("/api/exchange/heartbeat", json=_hb(), headers=b).status_code == 204
