"""Cost of a write into a full file cache: cachelib's ``FileSystemCache`` against ``core.file_cache``'s pruned one.

    python -m bench.file_cache [--threshold 5000] [--writes 2000] [--size 20000]

Each backend gets its own folder filled to the threshold (the state of a server that ran for a day), then takes
``--writes`` more entries of ``--size`` bytes; prints the wall and CPU time per write and how many entry files are
left. Same machine, same run: read the ratio, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _measure(cls, folder: Path, threshold: int, writes: int, size: int) -> tuple[float, float, int]:
    (folder.with_name(folder.name + "-locks")).mkdir(parents=True, exist_ok=True)
    cache = cls(str(folder), threshold=threshold, default_timeout=3600)
    blob = os.urandom(size)
    for n in range(threshold):
        cache.set(f"fill{n}", blob)
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(writes):
        cache.set(f"new{n}", blob)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / writes, cpu / writes, sum(1 for _ in cache._list_dir())


def main(argv: list[str] | None = None) -> int:
    from flask_caching.backends.filesystemcache import FileSystemCache

    from core.file_cache import PrunedFileSystemCache
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=int, default=5000)
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--size", type=int, default=20000, help="bytes per entry (a cached page output: 5–60 kB)")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-file-cache-") as tmp:
        for label, cls in (("cachelib FileSystemCache", FileSystemCache), ("PrunedFileSystemCache", PrunedFileSystemCache)):
            rows.append((label, *_measure(cls, Path(tmp) / label.split()[-1], args.threshold, args.writes, args.size)))
    print(f"threshold {args.threshold}, {args.writes} writes of {args.size} bytes past it, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'backend':<28}{'ms per write':>14}{'CPU ms per write':>18}{'entries left':>14}")
    for label, wall, cpu, left in rows:
        print(f"{label:<28}{wall * 1000:>14.2f}{cpu * 1000:>18.2f}{left:>14}")
    print(f"pruned / cachelib: {rows[1][1] / rows[0][1]:.3f} of the wall time per write")
    return 0


if __name__ == "__main__":
    sys.exit(main())
