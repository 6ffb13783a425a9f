"""CPU cost of one result-cache hit per callback output: per-process SimpleCache against the file cache the workers
share, and a stored output holding ``go.Figure`` objects (before cap20) against its plain-dict form (now).

    python -m bench.cache_hit [--data-dir DIR] [--hits 200]

Logs in as the demo leader (in-process test client, a copy of nothing: only sessions are written), calls every
callback of ``bench.pages`` once to fill the cache, then reads each stored output ``--hits`` times from each
backend and prints the CPU time of one read (``time.process_time``: independent of the machine's load).
"""
from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time


def _with_figures(value):
    """The output as it was stored before cap20: graph figures as ``go.Figure`` objects."""
    import plotly.graph_objects as go
    from dash import dcc
    from dash.development.base_component import Component
    if isinstance(value, dcc.Graph) and isinstance(getattr(value, "figure", None), dict):
        value.figure = go.Figure(value.figure)
        return value
    if isinstance(value, Component):
        for prop in value._prop_names:
            v = getattr(value, prop, None)
            if isinstance(v, (list, tuple, dict, Component)):
                setattr(value, prop, _with_figures(v))
        return value
    if isinstance(value, list):
        return [_with_figures(v) for v in value]
    if type(value) is tuple:
        return tuple(_with_figures(v) for v in value)
    if type(value) is dict:
        return {k: _with_figures(v) for k, v in value.items()}
    return value


def _per_hit_us(cache, key: str, hits: int) -> float:
    t0 = time.process_time()
    for _ in range(hits):
        assert cache.get(key) is not None
    return (time.process_time() - t0) / hits * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "./data"))
    ap.add_argument("--hits", type=int, default=200)
    args = ap.parse_args()
    os.environ["CACHE_URL"] = ""
    from cachelib import FileSystemCache, SimpleCache

    from bench._common import logged_in_client
    from bench.pages import CALLS, SEARCH, _payload
    from dashboard.urlstate import month_to_period
    from queries.periods import last_complete_month
    cfg, app, client = logged_in_client(args.data_dir)
    search = SEARCH.format(period=month_to_period(last_complete_month(cfg.mart_url), "quarter"))
    backend = app.server.extensions["result_cache"].cache
    print(f"mart {cfg.mart_url}  view {search}  hits {args.hits}  (CPU µs per read)")
    print(f"{'output':<22}{'bytes now':>10}{'Simple, figures':>17}{'Simple, dicts':>15}{'file, dicts':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        files = FileSystemCache(tmp, threshold=5000, default_timeout=3600)
        for name, outputs, trigger in CALLS:
            before = {k for k in backend._cache if "output:" in k}
            client.post("/_dash-update-component", json=_payload(outputs, trigger, search))
            new = [k for k in backend._cache if "output:" in k and k not in before]
            if not new:
                print(f"{name:<22}  (no new entry: not output-cached, or cached by an earlier call)")
                continue
            value = pickle.loads(backend._cache[new[0]][1])
            old = SimpleCache(default_timeout=3600)
            old.set("k", _with_figures(pickle.loads(backend._cache[new[0]][1])))
            plain = SimpleCache(default_timeout=3600)
            plain.set("k", value)
            files.set("k", value)
            print(f"{name:<22}{len(backend._cache[new[0]][1]):>10,}{_per_hit_us(old, 'k', args.hits):>17,.0f}"
                  f"{_per_hit_us(plain, 'k', args.hits):>15,.0f}{_per_hit_us(files, 'k', args.hits):>13,.0f}")


if __name__ == "__main__":
    main()
