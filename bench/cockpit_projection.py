"""Cost of 预计全年 on the cockpit cards: the cards callback cold / warm, the synchronous year-end projection it
would add on a cold cache, and whether the cards show the projection once the background warm-up is done.

    python -m bench.cockpit_projection [--data-dir DIR] [--scale 0.05] [--runs 5]

Logs in as the demo leader through the real /login form and POSTs the real cockpit cards payload (a table, never
a pass/fail).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.pages import _payload

CARDS = [("home-cards", "children"), ("home-subtitle", "children")]


def _post(client, search: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    resp = client.post("/_dash-update-component", json=_payload(CARDS, ("home-ready", "data", True), search))
    return (time.perf_counter() - t0) * 1000, resp.get_data(as_text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from bench._common import logged_in_client
    cfg, app, client = logged_in_client(args.data_dir, args.scale)
    from dashboard.views.cards import projection_ids
    from layouts._pageparts import HEADLINE_IDS
    from metrics.forecast import year_end
    from metrics.scope import FULL_SCOPE
    from queries.periods import last_complete_month
    month = last_complete_month(cfg.mart_url)
    search = f"?grain=month&period={month}"
    pids = projection_ids(list(HEADLINE_IDS))
    print(f"mart {cfg.mart_url}  view {search}  projected indicators {len(pids)}")
    rows = []
    cold, body = _post(client, search)
    rows.append(("cards, cold (projection not cached: warm-up starts)", cold, "预计全年" in body))
    warm = []
    for _ in range(args.runs):
        ms, body = _post(client, search)
        warm.append(ms)
    rows.append(("cards, warm p50 (before the warm-up is done)", statistics.median(warm), "预计全年" in body))
    t0 = time.perf_counter()
    year_end(pids, "county", None, cfg.mart_url, FULL_SCOPE)          # outside the app: no cache, a full fit
    rows.append(("year_end() synchronous, county, no cache", (time.perf_counter() - t0) * 1000, None))
    deadline = time.time() + 120
    while time.time() < deadline:
        ms, body = _post(client, search)
        if "预计全年" in body:
            break
        time.sleep(0.5)
    warm = []
    for _ in range(args.runs):
        ms, body = _post(client, search)
        warm.append(ms)
    rows.append(("cards, warm p50 (projection cached)", statistics.median(warm), "预计全年" in body))
    print(f"{'step':<54}{'ms':>9}  预计全年 shown")
    for name, ms, shown in rows:
        print(f"{name:<54}{ms:>9.0f}  {'' if shown is None else ('是' if shown else '否')}")


if __name__ == "__main__":
    main()
