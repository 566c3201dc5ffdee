"""``kg serve``: the endpoint behind gunicorn, the production WSGI server (never Flask's development server)."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import time
import urllib.parse

import gunicorn.util
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from kg.config import Settings
from kg.outbound_guard import leave_network, probe
from kg.parallel import process_alive


def _json_error(sock, status: int, reason: str, message: str) -> None:
    """gunicorn's own error answer (a request line or headers it refuses before the app sees them), with
    the JSON body of every other error instead of its HTML page."""
    if status == 414:
        message += "; send a long query by POST (application/sparql-query or a form) instead"
    body = json.dumps({"ok": False, "error": f"{reason}: {message}" if message else reason, "errors": [],
                       "status": status}).encode("utf-8")
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


def _prepare_worker(worker) -> None:
    """A query past the time limit cannot be stopped on its thread: the worker then stops taking requests,
    answers those it has, and exits (gunicorn starts a fresh one), and the query ends with it.

    gunicorn has no setting for the body of its own errors; its workers write them through
    ``gunicorn.util.write_error``, which is replaced here, in the worker only.
    """
    gunicorn.util.write_error = _json_error
    evaluator = getattr(worker.wsgi, "extensions", {}).get("kg", {}).get("evaluator")
    if evaluator is not None:
        evaluator.on_runaway = lambda: os.kill(os.getpid(), signal.SIGTERM)  # gunicorn's graceful stop


def _isolating(settings: Settings):
    """gunicorn's post_fork hook: the new worker, with one thread yet, leaves the network (kg.outbound_guard)."""

    def isolate(server, worker) -> None:
        leave_network(settings)

    return isolate


def _stop_worker(server, worker) -> None:
    """Give up the worker's slot in the connection ledger, and leave without the interpreter's teardown.

    Measured: a worker that opened the RocksDB-backed store segfaulted during interpreter shutdown
    (gunicorn logged "was sent SIGSEGV" on every stop). All requests are answered by now, so the logs are
    flushed and the process ends at once, with any runaway query thread.
    """
    ledger, slot = getattr(worker, "kg_ledger", None), getattr(worker, "kg_slot", None)
    if ledger is not None:
        ledger.release(slot)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


#: One access-log line per request: client, request line, status, bytes sent, duration.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def _access_logger(secret: str) -> type[Logger]:
    """gunicorn's logger, writing only what ACCESS_LOG_FORMAT shows, with the write token blanked wherever a
    client put it into a URL.

    Only the Authorization header carries the token, and the format leaves headers out; but a client that
    sends ``?token=...`` by mistake would otherwise have it written to the access log. gunicorn's own
    ``atoms`` makes an entry of every header and environment variable for each request, most of the
    access log's cost in a busy worker.
    """
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)} if secret else set()

    class AccessLogger(Logger):
        def atoms(self, resp, req, environ, request_time):
            request_line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
            for form in forms:
                request_line = request_line.replace(form, "[token]")
            status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
            sent = getattr(resp, "sent", None)
            return {"h": environ.get("REMOTE_ADDR", "-"), "r": request_line, "s": status,
                    "b": "-" if sent is None else str(sent),
                    "M": request_time.seconds * 1000 + request_time.microseconds // 1000}

    return AccessLogger


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
        counts = [self._open[other] for other, pid in enumerate(self._pids)
                  if other != slot and pid and process_alive(pid)]
        return min(counts) if counts else None


#: How long a worker with more connections than another leaves a new one for it before taking it anyway
#: (the other may be stuck, or stopping without having said so).
MAX_DEFER_SECONDS = 0.05


def _balanced_worker(max_requests: int, ledger: ConnectionLedger) -> type[ThreadWorker]:
    """gunicorn's threaded worker, with the workers' connections kept even.

    The workers share one listening socket, and a kept-alive connection stays with the worker that accepted
    it. Queries run outside Python's GIL, so a busy worker accepts as fast as an idle one, and with a few
    busy clients one worker often held most of them while the other idled (measured at 1M: 4 of wrk's
    connections split 3-1 or 4-0 in most runs, with up to half the throughput of an even split). So:

    - a worker leaves a new connection to another that holds fewer (``ConnectionLedger``), within
      ``MAX_DEFER_SECONDS``;
    - a kept-alive connection is closed after ``max_requests`` requests (as nginx's keepalive_requests
      does), so the clients' connections are dealt out again as they reconnect.
    """

    class BalancedWorker(ThreadWorker):
        def init_process(self):
            self.kg_ledger, self.kg_slot = ledger, ledger.claim(os.getpid())
            self.kg_deferring_since: float | None = None
            super().init_process()

        def wait_for_and_dispatch_events(self, timeout):
            ledger.record(self.kg_slot, self.nr_conns if self.alive else ledger.STOPPING)
            super().wait_for_and_dispatch_events(timeout)

        def accept(self, listener):
            fewest = ledger.fewest_elsewhere(self.kg_slot)
            if fewest is not None and self.nr_conns > fewest:
                now = time.monotonic()
                self.kg_deferring_since = self.kg_deferring_since or now
                if now - self.kg_deferring_since < MAX_DEFER_SECONDS:
                    time.sleep(0.0005)  # the socket stays readable: without a pause this loop would spin
                    return
            self.kg_deferring_since = None
            super().accept(listener)
            ledger.record(self.kg_slot, self.nr_conns)

        def handle_request(self, req, conn):
            served = getattr(conn, "kg_requests_served", 0) + 1
            conn.kg_requests_served = served
            if served >= max_requests:
                req.must_close = True  # the response says "Connection: close"
            return super().handle_request(req, conn)

    return BalancedWorker


class EndpointServer(BaseApplication):
    """gunicorn with its options from our settings; each worker builds its own app (and opens the store)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.workers,
            # twice the slots: a fresh worker may start before the one it replaces has ended
            "worker_class": _balanced_worker(self.settings.keepalive_requests,
                                             ConnectionLedger(2 * self.settings.workers)),
            "threads": self.settings.threads,
            # the query time limit answers the client first; this only catches a worker stuck elsewhere
            "timeout": max(self.settings.worker_timeout, self.settings.query_timeout + 30),
            "accesslog": "-",  # one line per request, with status and duration
            "access_log_format": ACCESS_LOG_FORMAT,
            "logger_class": _access_logger(self.settings.write_token),
            "errorlog": "-",
            "limit_request_line": 8190,
            "control_socket_disable": True,  # several servers on one machine would share its path
            "post_fork": _isolating(self.settings),
            "post_worker_init": _prepare_worker,
            "worker_exit": _stop_worker,
            "graceful_timeout": 5,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from kg.web import create_app

        return create_app(self.settings)


def serve(settings: Settings) -> None:
    from kg.errors import StoreError

    # Fail now, with a clear message, if nothing is published. Only the link is checked: a store opened
    # here would be inherited by the forked workers, and RocksDB state copied across fork() deadlocked
    # the first worker that wrote a new store version (measured: a Graph Store PUT hung in a futex).
    store_dir = settings.path("store_dir")
    if not settings.store_url and not (store_dir / "current").exists():
        raise StoreError(f"no published store in {store_dir}: run 'kg build' first")
    guarded, how = probe(settings)
    if not guarded:
        logging.getLogger("kg.serve").warning(
            "the query workers can open outbound connections: %s; only the query checks stand between a "
            "query and the network", how)
    EndpointServer(settings).run()
