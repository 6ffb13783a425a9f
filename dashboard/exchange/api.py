"""Exchange-node REST API (DESIGN §7): bearer-token nodes report heartbeats, runs and logs and fetch re-run commands.

Every route lives under PUBLIC_PREFIX: it needs no user session and no CSRF/Origin check (nodes authenticate
with ``Authorization: Bearer <token>``, not cookies); the accounts code exempts this prefix.
Each request is one transaction: it is stored whole or not at all.

Log lines: ``POST /runs/<run_id>/logs`` takes a list (or ``{"logs": [...]}``) of at most 1000
``{"ts", "level", "message", "seq"?}``; ``seq`` (integer 0…10⁹) is the node's line number within the run. A line
whose seq the run already has is skipped, so a POST retried after a timeout stores nothing twice; lines without
seq are stored every time. Answer 201 ``{"run_id", "stored": <new lines>, "duplicates": <skipped lines>}``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from core.config import Config
from dashboard.appdb import session_factory
from dashboard.exchange import service
from dashboard.exchange.schemas import RUN_ID_PATTERN, AckIn, HeartbeatIn, LogsIn, RunIn, field_errors

PUBLIC_PREFIX = "/api/exchange/"
MAX_BODY_BYTES = 2 * 1024 * 1024   # 1000 log lines of 4000 chars fit; anything bigger is refused unread
MAX_DEPTH = 8                       # the deepest valid body is {"logs": [{...}]}: 3 levels
DEFAULT_NODE_RATE_LIMIT = "600 per minute"   # a node sends a heartbeat a minute plus runs and log batches


def _errors(status: int, errors: list[dict[str, str]]) -> Response:
    resp = jsonify({"errors": errors})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="exchange"'
    return resp


def _json_body() -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise service.ApiError(413, "body", f"body larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=True)      # kept: a request retried after a race reads it again
    if len(raw) > MAX_BODY_BYTES:
        raise service.ApiError(413, "body", f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise service.ApiError(400, "body", f"invalid JSON: {exc}") from None
    if _nesting(text) > MAX_DEPTH:
        raise service.ApiError(400, "body", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise service.ApiError(400, "body", f"invalid JSON: {str(exc)[:200]}") from None


def _nesting(text: str) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings not counted), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _parse(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise service.ApiError(400, "body", "a JSON object is expected")
    return model.model_validate(data)


def init_exchange_api(server: Flask, cfg: Config) -> None:
    """Register the /api/exchange routes."""
    bp = Blueprint("exchange_api", __name__, url_prefix=PUBLIC_PREFIX.rstrip("/"))
    factory = session_factory(cfg.app_db_url)

    def node_route(fn: Callable[..., Any]) -> Callable[..., Any]:
        """Authenticate the bearer token, run ``fn(session, node, ...)`` in one transaction, map errors."""
        def wrapper(**kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _errors(401, [{"field": "Authorization", "message": "bearer token required"}])
            for attempt in (1, 2):
                with factory() as s:
                    try:
                        with s.begin():
                            node = service.node_for_token(s, token.strip())
                            if node is None:
                                return _errors(401, [{"field": "Authorization", "message": "invalid token"}])
                            g.exchange_node_code = node.code
                            if attempt == 1 and not _within_rate(node.code):
                                resp = _errors(429, [{"field": "node", "message":
                                                      f"too many requests from node {node.code}; slow down"}])
                                resp.headers["Retry-After"] = "60"
                                return resp
                            return fn(s, node, **kwargs)
                    except service.ApiError as exc:
                        return _errors(exc.status, exc.errors)
                    except ValidationError as exc:
                        return _errors(400, field_errors(exc))
                    except RecursionError:
                        return _errors(400, [{"field": "body", "message": "JSON nested too deeply"}])
                    except (IntegrityError, OperationalError):
                        # two identical requests raced to insert one run (or log seq): the other one stored it;
                        # the retry finds the row and answers as for a replay (200), never a 500
                        if attempt == 2:
                            return _errors(409, [{"field": "body", "message": "conflicting concurrent request"}])
            return _errors(409, [{"field": "body", "message": "conflicting concurrent request"}])

        def json_wrapper(**kwargs: Any) -> Any:
            try:
                return wrapper(**kwargs)
            except Exception:
                server.logger.exception("exchange API error on %s", request.path)
                return _errors(500, [{"field": "server", "message": "internal error; the request stored nothing"}])
        json_wrapper.__name__ = fn.__name__
        return json_wrapper

    @bp.post("/heartbeat")
    @node_route
    def heartbeat(s, node):  # noqa: ANN001
        body = _parse(HeartbeatIn, _json_body())
        service.record_heartbeat(s, node, body)
        return Response(status=204)

    @bp.post("/runs")
    @node_route
    def runs(s, node):  # noqa: ANN001
        body = _parse(RunIn, _json_body())
        run, created = service.upsert_run(s, node, body)
        resp = jsonify(service.run_json(run))
        resp.status_code = 201 if created else 200
        return resp

    @bp.post("/runs/<run_id>/logs")
    @node_route
    def logs(s, node, run_id: str):  # noqa: ANN001
        import re
        if not re.match(RUN_ID_PATTERN, run_id):
            raise service.ApiError(400, "run_id", "invalid run id")
        data = _json_body()
        if isinstance(data, list):
            data = {"logs": data}
        elif not (isinstance(data, dict) and set(data) == {"logs"}):
            raise service.ApiError(400, "body", "a JSON list of {ts, level, message, seq?} is expected")
        body = LogsIn.model_validate(data)
        stored, duplicates = service.add_logs(s, node, run_id, body.logs)
        resp = jsonify({"run_id": run_id, "stored": stored, "duplicates": duplicates})
        resp.status_code = 201
        return resp

    @bp.get("/commands")
    @node_route
    def commands(s, node):  # noqa: ANN001
        return jsonify({"commands": service.commands_for_node(s, node)})

    @bp.post("/commands/<int:command_id>/ack")
    @node_route
    def ack(s, node, command_id: int):  # noqa: ANN001
        body = _parse(AckIn, _json_body())
        cmd = service.ack_command(s, node, command_id, body)
        return jsonify(service.command_json(cmd))

    server.register_blueprint(bp)

    from limits import parse_many
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from dashboard.accounts.web import limiter_storage_uri
    node_limits = parse_many(os.environ.get("NODE_RATE_LIMIT", "").strip() or DEFAULT_NODE_RATE_LIMIT)
    node_limiter = FixedWindowRateLimiter(storage_from_string(limiter_storage_uri(cfg)))

    def _within_rate(node_code: str) -> bool:
        """Per-node request budget (shared by every worker: the login limiter's storage)."""
        return all([node_limiter.hit(limit, "exchange-node", node_code) for limit in node_limits])

    @server.before_request
    def _api_paths_answer_json() -> Response | None:
        """Under the API prefix only the API answers: an unknown path is a JSON 404 and a known path with another
        method a JSON 405, never the dashboard's page shell (whose catch-all route would otherwise take any GET
        here — the prefix needs no login)."""
        if not request.path.startswith(PUBLIC_PREFIX) or (request.endpoint or "").startswith(bp.name + "."):
            return None
        adapter = server.url_map.bind_to_environ(request.environ)
        allowed = []
        for method in ("GET", "POST"):
            try:
                endpoint, _args = adapter.match(request.path, method=method)
            except HTTPException:
                continue
            if endpoint.startswith(bp.name + "."):
                allowed.append(method)
        if allowed:
            resp = _errors(405, [{"field": "method", "message": f"use {' or '.join(allowed)}"}])
            resp.headers["Allow"] = ", ".join(allowed)
            return resp
        return _errors(404, [{"field": "path", "message": "no such API route"}])
