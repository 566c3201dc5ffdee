"""Query results kept per store version: a repeated query against an unchanged store costs a lookup.

The key is the store's build id (a hash of its content) with everything that shapes the answer, so a
new build never sees an old answer and the ETag made from the key is strong: a client that sends it
back in If-None-Match gets 304 without the query running at all.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import cachetools
import diskcache

from kg.store.results import Answer


def result_key(build_id: str, result_format: str, request: dict[str, Any]) -> str:
    """A digest of what determines a result: the store version, the format and the request."""
    parts = [build_id, result_format]
    for name in sorted(request):
        value = request[name]
        if isinstance(value, dict):
            value = sorted((k, v.n3() if hasattr(v, "n3") else str(v)) for k, v in value.items())
        parts.append(f"{name}={value!r}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


#: What an entry holds besides its body (its key, the Answer, the map's node), rounded up from what
#: tracemalloc showed. Counted, so that many tiny answers (an ASK, made distinct by a comment) cannot
#: hold many times the bound.
ENTRY_BYTES = 320


class SharedAnswers:
    """Answers on disk in ``directory``, shared by the processes that open it, bounded by ``max_bytes``.

    Opened lazily in each process (an SQLite connection must not cross fork()). An answer is stored as one
    flags byte before its body, so diskcache keeps raw bytes and never unpickles what it reads.
    """

    def __init__(self, directory: Path, max_bytes: int):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._cache: diskcache.Cache | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _open(self) -> diskcache.Cache:
        with self._lock:
            if self._cache is None or self._pid != os.getpid():
                # least-recently-stored: a read is not a write, so hits in many workers do not contend
                self._cache = diskcache.Cache(
                    str(self.directory),
                    size_limit=self.max_bytes,
                    timeout=1,
                    eviction_policy="least-recently-stored",
                    statistics=False,
                )
                self._pid = os.getpid()
            return self._cache

    def get(self, key: str) -> Answer | None:
        """The answer kept under ``key``; None when there is none or the disk cannot say (a cache may miss)."""
        try:
            stored = self._open().get(key)
        except (diskcache.Timeout, sqlite3.Error, OSError):
            return None
        if not isinstance(stored, bytes) or not stored:
            return None
        flags = stored[0]
        return Answer(stored[1:], truncated=bool(flags & 1), over_bytes=bool(flags & 2))

    def put(self, key: str, answer: Answer) -> None:
        flags = (1 if answer.truncated else 0) | (2 if answer.over_bytes else 0)
        try:
            self._open().set(key, bytes([flags]) + answer.body)
        except (diskcache.Timeout, sqlite3.Error, OSError):
            pass  # not kept: the answer is still sent, and this worker keeps it in memory


class ResultCache:
    """A least-recently-used map of answers, bounded by their total size in bytes, entries included;
    with ``shared``, backed by answers the other workers made."""

    def __init__(self, max_bytes: int, shared: SharedAnswers | None = None):
        self.max_bytes = max_bytes
        self.shared = shared
        self._answers: cachetools.LRUCache[str, Answer] = cachetools.LRUCache(max_bytes, getsizeof=_entry_size)
        self._lock = threading.Lock()

    def get(self, key: str) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
        if answer is not None or self.shared is None:
            return answer
        answer = self.shared.get(key)
        if answer is not None:
            self._keep(key, answer)
        return answer

    def put(self, key: str, answer: Answer) -> None:
        if _entry_size(answer) > self.max_bytes // 4:  # one huge answer would push out the rest
            return
        if self._keep(key, answer) and self.shared is not None:
            self.shared.put(key, answer)

    def _keep(self, key: str, answer: Answer) -> bool:
        """Keep ``answer`` in memory (unless it is larger than the whole bound); False when it was there
        already."""
        with self._lock:
            if key in self._answers:
                return False
            if _entry_size(answer) <= self.max_bytes:
                self._answers[key] = answer
            return True


def _entry_size(answer: Answer) -> int:
    return len(answer.body) + ENTRY_BYTES
