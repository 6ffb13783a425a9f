"""Compressed response bodies kept per digest of the body itself (flask-compress's cache, keyed our way).

A cached callback output answers the same bytes to every click of the same view and scope, and compressing them
again on every click was the largest cost of a warm click after the cache itself (zstd ≈ 12 % of a worker's busy
samples under load, cap20). flask-compress can keep compressed bodies, but keys them by a function of the request
only; here the key is a digest of the uncompressed body, taken by an ``after_request`` hook that runs right before
flask-compress (:func:`install`). Only identical bytes share their compressed form, so nothing of one answer can
reach another (another user, another view): the cache saves work, never changes a response. Per process, at most
:data:`MAX_ENTRIES` bodies (least recently used first out).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 256
MIN_BYTES = 2048            # smaller bodies compress in microseconds: not worth an entry
_NOT_KEPT = "-"             # key of a body without a digest: compressed as usual, never stored


class BodyCache:
    """A small thread-safe LRU map (flask-compress's ``COMPRESS_CACHE_BACKEND``: ``get`` and ``set``)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self.hits = 0

    def get(self, key: str) -> bytes | None:
        """The compressed body kept under ``key`` (``algorithm;digest``), else None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return value

    def set(self, key: str, value: bytes) -> None:
        """Keep ``value`` (not for bodies without a digest)."""
        if key.split(";", 1)[-1].startswith(_NOT_KEPT):
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def body_key(_request: Any) -> str:
    """flask-compress's ``COMPRESS_CACHE_KEY``: the digest :func:`digest_body` took of this response's body."""
    from flask import g
    return g.get("body_digest") or f"{_NOT_KEPT}{id(g)}"


def digest_body(response: Any) -> Any:
    """``after_request`` hook run right before flask-compress: the digest of the final body (not of a streamed or
    file response, nor of a small one)."""
    from flask import g
    g.pop("body_digest", None)
    if not response.direct_passthrough and not response.is_streamed:
        data = response.get_data()
        if len(data) >= MIN_BYTES:
            g.body_digest = hashlib.sha256(data).hexdigest()     # hardware-accelerated: ~2× blake2b here
    return response


def configure(server: Any) -> None:
    """Before the Dash app (and its flask-compress) is made on ``server``: use the body cache."""
    server.config.update(COMPRESS_CACHE_BACKEND=BodyCache, COMPRESS_CACHE_KEY=body_key)


def install(server: Any) -> None:
    """Right after the Dash app is made on ``server``: register :func:`digest_body`. Flask runs ``after_request``
    hooks last-registered first, so every hook registered later (headers, the service log) runs before it and the
    digest is of the body flask-compress — registered just before — compresses."""
    server.after_request(digest_body)
