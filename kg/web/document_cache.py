"""Whole documents a worker has made for a store version (dumps, their descriptions, the dataset from
``GET /data``), kept least recently used first out, within a bound in bytes.

Making one means serialising the whole store; a client cycling through formats asked for it anew each time
when only the last was kept. A document larger than the bound is served but not kept; keys start with the
build id, so a new version's documents push the old ones out as they are asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

import cachetools

T = TypeVar("T")


class DocumentCache:
    """``get(key, make, size)``: the value kept under ``key``, else ``make()``'s, kept when ``size`` of it
    fits within ``max_bytes``. Two requests for a missing document may both make it (the first kept wins);
    the lock is never held while making one."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        #: key -> (document, its size); cachetools drops the least recently used past the bound
        self._kept: cachetools.LRUCache[Hashable, tuple[object, int]] = cachetools.LRUCache(
            max_bytes, getsizeof=lambda entry: entry[1]
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            found = self._kept.get(key)
        if found is not None:
            return found[0]  # type: ignore[return-value]  # kept by this method, from make()
        value = make()
        bytes_ = size(value)
        if bytes_ <= self.max_bytes:
            with self._lock:
                if key not in self._kept:
                    self._kept[key] = (value, bytes_)
        return value

    @property
    def size(self) -> int:
        return int(self._kept.currsize)

    def __len__(self) -> int:
        return len(self._kept)
