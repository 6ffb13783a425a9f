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

Writes are all or nothing: the value is pickled whole before any file is made (cachelib pickles into the file and,
when pickling fails half way, stores the torn entry as the value and says it stored it), and a temporary file that
could not be finished (disk full, a file size limit, an unwritable folder) is removed at once instead of being
left in the folder for good (cachelib leaves it, and no prune counts or removes it). A pass also removes the
temporary files older than :data:`TMP_FILE_AGE_S` (a worker killed while writing leaves one). A file the process
may not open is a miss at once (cachelib retries a ``PermissionError`` with back-off for 10 s on every read and
write: a page asking a dozen keys then waited minutes).
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from flask_caching.backends.filesystemcache import FileSystemCache

from core.cache import lock_dir

log = logging.getLogger(__name__)

LOW_WATER = 0.8
LOCK_FILE_AGE_S = 600.0
RECOUNT_EVERY = 500         # writes of one process between two real counts of the files (drift cannot hide)
TMP_FILE_AGE_S = 600.0      # a temporary file older than this is left by a writer that died: removed by a pass


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
        locks = lock_dir(folder)
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
            _remove_old_files(folder, keep=set(), suffix=self._fs_transaction_suffix, age=TMP_FILE_AGE_S)
            type(self).prunes += 1
        finally:
            if fd is not None:
                os.close(fd)

    def set(self, key: str, value: Any, timeout: Any = None, mgmt_element: bool = False) -> bool:
        """Store ``value`` under ``key``: the whole entry or nothing (see module); False when not stored."""
        try:
            body = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 — what cannot be pickled is not cached (a miss next time)
            log.warning("结果缓存：值无法序列化，未缓存（%s）", exc)
            return False
        if not mgmt_element:
            self._prune()
        filename = self._get_filename(key)
        overwrite = os.path.isfile(filename)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(suffix=self._fs_transaction_suffix, dir=self._path)
            with os.fdopen(fd, "wb") as f:
                f.write(struct.pack("I", self._normalize_timeout(0 if mgmt_element else timeout)))
                f.write(body)
            os.chmod(tmp, self._mode)
            os.replace(tmp, filename)
            tmp = None
        except OSError as exc:
            log.warning("结果缓存：写入失败，未缓存（%s）", exc)
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.remove(tmp)
        if not overwrite and not mgmt_element:
            self._update_count(delta=1)
        return True

    def _run_safely(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` once (cachelib retries a ``PermissionError`` for 10 s, for SMB and NTFS; here it is a miss)."""
        return fn(*args, **kwargs)

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


def _remove_old_files(folder: Path, keep: set[str], suffix: str = "", age: float = LOCK_FILE_AGE_S) -> None:
    """Remove the files of ``folder`` (whose names end in ``suffix``) older than ``age`` seconds but those named in
    ``keep``."""
    cutoff = time.time() - age
    try:
        paths = list(folder.iterdir())
    except OSError:
        return
    for path in paths:
        if path.name in keep or not path.name.endswith(suffix):
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
