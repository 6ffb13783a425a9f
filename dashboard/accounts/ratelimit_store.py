"""A `limits` storage in one SQLite file: the login limiter's counts shared by every worker of a host.

Flask-Limiter keeps counts in process memory unless told otherwise, so two gunicorn workers would each allow the
full rate. With Redis configured (``CACHE_URL``) the limiter counts there; without it, this storage
(``ycty-sqlite:///path``) counts in a small SQLite file beside the app database. Each increment is one
``BEGIN IMMEDIATE`` transaction, so parallel requests in different processes never lose a count.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"


class SQLiteFileStorage(Storage):
    """Fixed-window counters in a SQLite file (WAL, busy timeout); rows past their window are replaced."""

    STORAGE_SCHEME = ["ycty-sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path((uri or "").split(":///", 1)[1])        # ycty-sqlite:///<path> (absolute: four slashes)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(_SCHEMA)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            conn.execute("INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value", (key, amount, now + expiry))
            value = conn.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()[0]
            if now > getattr(self._local, "swept", 0) + 60:      # old windows of other keys, once a minute
                conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
                self._local.swept = now
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(value)

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT value FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        cur = self._conn().execute("DELETE FROM counters")
        return cur.rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))
