"""Run every benchmark and print their tables, then one summary against the budgets of DESIGN.md §8.

    python -m bench [--scale 1] [--data-dir DIR] [--only build,loader,...] [--skip load] [--load-seconds 120]

Steps (each its own process, so one's memory or caches never flatter another's):

=========  ===============================================================  ==========================
step       what                                                             budget
=========  ===============================================================  ==========================
build      demo county built from nothing, then loaded back (``bench/build.py``)  ≤ 90 s (scale 1)
loader     loader rows/s from CSV and Parquet (``bench/loader.py``)         ≥ 1M rows/s from Parquet
engine     engine time of every page's set of calls (``bench/indicators``)  300 ms (scale 1) / 1 s
pages      server time p50/p95 + bytes of the indicator-page callbacks     p95 ≤ 300 ms / 1 s; ≤ 1 MB
maps       the same for the three maps                                      p95 ≤ 300 ms / 1 s; ≤ 1 MB
exchange   exchange and quality page sections (``bench/bench_exchange_pages.py``)  p95 ≤ 300 ms
load       50 sessions × 2 workers over HTTP (``bench/load.py``): req/s,   0 errors, p95 ≤ 1 s,
           p95, errors, worker RSS                                          RSS ≤ 1.5 GB
=========  ===============================================================  ==========================

``--scale 30`` (province scale, ~240M visits) needs a scale-30 demo: pass ``--data-dir`` of one built before
(``DATA_DIR=… python app.py demo --scale 30``) or let the runner build it (tens of minutes, ~30 GB); the build step
is skipped above scale 1 unless named in ``--only``. Every figure is printed; nothing here passes or fails a test.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = ("build", "loader", "engine", "pages", "maps", "exchange", "load")


def _cmd(step: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    py = sys.executable
    scale = f"{args.scale:g}"
    return {
        "build": [py, "bench/build.py", "--scale", scale],
        "loader": [py, "-m", "bench.loader", "--visits", str(args.loader_visits)],
        # --skip-rollups: the build step times the rollups; here only the engine is timed
        "engine": [py, "bench/indicators.py", "--scale", scale, "--keep", str(data_dir), "--repeat", "5",
                   "--skip-rollups"],
        "pages": [py, "-m", "bench.pages", "--data-dir", str(data_dir), "--scale", scale, "--runs", "7"],
        "maps": [py, "-m", "bench.maps", "--data-dir", str(data_dir), "--scale", scale, "--runs", "7"],
        "exchange": [py, "bench/bench_exchange_pages.py", "--data", str(data_dir)],
        "load": [py, "-m", "bench.load", "--data-dir", str(data_dir), "--scale", scale, "--sessions",
                 str(args.sessions), "--duration", str(args.load_seconds), "--workers", "2"],
    }[step]


def _run(step: str, cmd: list[str], timeout: float) -> tuple[str, float, int]:
    """Run one step, echoing its output as it comes; returns (output, seconds, exit code)."""
    print(f"\n=== {step}: {' '.join(Path(c).name if c == sys.executable else c for c in cmd)}", flush=True)
    t0 = time.perf_counter()
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
            if time.perf_counter() - t0 > timeout:
                raise subprocess.TimeoutExpired(cmd, timeout)
        code = proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        lines.append(f"[timed out after {timeout:.0f} s]\n")
        code = -1
    return "".join(lines), time.perf_counter() - t0, code


# ------------------------------------------------------------------------------------------------- summaries
_NUM = r"[\d,]+(?:\.\d+)?"


def _f(text: str) -> float:
    return float(text.replace(",", ""))


def _callback_rows(out: str, cols_before_bytes: int) -> list[tuple[str, float, float]]:
    """(name, p95 ms, bytes) of the table rows that end with ``bytes status`` (bench/pages.py, bench/maps.py)."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == cols_before_bytes + 3 and parts[-1].isdigit() and re.fullmatch(_NUM, parts[-2]):
            try:
                rows.append((parts[0], _f(parts[-3]), _f(parts[-2])))
            except ValueError:
                continue
    return rows


