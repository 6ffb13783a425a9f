"""预警规则 (/admin/alerts) in real headless Chromium on the session's live server: the administrator changes a
rule's threshold (one audit row; ``alerts rules`` shows the new value), bad input is refused in Chinese and
changes nothing, disabling asks first, a channel is saved and its 发送测试消息 reaches a real local robot; every
other role gets 403 on the page and on each of its callbacks."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.fixtures_web import answer_dialog
from tests.test_alerts_notify import _Robot, robot  # noqa: F401 — the local robot receiver fixture

IDLE = "() => !document.querySelector('[data-dash-is-loading=\"true\"]')"
RULE = "R05"


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IDLE, timeout=30_000)


def _audit_rows(cfg, action: str, target: str) -> list:
    from dashboard.accounts.models import AuditLog
    from dashboard.appdb import session_factory
    with session_factory(cfg.app_db_url)() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.target == target)
                              .order_by(AuditLog.id)))


def _rule(cfg, code: str):
    from dashboard.alerts.run import rules_table
    return next(r for r in rules_table(cfg) if r.code == code)


def _cli_rules(cfg, monkeypatch) -> str:
    from app import cli
    monkeypatch.setenv("DATA_DIR", str(cfg.data_dir))
    monkeypatch.setenv("MART_URL", cfg.mart_url)
    monkeypatch.setenv("APP_DB_URL", cfg.app_db_url)
    res = CliRunner().invoke(cli, ["alerts", "rules"])
    assert res.exit_code == 0, res.output
    return next(line for line in res.output.splitlines() if line.startswith(RULE + "\t"))


def _pick(page, selector: str, text: str) -> None:
    """Choose the option containing ``text`` by clicking it (typing into the search box raced the popover's
    opening on a loaded machine); tried three times before failing."""
    shown = f"() => document.querySelector('{selector}').innerText.includes('{text}')"
    for attempt in range(3):
        page.click(selector)
        option = page.locator(".dash-dropdown-option", has_text=text).first
        try:
            option.wait_for(state="visible", timeout=10_000)
            option.click()
            page.wait_for_function(shown, timeout=10_000)
            return
        except Exception:   # the popover closed or re-rendered: open it again
            page.keyboard.press("Escape")
            if attempt == 2:
                raise


@pytest.mark.browser
def test_admin_edits_a_threshold_once_audited_and_the_cli_sees_it(page_as, app_cfg, monkeypatch) -> None:
    before = _rule(app_cfg, RULE)
    params = json.loads(before.params)
    old = int(params.get("min_denominator", 30))
    new = old + 50
    audits = len(_audit_rows(app_cfg, "alert_rule.save", f"预警规则 {RULE}"))
    page = page_as("admin")
    try:
        page.goto(page.base_url + "/admin/alerts")
        _settle(page)
        page.wait_for_function("() => document.querySelector('#alert-admin-rules').innerText.includes('R05')",
                               timeout=30_000)
        _pick(page, "#alert-admin-rule", RULE)
        field = page.locator("#alert-admin-p-min-denominator")
        field.wait_for(state="visible", timeout=20_000)
        page.wait_for_function(f"() => document.querySelector('#alert-admin-p-min-denominator').value === '{old}'",
                               timeout=20_000)
        assert page.locator("#alert-admin-p-n").is_hidden()          # a worsening-rule parameter: not shown
        # bad input: a Chinese refusal, nothing saved, nothing audited
        field.fill("很多")
        page.click("#alert-admin-save")
        page.wait_for_function("() => document.querySelector('#alert-admin-rule-result').innerText.includes('未保存')",
                               timeout=30_000)
        assert "须为数字" in page.inner_text("#alert-admin-rule-result")
        assert _rule(app_cfg, RULE).params == before.params
        # the real change
        field.fill(str(new))
        page.click("#alert-admin-save")
        page.wait_for_function("() => document.querySelector('#alert-admin-rule-result').innerText"
                               f".includes('规则 {RULE} 已保存')", timeout=30_000)
        _settle(page)
        rows = _audit_rows(app_cfg, "alert_rule.save", f"预警规则 {RULE}")
        assert len(rows) == audits + 1
        entry = rows[-1]
        assert entry.actor_role == "admin"
        assert json.loads(json.loads(entry.after)["params"])["min_denominator"] == new
        assert json.loads(json.loads(entry.before)["params"])["min_denominator"] == old
        assert f'"min_denominator": {new}' in _cli_rules(app_cfg, monkeypatch)
        page.wait_for_function("() => document.querySelector('#alert-admin-rules').innerText"
                               f".includes('最小样本量（分母或例数） {new}')", timeout=30_000)
        # saving again without a change writes nothing
        page.click("#alert-admin-save")
        page.wait_for_function("() => document.querySelector('#alert-admin-rule-result').innerText"
                               ".includes('没有修改')", timeout=30_000)
        assert len(_audit_rows(app_cfg, "alert_rule.save", f"预警规则 {RULE}")) == audits + 1
        # disabling asks first; dismissing changes nothing
        message = answer_dialog(page, "#alert-admin-toggle", accept=False)
        assert "停用" in message and RULE in message
        page.wait_for_timeout(800)
        assert _rule(app_cfg, RULE).enabled
    finally:
        from dashboard.alerts.admin import save_rule
        save_rule(app_cfg, RULE, {"params": before.params})


@pytest.mark.browser
def test_admin_saves_a_channel_and_the_test_message_arrives(page_as, app_cfg, robot) -> None:
    from dashboard.alerts.admin import delete_channel
    name = "值班群"
    page = page_as("admin")
    try:
        page.goto(page.base_url + "/admin/alerts")
        _settle(page)
        page.fill("#alert-admin-ch-name", name)
        _pick(page, "#alert-admin-ch-kind", "企业微信")
        page.fill("#alert-admin-ch-target", "ftp://nowhere")
        page.click("#alert-admin-ch-save")
        page.wait_for_function("() => document.querySelector('#alert-admin-ch-result').innerText.includes('未保存')",
                               timeout=30_000)
        assert "Webhook" in page.inner_text("#alert-admin-ch-result")
        page.fill("#alert-admin-ch-target", f"{robot}/wecom?key=secret-1234")
        page.click("#alert-admin-ch-save")
        page.wait_for_function("() => document.querySelector('#alert-admin-ch-result').innerText.includes('已保存')",
                               timeout=30_000)
        assert len(_audit_rows(app_cfg, "alert_channel.save", f"通知渠道 {name}")) == 1
        page.wait_for_function("() => document.querySelector('#alert-admin-channels').innerText.includes('****1234')",
                               timeout=30_000)
        assert "secret-1234" not in page.inner_text("#alert-admin-channels")
        page.click("#alert-admin-ch-test")
        page.wait_for_function("() => document.querySelector('#alert-admin-ch-result').innerText.includes('测试消息已发送')",
                               timeout=30_000)
        path, body = _Robot.received[-1]
        assert path == "/wecom?key=secret-1234" and "测试消息" in body["markdown"]["content"]
        # deleting asks first
        message = answer_dialog(page, "#alert-admin-ch-delete", accept=True)
        assert name in message and "删除" in message
        page.wait_for_function("() => document.querySelector('#alert-admin-ch-result').innerText.includes('已删除')",
                               timeout=30_000)
        assert len(_audit_rows(app_cfg, "alert_channel.delete", f"通知渠道 {name}")) == 1
    finally:
        try:
            delete_channel(app_cfg, name)
        except ValueError:
            pass


def test_only_the_admin_reaches_the_page_and_its_callbacks(flask_app, client_as) -> None:
    from tests.test_security_matrix import _module, callback_body
    keys = [k for k, v in flask_app.callback_map.items() if "callback" in v
            and _module(v).endswith("callbacks.admin_alerts")]
    assert len(keys) >= 8
    admin = client_as("admin")
    assert admin.get("/admin/alerts").status_code == 200
    for role in ("leader", "manager", "operator", "auditor", "screen"):
        client = client_as(role)
        assert client.get("/admin/alerts").status_code == 403, role
        for key in keys:
            status = client.post("/_dash-update-component", json=callback_body(key, flask_app.callback_map[key]),
                                 headers={"Origin": "http://localhost"}).status_code
            assert status == 403, (role, key, status)
    # the admin's read callbacks answer (the change callbacks need a click, so they do nothing)
    load = next(k for k in keys if "alert-admin-rules.rowData" in k)
    r = admin.post("/_dash-update-component", json=callback_body(load, flask_app.callback_map[load]),
                   headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and "R05" in r.get_data(as_text=True)
