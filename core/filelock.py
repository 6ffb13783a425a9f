"""One exclusive OS file lock (``flock``) for a few seconds of cross-process work: migrating the app database,
writing the mart. Where ``fcntl`` is missing (not Linux/macOS) the lock is a no-op: one server process there."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; waits for other holders."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on the supported platforms
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
