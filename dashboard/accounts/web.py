"""Login, server-side sessions, access control, logs and security headers on the Flask server.

Every request passes ``_gate``: only the login page (and its own CSS), the password page's form posts and the
node API (bearer tokens, checked by the exchange blueprint) are reachable without a session. Pages of another role
→ 403; Dash callbacks are checked by the module that defines them (``roles.CALLBACK_MODULE_ROLES``) and, for the
page router, by the page path asked for.
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

import dash
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from core.config import Config
from core.masking import mask_text
from core.roles import (
    DASH_INTERNAL_MODULES,
    ROLE_ZH,
    SCREEN,
    normalize_path,
    roles_for_callback_module,
    roles_for_path,
)
from dashboard.accounts import service, session_cache
from dashboard.accounts.access import AccessDenied, CrossSiteRequest, same_origin
from dashboard.accounts.audit import service_log_buffer
from layouts._nav import home_path

PUBLIC_PATHS = {"/login"}
PUBLIC_PREFIXES = ("/auth/static/",)
DASH_CALLBACK_PATH = "/_dash-update-component"
# Non-page paths Dash serves (resources, layout, dependencies) and our own static bundles.
NON_PAGE_PREFIXES = ("/_dash-", "/_reload-hash", "/_favicon.ico", "/assets/", "/vendor/", "/auth/", "/api/",
                     "/login", "/logout", "/password")
DEFAULT_LOGIN_RATE_LIMIT = "10 per minute;100 per hour"
LOGIN_REFUSED = "用户名或密码错误（连续 5 次错误账号将锁定 30 分钟；如仍无法登录请稍后再试或联系系统管理员）"


def _api_public_prefixes() -> tuple[str, ...]:
    """Node-API routes authenticate by bearer token, not by user session (their blueprint checks the token)."""
    try:
        from dashboard.exchange import api as exchange_api
        prefix = getattr(exchange_api, "PUBLIC_PREFIX", None) or getattr(exchange_api, "API_PREFIX", None)
    except Exception:  # noqa: BLE001
        prefix = None
    return tuple({prefix or "/api/exchange/", "/api/exchange/"})


class LoggedIn(UserMixin):
    """The user of this request; ``get_id`` is the session id, so the cookie names a server-side session."""

    def __init__(self, sid: str, user) -> None:  # noqa: ANN001
        self.sid = sid
        self.user_id = user.id
        self.username = user.username
        self.display_name = mask_text(user.display_name)
        self.role = user.role
        self.inst_codes = tuple(user.inst_codes)
        self.change_required = service.password_change_required(user)

    def get_id(self) -> str:
        return self.sid


class _RequestSecureSessionInterface(SecureCookieSessionInterface):
    """Session cookie marked Secure whenever the request came over HTTPS (or when configured)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


# ---------------------------------------------------------------- helpers

def _cfg() -> Config:
    return current_app.config["DASHBOARD_CONFIG"]


def _csrf_token() -> str:
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_token() -> str:
    """The session's form CSRF token (login, password and logout forms; the shell's 退出 button); '' outside a
    request."""
    from flask import has_request_context
    return _csrf_token() if has_request_context() else ""


def _check_form_csrf() -> bool:
    sent = request.form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(sent, session.get("_csrf", "")) and same_origin(strict=False)


_CTRL = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a same-site relative path (``/…``), else None (no open redirects)."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//") or _CTRL.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _is_interval_only() -> bool:
    """True for a callback fired only by a dcc.Interval tick (auto-refresh is not user activity)."""
    if request.path != DASH_CALLBACK_PATH:
        return False
    body = request.get_json(silent=True) or {}
    changed = body.get("changedPropIds") or []
    return bool(changed) and all(str(p).endswith(".n_intervals") for p in changed)


def _wants_json() -> bool:
    return request.path.startswith(("/_dash-", "/api/")) or request.is_json


def _page_roles(path: str) -> frozenset[str] | None:
    """Roles for a page path; a registered Dash page missing from the role map is open to nobody."""
    roles = roles_for_path(path)
    if roles is not None:
        return roles
    for page in dash.page_registry.values():
        template = page.get("path_template") or page.get("path")
        if template and re.fullmatch(re.sub(r"<[^/>]+>", "[^/]+", re.escape(template)), path):
            if page.get("module", "").endswith("not_found_404"):
                return None
            return frozenset()
    return None