def summarize(outputs: dict[str, str], scale: float) -> list[tuple[str, str, str, str]]:
    """(what, measured, budget, verdict) rows from the steps' printed tables."""
    page_budget = 300.0 if scale <= 1 else 1000.0
    out: list[tuple[str, str, str, str]] = []

    def row(what: str, value: float | None, budget: float, unit: str, higher_is_better: bool = False) -> None:
        if value is None:
            out.append((what, "—", f"{budget:,.0f} {unit}", "not measured"))
            return
        ok = value >= budget if higher_is_better else value <= budget
        out.append((what, f"{value:,.0f} {unit}", f"{'≥' if higher_is_better else '≤'} {budget:,.0f} {unit}",
                    "ok" if ok else "OVER BUDGET"))

    if "build" in outputs:
        m = re.search(r"total \(wall\)\s+(" + _NUM + ")", outputs["build"])
        row("demo build (wall)", _f(m.group(1)) if m else None, 90 * max(1.0, scale), "s")
        m = re.search(r"loader total\s+" + _NUM + r"\s+" + _NUM + r" s\s+(" + _NUM + ") rows/s", outputs["build"])
        if m:
            row("loader, the whole demo county from Parquet", _f(m.group(1)), 1_000_000, "rows/s",
                higher_is_better=True)
    if "loader" in outputs:
        rates = [_f(line.split()[-3]) for line in outputs["loader"].splitlines()
                 if line.startswith("parquet") and len(line.split()) >= 7]
        row("loader from Parquet", max(rates) if rates else None, 1_000_000, "rows/s", higher_is_better=True)
    if "engine" in outputs:
        medians = []
        for line in outputs["engine"].splitlines():
            m = re.match(r"^(.{24}) +(\d+) +(\d+) +(" + _NUM + r") +(" + _NUM + ")", line)
            if m:
                medians.append((_f(m.group(4)), m.group(1).strip()))
        worst = max(medians) if medians else None
        row(f"engine, slowest call ({worst[1] if worst else '—'})", worst[0] if worst else None, page_budget, "ms")
    for step, cols in (("pages", 3), ("maps", 3)):
        if step in outputs:
            rows = _callback_rows(outputs[step], cols)
            colds = [_f(line.split()[1]) for line in outputs[step].splitlines()
                     if len(line.split()) == cols + 3 and line.split()[-1].isdigit()
                     and re.fullmatch(_NUM, line.split()[1])]
            if colds:
                out.append((f"{step} callbacks, slowest first call (cold)", f"{max(colds):,.0f} ms", "—", "info"))
            row(f"{step} callbacks, worst p95", max((r[1] for r in rows), default=None), page_budget, "ms")
            row(f"{step} callbacks, largest response", max((r[2] for r in rows), default=None), 1_048_576,
                "bytes")
    if "exchange" in outputs:
        p95s = []
        for line in outputs["exchange"].splitlines():
            parts = line.split()
            if len(parts) >= 3 and re.fullmatch(r"\d+\.\d", parts[-1]) and re.fullmatch(r"\d+\.\d", parts[-2]):
                p95s.append(float(parts[-1]))
        row("exchange/quality sections (service calls), worst p95", max(p95s, default=None), page_budget, "ms")
    if "load" in outputs:
        text = outputs["load"]
        m = re.search(r"throughput (" + _NUM + r") requests/s; errors (\d+); p95 (\d+) ms", text)
        if m:
            out.append(("load test throughput", f"{_f(m.group(1)):,.1f} req/s", "—", "info"))
        row("load test errors", float(m.group(2)) if m else None, 0, "")
        row("load test p95", float(m.group(3)) if m else None, 1000, "ms")
        rss = [_f(x) for x in re.findall(r"pid \d+ (" + _NUM + ") MB", text)]
        row("web worker peak RSS", max(rss) if rss else None, 1536, "MB")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--data-dir", default="", help="demo DATA_DIR to use (built when missing)")
    ap.add_argument("--mart", default="", help="an existing demo mart.duckdb of this scale (copied into DATA_DIR "
                    "once, the original never opened for writing), e.g. a province-scale build made before")
    ap.add_argument("--only", default="", help=f"comma-separated steps of {','.join(STEPS)}")
    ap.add_argument("--skip", default="", help="comma-separated steps to leave out")
    ap.add_argument("--load-seconds", type=float, default=120.0)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--loader-visits", type=int, default=2_000_000)
    ap.add_argument("--step-timeout", type=float, default=3600.0, help="seconds before a step is stopped")
    args = ap.parse_args(argv)
    steps = [s for s in (args.only.split(",") if args.only else STEPS) if s]
    unknown = [s for s in steps + [s for s in args.skip.split(",") if s] if s not in STEPS]
    if unknown:
        ap.error(f"unknown steps: {', '.join(unknown)} (steps: {', '.join(STEPS)})")
    steps = [s for s in steps if s not in args.skip.split(",")]
    if args.scale > 1 and not args.only:
        steps = [s for s in steps if s != "build"]      # a province build is a job of its own (see docstring)
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / "ycty-bench" / f"scale-{args.scale:g}").resolve()

    print(f"python -m bench  scale={args.scale:g}  data={data_dir}  steps={','.join(steps)}")
    print(f"machine: {os.cpu_count()} cores, {_mem_gib():.0f} GiB RAM, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, Python {sys.version.split()[0]}")
    if args.mart:
        src = Path(args.mart).resolve()
        if not src.is_file():
            ap.error(f"--mart {src} does not exist")
        data_dir.mkdir(parents=True, exist_ok=True)
        import shutil
        if not (data_dir / "mart.duckdb").exists():
            t0 = time.perf_counter()
            shutil.copyfile(src, data_dir / "mart.duckdb.copying")
            (data_dir / "mart.duckdb.copying").rename(data_dir / "mart.duckdb")
            print(f"copied {src} ({src.stat().st_size / 1e9:.1f} GB) in {time.perf_counter() - t0:.0f} s")
        if (src.parent / "geo").is_dir() and not (data_dir / "geo").exists():
            shutil.copytree(src.parent / "geo", data_dir / "geo")
    if any(s in steps for s in ("engine", "pages", "maps", "exchange", "load")):
        from bench._common import prepare_data_dir
        t0 = time.perf_counter()
        prepare_data_dir(data_dir, args.scale)
        from mart.connection import dispose_engines
        dispose_engines()       # the engine step reopens the mart for writing (rollup rebuild timing)
        print(f"demo data ready in {time.perf_counter() - t0:.1f} s")
    outputs: dict[str, str] = {}
    codes: dict[str, int] = {}
    for step in steps:
        text, _seconds, code = _run(step, _cmd(step, args, data_dir), args.step_timeout)
        outputs[step], codes[step] = text, code
    print(f"\n=== summary (scale {args.scale:g}; DESIGN.md §8 budgets)")
    print(f"{'what':<40}{'measured':>18}{'budget':>20}  verdict")
    for what, value, budget, verdict in summarize(outputs, args.scale):
        print(f"{what:<40}{value:>18}{budget:>20}  {verdict}")
    failed = [s for s, c in codes.items() if c not in (0, 1)]
    if failed:
        print(f"steps that crashed: {', '.join(failed)} (see their output above)")
    return 0


def _mem_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


if __name__ == "__main__":
    sys.exit(main())
