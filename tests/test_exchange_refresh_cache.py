"""The exchange page's shared refresh answers (dashboard/exchange/ui_cache.py): one computation per window for
everyone of a role, yet a re-run issued shows at the next refresh. Real app database, real callback endpoint."""
from __future__ import annotations

from core import cache as core_cache
from tests.test_exchange_pages import _failed_run, _log_view, _rerun, env  # noqa: F401  (env: the fixture)


def test_log_view_is_shared_but_a_rerun_shows_at_once(env) -> None:
    cfg, _app, _clients = env
    run_id = _failed_run(cfg)
    status, before = _log_view(env, "operator", run_id)
    assert status == 200 and "重跑命令 #" not in before
    for _ in range(2):      # answers are shared per 5-s window: a refresh landing in the next window misses once
        hits = core_cache.STATS["exchange:hit"]
        assert _log_view(env, "operator", run_id) == (status, before)
        if core_cache.STATS["exchange:hit"] > hits:
            break
    assert core_cache.STATS["exchange:hit"] > hits              # a refresh in the same window was the shared answer
    assert _rerun(env, "operator", run_id).status_code == 200
    status, after = _log_view(env, "operator", run_id)
    assert status == 200 and "重跑命令 #" in after and "已请求重跑" in after


def test_roles_do_not_share_an_answer(env) -> None:
    cfg, _app, _clients = env
    run_id = _failed_run(cfg)
    assert "ex-rerun-btn" in _log_view(env, "operator", run_id)[1]
    admin = _log_view(env, "admin", run_id)[1]
    assert "ex-rerun-btn" not in admin and "仅运维人员可重跑" in admin
