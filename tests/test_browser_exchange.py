"""/exchange in real headless Chromium against a real server on a small demo county with seeded exchange history.

The operator sees the map canvas, opens a failed node, its failed run's log, and the re-run button; the
administrator sees the logs but no re-run button; a leader is refused the page. No console error, no request
leaving the machine. Screenshots at 1440×900 go to ``screenshots/exchange-*.png``.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fixtures_web import login_page, read_accounts_file

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"


@pytest.fixture(scope="module")
def ex_server(tmp_path_factory):  # noqa: ANN001, ANN201
    """(cfg, base_url): demo county (mart + geometry), demo accounts, 2 days of exchange history, live server."""
    from werkzeug.serving import make_server

    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.app import create_app
    from dashboard.appdb import init_app_db
    from dashboard.config import Config
    from dashboard.exchange.seed import seed_demo_history
    from mart.demo import build_demo

    data = tmp_path_factory.mktemp("exbrowser")
    cfg = Config(data_dir=data, mart_url=f"duckdb:///{data / 'mart.duckdb'}",
                 app_db_url=f"sqlite:///{data / 'app.db'}", cache_url="")
    build_demo(cfg, scale=0.03, years=1, quiet=True)
    init_app_db(cfg.app_db_url)
    ensure_demo_accounts(cfg)
    seed_demo_history(cfg, days=2)
    app = create_app(cfg)
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="exchange-server", daemon=True)
    thread.start()
    try:
        yield cfg, f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def open_as(browser, ex_server):  # noqa: ANN001, ANN201
    cfg, base = ex_server
    accounts = read_accounts_file(cfg.demo_accounts_path)
    opened = []

    def _make(role: str):  # noqa: ANN202
        user, password = accounts[role]
        context, page, problems = login_page(browser, base, user, password)
        opened.append((context, problems))
        page.base_url = base
        return page
    yield _make
    for context, _ in opened:
        context.close()
    for _, problems in opened:
        problems.check()


def _open_failed_log(page) -> None:  # noqa: ANN001
    page.goto(page.base_url + "/exchange")
    page.wait_for_selector(".echarts-box[data-rendered] canvas", timeout=20_000)
    page.wait_for_selector("#ex-nodes .ag-row .ex-cell-failed", timeout=15_000)
    page.click("#ex-nodes .ag-row .ex-cell-failed >> nth=0")
    page.wait_for_selector("#ex-detail .ex-jobs", timeout=10_000)
    page.click("#ex-detail .ex-run-failed .ex-link >> nth=0")
    page.wait_for_function("() => (document.querySelector('#ex-log')?.innerText || '').includes('ERROR')",
                           timeout=10_000)


def test_operator_sees_map_failed_log_and_rerun(open_as) -> None:  # noqa: ANN001
    page = open_as("operator")
    _open_failed_log(page)
    canvas = page.locator(".echarts-box canvas").first.bounding_box()
    assert canvas and canvas["width"] > 400 and canvas["height"] > 400
    # the option drawn holds the four states' series, the running lines and the platform star
    names = page.evaluate("() => echarts.getInstanceByDom(document.querySelector('.echarts-box'))"
                          ".getOption().series.map(s => s.name)")
    assert {"正常", "运行中", "失败", "离线", "运行中任务", "数据中心平台"} <= set(names)
    assert "失败" in page.inner_text("#ex-log-head")
    assert page.locator("#ex-rerun-btn").is_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "exchange-operator.png"), full_page=True)
    # confirm → one command, its state shown
    page.on("dialog", lambda d: d.accept())
    page.click("#ex-rerun-btn")
    page.wait_for_selector(".ex-cmd-requested", timeout=10_000)
    assert "已请求" in page.inner_text(".ex-cmd")
    assert page.locator("#ex-rerun-btn").is_disabled()


def test_admin_sees_logs_without_rerun_and_can_edit_settings(open_as) -> None:  # noqa: ANN001
    page = open_as("admin")
    _open_failed_log(page)
    assert page.locator("#ex-rerun-btn").count() == 0
    assert "仅运维人员可重跑" in page.inner_text("#ex-rerun-box")
    assert page.locator("#ex-set-save").is_enabled()
    page.screenshot(path=str(SHOTS / "exchange-admin.png"))


def test_leader_is_refused_exchange(open_as) -> None:  # noqa: ANN001
    page = open_as("leader")
    # fetched with the page's session (a navigation to a 403 would log a console error by design)
    resp = page.request.get(page.base_url + "/exchange")
    assert resp.status == 403
    assert "ex-nodes" not in resp.text()
    assert page.locator("#ex-nodes").count() == 0
