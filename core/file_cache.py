"""The file cache the workers of one machine share (``CACHE_URL=file:///folder``), pruned in one pass.

Flask-Caching's ``FileSystemCache`` (cachelib) keeps an entry count in a file that every write reads and rewrites.
Two flaws show on a server that runs for days: (1) once the count passes the threshold, *every* write lists the
folder and opens every entry (to find the expired and the oldest) and then removes just enough to be one under the
threshold, so the next write scans again; (2) the workers update the count without a lock, so it drifts from the
number of files (lost updates), and a count that is too low lets the folder grow past the threshold unbounded.

:class:`PrunedFileSystemCache` prunes once per :data:`LOW_WATER` share of the threshold instead: one pass removes
the expired entries and then the oldest down to ``LOW_WATER × threshold``, and sets the count to the number of
files it left (so drift never outlives a prune). One process prunes at a time (an ``fcntl`` lock in the lock
folder); the others keep writing. The same pass removes the key-lock files (``core.cache.lock_dir``) older than
:data:`LOCK_FILE_AGE_S`: one is made per key ever computed; removing one in use only lets a second process
compute that key once more.
"""
from __future__ import annotations

import contextlib
import logging
import os
import struct
import time
from pathlib import Path

from flask_caching.backends.filesystemcache import FileSystemCache

log = logging.getLogger(__name__)

LOW_WATER = 0.8
LOCK_FILE_AGE_S = 600.0
RECOUNT_EVERY = 500         # writes of one process between two real counts of the files (drift cannot hide)


class PrunedFileSystemCache(FileSystemCache):
    """``FileSystemCache`` whose prune runs once per ``(1 - LOW_WATER) × threshold`` new entries (see module)."""

    prunes = 0              # passes made by this process (tests and bench read it)
    _writes = 0

    def _prune(self) -> None:
        self._writes += 1
        if self._writes % RECOUNT_EVERY == 0:       # names only, no file opened: cheap
            self._update_count(value=sum(1 for _ in self._list_dir()))
        if not self._over_threshold():
            return
        folder = Path(self._path)
        locks = folder.with_name(folder.name + "-locks")
        try:
            import fcntl
            fd = os.open(locks / "prune", os.O_CREAT | os.O_RDWR, 0o600)
        except (ImportError, OSError):      # no lock folder (or not POSIX): prune unguarded
            fd = None
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:     # another process is pruning right now
                    return
                if not self._over_threshold():      # it pruned while this one asked
                    return
            left = self._prune_entries(int(self._threshold * LOW_WATER))
            self._update_count(value=left)
            _remove_old_files(locks, keep={"prune", "warmup"})
            type(self).prunes += 1
        finally:
            if fd is not None:
                os.close(fd)

    def _prune_entries(self, keep: int) -> int:
        """Remove the expired entries, then the oldest until ``keep`` are left; the number left."""
        now = time.time()
        alive: list[tuple[int, int, str]] = []
        for name in self._list_dir():
            written = 0
            try:
                with open(name, "rb") as f:
                    expires = struct.unpack("I", f.read(4))[0]
                    written = os.fstat(f.fileno()).st_mtime_ns
            except FileNotFoundError:
                continue
            except (OSError, struct.error):     # unreadable or cut short: not an entry worth keeping
                expires = 1
            if expires != 0 and expires < now:
                with contextlib.suppress(OSError):
                    os.remove(name)
                continue
            alive.append((expires, written, name))
        alive.sort()        # soonest to expire first (whole seconds), then the oldest written
        extra = max(0, len(alive) - keep)
        for _expires, _written, name in alive[:extra]:
            with contextlib.suppress(OSError):
                os.remove(name)
        return len(alive) - extra


def _remove_old_files(folder: Path, keep: set[str]) -> None:
    """Remove the files of ``folder`` older than :data:`LOCK_FILE_AGE_S` but those named in ``keep``."""
    cutoff = time.time() - LOCK_FILE_AGE_S
    try:
        paths = list(folder.iterdir())
    except OSError:
        return
    for path in paths:
        if path.name in keep:
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
