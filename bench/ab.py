"""A/B of the page callbacks against an older commit, interleaved in one run (``bench/pages.py`` on both sides).

    python -m bench.ab --old REF|DIR [--old-data DIR] [--new-data DIR] [--scale 0.2] [--rounds 3] [--runs 7]

``--old`` is a directory holding the old tree, or a git ref exported with ``git archive`` into
``/tmp/bench-ab-<ref>``. Each side serves its own demo of the same scale and seed (built on first use by that
side's own code, in ``--old-data`` / ``--new-data``). Rounds alternate the order (AB, BA, AB, …); each round runs
this tree's ``bench/pages.py`` once per side in a fresh process with that side's code on ``PYTHONPATH`` (so both
sides are driven and timed by the same bench, CPU time included; ``--runs`` calls per callback after a cold one).
Prints per callback the median over rounds of the cold time, p50 and p95 of each side and the new/old ratios, then
the cold call's CPU time (``time.process_time``: robust to the machine's load where wall time is not) of each side
and its ratio, and ``uptime`` before, between rounds and after. A table, never a pass/fail.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d,]+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
PAGES = ROOT / "bench" / "pages.py"
# this tree's bench/pages.py as ``__main__`` without putting bench/ on sys.path: imports resolve in the side's tree
RUN_PAGES = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def old_tree(ref: str) -> Path:
    """The old code: ``ref`` itself when it is a directory, else ``git archive ref`` unpacked once."""
    if Path(ref).is_dir():
        return Path(ref).resolve()
    dest = Path(f"/tmp/bench-ab-{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}")
    if not (dest / "app.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_pages(tree: Path, data_dir: Path, scale: float, runs: int) -> dict[str, tuple[float, ...]]:
    """{callback: (cold ms, p50 ms, p95 ms, bytes, cold CPU ms, p50 CPU ms)} of one run of this tree's
    ``bench/pages.py`` against the code of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "DATA_DIR": str(data_dir)}
    env.pop("MART_URL", None)
    env.pop("APP_DB_URL", None)
    proc = subprocess.run([sys.executable, "-c", RUN_PAGES, str(PAGES), "--data-dir", str(data_dir),
                           "--scale", str(scale), "--runs", str(runs)],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    out = {}
    for line in proc.stdout.splitlines():
        m = ROW.match(line.strip())
        if m and m.group(6) == "200":
            out[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)),
                               int(m.group(5).replace(",", "")), float(m.group(7)), float(m.group(8)))
    if not out:
        raise SystemExit(f"bench.pages in {tree} printed no rows:\n{proc.stdout}\n{proc.stderr[-2000:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="git ref or directory of the old code")
    ap.add_argument("--old-data", default=None)
    ap.add_argument("--new-data", default=None)
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    old = old_tree(args.old)
    sides = {"old": (old, Path(args.old_data or f"{old}-data")),
             "new": (ROOT, Path(args.new_data or f"/tmp/bench-ab-new-{args.scale}"))}
    print(f"old {old}   new {ROOT}   scale {args.scale}   rounds {args.rounds} × runs {args.runs}")
    print(f"load before: {_uptime()}")
    results: dict[str, list[dict]] = {"old": [], "new": []}
    for rnd in range(args.rounds):
        order = ("old", "new") if rnd % 2 == 0 else ("new", "old")
        for side in order:
            tree, data = sides[side]
            results[side].append(run_pages(tree, data, args.scale, args.runs))
        print(f"round {rnd + 1}/{args.rounds} ({'/'.join(order)}) done   {_uptime()}", flush=True)
    names = [n for n in results["new"][0] if n in results["old"][0]]
    print(f"{'callback':<22}{'old cold':>9}{'new cold':>9}{'old p50':>9}{'new p50':>9}{'old p95':>9}{'new p95':>9}"
          f"{'p50 new/old':>12}{'p95 new/old':>12}{'bytes old':>11}{'bytes new':>11}"
          f"{'cold/old':>9}{'cpu old':>9}{'cpu new':>9}{'cpu n/o':>9}{'p50cpu o':>9}{'p50cpu n':>9}")

    def med(side: str, name: str, i: int) -> float:
        return statistics.median(r[name][i] for r in results[side] if name in r)
    for name in names:
        o = [med("old", name, i) for i in range(6)]
        n = [med("new", name, i) for i in range(6)]
        print(f"{name:<22}{o[0]:>9.0f}{n[0]:>9.0f}{o[1]:>9.0f}{n[1]:>9.0f}{o[2]:>9.0f}{n[2]:>9.0f}"
              f"{n[1] / max(o[1], 1):>12.2f}{n[2] / max(o[2], 1):>12.2f}{o[3]:>11,.0f}{n[3]:>11,.0f}"
              f"{n[0] / max(o[0], 1):>9.2f}{o[4]:>9.0f}{n[4]:>9.0f}{n[4] / max(o[4], 1):>9.2f}"
              f"{o[5]:>9.0f}{n[5]:>9.0f}")
    print(f"load after: {_uptime()}")


if __name__ == "__main__":
    main()
