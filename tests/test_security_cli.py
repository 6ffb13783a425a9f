"""The users command group, through the real click CLI of app.py."""
from __future__ import annotations

from click.testing import CliRunner


def _run(tmp_path, monkeypatch, args, stdin=None):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APP_DB_URL", raising=False)
    from app import cli
    return CliRunner().invoke(cli, args, input=stdin)


def _tiny_mart(tmp_path, monkeypatch) -> None:
    """Institutions H001…, T001… in DATA_DIR's mart (the CLI checks --inst codes against it)."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MART_URL", raising=False)
    from core.config import load_config
    from mart.connection import dispose_engines
    from tests.exchange_fixtures import build_tiny_mart
    build_tiny_mart(load_config())
    dispose_engines()


def test_users_commands(tmp_path, monkeypatch):
    _tiny_mart(tmp_path, monkeypatch)
    r = _run(tmp_path, monkeypatch, ["users", "create", "wang", "--role", "manager", "--inst", "H001"], "Strong-Pw1\n")
    assert r.exit_code == 0, r.output
    r = _run(tmp_path, monkeypatch, ["users", "create", "li", "--role", "leader"], "weak\n")
    assert r.exit_code != 0 and "至少 8 位" in r.output
    r = _run(tmp_path, monkeypatch, ["users", "create", "zhao", "--role", "manager"], "Strong-Pw1\n")
    assert r.exit_code != 0 and "至少分配一个机构" in r.output
    r = _run(tmp_path, monkeypatch, ["users", "create", "wang", "--role", "leader"], "Strong-Pw1\n")
    assert r.exit_code != 0 and "已存在" in r.output
    r = _run(tmp_path, monkeypatch, ["users", "list"])
    assert "wang" in r.output and "县人民医院（H001）" in r.output and "须改密" in r.output and "li " not in r.output
    assert _run(tmp_path, monkeypatch, ["users", "unlock", "wang"]).exit_code == 0
    assert _run(tmp_path, monkeypatch, ["users", "unlock", "nobody"]).exit_code != 0
    assert _run(tmp_path, monkeypatch, ["users", "reset-password", "wang"], "Other-Pw22\n").exit_code == 0
    r = _run(tmp_path, monkeypatch, ["users", "purge-logs", "--days", "30"])
    assert r.exit_code != 0 and "184" in r.output
    assert _run(tmp_path, monkeypatch, ["users", "purge-logs"]).exit_code == 0

    from core.config import load_config
    from dashboard.accounts.models import AuditLog
    from dashboard.accounts.service import authenticate
    from dashboard.appdb import session_factory
    cfg = load_config()
    assert authenticate(cfg, "wang", "Other-Pw22")[1] == "success"
    with session_factory(cfg.app_db_url)() as s:
        actions = [a.action for a in s.query(AuditLog).filter(AuditLog.target == "wang")]
    assert actions == ["user.create", "user.unlock", "user.reset_password"]


def test_demo_accounts_written_once(tmp_path, monkeypatch):
    import os
    import stat
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    from core.config import load_config
    from dashboard.accounts.service import ensure_demo_accounts, read_demo_accounts
    cfg = load_config()
    path = ensure_demo_accounts(cfg)
    assert path == cfg.demo_accounts_path and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = read_demo_accounts(cfg)
    assert ensure_demo_accounts(cfg) is None and read_demo_accounts(cfg) == first
    path.unlink()   # lost file: new passwords, and the file tells the truth again
    assert ensure_demo_accounts(cfg) == path
    again = read_demo_accounts(cfg)
    from dashboard.accounts.service import authenticate
    for _role, (user, pw) in again.items():
        assert authenticate(cfg, user, pw)[1] == "success"


def test_create_refuses_unknown_institution(tmp_path, monkeypatch):
    """--inst is checked against the mart's institutions, as in the admin form; nothing is stored when refused."""
    r = _run(tmp_path, monkeypatch, ["users", "create", "early", "--role", "manager", "--inst", "H001"],
             "Strong-Pw1\n")
    assert r.exit_code != 0 and "无法核对机构代码" in r.output       # no mart yet: an unchecked code is refused
    _tiny_mart(tmp_path, monkeypatch)
    r = _run(tmp_path, monkeypatch, ["users", "create", "zhou", "--role", "manager", "--inst", "ZZZ999"],
             "Strong-Pw1\n")
    assert r.exit_code != 0 and "机构代码不存在：ZZZ999" in r.output
    r = _run(tmp_path, monkeypatch, ["users", "create", "zhou", "--role", "manager", "--inst", "T001",
                                     "--inst", "ZZZ999"], "Strong-Pw1\n")
    assert r.exit_code != 0 and "ZZZ999" in r.output and "T001" not in r.output.split("不存在")[1]
    r = _run(tmp_path, monkeypatch, ["users", "create", "zhou", "--role", "manager", "--inst", "T001"],
             "Strong-Pw1\n")
    assert r.exit_code == 0, r.output
    r = _run(tmp_path, monkeypatch, ["users", "set", "zhou", "--inst", "ZZZ999"])
    assert r.exit_code != 0 and "机构代码不存在" in r.output
    from core.config import load_config
    from dashboard.accounts.service import get_user_view
    cfg = load_config()
    assert get_user_view(cfg, "early") is None and get_user_view(cfg, "zhou").inst_codes == ("T001",)


def test_set_keeps_one_active_admin(tmp_path, monkeypatch):
    """The last active administrator can be neither demoted nor disabled from the command line."""
    assert _run(tmp_path, monkeypatch, ["users", "create", "root1", "--role", "admin"], "Strong-Pw1\n").exit_code == 0
    r = _run(tmp_path, monkeypatch, ["users", "set", "root1", "--role", "auditor"])
    assert r.exit_code != 0 and "至少须保留一个启用的系统管理员" in r.output
    r = _run(tmp_path, monkeypatch, ["users", "set", "root1", "--disable"])
    assert r.exit_code != 0 and "至少须保留一个启用的系统管理员" in r.output
    assert _run(tmp_path, monkeypatch, ["users", "create", "root2", "--role", "admin"], "Strong-Pw1\n").exit_code == 0
    assert _run(tmp_path, monkeypatch, ["users", "set", "root1", "--role", "auditor"]).exit_code == 0
    r = _run(tmp_path, monkeypatch, ["users", "set", "root2", "--disable"])
    assert r.exit_code != 0 and "至少须保留一个启用的系统管理员" in r.output
    from core.config import load_config
    from dashboard.accounts.service import get_user_view
    cfg = load_config()
    assert get_user_view(cfg, "root1").role == "auditor" and get_user_view(cfg, "root2").is_active
