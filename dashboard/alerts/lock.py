"""One runner of the rule evaluation across every process and server of a deployment, and one run per tick.

The lock: on a PostgreSQL app database (the several-servers deployment) a session advisory lock held on a dedicated
connection for the run (``pg_try_advisory_lock`` when the caller would rather skip than wait); on SQLite (one host)
an exclusive ``flock`` beside the data directory, as before.

The tick: the schedule of every server fires at the same wall-clock boundaries (multiples of the interval since
the epoch, ``aligned_start``). A server whose tick finds that a run already finished within half an interval
before the tick's boundary (``alerts.run`` audit rows: every run writes one) skips: a server that fires a little
later than another, after the other's run has released the lock, does not evaluate the same tick again.
"""
from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from core.config import Config
from dashboard.appdb import app_engine

PG_RUNNER_LOCK = zlib.crc32(b"ycty alerts runner")      # pg_advisory_lock key of the one rule-evaluation runner
RUN_ACTION = "alerts.run"                                # the audit action every evaluation writes
_EPOCH = dt.datetime(2000, 1, 1)                         # ticks are multiples of the interval since then (UTC)


@contextmanager
def runner_lock(cfg: Config, wait: bool = False) -> Iterator[bool]:
    """Exclusive lock of the one rule-evaluation runner; yields True when this caller holds it. With ``wait``
    False a held lock yields False at once (the caller skips); with ``wait`` True it waits for the holder."""
    engine = app_engine(cfg.app_db_url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:          # a session lock lives on this connection, outside any transaction
            take = func.pg_advisory_lock if wait else func.pg_try_advisory_lock
            got = conn.execute(select(take(PG_RUNNER_LOCK))).scalar()
            conn.commit()
            got = True if wait else bool(got)
            try:
                yield got
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(PG_RUNNER_LOCK)))
                    conn.commit()
        return
    with _flock(Path(cfg.data_dir) / "alerts-run.lock", wait) as got:
        yield got


@contextmanager
def _flock(path: Path, wait: bool) -> Iterator[bool]:
    """``flock`` on ``path``: True when held (always when waiting); no-op True where ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on the supported platforms
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def aligned_start(minutes: float, now: dt.datetime | None = None) -> dt.datetime:
    """The last tick boundary at or before ``now`` (naive UTC): the schedule of every server starts there, so all
    of them fire at the same boundaries whenever they were started."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    step = dt.timedelta(minutes=minutes)
    return _EPOCH + ((now - _EPOCH) // step) * step


def tick_already_run(cfg: Config, minutes: float, now: dt.datetime | None = None) -> bool:
    """True when a rule evaluation finished within half an interval before the tick nearest ``now`` (naive UTC),
    i.e. another server already evaluated this tick."""
    from dashboard.accounts import clock
    from dashboard.accounts.models import AuditLog
    from dashboard.appdb import session_factory
    now = now or clock.now()
    step = dt.timedelta(minutes=minutes)
    tick = _EPOCH + round((now - _EPOCH) / step) * step
    with session_factory(cfg.app_db_url)() as s:     # the ts index bounds the scan to the last half interval
        hit = s.scalar(select(AuditLog.id).where(AuditLog.ts >= tick - step / 2, AuditLog.action == RUN_ACTION)
                       .limit(1))
    return hit is not None
