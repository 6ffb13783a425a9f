"""Per-request overhead of a cached click, before and after issue 20's memos, in one process (CPU ms per call).

    python -m bench.request_overhead [--data-dir /tmp/h13bench/scale1] [--calls 200]

Each row times the same answer computed the old way (the full check or the query) and the new way (kept
session re-validated by one row, memoised mart lookups, shared exchange refresh), on the demo of DATA_DIR.
Compare the two columns as a ratio within one run; the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import prepare_data_dir  # noqa: E402


def _cpu_ms(fn: Callable[[], object], calls: int) -> float:
    fn()
    c0 = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - c0) * 1000 / calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", "/tmp/h13bench/scale1"))
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args(argv)
    cfg = prepare_data_dir(Path(args.data_dir).resolve())
    from dashboard.accounts import service, session_cache
    from dashboard.app import create_app
    from dashboard.exchange import service as xsvc
    from dashboard.exchange.ui_cache import shared
    from queries import org as qorg
    from queries import periods as qperiods

    app = create_app(cfg)
    url = cfg.mart_url
    user = service.list_users(cfg)[0]
    sid = service.start_session(cfg, user.id)
    inst = qorg._org_tree(url)["inst_code"].iloc[0]
    n = args.calls
    rows = [
        ("session → user", lambda: service.session_user(cfg, sid, touch=False),
         lambda: session_cache.session_user(cfg, sid, touch=False)),
        ("table_versions", lambda: qperiods._table_versions(url, ("r_op_month",), "2025-01", "2025-12"),
         lambda: qperiods.table_versions(url, ("r_op_month",), "2025-01", "2025-12")),
        ("org_path (institution)", lambda: qorg._org_path(url, inst), lambda: qorg.org_path(url, inst)),
        ("county", lambda: qorg._county(url), lambda: qorg.county(url)),
    ]
    print(f"{'per call (CPU ms)':<26}{'before':>10}{'now':>10}{'ratio':>8}   load average {os.getloadavg()[0]:.1f}")
    for name, old, new in rows:
        a, b = _cpu_ms(old, n), _cpu_ms(new, n)
        print(f"{name:<26}{a:>10.2f}{b:>10.3f}{a / max(b, 1e-6):>7.0f}×")
    from dashboard.views import exchange_page as ex
    with app.server.test_request_context("/"):
        for name, build in [("exchange overview", lambda: ex.refresh_overview(False, None, None, None)),
                            ("exchange node states", lambda: xsvc.node_states(cfg))]:
            a = _cpu_ms(build, max(5, n // 20))
            b = _cpu_ms(lambda: shared(cfg, name, "operator", (), build), n)
            print(f"{name:<26}{a:>10.2f}{b:>10.3f}{a / max(b, 1e-6):>7.0f}×   (shared: per 5-s window)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
