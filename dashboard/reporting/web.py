"""Routes of the report centre (logged-in users; role and scope checked here on every call):

``POST /api/reports/generate``   JSON {month, org?, format} → 202 {id}; starts background generation
``GET  /api/reports/<id>``       state, progress, message of one report
``GET  /api/reports/<id>/download``  the file
``GET  /api/reports``            reports the user may see
A manager asking for another institution's (or the county's) report gets 403 and an audit row ``report.denied``.
"""
from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Flask, abort, jsonify, request, send_file

from core.config import Config
from core.roles import LEADER, MANAGER
from dashboard.accounts.access import check_same_origin, current_scope, current_user_info, require_roles
from dashboard.reporting import service


def init_reports_web(server: Flask, cfg: Config) -> None:
    """Register the report-centre routes on ``server``."""
    bp = Blueprint("reports", __name__, url_prefix="/api/reports")

    def _user() -> str:
        info = current_user_info()
        return info["username"] if info else ""

    @bp.post("/generate")
    def generate():
        require_roles(LEADER, MANAGER)
        check_same_origin(strict=True)
        body = request.get_json(silent=True) or {}
        month, org, fmt = body.get("month"), body.get("org") or None, body.get("format", "docx")
        if not isinstance(month, str):
            return jsonify({"error": "缺少报表月份 month (YYYY-MM)"}), 400
        scope = current_scope()
        try:
            report_id = service.start(cfg, month, fmt, org, scope, _user())
        except service.ReportDenied:
            raise
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        service.run_in_background(cfg, report_id, scope)
        return jsonify({"id": report_id}), 202

    @bp.get("/<int:report_id>")
    def status(report_id: int):
        require_roles(LEADER, MANAGER)
        row = service.get_report(cfg, report_id)
        if row is None:
            abort(404)
        service.check_access(cfg, current_scope(), row.org_code, f"查看报表#{report_id}", _user())
        return jsonify(asdict(row))

    @bp.get("/<int:report_id>/download")
    def download(report_id: int):
        require_roles(LEADER, MANAGER)
        path, name = service.report_file(cfg, report_id, current_scope(), _user())
        return send_file(path, as_attachment=True, download_name=name, max_age=0)

    @bp.get("")
    def listing():
        require_roles(LEADER, MANAGER)
        return jsonify([asdict(r) for r in service.list_reports(cfg, current_scope())])

    server.register_blueprint(bp)
