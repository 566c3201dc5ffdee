"""The memory bound of query evaluation: the process's resident size, sampled while slow queries run.

pyoxigraph allocates without bound and cannot be stopped (a short query that keeps doubling a string is
enough), and an address-space limit (RLIMIT_AS) would make Rust abort the whole process instead of
failing one query. So the thread waiting for a query samples the resident size every ``SAMPLE_SECONDS``
once the query has outlasted one sample (a light query is never sampled), and the evaluator fails the
query (503) past the bound, as it does past the time limit (``kg.limits.evaluator``).

Memory is one figure per process, so the bound is on what the process holds above its size when the
oldest query still running was first sampled: queries running at once share it. Work that is not a
query (a store copied into memory) runs inside ``not_a_query(allowance)``: while it runs the bound is
raised by its allowance, and what it grew, up to the allowance, is then not charged to the queries.
A watched query that grew the process by more than ``TRIM_FROM_BYTES`` hands the freed memory back to
the operating system when it ends (glibc otherwise keeps much of it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterator

try:
    import resource
except ImportError:  # not a Unix: the resident size is not known, and nothing is bounded
    resource = None  # type: ignore[assignment]  # mypy cannot type a module name as optional

#: How often a slow query's waiting thread samples the resident size: pyoxigraph's evaluation grows fast,
#: and at this rate a query passes the bound by only a little before it is seen.
SAMPLE_SECONDS = 0.02
#: Growth past which the end of a watched query calls malloc_trim (which takes time, so not after every
#: query).
TRIM_FROM_BYTES = 32 * 1024 * 1024

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: tuple[int, int] | None = None  # (pid, descriptor): /proc/self names the opener, so reopened after fork


def resident_bytes() -> int:
    """The process's resident size now (Linux), else its peak (``ru_maxrss``, the best elsewhere)."""
    global _statm
    pid = os.getpid()
    try:
        if _statm is None or _statm[0] != pid:
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY))
        # a pread of a descriptor kept open: far cheaper than opening and reading the file each time
        return int(os.pread(_statm[1], 64, 0).split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        if resource is None:
            return 0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc
        return None


class Watch:
    """One evaluation as the guard sees it: its ``baseline`` once watched, ``ended`` once its work is done."""

    __slots__ = ("baseline", "ended")

    def __init__(self) -> None:
        self.baseline: int | None = None
        self.ended = False


def _baseline(watch: Watch) -> int:
    """The baseline of a watched evaluation (``MemoryGuard.watch`` sets it as it adds the watch)."""
    assert watch.baseline is not None
    return watch.baseline


class MemoryGuard:
    """The watched evaluations of this process and their baselines (one guard per process: ``GUARD``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: set[Watch] = set()
        self._allowance = 0  # of the work that is not a query, running now
        self._trim = _malloc_trim()

    def watch(self, watch: Watch) -> None:
        """Start charging ``watch``'s evaluation (its waiter calls this after one sample period)."""
        resident = resident_bytes()
        with self._lock:
            self._watched.add(watch)
            watch.baseline = resident
        if watch.ended:  # it ended meanwhile, and may not have seen its baseline
            self.ended(watch)

    def excess(self, limit: int) -> int | None:
        """Bytes held past the oldest watched baseline plus ``limit``, or None when within it."""
        resident = resident_bytes()
        with self._lock:
            if not self._watched:
                return None
            base = min(_baseline(watch) for watch in self._watched)
            if resident < base:  # memory was handed back (an older store copy dropped): tighten
                for watch in self._watched:
                    watch.baseline = min(_baseline(watch), resident)
                return None
            limit += self._allowance
        return resident - base - limit if resident - base > limit else None

    def ended(self, watch: Watch) -> None:
        """Called once a watched evaluation's work is done (``ended`` set first), on the thread that did it."""
        with self._lock:
            if watch not in self._watched:
                return
            self._watched.discard(watch)
        if self._trim is not None and resident_bytes() - _baseline(watch) > TRIM_FROM_BYTES:
            self._trim(0)

    @contextlib.contextmanager
    def not_a_query(self, allowance: int) -> Iterator[None]:
        """Work of up to ``allowance`` bytes that queries running meanwhile are not charged with (copying a
        store into memory, which a fresh worker does while it answers its first queries)."""
        start = resident_bytes()
        with self._lock:
            self._allowance += allowance
        try:
            yield
        finally:
            resident = resident_bytes()
            credit = min(max(resident - start, 0), allowance)
            with self._lock:
                self._allowance -= allowance
                for watch in self._watched:  # what the work added is part of their baselines
                    baseline = _baseline(watch)
                    watch.baseline = max(baseline, min(baseline + credit, resident))


GUARD = MemoryGuard()
