"""Dash/Flask application factory."""
from __future__ import annotations

from pathlib import Path

import dash
from flask import Flask, abort, send_file

from core.config import Config, load_config, secret_key

ROOT = Path(__file__).resolve().parent.parent


def echarts_js_path() -> Path:
    """ECharts bundle taken from an installed registry package (never committed, never from a CDN)."""
    import vizly
    return Path(vizly.__file__).parent / "assets" / "echarts.min.js"


def restrict_files(cfg: Config) -> None:
    """Files this process creates are its owner's only (umask 077), and the mart and a SQLite app database made
    before that rule are set to mode 600: they hold personal data."""
    import os
    os.umask(0o077)
    paths = [cfg.mart_path] if cfg.mart_path is not None else []
    if cfg.app_db_url.startswith("sqlite:///"):
        db = Path(cfg.app_db_url[len("sqlite:///"):].split("?", 1)[0])
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    for path in paths:
        try:
            if path.exists() and path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            pass


def create_app(cfg: Config | None = None) -> dash.Dash:
    """Build the Dash app (pages, callbacks, auth, exchange API) on a fresh Flask server."""
    cfg = cfg or load_config()
    restrict_files(cfg)
    server = Flask(__name__, static_folder=None)
    server.config.update(SECRET_KEY=secret_key(cfg), DASHBOARD_CONFIG=cfg, JSON_AS_ASCII=False)

    from dashboard.appdb import init_app_db
    init_app_db(cfg.app_db_url)
    from dashboard.accounts.access import current_role, current_user_info
    from dashboard.accounts.web import csrf_token
    from dashboard.alerts.store import open_count
    from layouts import request_context

    def alert_count() -> int | None:
        from dashboard.accounts.access import current_scope
        return open_count(get_config().app_db_url, current_scope())
    request_context.install(user_info=current_user_info, role=current_role, csrf_token=csrf_token,
                            alert_count=alert_count)
    from mart.db import remove_dead_copies
    remove_dead_copies(cfg)     # write copies of loads killed before they swapped (their process is gone)
    from core import cache as core_cache
    from queries.periods import install_versioner
    core_cache.init_app(server, cfg.cache_url)   # the one result cache: engine, forecasts, maps, callback outputs
    install_versioner()                          # its keys carry the data version of the tables each entry read
    from dashboard.exchange.measures import install as install_exchange_measures
    install_exchange_measures(cfg)          # the exchange indicators' measure source for the engine

    @server.get("/vendor/echarts.min.js")
    def _echarts():
        path = echarts_js_path()
        if not path.exists():
            abort(404)
        return send_file(path, mimetype="application/javascript", max_age=86400)

    from dashboard import compress_cache
    compress_cache.configure(server)        # identical response bodies are compressed once (per process)
    app = dash.Dash(
        __name__, server=server, use_pages=True, pages_folder=str(ROOT / "layouts"),
        assets_folder=str(ROOT / "assets"), title="医共体运营监测平台", update_title=None,
        suppress_callback_exceptions=True, serve_locally=True,
        compress=True,   # flask-compress: callback JSON shrinks ~10× (529 kB → 54 kB for one pass over all callbacks)
        external_scripts=["/vendor/echarts.min.js"],  # served above; used by assets/echarts_bridge.js
        # phones lay the page out at their own width (assets/mobile.css), not at a 980 px desktop width
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    compress_cache.install(server)          # right after flask-compress: digests the body it compresses
    from layouts._shell import shell
    app.layout = shell

    from dashboard import callbacks as _cb  # noqa: F401
    from dashboard.callbacks import register_all
    register_all(app)
    from metrics.forecast import preload
    preload()                   # the trend's forecast library, loaded with the app rather than on a first click
    from dashboard.accounts.web import init_accounts
    init_accounts(app, cfg)
    from dashboard.exchange.api import init_exchange_api
    init_exchange_api(server, cfg)
    from dashboard.reporting.web import init_reports_web
    init_reports_web(server, cfg)
    from dashboard.alerts.scheduler import start_scheduler
    start_scheduler(cfg)        # rule evaluation on a schedule (one runner at a time across workers)
    return app


def setup_before_serving(app: dash.Dash) -> None:
    """Do Dash's first-request setup now, before the server takes requests (the production server's workers).

    Dash sets its server up (component script paths, callback map) on the first request and marks that done
    *before* doing it: another request thread meanwhile finds no registered component library and answers 500
    ("dash" is not a registered library), a blank page right after a (re)start. Callbacks and pages must all be
    registered before this (tests that add pages after ``create_app`` do not call it).
    """
    with app.server.test_request_context("/"):
        app._setup_server()


def get_config(server: Flask | None = None) -> Config:
    """The Config of the running app (inside a request or app context)."""
    from flask import current_app
    return (server or current_app).config["DASHBOARD_CONFIG"]
