"""Whole documents a worker has made for a store version (dumps, their descriptions, the dataset from
``GET /data``), kept least recently used first out, within a bound in bytes.

Making one means serialising the whole store; a client cycling through formats asked for it anew each time
when only the last was kept. A document larger than the bound is served but not kept; keys start with the
build id, so a new version's documents push the old ones out as they are asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class DocumentCache:
    """``get(key, make, size)``: the value kept under ``key``, else ``make()``'s, kept when ``size`` of it
    fits within ``max_bytes``. Two requests for a missing document may both make it (the first kept wins);
    the lock is never held while making one."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._kept: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[0]  # type: ignore[return-value]  # kept by this method, from make()
        value = make()
        bytes_ = size(value)
        if bytes_ <= self.max_bytes:
            with self._lock:
                if key not in self._kept:
                    self._kept[key] = (value, bytes_)
                    self._size += bytes_
                    while self._size > self.max_bytes:
                        _, (_, dropped) = self._kept.popitem(last=False)
                        self._size -= dropped
        return value

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._kept)