def _callback_info(app: dash.Dash, body: dict) -> tuple[str, str]:
    """(module, output id) of the callback a Dash request asks for ('' module when unknown)."""
    output = str(body.get("output", ""))
    entry = app.callback_map.get(output)
    if entry is None:
        return "", output
    fn = entry.get("callback")
    module = getattr(getattr(fn, "__wrapped__", fn), "__module__", "") or getattr(fn, "__module__", "")
    return module, output


# layouts._components.error_card's class, as it appears in a callback's JSON answer
_ERROR_CARD_RE = re.compile(rb'"className":\s*"(?:[^"]*\s)?error-card[\s"]')


def _renders_error_card(response: Response) -> bool:
    """True when a callback's answer contains an error card (the callback failed and said so on the page)."""
    if response.is_streamed or response.direct_passthrough:
        return False
    return bool(_ERROR_CARD_RE.search(response.get_data()))


def _router_path(body: dict) -> str | None:
    for item in body.get("inputs") or []:
        if isinstance(item, dict) and item.get("id") == "_pages_location" and item.get("property") == "pathname":
            return normalize_path(str(item.get("value") or "/"))
    return None


def _deny(status: int, message: str) -> Response:
    if _wants_json():
        return Response(jsonify({"error": message}).get_data(), status=status, mimetype="application/json")
    if status == 401:
        nxt = request.full_path if request.query_string else request.path
        return redirect(url_for("accounts.login") + "?" + urlencode({"next": nxt}))
    info_role = getattr(current_user, "role", "") if current_user.is_authenticated else ""
    html = render_template("forbidden.html", title="无权访问", message=None,
                           role_zh=ROLE_ZH.get(info_role, "未登录"), home=home_path(info_role),
                           csrf_token=_csrf_token())
    return Response(html, status=status, mimetype="text/html")


# ---------------------------------------------------------------- install

