"""Query results kept per store version: a repeated query against an unchanged store costs a lookup.

The key is the store's build id (a hash of its content) with everything that shapes the answer, so a
new build never sees an old answer and the ETag made from the key is strong: a client that sends it
back in If-None-Match gets 304 without the query running at all.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from kg.store import Answer


def result_key(build_id: str, result_format: str, request: dict) -> str:
    """A digest of what determines a result: the store version, the format and the request."""
    parts = [build_id, result_format]
    for name in sorted(request):
        value = request[name]
        if isinstance(value, dict):
            value = sorted((k, v.n3() if hasattr(v, "n3") else str(v)) for k, v in value.items())
        parts.append(f"{name}={value!r}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


#: What an entry holds besides its body (its key, the Answer, the map's node): 275 bytes measured with
#: tracemalloc. Counted, so that many tiny answers (an ASK of 30 bytes, made distinct by a comment) cannot
#: hold ten times the bound.
ENTRY_BYTES = 320


class ResultCache:
    """A least-recently-used map of answers, bounded by their total size in bytes, entries included."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: str, answer: Answer) -> None:
        size = len(answer.body) + ENTRY_BYTES
        if size > self.max_bytes // 4:  # one huge answer would push out everything else
            return
        with self._lock:
            if key in self._answers:
                return
            self._answers[key] = answer
            self._size += size
            while self._size > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._size -= len(dropped.body) + ENTRY_BYTES
