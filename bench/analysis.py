"""Server time and payload of the 自助分析 (/analysis) callbacks, driven like a browser, against the page budget.

    python -m bench.analysis [--data-dir DIR] [--scale 1.0] [--runs 7]

Builds (or reuses) the demo in DATA_DIR, logs in as the demo leader through the real /login form, then POSTs the
real /_dash-update-component payloads of the analysis page (pickers from the URL, the pivot of several views, a
cell drill, a member panel, the CSV export) and prints cold/p50/p95 server time, response bytes and whether p95
is within the 300 ms page budget (DESIGN §8) — a table, never a pass/fail.
"""
from __future__ import annotations

import argparse
import os
import time

from bench._common import p50, percentile
from bench.pages import _payload

BUDGET_MS = 300
IND = "op_cost_per_visit"


def _views(end: str, start: str, quarter: str) -> list[tuple[str, str]]:
    base = f"?grain=month&period={end}&ind={IND}"
    return [
        ("township × month (12)", f"{base}&rows=township&from={start}"),
        ("institution × month (12)", f"{base}&rows=institution&from={start}"),
        ("department × quarter", f"?grain=quarter&period={quarter}&ind={IND}&rows=department&from={quarter}"),
        ("township × icd_chapter", f"{base}&rows=township&cols=icd_chapter"),
        ("age_band × month (12)", f"{base}&rows=age_band&from={start}"),
        ("township × month, insured", f"{base}&rows=township&from={start}&fdim=insurance&fmem=insured"),
    ]


def _body(app, outputs: list[tuple[str, str]], inputs: list[tuple], search: str) -> dict:
    """The browser's POST body (``bench.pages._payload``) under the name Dash registered the callback as."""
    body = _payload(outputs, list(inputs), search)
    if body["output"] not in app.callback_map:     # an output shared with another callback carries a suffix
        first = f"{outputs[0][0]}.{outputs[0][1]}@"
        body["output"] = next(k for k, v in app.callback_map.items() if first in k
                              and inputs[0][0] in {i["id"] for i in v["inputs"]})
    return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from bench._common import logged_in_client
    cfg, app, client = logged_in_client(args.data_dir, args.scale)
    from core.periods import add_months
    from dashboard.urlstate import month_to_period
    from dashboard.views import analysis_render as view
    from layouts import _analysis_parts as A
    from queries.periods import last_complete_month
    end = last_complete_month(cfg.mart_url)
    views = _views(end, add_months(end, -11), month_to_period(end, "quarter"))
    ready = [(A.READY, "data", True)]
    calls = [("controls", view.CONTROL_OUTPUTS, ready, views[0][1])]
    calls += [(f"pivot {label}", view.PIVOT_OUTPUTS, ready, search) for label, search in views]
    drill_out = [("url", "href"), (A.PANEL, "children")]
    calls += [("drill org × month", drill_out, [(A.GRID, "cellClicked", {"colId": "c0", "rowId": None}),
                                                (A.HEATMAP, "clickData", None)], views[0][1]),
              ("drill member panel", drill_out, [(A.GRID, "cellClicked", {"colId": "c0", "rowId": "insured"}),
                                                 (A.HEATMAP, "clickData", None)],
               f"?grain=month&period={end}&ind={IND}&rows=insurance&from={end}"),
              ("export csv", [(A.DOWNLOAD, "data"), (A.EXPORT_MSG, "children")],
               [(A.EXPORT_CSV, "n_clicks", 1), (A.EXPORT_XLSX, "n_clicks", 0)], views[0][1])]
    from queries.org import townships
    town = str(townships(cfg.mart_url)["area_code"].iloc[0])
    calls[len(views) + 1][2][0] = (A.GRID, "cellClicked", {"colId": "c0", "rowId": town})
    print(f"mart {cfg.mart_url}  last complete month {end}  runs {args.runs}  budget p95 ≤ {BUDGET_MS} ms")
    print("cold = the first call in this process (engine result cache empty for the view); p50/p95 = later calls")
    print(f"{'callback':<34}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>10}  status  budget")
    for name, outputs, inputs, search in calls:
        times, size, status, cold = [], 0, None, 0.0
        body = _body(app, outputs, inputs, search)
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            resp = client.post("/_dash-update-component", json=body)
            ms = (time.perf_counter() - t0) * 1000
            size, status = len(resp.get_data()), resp.status_code
            if run:
                times.append(ms)
            else:
                cold = ms
        p95 = percentile(times, 0.95)
        verdict = "ok" if p95 <= BUDGET_MS else "OVER"
        print(f"{name:<34}{cold:>9.0f}{p50(times):>9.0f}{p95:>9.0f}{size:>10,}  {status}     {verdict}")


if __name__ == "__main__":
    main()