def init_accounts(app: dash.Dash, cfg: Config) -> None:
    """Install login, server-side sessions, role gating, logs, rate limit and security headers on the server."""
    server: Flask = app.server
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        SESSION_COOKIE_NAME="ygt_session", PERMANENT_SESSION_LIFETIME=service.ABSOLUTE_LIFETIME,
        REMEMBER_COOKIE_DURATION=0, DEBUG=False,
        LOGIN_RATE_LIMIT=login_rate_limit_from_env(),
    )
    server.session_interface = _RequestSecureSessionInterface()
    if os.environ.get("TRUST_PROXY") == "1":
        from werkzeug.middleware.proxy_fix import ProxyFix
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    login_manager = LoginManager()
    login_manager.session_protection = "basic"
    login_manager.init_app(server)

    @login_manager.user_loader
    def _load(sid: str) -> LoggedIn | None:
        user = session_cache.session_user(_cfg(), sid, touch=not _is_interval_only())
        return LoggedIn(sid, user) if user is not None else None

    public_api = _api_public_prefixes()
    buffer = service_log_buffer(cfg.app_db_url)
    bp = Blueprint("accounts", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/auth/static")

    limiter = _make_limiter(server, cfg)

    @bp.route("/login", methods=["GET", "POST"])
    @limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], on_breach=_rate_limited)
    def login():
        nxt = safe_next(request.values.get("next")) or ""
        if request.method == "GET":
            if current_user.is_authenticated:
                return redirect(nxt or home_path(current_user.role))
            # expired=1: sent here by assets/session_expiry.js when a page's callbacks met an ended session
            message = "会话已过期，请重新登录" if request.args.get("expired") == "1" else None
            return render_template("login.html", title="用户登录", message=message, next=nxt, username="",
                                   csrf_token=_csrf_token())
        username = request.form.get("username", "")[:64]
        if not _check_form_csrf():
            return render_template("login.html", title="用户登录", message="页面已过期，请重新登录", next=nxt,
                                   username=username, csrf_token=_csrf_token()), 400
        user, result = service.authenticate(_cfg(), username, request.form.get("password", ""),
                                            ip=request.remote_addr or "",
                                            user_agent=request.headers.get("User-Agent", ""))
        if user is None:
            # One message for unknown, wrong and locked alike: the page must not tell which accounts exist
            message = LOGIN_REFUSED
            return render_template("login.html", title="用户登录", message=message, next=nxt,
                                   username=username, csrf_token=_csrf_token()), 401
        session.clear()   # a fresh session on login (no fixation)
        sid = service.start_session(_cfg(), user.id, ip=request.remote_addr or "")
        if user.role == SCREEN:     # the wall's PC: a long-lived device session an administrator can revoke
            from dashboard.accounts.devices import register_device
            register_device(_cfg(), service._sid_hash(sid), user.id, ip=request.remote_addr or "",
                            user_agent=request.headers.get("User-Agent", ""))
        session.permanent = True
        login_user(LoggedIn(sid, user))
        _csrf_token()
        if service.password_change_required(user):
            return redirect(url_for("accounts.password", next=nxt) if nxt else url_for("accounts.password"))
        return redirect(nxt or home_path(user.role))

    @bp.route("/logout", methods=["GET", "POST"])
    def logout():
        # Only a POST with the session's CSRF token logs out: a GET (a link or an <img> on a foreign page) only
        # shows the confirm page, so no other site can end a user's session.
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login"))
        if request.method == "GET" or not _check_form_csrf():
            message = None if request.method == "GET" else "页面已过期，请再次点击退出登录"
            html = render_template("logout.html", title="退出登录", message=message, csrf_token=_csrf_token(),
                                   home=home_path(current_user.role))
            return Response(html, status=200 if request.method == "GET" else 400, mimetype="text/html")
        service.end_session(_cfg(), current_user.sid, "logout")
        session_cache.forget(current_user.sid)
        logout_user()
        session.clear()
        return redirect(url_for("accounts.login"))

    @bp.route("/password", methods=["GET", "POST"])
    def password():
        nxt = safe_next(request.values.get("next")) or ""
        forced = current_user.change_required
        title = "首次登录或密码已过期，请修改密码" if forced else "修改密码"
        if request.method == "GET":
            return render_template("password.html", title=title, message=None, next=nxt, csrf_token=_csrf_token())
        if not _check_form_csrf():
            return render_template("password.html", title=title, message="页面已过期，请重试", next=nxt,
                                   csrf_token=_csrf_token()), 400
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            message = "两次输入的新密码不一致"
        else:
            try:
                service.change_own_password(_cfg(), current_user.user_id, request.form.get("old_password", ""), new,
                                            keep_sid=current_user.sid)
            except service.AccountError as exc:
                message = str(exc)
            else:
                return redirect(nxt or home_path(current_user.role))
        return render_template("password.html", title=title, message=message, next=nxt,
                               csrf_token=_csrf_token()), 400

    server.register_blueprint(bp)

    @server.before_request
    def _gate():
        g.t0 = time.perf_counter()
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path.startswith(public_api):
            return None
        if path == "/logout":
            return None     # the view answers (login page when anonymous, never a login?next=/logout loop)
        if not current_user.is_authenticated:
            return _deny(401, "未登录或会话已过期")
        if current_user.change_required and path != "/password":
            if _wants_json():
                return _deny(403, "须先修改密码")
            return redirect(url_for("accounts.password"))
        role = current_user.role
        if path == DASH_CALLBACK_PATH:
            if request.method != "POST" or not request.is_json:
                return _deny(403, "拒绝非 JSON 请求")
            if request.headers.get("Origin") and not same_origin(strict=False):
                return _deny(403, "拒绝跨站请求")
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return _deny(400, "请求格式错误")
            module, output = _callback_info(app, body)
            g.service_call = (module.rsplit(".", 1)[-1] or "unknown", output)
            if module.startswith(DASH_INTERNAL_MODULES):
                target = _router_path(body)
                if "_pages_content.children" not in output or target is None:
                    return _deny(403, "无权调用")
                g.service_call = ("page:" + target, output)
                roles = _page_roles(target)
                if roles is not None and role not in roles:
                    return _deny(403, "无权访问此页面")
                return None
            if role not in roles_for_callback_module(module):
                return _deny(403, "无权调用")
            return None
        if request.method not in ("GET", "HEAD") and request.headers.get("Origin") and not same_origin(False):
            return _deny(403, "拒绝跨站请求")
        if request.method in ("GET", "HEAD") and not path.startswith(NON_PAGE_PREFIXES):
            roles = _page_roles(path)
            if roles is not None and role not in roles:
                return _deny(403, "无权访问此页面")
        return None

    @server.after_request
    def _after(response: Response) -> Response:
        path = request.path
        if path == DASH_CALLBACK_PATH or path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
            module, function = g.get("service_call") or (
                "api:" + "/".join(path.split("/")[2:3]), request.method + " " + (request.url_rule.rule
                                                                                 if request.url_rule else path))
            started = g.get("t0")
            duration = (time.perf_counter() - started) * 1000 if started else 0.0
            user = getattr(current_user, "username", "") if current_user and current_user.is_authenticated else ""
            success = None
            if path == DASH_CALLBACK_PATH and response.status_code == 200 and _renders_error_card(response):
                success = False     # the callback caught its error and drew an error card: a failure all the same
            try:
                buffer.add(user, module, function, response.status_code, duration, success=success)
            except Exception:
                current_app.logger.exception("service log write failed")
        return response

    @server.errorhandler(AccessDenied)
    @server.errorhandler(CrossSiteRequest)
    def _forbidden(exc):  # noqa: ANN001
        return _deny(403, exc.description or "无权访问")

    _install_headers(app, server)


