"""``kg serve``: the endpoint under gunicorn's arbiter, with ``kg.serving.front`` as its workers (never Flask's
development server)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
import urllib.parse
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from kg.config import Settings
from kg.errors import ConfigError
from kg.limits.admission import PenaltyBox
from kg.serving.connection_ledger import ConnectionLedger
from kg.serving.front import FrontWorker
from kg.serving.outbound_guard import leave_network, probe


def _prepare_worker(worker) -> None:
    """A query past the time limit cannot be stopped on its thread: the worker then stops taking requests,
    answers those it has, and exits (gunicorn starts a fresh one), and the query ends with it."""
    state = getattr(worker.wsgi, "extensions", {}).get("kg")
    if state is not None:
        state.evaluator.on_runaway = worker.retire


def _isolating(settings: Settings):
    """gunicorn's post_fork hook: the new worker, with one thread yet, leaves the network
    (kg.serving.outbound_guard)."""

    def isolate(server, worker) -> None:
        leave_network(settings)

    return isolate


def _stop_worker(server, worker) -> None:
    """Leave without the interpreter's teardown.

    Measured: a worker that opened the RocksDB-backed store segfaulted during interpreter shutdown
    (gunicorn logged "was sent SIGSEGV" on every stop). All requests are answered by now, so the logs are
    flushed and the process ends at once, with any runaway query thread.
    """
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
            return {
                "h": environ.get("REMOTE_ADDR", "-"),
                "r": request_line,
                "s": status,
                "b": "-" if sent is None else str(sent),
                "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
            }

    return AccessLogger


class EndpointServer(BaseApplication):
    """gunicorn with its options from our settings; each worker builds its own app (and opens the store)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # twice the slots: a fresh worker may start before the one it replaces has ended
        self.ledger = ConnectionLedger(2 * settings.workers)
        self.penalties = PenaltyBox()  # clients whose queries ran away, refused a while by every worker
        # answers every worker can reuse, so that a worker replacing a retired one does not start cold
        self.shared_answers = Path(tempfile.mkdtemp(prefix="kg-answers-"))
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.workers,
            "worker_class": FrontWorker,  # reads each request whole before a thread runs the app
            # the query time limit answers the client first; this only catches a worker stuck elsewhere
            "timeout": max(self.settings.worker_timeout, self.settings.query_timeout + 30),
            "accesslog": "-",  # one line per request, with status and duration
            "access_log_format": ACCESS_LOG_FORMAT,
            "logger_class": _access_logger(self.settings.write_token),
            "errorlog": "-",
            "control_socket_disable": True,  # several servers on one machine would share its path
            "post_fork": _isolating(self.settings),
            "post_worker_init": _prepare_worker,
            "worker_exit": _stop_worker,
            "graceful_timeout": 5,
            "preload_app": True,  # a worker that replaces a retired one starts in a fork, without imports
            "when_ready": _announce,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from kg.web import create_app

        return create_app(self.settings, penalties=self.penalties, shared_answers=self.shared_answers)


def _check_port(host: str, port: int) -> None:
    """ConfigError now, naming the port and ``--port``, if the address cannot be listened on; gunicorn
    would retry for seconds and then stop with a message about its own internals."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror} (setting host)") from exc
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is in use (by another server?): choose another with --port"
                ) from exc
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _announce(arbiter) -> None:
    """Where to go, once the server listens: the home page and the endpoint."""
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"kg serve: open http://{shown}:{port}/ (the SPARQL endpoint is http://{shown}:{port}/sparql)", flush=True
        )


def serve(settings: Settings) -> None:
    from kg.errors import StoreError

    # Fail now, with a clear message, if nothing is published. Only the link is checked: a store opened
    # here would be inherited by the forked workers, and RocksDB state copied across fork() deadlocked
    # the first worker that wrote a new store version (observed: a Graph Store PUT hung in a futex).
    store_dir = settings.path("store_dir")
    if not settings.store_url and not (store_dir / "current").exists():
        raise StoreError(f"no published store in {store_dir}: run 'kg build' first")
    guarded, how = probe(settings)
    if not guarded:
        logging.getLogger("kg.serving.server").warning(
            "the query workers can open outbound connections: %s; only the query checks stand between a "
            "query and the network",
            how,
        )
    _check_port(settings.host, settings.port)
    server, arbiter = EndpointServer(settings), os.getpid()
    try:
        server.run()
    finally:  # a worker leaves through here too (gunicorn's sys.exit in the fork): only the arbiter tidies
        if os.getpid() == arbiter:
            shutil.rmtree(server.shared_answers, ignore_errors=True)
