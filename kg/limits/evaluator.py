"""Query evaluation within a time limit, on threads of the serving process.

pyoxigraph releases the GIL while it evaluates and serialises, so queries run on threads beside the
request threads, and every query of a worker shares its one copy of the store. pyoxigraph can neither
cancel a query nor check signals while it evaluates, so a query past the limit is left
running on its daemon thread: the client gets a QueryTimeout at once, and the evaluator calls
``on_runaway``, with which ``kg serve`` has the worker stop taking requests and exit once its other
requests are answered; gunicorn then starts a fresh worker, and the runaway query dies with the old one.
A query that takes more than ``max_memory`` (``kg.limits.memory_guard``) is failed and reported the same way,
so that the memory it took goes back to the operating system with its worker.

A query still running after ``demote_after`` seconds yields the processor: its thread's nice value is
raised to 19, so the short requests of every other client (and /health) go first while it runs to its
limits. A process may not lower a nice value again without privilege, so a demoted thread leaves the pool
when its query ends, and a fresh one takes its place.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable

from kg.errors import Unavailable
from kg.limits.admission import CLIENT, Admission
from kg.limits.memory_guard import GUARD, SAMPLE_SECONDS, Watch

#: Seconds a client is told to wait (Retry-After) after its query overran: its worker is being replaced.
RETRY_AFTER_RUNAWAY = 5

#: Stack of a query thread. pyoxigraph recurses once per nesting level and per chained operator, and on
#: the usual 8 MiB a deeply nested query (braces or negations) crashed the process; with this stack every
#: query within max_query_length and max_query_depth runs (tests/test_security.py).
#: Only the pages a query touches are ever backed by memory.
QUERY_STACK_BYTES = 256 * 1024 * 1024

#: The nice value of a demoted query thread: the lowest priority, which the scheduler gives a small share.
DEMOTED_NICE = 19

_demoted: set[int] = set()  # query threads whose priority was lowered: each leaves the pool after its query
_demoted_lock = threading.Lock()


def demote(thread_id: int) -> bool:
    """Lower the scheduling priority of the thread ``thread_id`` (Linux: a thread's own nice value);
    False where the platform does not allow it."""
    try:
        os.setpriority(os.PRIO_PROCESS, thread_id, DEMOTED_NICE)
    except (OSError, AttributeError):
        return False
    return True


class QueryTimeout(Unavailable):
    """The query ran longer than the configured limit and was stopped."""

    retry_after = RETRY_AFTER_RUNAWAY


class QueryMemoryExceeded(Unavailable):
    """The query took more memory than the configured bound and was stopped."""

    retry_after = RETRY_AFTER_RUNAWAY


class Evaluator:
    """Runs ``store.execute`` within ``timeout`` seconds and ``max_memory`` bytes, on a pool of daemon threads.

    The pool grows when every thread is busy (a runaway query keeps its thread), and its threads live
    as long as the process: starting a thread per query had cost a noticeable share of a busy worker's
    time.
    """

    def __init__(
        self,
        timeout: float | None,
        on_runaway: Callable[[str], None] | None = None,
        *,
        max_memory: int | None = None,
        admission: Admission | None = None,
        demote_after: float | None = None,
    ):
        self.timeout = timeout
        self.demote_after = demote_after or None  # 0 or None: never
        self.on_runaway = on_runaway
        self.max_memory = max_memory
        self.admission = admission  # how many run at once, and each client's share (kg.limits.admission)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = 0  # threads waiting for a job and not yet promised to one
        self._lock = threading.Lock()

    def _serve(self) -> None:
        while True:
            self._jobs.get()()
            with _demoted_lock:
                if threading.get_native_id() in _demoted:  # its priority cannot be raised again:
                    _demoted.discard(threading.get_native_id())
                    return  # a fresh thread serves the next query
            with self._lock:
                self._idle += 1

    def _submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                previous = threading.stack_size(QUERY_STACK_BYTES)
                try:
                    threading.Thread(target=self._serve, name="kg-query", daemon=True).start()
                finally:
                    threading.stack_size(previous)
        self._jobs.put(job)

    def execute(self, store, **request):
        """``store.execute(**request)``, or QueryTimeout / QueryMemoryExceeded past a bound (if any)."""
        return self.call(lambda: store.execute(**request))

    def call(
        self, work: Callable[[], object], *, what: str = "the query", advice: str = "narrow it down or add a LIMIT"
    ):
        """``work()`` on a query thread, or QueryTimeout / QueryMemoryExceeded past a bound (if any).

        Besides queries, the endpoint runs here what an anonymous client can make long: the check of an
        uploaded document (POST /validate), a page's queries; and ``RemoteStore`` waits here for a remote
        store's answer. With ``admission``, the work first takes a slot (or raises ``Busy``), which it
        gives back when it ends: a runaway keeps its slot while it runs.
        """
        admission, client = self.admission, CLIENT.get()
        on_probation = admission.enter(client) if admission is not None else False
        outcome: list = []
        # a bare lock, held until the work is done: waiting on it costs less CPU than an Event, and the
        # hand-over happens on every request
        finished = threading.Lock()
        finished.acquire()
        watch = Watch()
        started = time.monotonic()
        worker: list = []  # the query thread's id, for demotion; then "done" once the work has ended

        def evaluate() -> None:
            worker.append(threading.get_native_id())
            try:
                outcome.append(("ok", work()))
            except BaseException as exc:  # handed to the request thread, which raises it
                # the frames' locals go here: pyoxigraph's result iterators may only be dropped on the
                # thread that made them (elsewhere they leak, with a RuntimeError in the log)
                traceback.clear_frames(exc.__traceback__)
                outcome.append(("error", exc))
            finally:
                with _demoted_lock:  # from here on the thread is no longer this work's to demote
                    worker.append("done")
                if admission is not None:
                    admission.leave(client, on_probation)
                watch.ended = True
                finished.release()
                if watch.baseline is not None:  # watched: the guard may hand memory back now
                    GUARD.ended(watch)

        self._submit(evaluate)
        limit = -1 if self.timeout is None else self.timeout
        demotion = _Demotion(self.demote_after, started, worker)
        if self.max_memory is None:
            stopped = None if demotion.wait(finished, limit) else "time"
        elif finished.acquire(timeout=SAMPLE_SECONDS if limit < 0 else min(SAMPLE_SECONDS, limit)):
            stopped = None  # a light query, done within one sample period: never sampled
        else:
            stopped = self._watched(finished, watch, demotion)
        if stopped is not None:
            if admission is not None:
                admission.punish(client)
            if self.on_runaway is not None:
                self.on_runaway(stopped)  # "time" or "memory"
            if stopped == "memory":
                assert self.max_memory is not None  # only a query under a memory bound is stopped for memory
                raise QueryMemoryExceeded(
                    f"{what} took more memory than the limit of {self.max_memory / 2**20:g} MiB and was stopped "
                    f"(setting max_query_memory); {advice}"
                )
            raise QueryTimeout(
                f"{what} ran longer than the limit of {self.timeout:g} s and was stopped "
                f"(setting query_timeout); {advice}"
            )
        status, value = outcome[0]
        if status == "error":
            raise value
        return value

    def _watched(self, finished: threading.Lock, watch: Watch, demotion: _Demotion) -> str | None:
        """Wait for work that outlasted one sample period, sampling the memory every period: None once
        done, "time" past the time limit, "memory" past the memory bound."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout - SAMPLE_SECONDS
        max_memory = self.max_memory
        assert max_memory is not None  # only a query under a memory bound is watched (see ``call``)
        GUARD.watch(watch)
        while True:
            demotion.check()
            if GUARD.excess(max_memory) is not None:
                return "memory"
            left = SAMPLE_SECONDS if deadline is None else min(SAMPLE_SECONDS, deadline - time.monotonic())
            if left <= 0:
                return "time"
            if finished.acquire(timeout=left):
                return None


class _Demotion:
    """When one query's thread is demoted: ``after`` seconds from ``started`` (None: never)."""

    def __init__(self, after: float | None, started: float, worker: list):
        self.at = None if after is None else started + after
        self.worker = worker

    def check(self) -> None:
        if self.at is None or time.monotonic() < self.at:
            return
        if not self.worker:  # the query has not reached its thread yet
            self.at = time.monotonic() + SAMPLE_SECONDS
            return
        self.at = None
        with _demoted_lock:  # the thread cannot end the work meanwhile, so it is the one demoted
            if "done" not in self.worker and demote(self.worker[0]):
                _demoted.add(self.worker[0])

    def wait(self, finished: threading.Lock, limit: float) -> bool:
        """Wait up to ``limit`` seconds (-1: without end) for ``finished``, demoting on the way."""
        end = None if limit < 0 else time.monotonic() + limit
        while True:
            step = -1 if self.at is None else max(0.0, self.at - time.monotonic())
            if end is not None:
                left = max(0.0, end - time.monotonic())
                step = left if step < 0 else min(step, left)
            if finished.acquire(timeout=step):
                return True
            if end is not None and time.monotonic() >= end:
                return False
            self.check()
