"""Admission control: how many queries a worker evaluates at once, and each client's share of them.

Every query (and every check of an upload) runs on a query thread; without a bound, eight clients
re-sending a query that runs to the time limit kept every core busy, and everything else waited. Here a
worker evaluates at most ``slots`` at once; a query that cannot start within ``wait`` seconds is refused
at once with 503 and Retry-After, and while several clients want slots, none holds more than its share
(the slots divided among the clients holding or waiting for one), so one client's burst cannot shut the
others out. Requests that run no query (``/health``, pages without queries, answers from the cache)
never come here.
"""

from __future__ import annotations

import contextvars
import multiprocessing
import threading
import time
import zlib
from collections import Counter

from kg.errors import Unavailable

#: The client of the request this thread serves (its address); set by the web layer for each request.
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("kg_client", default="")


class Busy(Unavailable):
    """Every query slot of this worker is taken, or this client holds its share of them."""


#: The longest penalty: a client that keeps sending runaway queries waits twice as long each time, to this.
MAX_PENALTY_SECONDS = 3600.0


class PenaltyBox:
    """Clients whose queries are refused until a moment, in memory shared by the workers (made before the
    fork). A client punished again within ``MEMORY_FACTOR`` penalties of the last gets twice the last
    penalty (to ``MAX_PENALTY_SECONDS``): each of its runaways costs a worker, whose replacement starts
    with an empty result cache. For as long as it would be doubled, a client whose penalty has ended is on
    probation: one query at a time in the whole server, so that its queries, sent again the moment the
    penalty ends, cannot run away in every worker at once. A fixed table: a new entry takes the place
    forgotten longest ago."""

    MEMORY_FACTOR = 4
    #: What ``admit`` gives for a query admitted on probation (true, and counted until ``release``).
    PROBATION = 2

    def __init__(self, places: int = 256):
        self._keys = multiprocessing.RawArray("q", places)
        self._until = multiprocessing.RawArray("d", places)
        self._last = multiprocessing.RawArray("d", places)  # the length of the last penalty
        self._running = multiprocessing.RawArray("i", places)  # queries running on probation, in every worker
        self._lock = multiprocessing.Lock()

    @staticmethod
    def _key(client: str) -> int:
        return zlib.crc32(client.encode("utf-8")) + 1  # never 0, which marks a free place

    def punish(self, client: str, seconds: float) -> float:
        """Refuse ``client`` for ``seconds``, or twice its last penalty if that is recent; the length given."""
        key, now = self._key(client), time.time()
        with self._lock:
            place = self._place(key)
            if place is not None and now < self._until[place] + self.MEMORY_FACTOR * self._last[place]:
                seconds = min(MAX_PENALTY_SECONDS, max(seconds, 2 * self._last[place]))
                if now < self._until[place]:  # still punished: a runaway that began before the penalty
                    return float(self._last[place])
            if place is None:
                place = min(range(len(self._keys)), key=lambda i: self._until[i] + self.MEMORY_FACTOR * self._last[i])
            self._keys[place], self._until[place], self._last[place] = key, now + seconds, seconds
            self._running[place] = 0
            return seconds

    def _place(self, key: int) -> int | None:
        return next((i for i in range(len(self._keys)) if self._keys[i] == key), None)

    def admit(self, client: str) -> int:
        """Whether ``client`` may start a query now as far as its record goes (0 when not): not while
        punished, and on probation only when none of its queries runs; ``PROBATION`` when the query is
        admitted on probation, and counted until ``release``."""
        key, now = self._key(client), time.time()
        with self._lock:
            place = self._place(key)
            if place is None or now >= self._until[place] + self.MEMORY_FACTOR * self._last[place]:
                return 1  # never punished, or long enough ago
            if now < self._until[place] or self._running[place] > 0:
                return 0
            self._running[place] += 1
            return self.PROBATION

    def release(self, client: str) -> None:
        """A query of ``client`` admitted by ``admit`` has ended."""
        with self._lock:
            place = self._place(self._key(client))
            if place is not None and self._running[place] > 0:
                self._running[place] -= 1

    def remaining(self, client: str) -> float:
        """Seconds left of ``client``'s penalty (0 when none)."""
        place = self._place(self._key(client))
        return 0.0 if place is None else max(0.0, self._until[place] - time.time())


