"""Server time and payload of every callback of the indicator pages, driven like a browser would.

    python -m bench.pages [--data-dir DIR] [--scale 1.0] [--runs 7]

Builds (or reuses) the demo in DATA_DIR, logs in as the demo leader through the real /login form, then POSTs
the real /_dash-update-component payloads of the cockpit, indicator, topic and referral callbacks and prints
p50/p95 server time and response bytes per callback (a table, never a pass/fail), and the CPU time of the cold
call and the median of the timed ones (``time.process_time``: the bench is in-process, so this is the callback's
own CPU plus whatever threads the app runs meanwhile — comparable across loads where wall time is not).

Each callback gets the inputs its app declares (``app.callback_map``), so this file also drives an older tree's
app (``bench/ab.py`` runs it against both sides): an input the older app does not declare is not sent.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

SEARCH = "?grain=quarter&period={period}"
IND = "op_antibiotic_rate"
CALLS = [
    ("cockpit.cards", [("home-cards", "children"), ("home-subtitle", "children")], ("home-ready", "data", True)),
    ("cockpit.alerts", [("home-alerts", "children")], ("home-ready", "data", True)),
    ("cockpit.freshness", [("home-freshness", "children")], ("home-ready", "data", True)),
    ("indicator.crumbs", [("ind-crumbs", "children"), ("ind-subtitle", "children"), ("ind-notice", "children")],
     ("ind-id", "data", IND)),
    ("indicator.trend", [("ind-trend-box", "children")], ("ind-id", "data", IND)),
    ("indicator.breakdown", [("ind-breakdown-box", "children"), ("ind-breakdown-title", "children"),
                             ("ind-table-box", "children")],
     [("ind-id", "data", IND), ("ind-breakdown-mode", "value", "share")]),
    ("indicator.ranking", [("ind-ranking-box", "children"), ("ind-ranking-title", "children")],
     ("ind-id", "data", IND)),
    ("topic.quality", [("topic-tabs", "children"), ("topic-grid", "children"), ("topic-subtitle", "children")],
     ("topic-id", "data", "quality")),
    ("referrals.kpis", [("ref-kpis", "children"), ("ref-subtitle", "children")], ("ref-ready", "data", True)),
] + [(f"referrals.{b}", [(f"ref-{b}", "children")], ("ref-ready", "data", True))
     for b in ("volume", "flow", "outside", "dest", "diag", "pending")]


def _output_name(outputs: list[tuple[str, str]]) -> str:
    """Dash's name of a callback by its outputs (the key of ``app.callback_map``)."""
    return (".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{outputs[0][0]}.{outputs[0][1]}"


def _payload(outputs: list[tuple[str, str]], trigger: tuple | list[tuple], search: str,
             extra: list[tuple] = (), declared: list[tuple[str, str]] | None = None) -> dict:
    """The browser's POST body; ``trigger`` is the input that fired (or every input, the firing one first).
    With ``declared`` (the callback's inputs as its app declares them) the inputs are sent in that order and an
    input the app does not declare is left out."""
    inputs = [*(trigger if isinstance(trigger, list) else [trigger]), *extra]
    trigger = inputs[0]
    if declared is not None:
        value = {(i, p): v for i, p, v in inputs}
        inputs = [(i, p, value[(i, p)]) for i, p in declared if (i, p) in value]
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = _output_name(outputs)
    return {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": [f"{trigger[0]}.{trigger[1]}"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from bench._common import logged_in_client
    cfg, app, client = logged_in_client(args.data_dir, args.scale)
    from dashboard.urlstate import month_to_period
    from queries.periods import last_complete_month
    search = SEARCH.format(period=month_to_period(last_complete_month(cfg.mart_url), "quarter"))
    declared = {key: [(d["id"], d["property"]) for d in cb.get("inputs", [])]
                for key, cb in app.callback_map.items()}
    print(f"mart {cfg.mart_url}  view {search}  runs {args.runs}")
    print("cold = the first call in this process (engine result cache empty for the view); p50/p95 = later calls;"
          " cpu = time.process_time of the process during the call")
    print(f"{'callback':<22}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>10}  status"
          f"{'cold cpu':>9}{'p50 cpu':>9}")
    for name, outputs, trigger in CALLS:
        times, cpus, size, status, cold, cold_cpu = [], [], 0, None, 0.0, 0.0
        body = _payload(outputs, trigger, search, declared=declared.get(_output_name(outputs)))
        for run in range(args.runs + 1):
            c0, t0 = time.process_time(), time.perf_counter()
            resp = client.post("/_dash-update-component", json=body)
            ms, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
            size, status = len(resp.get_data()), resp.status_code
            if run:
                times.append(ms)
                cpus.append(cpu)
            else:
                cold, cold_cpu = ms, cpu
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"{name:<22}{cold:>9.0f}{statistics.median(times):>9.0f}{p95:>9.0f}{size:>10,}  {status}"
              f"{cold_cpu:>9.0f}{statistics.median(cpus):>9.0f}")


if __name__ == "__main__":
    main()
