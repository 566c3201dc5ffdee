"""One client connection of ``kg.serving.front``: a request read whole, within its total deadline and its limits,
before the front hands it to a thread; then its answer written, and the connection kept or closed.

HTTP/1.1 is parsed and framed by h11. The request line, headers and body have one deadline
(``request_timeout``: 408 past it) and their limits (414, 431, 413) before any thread sees them; an idle
kept-alive connection is closed after ``keepalive_timeout``.
"""

from __future__ import annotations

import asyncio
import time

import h11

from kg.web.errors import error_body
from kg.web.headers import SECURITY_HEADERS

#: The longest request line (as gunicorn's default): a longer URL gets 414.
MAX_REQUEST_LINE = 8190
#: The most bytes of request line and headers together: more gets 431.
MAX_HEAD_BYTES = 32 * 1024
#: How long a refused client may go on sending (the rest of a body) before the connection is closed.
LINGER_SECONDS = 2.0

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_bytes(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 error response with the project's JSON error body, closing the connection."""
    body = error_body(status, message)
    extra = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS)
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One client connection: reads a request whole within its deadline, then hands it to the front."""

    def __init__(self, front) -> None:
        self.front = front
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.request: h11.Request | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.busy = False  # a request is with the app
        self.reading = False  # the bytes of a request have begun to arrive
        self.served = 0
        self.counted = False  # has sent a whole request: a client the workers' ledger balances
        self.started = 0.0
        self.closed = False
        self.draining = False  # refused: what the client still sends is read and dropped until closing
        self.client = ""
        self.writable = asyncio.Event()  # cleared while the client reads slower than the app writes
        self.writable.set()

    @property
    def live_transport(self) -> asyncio.Transport:
        """The connection's transport, which asyncio hands to ``connection_made`` before any other callback."""
        assert self.transport is not None
        return self.transport

    # --- reading -------------------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self.front.opened(self)
        self._arm(self.front.keepalive_timeout)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._disarm()
        self.writable.set()
        self.front.lost(self)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        if self.draining:  # answered with an error: what follows is dropped (see refuse)
            return
        if not self.reading and not self.busy:
            self.reading, self.started = True, time.monotonic()
            self._arm(self.front.request_timeout)
        self.http.receive_data(data)
        if self.busy:  # pipelined: kept in h11's buffer until the answer has gone
            self.live_transport.pause_reading()
            return
        self._read_events()

    def eof_received(self):
        if self.draining:
            self.live_transport.close()
            return True
        self.http.receive_data(b"")
        if not self.busy:
            self._read_events()
        return True

    def _read_events(self) -> None:
        while not self.busy and not self.closed:
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                if status == 400 and self.request is None and self._line_too_long():
                    status = 414
                self.refuse(status, self._message(status, exc))
                return
            if event is h11.NEED_DATA:
                if self.request is None and self._line_too_long():
                    self.refuse(414, self._message(414, None))
                return
            if isinstance(event, h11.Request):
                self._begin(event)
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size > self.front.max_body:
                    self.refuse(413, self._message(413, None))
                    return
                self.body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._disarm()
                self.busy, self.reading = True, False
                if not self.counted:
                    self.counted = True
                    self.front.counted(self)
                self.live_transport.pause_reading()
                self.front.dispatch(self)
                return
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                if isinstance(event, h11.ConnectionClosed):
                    self.live_transport.close()
                return

    def _begin(self, request: h11.Request) -> None:
        self.request, self.body, self.size = request, [], 0
        if len(request.target) + len(request.method) + 10 > MAX_REQUEST_LINE:
            self.refuse(414, self._message(414, None))
            return
        if sum(len(name) + len(value) + 4 for name, value in request.headers) > MAX_HEAD_BYTES:
            self.refuse(431, self._message(431, None))  # h11 bounds only a head that arrives in parts
            return
        length = dict(request.headers).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.front.max_body:
            self.refuse(413, self._message(413, None))
        elif self.http.they_are_waiting_for_100_continue:
            self.live_transport.write(self.http.send(h11.InformationalResponse(status_code=100, headers=[])))

    def _line_too_long(self) -> bool:
        pending = self.http.trailing_data[0]
        line_end = pending.find(b"\n")
        return (line_end if line_end >= 0 else len(pending)) > MAX_REQUEST_LINE

    def _message(self, status: int, exc) -> str:
        if status == 414:
            return (
                f"the request line is longer than {MAX_REQUEST_LINE} bytes; send a long query by POST "
                "(application/sparql-query or a form) instead"
            )
        if status == 413:
            return f"the request body is larger than the limit of {self.front.max_body} bytes (setting max_body_bytes)"
        if status == 431:
            return f"the request's headers are larger than {MAX_HEAD_BYTES} bytes"
        return f"malformed HTTP request: {exc}"

    # --- timing ----------------------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.timer = self.front.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if self.busy or self.closed:
            return
        if self.reading:
            self.refuse(
                408,
                f"the request did not arrive whole within {self.front.request_timeout:g} s (setting request_timeout)",
            )
        else:  # idle between requests
            self.live_transport.close()

    # --- answering -------------------------------------------------------------------------------------

    def refuse(self, status: int, message: str) -> None:
        """Answer an error the front found itself, then close once the client has stopped sending.

        Closed at once, a socket with unread bytes is reset by the kernel, and a client still sending the
        rest of a body too large (413) saw a broken pipe instead of the answer; so after the answer the
        front shuts its side of the connection (the client reads the end at once) and reads and drops what
        the client still sends until it closes, for up to ``LINGER_SECONDS`` (a lingering close, as nginx
        does).
        """
        self._disarm()
        if not self.closed:
            self.live_transport.write(error_bytes(status, message))
            if self.live_transport.can_write_eof():
                self.live_transport.write_eof()  # sent once the answer has gone
            self.draining = True
            self.live_transport.resume_reading()
            self.front.loop.call_later(LINGER_SECONDS, self.live_transport.close)
        self.front.log_access(self, status, None, time.monotonic() - (self.started or time.monotonic()))
        self.closed = True

    def send(self, event) -> None:
        if not self.closed:
            self.live_transport.write(self.http.send(event))

    def finish(self) -> None:
        """The answer has gone: on to the next request of a kept-alive connection, or close."""
        self.busy, self.request, self.body = False, None, []
        self.served += 1
        if self.closed:
            return
        if self.http.our_state is h11.MUST_CLOSE or not self.front.alive:
            self.live_transport.close()
            return
        try:
            self.http.start_next_cycle()
        except h11.LocalProtocolError:
            self.live_transport.close()
            return
        self._arm(self.front.keepalive_timeout)
        self.live_transport.resume_reading()
        if self.http.trailing_data[0]:
            self.reading, self.started = True, time.monotonic()
            self._arm(self.front.request_timeout)
        self._read_events()
