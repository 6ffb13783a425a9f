"""Dash/Flask application factory."""
from __future__ import annotations

from pathlib import Path

import dash
from flask import Flask, abort, send_file

from dashboard.config import Config, load_config, secret_key

ROOT = Path(__file__).resolve().parent.parent


def echarts_js_path() -> Path:
    """ECharts bundle taken from an installed registry package (never committed, never from a CDN)."""
    import vizly
    return Path(vizly.__file__).parent / "assets" / "echarts.min.js"


def create_app(cfg: Config | None = None) -> dash.Dash:
    """Build the Dash app (pages, callbacks, auth, exchange API) on a fresh Flask server."""
    cfg = cfg or load_config()
    server = Flask(__name__, static_folder=None)
    server.config.update(SECRET_KEY=secret_key(cfg), DASHBOARD_CONFIG=cfg, JSON_AS_ASCII=False)

    from dashboard.appdb import init_app_db
    init_app_db(cfg.app_db_url)
    from metrics.cache import init_app_cache
    init_app_cache(server, cfg.cache_url)   # engine results, keyed by the mart's data_version

    @server.get("/vendor/echarts.min.js")
    def _echarts():  # noqa: ANN202
        path = echarts_js_path()
        if not path.exists():
            abort(404)
        return send_file(path, mimetype="application/javascript", max_age=86400)

    app = dash.Dash(
        __name__, server=server, use_pages=True, pages_folder=str(ROOT / "layouts"),
        assets_folder=str(ROOT / "assets"), title="医共体运营监测平台", update_title=None,
        suppress_callback_exceptions=True, serve_locally=True, compress=False,
        external_scripts=["/vendor/echarts.min.js"],  # served above; used by assets/echarts_bridge.js
    )
    from layouts._shell import shell
    app.layout = shell

    from dashboard import callbacks as _cb  # noqa: F401
    from dashboard.callbacks import register_all
    register_all(app)
    from dashboard.accounts.web import init_accounts
    init_accounts(app, cfg)
    from dashboard.exchange.api import init_exchange_api
    init_exchange_api(server, cfg)
    from dashboard.alerts.scheduler import start_scheduler
    start_scheduler(cfg)        # rule evaluation on a schedule (one runner at a time across workers)
    return app


def get_config(server: Flask | None = None) -> Config:
    """The Config of the running app (inside a request or app context)."""
    from flask import current_app
    return (server or current_app).config["DASHBOARD_CONFIG"]
