"""Query evaluation in a killable child process, so that a query time limit can be kept.

pyoxigraph can neither cancel a query nor check signals while it evaluates (see DESIGN.md), so each web
worker hands its queries to one child process, started once and reused. A query that overruns the limit
gets the child killed and a fresh one started; the client gets a QueryTimeout and the worker is free.
The child is spawned, not forked: a forked child would inherit the server's listening socket and the
worker's end of the pipe, outlive its worker and keep the port busy.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from kg.errors import KGError, StoreError


class QueryTimeout(KGError):
    """The query ran longer than the configured limit and was stopped."""

    http_status = 503


def _child(connection, version: str) -> None:
    from kg.store import EmbeddedStore

    store = EmbeddedStore(Path(version).parent.parent, version=Path(version))
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", store.execute(**request)))
        except KGError as exc:
            connection.send(("error", exc))
        except Exception as exc:  # report, never die silently: the parent would wait for nothing
            connection.send(("error", StoreError(f"the query failed: {exc}")))


class Evaluator:
    """One evaluation process for one published store version."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._process = None
        self._connection = None
        self._version: str | None = None

    def _start(self, version: str) -> None:
        self.close()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_child, args=(child, version), daemon=True)
        self._process.start()
        child.close()
        self._connection, self._version = parent, version

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
            self._connection.close()
        self._process = self._connection = self._version = None

    def execute(self, version: Path, **request) -> bytes:
        """``EmbeddedStore.execute(**request)`` on ``version``, within the time limit."""
        if self._process is None or not self._process.is_alive() or self._version != str(version):
            self._start(str(version))
        self._connection.send(request)
        if not self._connection.poll(self.timeout):
            self.close()
            raise QueryTimeout(f"the query ran longer than the limit of {self.timeout:g} s and was stopped "
                               "(setting query_timeout); narrow it down or add a LIMIT")
        try:
            status, payload = self._connection.recv()
        except (EOFError, OSError):
            self.close()
            raise StoreError("the query evaluator stopped unexpectedly") from None
        if status == "error":
            raise payload
        return payload
