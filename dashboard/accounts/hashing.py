"""Password hashing on a bounded, low-priority pool (scrypt; parameters in docs/security.md)."""
from __future__ import annotations

import os
import threading

# scrypt (werkzeug's default: N=2^15, r=8, p=1, 32 MB and ~0.1 s of one core per check) runs on a pool of
# LOGIN_HASH_SLOTS threads per worker process (default 2) whose OS priority is lowered (nice LOGIN_HASH_NICE,
# default 10, per thread on Linux): a burst of logins queues here instead of taking every core, and while the
# callbacks of the users already in want the CPU, the kernel gives it to them first. hashlib releases the
# interpreter lock while it hashes, so the worker's other threads go on serving meanwhile.
# A check still queued after LOGIN_HASH_ESCALATE_S (default 3 s) moves to one normal-priority thread, so logins
# are not starved either (by a long run of clicks, or by other programs on a shared machine).
# The request thread of a login waits for its check: `serve --threads` (default 64) leaves threads for the clicks.
HASH_SLOTS = max(1, int(os.environ.get("LOGIN_HASH_SLOTS", "2") or 2))
HASH_NICE = min(19, max(0, int(os.environ.get("LOGIN_HASH_NICE", "10") or 0)))
ESCALATE_S = float(os.environ.get("LOGIN_HASH_ESCALATE_S", "3") or 3)
_pool_lock = threading.Lock()
_pools: dict[str, tuple] = {}      # "low"/"normal" -> (ThreadPoolExecutor, pid): made lazily, again after a fork


def _lower_priority() -> None:
    """Pool thread start: run this thread at nice HASH_NICE (Linux sets the nice value per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)
    except (AttributeError, OSError):     # not Linux, or not allowed: the pool still bounds the checks
        pass


def _hash_pool(kind: str = "low"):
    from concurrent.futures import ThreadPoolExecutor
    with _pool_lock:
        made = _pools.get(kind)
        if made is None or made[1] != os.getpid():
            pool = (ThreadPoolExecutor(HASH_SLOTS, thread_name_prefix="password-hash", initializer=_lower_priority)
                    if kind == "low" else ThreadPoolExecutor(1, thread_name_prefix="password-hash-late"))
            made = _pools[kind] = (pool, os.getpid())
        return made[0]


def _on_hash_pool(fn, *args, **kwargs):  # noqa: ANN001
    """``fn(*args)`` on the low-priority pool; on the normal-priority thread when still queued after ESCALATE_S."""
    from concurrent.futures import TimeoutError as Pending
    job = _hash_pool("low").submit(fn, *args, **kwargs)
    try:
        return job.result(timeout=ESCALATE_S)
    except Pending:
        if job.cancel():
            return _hash_pool("normal").submit(fn, *args, **kwargs).result()
        return job.result()


def hash_password(password: str) -> str:
    """Hash with werkzeug's scrypt (salted), on the low-priority pool of password checks."""
    from werkzeug.security import generate_password_hash
    return _on_hash_pool(generate_password_hash, password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    """Check ``password`` against its scrypt hash, on the low-priority pool (see :data:`HASH_SLOTS`)."""
    from werkzeug.security import check_password_hash
    return _on_hash_pool(check_password_hash, password_hash, password)
