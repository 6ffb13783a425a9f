"""Starting and stopping the real server as a user does (issue 14, item 5): ``python app.py serve`` and the
no-argument ``python app.py`` print a Chinese start line, serve the cockpit to headless Chromium, and stop on
Ctrl+C (SIGINT to the process group) or SIGTERM without ``terminate called without an active exception``,
without a worker killed by SIGABRT/SIGKILL, and without gunicorn's English INFO lines.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures_web import login_page, read_accounts_file

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError("server exited early")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("server did not answer")


# The no-argument start with the demo simulator beside it used to leave its worker deaf to Ctrl+C now and then
# (gunicorn's quit handler deadlocking on the thread pool's lock, see tests/test_serve_signals.py); a plain test.
@pytest.mark.parametrize("command,sig", [(["serve"], signal.SIGINT), (["serve"], signal.SIGTERM),
                                         ([], signal.SIGINT)],
                         ids=["serve-ctrl-c", "serve-term", "default-ctrl-c"])
def test_server_starts_in_chinese_and_stops_cleanly(browser, app_cfg, command, sig):
    port = _free_port()
    env = dict(os.environ, DATA_DIR=str(app_cfg.data_dir), MART_URL=app_cfg.mart_url,
               APP_DB_URL=app_cfg.app_db_url, CACHE_URL="", PORT=str(port), DEMO_SIMULATE="1",
               PYTHONUNBUFFERED="1")
    args = [sys.executable, str(ROOT / "app.py"), *command] + (["--port", str(port)] if command else [])
    proc = subprocess.Popen(args, cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    # read the output as it comes, as a terminal does: a full pipe would block the server's writes
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        _wait_up(port, proc)
        # a real page in a real browser: the worker opens the mart (DuckDB) and the app database
        user, password = read_accounts_file(app_cfg.demo_accounts_path)["leader"]
        context, page, problems = login_page(browser, f"http://127.0.0.1:{port}", user, password)
        page.wait_for_selector("#home-cards .kpi-card", timeout=60_000)
        context.close()
        problems.check()
        started = time.monotonic()
        os.killpg(proc.pid, sig)            # Ctrl+C reaches the whole process group, as in a terminal
        proc.wait(timeout=40)
        took = time.monotonic() - started
        reader.join(timeout=10)
        out = "".join(lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "医共体运营监测平台已启动" in out and "医共体运营监测平台已停止" in out, out
    for bad in ("terminate called", "SIGABRT", "SIGKILL", "Traceback", "[INFO]", "Ctrl+C to stop"):
        assert bad not in out, out
    assert took < 15, (took, out)
