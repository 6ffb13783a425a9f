"""Password checks on the low-priority pool (dashboard/accounts/hashing.py): real scrypt, real OS priorities."""
from __future__ import annotations

import os
import threading
import time

import pytest

from dashboard.accounts import hashing


def _nice_here() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="per-thread priorities are a Linux feature")
def test_checks_run_at_low_priority_and_the_request_thread_keeps_its_own() -> None:
    before = _nice_here()
    assert hashing._hash_pool("low").submit(_nice_here).result() == max(before, hashing.HASH_NICE)
    assert _nice_here() == before                      # only the pool's threads were lowered
    h = hashing.hash_password("Qx7!correct-horse")
    assert hashing.verify_password(h, "Qx7!correct-horse") and not hashing.verify_password(h, "wrong")


def test_a_check_queued_too_long_moves_to_the_normal_priority_thread(monkeypatch) -> None:
    h = hashing.hash_password("Qx7!another-one")
    monkeypatch.setattr(hashing, "ESCALATE_S", 0.2)
    release = threading.Event()
    blockers = [hashing._hash_pool("low").submit(release.wait, 30) for _ in range(hashing.HASH_SLOTS)]
    try:
        t0 = time.monotonic()
        assert hashing.verify_password(h, "Qx7!another-one")      # the low pool is full: escalated
        assert time.monotonic() - t0 < 10
        assert not any(b.done() for b in blockers)
    finally:
        release.set()
    assert all(b.result(timeout=10) for b in blockers)
