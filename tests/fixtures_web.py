"""Web fixtures (owned by the shell/accounts work)."""
from __future__ import annotations

import re as _re
from pathlib import Path as _Path

import pytest

# ====================================================================================================
# Accounts block (owned by the accounts work): app_cfg, flask_app, client_as(role)
# ====================================================================================================
from tests.http_text import body_text


def _tiny_mart_cfg(request: pytest.FixtureRequest):
    """The tiny demo mart of tests/fixtures_mart.py when that fixture exists, else None."""
    try:
        return request.getfixturevalue("demo_cfg")
    except pytest.FixtureLookupError:
        return None


@pytest.fixture(scope="session")
def app_cfg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Config with its own DATA_DIR and app DB (demo accounts created), reading the tiny demo mart if available."""
    from core.config import Config
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import init_app_db

    data_dir = tmp_path_factory.mktemp("webdata")
    demo = _tiny_mart_cfg(request)
    if demo is not None:
        mart_url = demo.mart_url
        if demo.geo_dir.exists():
            (data_dir / "geo").symlink_to(demo.geo_dir, target_is_directory=True)
    else:
        mart_url = f"duckdb:///{data_dir / 'mart.duckdb'}"
    cfg = Config(data_dir=_Path(data_dir), mart_url=mart_url, app_db_url=f"sqlite:///{data_dir / 'app.db'}",
                 cache_url="")
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    return cfg


@pytest.fixture(scope="session")
def flask_app(app_cfg):
    """The real Dash app (its Flask server) built by the app factory on ``app_cfg``."""
    from dashboard.app import create_app
    app = create_app(app_cfg)
    # Many tests log in from the same test-client IP: the login rate limit has its own test.
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    return app


def login_client(app, username: str, password: str, next_path: str = ""):
    """A Flask test client logged in through the real /login form; returns (client, response)."""
    client = app.server.test_client()
    page = client.get("/login")
    token = _re.search(r'name="csrf_token" value="([^"]+)"', body_text(page)).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_path})
    return client, resp


@pytest.fixture
def client_as(flask_app, app_cfg):
    """``client_as(role)`` → a Flask test client logged in as that role's demo account."""
    from dashboard.accounts.service import read_demo_accounts
    accounts = read_demo_accounts(app_cfg)

    def _make(role: str):
        username, password = accounts[role]
        client, resp = login_client(flask_app, username, password)
        assert resp.status_code == 302, f"login as {role} failed: {resp.status_code}"
        return client
    return _make

# ==================================================================================================== end accounts


# ====================================================================================================
# Browser block (owned by the shell work): live_server, browser, page_as(role)
# ====================================================================================================
import threading as _threading
from urllib.parse import urlparse as _urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _require_chromium() -> None:
    """Browser tests need Debian's Chromium: without it they fail (a missing fixture is not a pass)."""
    if not _Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver fonts-noto-cjk "
                    "(or run only the other tests with -m 'not browser')")


def read_accounts_file(path: _Path) -> dict[str, tuple[str, str]]:
    """role → (username, password) from a demo-accounts file (lines ``role username password``)."""
    out: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.lstrip().startswith("#"):
            out[parts[0]] = (parts[1], parts[2])
    return out


@pytest.fixture(scope="session")
def live_server(app_cfg):
    """Base URL of the real app (``create_app(app_cfg)``, tiny demo mart when available) in a real HTTP server.

    The tests-only pages ``/map/_shell_test`` and ``/map/_bridge_test`` (tests/shell_bridge_page.py) are
    registered too, so the shell and the ECharts bridge are tested apart from the pages; they are not in the nav.
    """
    from werkzeug.serving import make_server

    from dashboard.app import create_app
    from tests.shell_bridge_page import register_bridge_test_page

    app = create_app(app_cfg)
    register_bridge_test_page()     # after the app exists (Dash's rule), before its first request
    # Every browser test logs in from 127.0.0.1; the login rate limit has its own test.
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = _threading.Thread(target=srv.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (playwright sync API) shared by the session."""
    _require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class BrowserProblems:
    """Console errors, uncaught page errors and requests to non-loopback hosts seen by one page."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []

    def watch(self, page) -> None:
        page.on("console", lambda msg: self.console_errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        page.on("request", self._on_request)

    def _on_request(self, req) -> None:
        url = _urlparse(req.url)
        if url.scheme in ("http", "https", "ws", "wss") and (url.hostname or "") not in _LOOPBACK:
            self.external_requests.append(req.url)

    def check(self) -> None:
        """Fail on any console error or request that left the machine."""
        problems = self.console_errors + [f"non-loopback request: {u}" for u in self.external_requests]
        assert not problems, "browser problems:\n" + "\n".join(problems)


def login_page(browser, base_url: str, username: str, password: str):
    """A new 1440×900 page logged in through the real /login form; returns (context, page, problems)."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    problems = BrowserProblems()
    problems.watch(page)
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"login as {username} failed (still on {page.url})"
    return context, page, problems


@pytest.fixture
def page_as(browser, live_server, app_cfg):
    """``page_as(role)`` → a Playwright page logged in as that role's demo account (on the live server).

    ``page.problems`` collects console errors and non-loopback requests; the test fails on either at teardown.
    """
    accounts = read_accounts_file(app_cfg.demo_accounts_path)
    opened = []

    def _make(role: str):
        if role not in accounts:
            pytest.fail(f"no demo account for role {role!r} in {app_cfg.demo_accounts_path}")
        username, password = accounts[role]
        context, page, problems = login_page(browser, live_server, username, password)
        page.problems = problems
        page.base_url = live_server
        opened.append((context, problems))
        return page

    yield _make
    for context, _problems in opened:
        context.close()
    for _context, problems in opened:
        problems.check()

# ==================================================================================================== end browser


def grid_overflow(page, grid_id: str) -> int | None:
    """Pixels an AG Grid's columns reach past its right edge (0 or less: they fit; None: no such grid)."""
    return page.evaluate("""(id) => {
        const v = document.querySelector('#' + id + ' .ag-body-horizontal-scroll-viewport');
        return v ? v.scrollWidth - v.clientWidth : null;
    }""", grid_id)


def answer_dialog(page, selector: str, accept: bool, timeout_s: float = 30.0) -> str:
    """Click ``selector``, answer the confirm dialog it opens (accept or dismiss) and return its message.

    The answer is given by a handler registered before the click, and the click does not wait for navigations:
    a click that waited while the dialog blocked the page, with the answer given only after it returned, hung for
    its whole timeout whenever the dialog opened before the click's own checks were over."""
    import time as _time
    messages: list[str] = []

    def _answer(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", _answer)
    page.click(selector, no_wait_after=True)
    deadline = _time.monotonic() + timeout_s
    while not messages and _time.monotonic() < deadline:
        page.wait_for_timeout(100)
    if not messages:
        raise AssertionError(f"{selector} opened no confirm dialog within {timeout_s:.0f} s")
    return messages[0]


def wait_until_serving(base: str, proc, log: _Path, timeout_s: float = 120, poll_s: float = 0.5) -> None:
    """Wait until the ``app.py serve`` process ``proc`` answers ``base``/login with 200; fail with the end of its
    ``log`` when it exits first, or after ``timeout_s``."""
    import time as _time

    import requests
    deadline = _time.time() + timeout_s
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
        try:
            if requests.get(f"{base}/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert _time.time() < deadline, f"server not ready in {timeout_s:.0f} s"
        _time.sleep(poll_s)
