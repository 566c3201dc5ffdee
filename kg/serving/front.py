"""The HTTP front of ``kg serve``: each gunicorn worker reads requests whole on an event loop, and only then
hands them to a thread that runs the WSGI app.

Why: gunicorn's threaded worker gives a connection to a request thread as soon as it is readable, and the
thread then waits for the rest of the request, so eight clients sending a header line every few seconds
held every thread of a default server and ``/health`` went unanswered. Here a connection costs a socket
and a few objects on the loop until its request is complete; the request line, headers and body have one
total deadline (``request_timeout``: 408 past it) and their limits (414, 431, 413) before any thread sees
them, and an idle kept-alive connection is closed after ``keepalive_timeout`` (``kg.serving.front_connection``).

The front is a gunicorn worker class (gunicorn's documented way to bring one's own event loop): the
arbiter still starts, watches and replaces the workers, and runs the hooks of ``kg.serving.server``. HTTP/1.1 is
parsed and framed by h11; responses larger than ``STREAM_BYTES`` are written as the app produces them.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote_to_bytes

import h11
from gunicorn.workers.base import Worker

from kg.serving.connection_ledger import Acceptor, ConnectionLedger
from kg.serving.front_connection import Connection

#: A response body up to this size is sent in one piece with its Content-Length; a larger one is sent as
#: the app produces it (a dump of the whole store need not be held in memory).
STREAM_BYTES = 1 << 20
#: How long a worker retiring after a runaway query (past the time limit, or the memory bound) answers the
#: requests it holds before it leaves.
RETIRE_SECONDS = {"time": 2.0, "memory": 0.2}


class FrontWorker(Worker):
    """A gunicorn worker whose event loop reads requests and whose thread pool runs the WSGI app."""

    def init_process(self) -> None:
        settings = self.app.settings
        self.request_timeout = float(settings.request_timeout)
        self.keepalive_timeout = float(settings.keepalive_timeout)
        self.keepalive_requests = settings.keepalive_requests
        self.max_body = settings.max_body_bytes
        self.connections: set[Connection] = set()
        self.clients = 0  # connections that have sent a whole request (kg.serving.connection_ledger counts these)
        self.in_flight = 0
        self.arriving = 0  # accepted sockets whose Connection is still being made
        # one client (address) keeps at most half the request threads busy; its other requests wait unread
        self.client_share = max(1, settings.threads // 2)
        self.busy_by_client: Counter[str] = Counter()
        self.parked: defaultdict[str, deque[Connection]] = defaultdict(deque)
        self.ledger: ConnectionLedger = self.app.ledger
        self.slot = self.ledger.claim(os.getpid())
        self.acceptors: list[Acceptor] = []
        self.loop = asyncio.new_event_loop()
        self.stopping = asyncio.Event()
        self.grace = float(self.cfg.graceful_timeout)
        self.pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="kg-request")
        super().init_process()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        for number in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
            self.loop.add_signal_handler(number, self.stop)
        self.loop.run_until_complete(self._serve())

    def stop(self) -> None:
        self.alive = False
        self.stopping.set()

    def retire(self, kind: str = "time") -> None:
        """Stop because a query ran away (from any thread): its thread cannot be stopped, so the requests
        this worker holds get ``RETIRE_SECONDS``, not the graceful timeout; and past the memory bound, where
        the query goes on taking memory fast, hardly any."""
        self.grace = min(self.grace, RETIRE_SECONDS[kind])
        self.loop.call_soon_threadsafe(self.stop)

    def opened(self, connection: Connection) -> None:
        self.connections.add(connection)

    def counted(self, connection: Connection) -> None:
        """``connection`` has sent its first whole request: it is a client for the ledger."""
        self.clients += 1
        for acceptor in self.acceptors:
            acceptor.record()

    def lost(self, connection: Connection) -> None:
        self.connections.discard(connection)
        if connection.counted:
            self.clients -= 1
            for acceptor in self.acceptors:
                acceptor.record()

    def _take(self, sock) -> None:
        # counted until its Connection exists: a worker leaving in between would otherwise close (reset) it
        self.arriving += 1
        task = self.loop.create_task(self.loop.connect_accepted_socket(lambda: Connection(self), sock))
        task.add_done_callback(self._arrived)

    def _arrived(self, task: asyncio.Task) -> None:
        self.arriving -= 1
        if not task.cancelled() and task.exception() is not None:  # the client left at once: nothing to serve
            self.log.debug("an accepted connection could not be set up: %s", task.exception())

    async def _serve(self) -> None:
        self.acceptors = [
            Acceptor(self.loop, listener.sock, self.ledger, self.slot, lambda: self.clients, self._take)
            for listener in self.sockets
        ]
        for acceptor in self.acceptors:
            acceptor.start()
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                break
            try:
                await asyncio.wait_for(self.stopping.wait(), min(1.0, self.timeout / 4))
            except TimeoutError:
                pass
        for acceptor in self.acceptors:
            acceptor.close()
        # idle kept-alive ones go now; busy ones once answered; one accepted but not yet sent to (its request
        # may be on the way: closing it would reset the client) has until the deadline to send its request
        for connection in list(self.connections):
            if not connection.busy and not connection.reading and connection.served:
                connection.live_transport.close()
        deadline = self.loop.time() + self.grace
        while (
            self.in_flight or self.parked or self.arriving or any(c.reading or not c.served for c in self.connections)
        ) and self.loop.time() < deadline:
            self.notify()
            await asyncio.sleep(0.05)
        self.ledger.release(self.slot)

    # --- handing requests to the app -------------------------------------------------------------------

    def dispatch(self, connection: Connection) -> None:
        """Hand a whole request to a thread, unless its client already has its share of the threads busy:
        then it waits here, holding no thread, until one of that client's requests has been answered."""
        client = connection.client
        if self.busy_by_client[client] >= self.client_share:
            self.parked[client].append(connection)
            return
        self.busy_by_client[client] += 1
        self.in_flight += 1
        self.loop.create_task(self._answer(connection, self._environ(connection)))

    def _answered(self, client: str) -> None:
        self.in_flight -= 1
        self.busy_by_client[client] -= 1
        if not self.busy_by_client[client]:
            del self.busy_by_client[client]
        waiting = self.parked.get(client)
        while waiting:
            connection = waiting.popleft()
            if not connection.closed:
                self.dispatch(connection)
                break
        if waiting is not None and not waiting:
            del self.parked[client]

    def _environ(self, connection: Connection) -> dict:
        request = connection.request
        assert request is not None  # dispatched: its request has arrived whole
        target = request.target.decode("latin-1")
        path, _, query = target.partition("?")
        peer = connection.live_transport.get_extra_info("peername") or ("", 0)
        here = connection.live_transport.get_extra_info("sockname") or ("", 0)
        body = b"".join(connection.body)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": target,
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("latin-1"),
            "SERVER_NAME": str(here[0]),
            "SERVER_PORT": str(here[1]),
            "REMOTE_ADDR": str(peer[0]),
            "REMOTE_PORT": str(peer[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "CONTENT_LENGTH": str(len(body)),
        }
        for name, value in request.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if key == "CONTENT_TYPE":
                    environ[key] = value.decode("latin-1")
                continue
            key = "HTTP_" + key
            text = value.decode("latin-1")
            environ[key] = environ[key] + "," + text if key in environ else text
        return environ

    def _call_app(self, environ: dict):
        """On a request thread: the app's status, headers, first body bytes and what remains to read."""
        head: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info and head:
                raise exc_info[1].with_traceback(exc_info[2])
            head[:] = [status, headers]
            return lambda data: (_ for _ in ()).throw(RuntimeError("the WSGI write() callable is not supported"))

        iterable = self.wsgi(environ, start_response)
        chunks, size, iterator = [], 0, iter(iterable)
        for chunk in iterator:
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
            if size >= STREAM_BYTES:
                return head, b"".join(chunks), iterator, iterable
        _close(iterable)
        return head, b"".join(chunks), None, None

    async def _answer(self, connection: Connection, environ: dict) -> None:
        status, sent = 500, 0
        try:
            try:
                head, first, rest, iterable = await self.loop.run_in_executor(self.pool, self._call_app, environ)
            except Exception:  # noqa: BLE001 - the app answers its own errors; this is a fault in it
                self.log.exception("error in the WSGI app")
                connection.refuse(500, "internal error; the server log has the details")
                return
            status = int(head[0].split(" ", 1)[0])
            headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in head[1]]
            names = {name.lower() for name, _ in headers}
            if rest is None and b"content-length" not in names and b"transfer-encoding" not in names:
                headers.append((b"content-length", str(len(first)).encode()))
            if connection.served + 1 >= self.keepalive_requests or not self.alive:
                headers.append((b"connection", b"close"))
            connection.send(h11.Response(status_code=status, headers=headers, reason=head[0].partition(" ")[2]))
            request = connection.request
            assert request is not None  # kept until the answer has gone (``finish``, below)
            bodyless = request.method == b"HEAD" or status in (204, 304)
            if first and not bodyless:
                connection.send(h11.Data(data=first))
                sent += len(first)
            while rest is not None and not connection.closed and not bodyless:
                await connection.writable.wait()
                more = await self.loop.run_in_executor(self.pool, _next_batch, rest)
                if not more:
                    break
                connection.send(h11.Data(data=more))
                sent += len(more)
            if iterable is not None:
                await self.loop.run_in_executor(self.pool, _close, iterable)
            connection.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            self.log.warning("answer cut short: %s", exc)
            if connection.transport is not None:
                connection.transport.close()
            connection.closed = True
        finally:
            self.log_access(connection, status, sent, time.monotonic() - connection.started, environ)
            connection.finish()
            self._answered(connection.client)

    def log_access(
        self, connection: Connection, status: int, sent: int | None, seconds: float, environ: dict | None = None
    ) -> None:
        """One access-log line, through gunicorn's logger (kg.serving.server's access-log format)."""
        if environ is None:
            request = connection.request
            peer = connection.transport.get_extra_info("peername") if connection.transport else None
            environ = {
                "REQUEST_METHOD": request.method.decode("latin-1") if request else "-",
                "RAW_URI": request.target.decode("latin-1") if request else "-",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": peer[0] if peer else "-",
            }
        response = SimpleNamespace(status=str(status), sent=sent, headers=[])
        self.log.access(response, SimpleNamespace(headers=[]), environ, timedelta(seconds=max(seconds, 0)))


def _next_batch(iterator) -> bytes:
    chunks, size = [], 0
    for chunk in iterator:
        chunks.append(chunk)
        size += len(chunk)
        if size >= STREAM_BYTES:
            break
    return b"".join(chunks)


def _close(iterable) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()
