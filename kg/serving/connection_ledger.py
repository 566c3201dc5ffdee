"""Kept-alive connections dealt evenly to ``kg serve``'s workers.

The workers share one listening socket, and a kept-alive connection stays with the worker that accepted
it. Queries run outside Python's GIL, so a busy worker accepts as fast as an idle one, and with a few busy
clients one worker often held most of them while the other idled, and throughput fell well below an
even split's. So each worker records its clients' connections in memory the workers share
(``ConnectionLedger``), and leaves a new connection to a worker that holds fewer, for at most
``MAX_DEFER_SECONDS`` (``Acceptor``); and a connection is closed after ``keepalive_requests`` requests,
so that the clients' connections are dealt out again as they reconnect.

A connection counts once it has sent a whole request: slow or idle connections that never finish one
(hundreds, from an attacker) would otherwise decide where the real clients go, and have each worker leave
every new connection to the other in turn.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Callable

from kg.parallel import process_alive, process_exists

#: How long a worker with more connections than another leaves a new one for it before taking it anyway
#: (the other may be stuck, or stopping without having said so).
MAX_DEFER_SECONDS = 0.05


class ConnectionLedger:
    """Each worker's open connections, in memory the workers share (made by the arbiter before it forks them).

    Slots are claimed by process id; a slot whose process has ended is free again, and is never counted.
    """

    STOPPING = 1 << 30  # what a stopping worker records: it accepts nothing more

    def __init__(self, slots: int):
        self._pids = multiprocessing.RawArray("i", slots)
        self._open = multiprocessing.RawArray("i", slots)
        self._lock = multiprocessing.Lock()

    def claim(self, pid: int) -> int | None:
        with self._lock:
            for slot, holder in enumerate(self._pids):
                if holder == 0 or not process_alive(holder):
                    self._pids[slot], self._open[slot] = pid, 0
                    return slot
        return None

    def release(self, slot: int | None) -> None:
        """Free a stopping worker's slot at once (a process id can be reused before the slot is reclaimed)."""
        if slot is not None:
            self._pids[slot] = 0

    def record(self, slot: int | None, count: int) -> None:
        if slot is not None:
            self._open[slot] = count

    def fewest_elsewhere(self, slot: int | None) -> int | None:
        counts = [
            self._open[other] for other, pid in enumerate(self._pids) if other != slot and pid and process_exists(pid)
        ]
        return min(counts) if counts else None


class Acceptor:
    """Accepts on ``listener`` from an asyncio loop, leaving new connections to a worker with fewer.

    ``open_count()`` is this worker's number of clients' connections; ``serve(sock)`` takes an accepted socket.
    """

    def __init__(
        self,
        loop,
        listener: socket.socket,
        ledger: ConnectionLedger,
        slot: int | None,
        open_count: Callable[[], int],
        serve: Callable[[socket.socket], None],
    ):
        self.loop, self.listener, self.ledger, self.slot = loop, listener, ledger, slot
        self.open_count, self.serve = open_count, serve
        self.deferring_since: float | None = None
        self.listening = self.closed = False
        listener.setblocking(False)

    def start(self) -> None:
        if not self.listening and not self.closed:
            self.loop.add_reader(self.listener.fileno(), self._acceptable)
            self.listening = True

    def stop(self) -> None:
        if self.listening:
            self.loop.remove_reader(self.listener.fileno())
            self.listening = False

    def close(self) -> None:
        """Accept nothing more, and tell the other workers so."""
        self.stop()
        self.closed = True
        self.ledger.record(self.slot, ConnectionLedger.STOPPING)

    def _acceptable(self) -> None:
        fewest = self.ledger.fewest_elsewhere(self.slot)
        if fewest is not None and self.open_count() > fewest:
            now = time.monotonic()
            self.deferring_since = self.deferring_since or now
            if now - self.deferring_since < MAX_DEFER_SECONDS:
                self.stop()  # the socket stays readable: look again shortly, without spinning
                self.loop.call_later(0.0005, self.start)
                return
        self.deferring_since = None
        try:
            connection, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):  # another worker took it
            return
        except OSError:  # out of descriptors, or the socket closed: try again shortly
            self.stop()
            self.loop.call_later(0.05, self.start)
            return
        self.serve(connection)
        self.record()

    def record(self) -> None:
        if not self.closed:
            self.ledger.record(self.slot, self.open_count())