class Admission:
    """``slots`` queries at once, shared fairly among clients; ``wait`` seconds at most for a slot; a client
    in ``penalties`` is refused at once."""

    def __init__(self, slots: int, wait: float, penalties: PenaltyBox | None = None, penalty_seconds: float = 0):
        self.slots, self.wait = slots, wait
        self.penalties, self.penalty_seconds = penalties or PenaltyBox(16), penalty_seconds
        self._held: Counter[str] = Counter()
        self._waiting: Counter[str] = Counter()
        self._changed = threading.Condition()

    def _share(self) -> int:
        clients = len(set(self._held) | set(self._waiting))
        return max(1, self.slots // max(1, clients))

    def _may_start(self, client: str) -> bool:
        return sum(self._held.values()) < self.slots and self._held[client] < self._share()

    def enter(self, client: str) -> bool:
        """Take a slot for ``client``, or raise Busy once ``wait`` seconds have passed without one (at once
        when the client is in the penalty box, or on probation with a query running). True when the query
        counts as the client's one on probation: hand that to ``leave``."""
        on_probation = False
        if self.penalty_seconds:
            admitted = self.penalties.admit(client)
            if not admitted:
                raise self._penalised(client)
            on_probation = admitted == PenaltyBox.PROBATION
        try:
            self._take_slot(client)
        except Busy:
            if on_probation:
                self.penalties.release(client)
            raise
        return on_probation

    def _penalised(self, client: str) -> Busy:
        left = self.penalties.remaining(client)
        if left:
            return Busy(
                f"a query of this client ran past a limit of the endpoint (time or memory) a moment ago, "
                f"which costs a whole worker; its queries are refused for {left:.0f} s more (setting "
                "runaway_penalty, doubled for each repeat)",
                retry_after=max(1, round(left)),
            )
        return Busy(
            "a query of this client ran past a limit of the endpoint not long ago: for a while it may run "
            "one query at a time in the whole server, and one is running; retry once it has ended",
            retry_after=1,
        )

    def _take_slot(self, client: str) -> None:
        with self._changed:
            if not self._may_start(client):
                self._waiting[client] += 1
                try:
                    deadline = time.monotonic() + self.wait
                    while not self._may_start(client):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise Busy(self._refusal(client), retry_after=max(1, round(self.wait * 2)))
                        self._changed.wait(left)
                finally:
                    self._waiting[client] -= 1
                    if not self._waiting[client]:
                        del self._waiting[client]
            self._held[client] += 1

    def leave(self, client: str, on_probation: bool = False) -> None:
        """Give back a slot of ``client`` (when its query has ended, not when its client stopped waiting);
        ``on_probation`` is what ``enter`` returned."""
        with self._changed:
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]
            self._changed.notify_all()
        if on_probation:
            self.penalties.release(client)

    def _refusal(self, client: str) -> str:
        if self._held[client] >= self._share() and sum(self._held.values()) < self.slots:
            return (
                f"this client already runs {self._held[client]} queries, its share of this worker's "
                f"{self.slots} (setting max_running_queries); retry once one has ended"
            )
        return (
            f"all {self.slots} query slots of this worker stayed busy for {self.wait:g} s (settings "
            "max_running_queries, queue_wait); retry shortly"
        )

    def punish(self, client: str) -> None:
        """``client``'s query ran away: refuse its queries for ``penalty_seconds``, in every worker."""
        if self.penalty_seconds:
            self.penalties.punish(client, self.penalty_seconds)

    def running(self) -> int:
        with self._changed:
            return sum(self._held.values())
