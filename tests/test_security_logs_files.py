"""Export audit rows, the service log's timer flush, owner-only files, the common-password blocklist."""
from __future__ import annotations

import json
import time

from sqlalchemy import select

from dashboard.accounts.audit import ServiceLogBuffer
from dashboard.accounts.models import AuditLog, ServiceLog
from dashboard.accounts.service import password_problems, read_demo_accounts
from dashboard.appdb import init_app_db, session_factory
from tests.fixtures_mart import make_config
from tests.test_pages_callbacks import _download, _search, ctx  # noqa: F401  (ctx is a fixture)


def test_an_export_leaves_an_audit_row(app_cfg, client_as, ctx):
    leader = client_as("leader")
    search = _search(ctx, org=ctx["other"])
    _download(leader, search, "csv")
    with session_factory(app_cfg.app_db_url)() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "data.export").order_by(AuditLog.id.desc())).first()
    assert row is not None and row.actor == read_demo_accounts(app_cfg)["leader"][0]
    after = json.loads(row.after)
    assert after["indicator"] == "op_antibiotic_rate" and after["org"] == ctx["other"]
    assert after["period"] == ctx["period"] and after["format"] == "csv" and after["rows"] >= 1


def test_service_log_rows_are_flushed_without_another_request(tmp_path):
    cfg = make_config(tmp_path)
    init_app_db(cfg.app_db_url)
    buf = ServiceLogBuffer(cfg.app_db_url, max_rows=50, max_age=0.3)
    buf.add("someone", "cockpit", "home-cards.children", 200, 12.5)
    deadline = time.monotonic() + 5
    stored = 0
    while time.monotonic() < deadline and not stored:
        time.sleep(0.2)
        with session_factory(cfg.app_db_url)() as s:
            stored = len(s.scalars(select(ServiceLog).where(ServiceLog.username == "someone")).all())
    assert stored == 1


def test_app_database_and_mart_are_owner_only(tmp_path):
    import os

    from dashboard.app import restrict_files
    cfg = make_config(tmp_path)
    init_app_db(cfg.app_db_url)
    cfg.mart_path.write_bytes(b"")
    os.chmod(cfg.mart_path, 0o644)
    os.chmod(tmp_path / "app.db", 0o644)
    restrict_files(cfg)
    for path in (tmp_path / "app.db", cfg.mart_path):
        assert path.stat().st_mode & 0o077 == 0, path
    new = tmp_path / "later-export.csv"
    new.write_text("x")                       # created after: the umask applies
    assert new.stat().st_mode & 0o077 == 0


def test_common_passwords_are_refused() -> None:
    for weak in ("Password1!", "P@ssw0rd2024", "Admin@123", "Qwer1234!", "1qaz@WSX"):
        assert any("常见" in p for p in password_problems(weak)), weak
    assert password_problems("Zq8!rtLm-2x") == []