def _rate_limited(limit) -> Response:  # noqa: ANN001  (flask_limiter RequestLimit)
    """The answer to a login POST over the per-IP limit: the login page's style in Chinese, 429 + Retry-After,
    and a login-log row (result ``rate_limited``) so that the auditor sees the burst."""
    retry_after = max(1, int(round(limit.reset_at - time.time())))
    username = (request.form.get("username", "") or "")[:64]
    try:
        service.record_login_attempt(_cfg(), username, "rate_limited", ip=request.remote_addr or "",
                                     user_agent=request.headers.get("User-Agent", ""))
    except Exception:
        current_app.logger.exception("login log write failed")
    wait = f"{retry_after} 秒" if retry_after < 120 else f"{(retry_after + 59) // 60} 分钟"
    html = render_template("ratelimited.html", title="登录尝试过于频繁", wait=wait,
                           message=f"本机所在网络的登录尝试过于频繁，请 {wait}后再试。")
    resp = Response(html, status=429, mimetype="text/html")
    resp.headers["Retry-After"] = str(retry_after)
    return resp


def login_rate_limit_from_env() -> str:
    """``LOGIN_RATE_LIMIT`` (Flask-Limiter syntax, e.g. ``30 per minute;300 per hour``) or the default; an
    unparsable value stops the start rather than fail every login later."""
    value = os.environ.get("LOGIN_RATE_LIMIT", "").strip() or DEFAULT_LOGIN_RATE_LIMIT
    from limits import parse_many
    try:
        if not parse_many(value):
            raise ValueError(value)
    except ValueError as exc:
        raise ValueError(f"LOGIN_RATE_LIMIT={value!r} is not a rate limit such as '10 per minute;100 per hour'"
                         ) from exc
    return value


def limiter_storage_uri(cfg: Config) -> str:
    """Where the login limiter counts: Redis when CACHE_URL is one (shared by every server), else a SQLite file
    in DATA_DIR (shared by the workers of one host; see ``ratelimit_store``)."""
    if cfg.cache_url.startswith(("redis://", "rediss://")):
        return cfg.cache_url
    from dashboard.accounts import ratelimit_store  # noqa: F401  (registers the ycty-sqlite storage scheme)
    return f"ycty-sqlite:///{cfg.data_dir / 'ratelimit.db'}"


def _make_limiter(server: Flask, cfg: Config):
    """Per-IP limiter whose counts all workers share (Redis, or a SQLite file beside the app database)."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    storage = limiter_storage_uri(cfg)
    return Limiter(get_remote_address, app=server, storage_uri=storage, default_limits=[],
                   headers_enabled=True, strategy="fixed-window")


def _install_headers(app: dash.Dash, server: Flask) -> None:
    """CSP default-src 'self' (script hashes of Dash's inline scripts), frame denial, nosniff, referrer policy."""
    from flask_talisman import Talisman
    csp = {
        "default-src": "'self'",
        "script-src": ["'self'"],
        # Plotly and AG Grid inject <style> elements at run time; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "worker-src": ["'self'", "blob:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    talisman = Talisman(server, force_https=False, strict_transport_security=True,
                        session_cookie_secure=False, session_cookie_http_only=True,
                        frame_options="DENY", content_security_policy=csp,
                        referrer_policy="same-origin", x_content_type_options=True)
    state = {"n": -1}

    @server.before_request
    def _refresh_script_hashes() -> None:
        # Dash adds inline scripts (the renderer, clientside callbacks, the pages title callback) up to the first
        # request; hash them once they are all known, again only if their number changes.
        from dash import _callback
        n = len(app._inline_scripts) + len(_callback.GLOBAL_INLINE_SCRIPTS)
        if n != state["n"]:
            talisman.content_security_policy["script-src"] = ["'self'"] + list(app.csp_hashes())
            state["n"] = len(app._inline_scripts)
