"""Server time and payload of the map callbacks (一张图), driven like a browser would.

    python -m bench.maps [--data-dir DIR] [--scale 1.0] [--runs 7]

Builds (or reuses) the demo in DATA_DIR, logs in as the demo leader through the real /login form, then POSTs the
real /_dash-update-component payloads of the three maps (render and click panels) and prints p50/p95 server time
and response bytes per callback (a table, never a pass/fail). Budget: ≤ 300 ms server time, ≤ 1 MB per response.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def _sid(component_id) -> str:
    """Dash's string form of a component id (dict ids: JSON with sorted keys, no spaces)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def _payload(outputs: list[tuple], inputs: list[tuple], state: list[tuple], changed: tuple) -> dict:
    outs = [{"id": i, "property": p} for i, p in outputs]
    name = (".." + "...".join(f"{_sid(i)}.{p}" for i, p in outputs) + "..") if len(outputs) > 1 else \
        f"{_sid(outputs[0][0])}.{outputs[0][1]}"
    return {"output": name, "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [f"{_sid(changed[0])}.{changed[1]}"]}


def calls(search: str, township_name: str, inst_code: str) -> list[tuple[str, dict]]:
    """(name, payload) of every map callback worth timing."""
    from layouts import _ids as ids
    from layouts import map_parts as P
    out = []
    ready = [("url", "search", search)]
    for page in ("inst", "health", "reform"):
        outputs = [(ids.echarts_option(P.chart_name(page)), "data"), (P.mid(page, "subtitle"), "children"),
                   (P.mid(page, "legend"), "children"), (P.mid(page, "notice"), "children")]
        out.append((f"{page}.render", _payload(outputs, ready + [(P.mid(page, "ready"), "data", page)],
                                               [], ("url", "search"))))
    out.append(("reform.cards", _payload([(P.mid("reform", "cards"), "children")],
                                         ready + [(P.mid("reform", "ready"), "data", "reform")], [],
                                         ("url", "search"))))
    geo_click = {"name": township_name, "componentType": "geo", "seriesName": None, "dataIndex": 0, "data": None}
    inst_click = {"name": inst_code, "componentType": "series", "seriesName": "县级医院", "dataIndex": 0,
                  "data": {"code": inst_code, "name": inst_code}}
    for page, click, label in (("inst", inst_click, "inst.click_institution"), ("health", geo_click,
                                                                              "health.click_township")):
        cid = ids.echarts_click(P.chart_name(page))
        out.append((label, _payload([(P.mid(page, "panel"), "children")], [(cid, "data", click)],
                                    [("url", "search", search)], (cid, "data"))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--grain", default="month", choices=["month", "quarter", "year"])
    args = ap.parse_args()
    from bench._common import logged_in_client
    cfg, app, client = logged_in_client(args.data_dir, args.scale)
    from dashboard.urlstate import month_to_period
    from geo.store import display_geometry
    from queries.maps import institution_points
    from queries.periods import last_complete_month
    period = month_to_period(last_complete_month(cfg.mart_url), args.grain)
    search = f"?grain={args.grain}&period={period}"
    disp = display_geometry(cfg.geo_dir)
    # warm the process (imports, connections) on another period so that "cold" measures one view's own work
    client.post("/_dash-update-component", json=calls(f"?grain=year&period={period[:4]}", "", "")[0][1])
    lead = institution_points(cfg.mart_url).sort_values("is_lead", ascending=False).iloc[0]["inst_code"]
    print(f"mart {cfg.mart_url}  view {search}  runs {args.runs} (first run discarded as warm-up)")
    print(f"geometry: {len(disp.code_to_name)} townships, display GeoJSON {disp.nbytes / 1024:.0f} KB")
    print("cold = first call for this period (engine computes, result cache filled); p50/p95 = later calls")
    print(f"{'callback':<26}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>10}  status")
    for name, payload in calls(search, next(iter(disp.name_to_code)), lead):
        times, size, status, cold = [], 0, None, 0.0
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            resp = client.post("/_dash-update-component", json=payload)
            dt = time.perf_counter() - t0
            status, size = resp.status_code, len(resp.get_data())
            if run:
                times.append(dt * 1000)
            else:
                cold = dt * 1000
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"{name:<26}{cold:>9.0f}{statistics.median(times):>9.0f}{p95:>9.0f}{size:>10,}  {status}")


if __name__ == "__main__":
    main()
