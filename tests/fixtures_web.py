"""Web fixtures (owned by the shell/accounts work)."""
from __future__ import annotations

# ====================================================================================================
# Accounts block (owned by the accounts work): app_cfg, flask_app, client_as(role)
# ====================================================================================================
import re as _re
from pathlib import Path as _Path

import pytest


def _tiny_mart_cfg(request: pytest.FixtureRequest):  # noqa: ANN202
    """The tiny demo mart of tests/fixtures_mart.py when that fixture exists, else None."""
    try:
        return request.getfixturevalue("demo_cfg")
    except pytest.FixtureLookupError:
        return None


@pytest.fixture(scope="session")
def app_cfg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Config with its own DATA_DIR and app DB (demo accounts created), reading the tiny demo mart if available."""
    from dashboard.accounts.service import ensure_demo_accounts
    from dashboard.appdb import init_app_db
    from dashboard.config import Config

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
def flask_app(app_cfg):  # noqa: ANN001, ANN201
    """The real Dash app (its Flask server) built by the app factory on ``app_cfg``."""
    from dashboard.app import create_app
    app = create_app(app_cfg)
    # Many tests log in from the same test-client IP: the login rate limit has its own test.
    app.server.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    return app


def login_client(app, username: str, password: str, next_path: str = ""):  # noqa: ANN001, ANN201
    """A Flask test client logged in through the real /login form; returns (client, response)."""
    client = app.server.test_client()
    page = client.get("/login")
    token = _re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_path})
    return client, resp


@pytest.fixture
def client_as(flask_app, app_cfg):  # noqa: ANN001, ANN201
    """``client_as(role)`` → a Flask test client logged in as that role's demo account."""
    from dashboard.accounts.service import read_demo_accounts
    accounts = read_demo_accounts(app_cfg)

    def _make(role: str):  # noqa: ANN202
        username, password = accounts[role]
        client, resp = login_client(flask_app, username, password)
        assert resp.status_code == 302, f"login as {role} failed: {resp.status_code}"
        return client
    return _make

# ==================================================================================================== end accounts
