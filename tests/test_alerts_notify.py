"""Notifications against real receivers on loopback: an HTTP server playing the 企业微信 / 钉钉 robots and an
aiosmtpd SMTP server; retries with back-off and the send log."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select


class _Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]] = []
    fail_first: ClassVar[dict[str, int]] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
        left = self.fail_first.get(self.path, 0)
        if left:
            self.fail_first[self.path] = left - 1
            self.send_response(500)
            self.end_headers()
            return
        self.received.append((self.path, body))
        answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    _Robot.received, _Robot.fail_first = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list = []

        def handle_message(self, message) -> None:
            self.messages.append(message)

    import socket
    with socket.socket() as probe:          # a free port (aiosmtpd's start() cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


@pytest.fixture
def app_db(tmp_path: Path) -> Iterator[str]:
    from dashboard.appdb import dispose_app_engines, init_app_db
    url = f"sqlite:///{tmp_path / 'app.db'}"
    init_app_db(url)
    yield url
    dispose_app_engines()


def _log(url: str) -> list[tuple[str, int, bool]]:
    from dashboard.alerts.models import AlertNotification
    from dashboard.appdb import session_factory
    with session_factory(url)() as s:
        return [(n.channel, n.attempt, n.ok) for n in s.scalars(select(AlertNotification)
                                                                 .order_by(AlertNotification.id))]


MESSAGE = "石门镇卫生院 门诊抗菌药物使用率 39.2%，高于预期区间上限 18.1%（2026年11月）"


def test_wecom_and_dingtalk_shapes_and_retry(app_db: str, robot: str) -> None:
    from dashboard.alerts.notify import send
    _Robot.fail_first = {"/wecom": 2}
    assert send(app_db, {"name": "wx", "kind": "wecom", "target": f"{robot}/wecom"}, "预警", MESSAGE,
                retries=3, backoff_s=0.01)
    assert send(app_db, {"name": "dd", "kind": "dingtalk", "target": f"{robot}/ding"}, "预警", MESSAGE,
                retries=3, backoff_s=0.01)
    by_path = dict(_Robot.received)
    assert by_path["/wecom"]["msgtype"] == "markdown" and MESSAGE in by_path["/wecom"]["markdown"]["content"]
    assert by_path["/ding"]["markdown"]["title"] == "预警" and MESSAGE in by_path["/ding"]["markdown"]["text"]
    assert _log(app_db) == [("wx", 1, False), ("wx", 2, False), ("wx", 3, True), ("dd", 1, True)]


def test_unreachable_robot_gives_up_after_the_retries(app_db: str, robot: str) -> None:
    from dashboard.alerts.notify import send
    _Robot.fail_first = {"/down": 99}
    assert not send(app_db, {"name": "wx", "kind": "wecom", "target": f"{robot}/down"}, "预警", MESSAGE,
                    retries=2, backoff_s=0.01)
    assert _log(app_db) == [("wx", 1, False), ("wx", 2, False)]


def test_smtp_mail_reaches_the_server(app_db: str, smtp_server) -> None:
    from dashboard.alerts.notify import SmtpSettings, send
    host, port, inbox = smtp_server
    ok = send(app_db, {"name": "mail", "kind": "email", "target": "leader@example.org,ops@example.org"},
              "医共体运营监测预警", MESSAGE, smtp=SmtpSettings(host=host, port=port, tls="none"), retries=1)
    assert ok
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "leader@example.org, ops@example.org"
    assert MESSAGE in msg.get_payload(decode=True).decode("utf-8")
    # STARTTLS asked of a server that does not offer it: a clear failure, logged, no mail
    bad = send(app_db, {"name": "mail", "kind": "email", "target": "leader@example.org"}, "预警", MESSAGE,
               smtp=SmtpSettings(host=host, port=port, tls="starttls"), retries=1)
    assert not bad and len(inbox.messages) == 1
    assert _log(app_db)[-1] == ("mail", 1, False)


def test_run_notifies_new_alerts_once(demo_cfg, tmp_path: Path, robot: str, smtp_server, monkeypatch) -> None:
    """A rule run with channels set: each channel gets the new alerts once; a re-run sends nothing new."""
    import shutil

    from dashboard.alerts.admin import save_channel, save_rule
    from dashboard.alerts.run import run_alerts
    from dashboard.appdb import dispose_app_engines
    from tests.fixtures_mart import make_config
    for name in ("mart.duckdb", "app.db"):
        shutil.copy(Path(demo_cfg.data_dir) / name, tmp_path / name)
    cfg = make_config(tmp_path)
    host, port, inbox = smtp_server
    monkeypatch.setenv("ALERT_SMTP_HOST", host)
    monkeypatch.setenv("ALERT_SMTP_PORT", str(port))
    monkeypatch.setenv("ALERT_NOTIFY_BACKOFF_S", "0.01")
    try:
        save_channel(cfg, "wecom", "wecom", f"{robot}/wecom")
        save_channel(cfg, "email", "email", "leader@example.org")
        for code in ("R02", "R03", "R04", "R05", "R07"):
            save_rule(cfg, code, {"enable": False})
        save_rule(cfg, "R06", {"notify": "wecom,email"})
        res = run_alerts(cfg)
        assert res.sent == 2 and res.failed == 0
        assert len(_Robot.received) == 1 and "桃源镇卫生院" in _Robot.received[0][1]["markdown"]["content"]
        assert len(inbox.messages) == 1 and "桃源镇卫生院" in inbox.messages[0].get_payload(decode=True).decode()
        again = run_alerts(cfg)
        assert again.sent == 0 and len(_Robot.received) == 1
    finally:
        dispose_app_engines()
