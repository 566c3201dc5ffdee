"""The hostile clients of bench.hostile, a loopback canary and a /health prober.

The hostile clients connect from ``HOSTILE_SOURCE`` (127.0.0.2), the prober (and the mix, from wrk) from
127.0.0.1: they are different clients to a server whose fairness is per client address. Every loop ends
when its ``stop()`` is called and is bounded in count as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import socket
import threading
import time
import urllib.parse
from collections import Counter

from bench.soak import PATHOLOGICAL

HOSTILE_SOURCE = "127.0.0.2"
PROBE_SOURCE = "127.0.0.1"
#: the runaway query the runaway clients re-send: it runs to the time limit
RUNAWAY = PATHOLOGICAL["cartesian COUNT"]
MAX_REQUESTS = 100_000  # per client: a bound besides the time
MAX_SLOW_LINES = 10_000  # header lines per slow connection


def doubling(steps: int, seed: str, head: str = "", rows: str = "", out: str = "") -> str:
    """A query binding ``seed`` doubled ``steps`` times (``BIND(CONCAT(?a25,?a25) AS ?a26)``)."""
    binds = " ".join(f"BIND(CONCAT(?a{i},?a{i}) AS ?a{i + 1})" for i in range(steps))
    return f'SELECT {head or f"(STRLEN(?a{steps}) AS ?n)"} WHERE {{ {rows}BIND("{seed}" AS ?a0) {binds} {out}}}'


def bombs(steps: int = 26) -> dict[str, str]:
    """The memory bombs of issue 23: a 1 GiB string (16 characters doubled 26 times), 100 rows of a 1.3 MB
    string (20 characters doubled 16 times), a sort of a cartesian product."""
    hundred = "VALUES ?i { " + " ".join(str(i) for i in range(1, 101)) + " } "
    return {
        f"string doubling ({steps} steps)": doubling(steps, "0123456789abcdef"),
        "100 rows of 1.3 MB": doubling(16, "0123456789abcdefghij", head="?i ?a16", rows=hundred),
        "ORDER BY cartesian": "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c LIMIT 1",
    }


def service_queries(target: str) -> list[str]:
    """SERVICE to ``target`` (the canary) in spellings pyoxigraph runs, the glued ones of issue 23 among them."""
    x = f"<{target}/x?>"
    return [
        f"SELECT * WHERE {{ SERVICE <{target}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{target}/silent> {{ ?s ?p ?o }} }}",
        f"PREFIX : {x} SELECT * WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
        f"PREFIX service: {x} SELECT * WHERE {{ service:x {{ ?s ?p ?o }} }}",
        f"PREFIX e: {x} SELECT * WHERE {{ SERVICEe:x {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{target}/sub> {{ ?s ?p ?o }} }} }} }}",
        f"PREFIX : {x} ASK {{ FILTER EXISTS {{ SERVICE:x {{ ?s ?p ?o }} }} }}",
    ]


class Canary(threading.Thread):
    """A loopback listener that counts the connections it accepts (and closes them at once)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.25)
        self.target = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.socket.close()


class Prober(threading.Thread):
    """GET ``path`` every ``interval`` seconds on a new connection; no answer counts as ``timeout`` seconds.
    Each sample is (phase, seconds, status); ``phase`` is set by the caller."""

    def __init__(self, base: str, path: str, interval: float = 0.15, timeout: float = 10):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.path = parts.hostname, parts.port, path
        self.interval, self.timeout = interval, timeout
        self.phase = "idle"
        self.samples: list[tuple[str, float, str]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set() and len(self.samples) < MAX_REQUESTS:
            began, phase = time.monotonic(), self.phase
            connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout, source_address=(PROBE_SOURCE, 0)
            )
            try:
                connection.request("GET", self.path)
                response = connection.getresponse()
                response.read()
                status, seconds = str(response.status), time.monotonic() - began
            except TimeoutError:
                status, seconds = "timeout", self.timeout
            except OSError as exc:  # no answer (refused, reset): counts as a timeout too
                status, seconds = type(exc).__name__, self.timeout
            finally:
                connection.close()
            self.samples.append((phase, min(seconds, self.timeout), status))
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.timeout + 5)


def _status(data: bytes) -> str:
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[1].decode() if len(parts) >= 2 and parts[0].startswith(b"HTTP/") else "not HTTP"


class HostileLoad(threading.Thread):
    """On an asyncio loop from 127.0.0.2: ``slow`` slow-header connections (a header line every
    ``slow_every`` seconds, reconnecting when closed), ``runaway`` clients re-sending the runaway query, one
    client per memory bomb re-sending it, one client cycling through the SERVICE spellings. A client sends
    at most one request every ``gap`` seconds. ``statuses[kind]`` counts the answers by status."""

    def __init__(
        self,
        base: str,
        sparql_path: str,
        health_path: str,
        *,
        slow: int,
        slow_every: float,
        runaway: int,
        bomb_queries: dict[str, str],
        service: list[str],
        answer_timeout: float,
        gap: float = 0.5,
    ):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.sparql_path, self.health_path = sparql_path, health_path
        self.slow, self.slow_every, self.runaway = slow, slow_every, runaway
        self.bomb_queries, self.service = bomb_queries, service
        self.answer_timeout, self.gap = answer_timeout, gap
        self.statuses: dict[str, Counter] = {}
        self.slow_connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        self._started.set()
        tasks = [asyncio.create_task(self._slow_client(i)) for i in range(self.slow)]
        tasks += [asyncio.create_task(self._client("runaway COUNT", [RUNAWAY])) for _ in range(self.runaway)]
        tasks += [asyncio.create_task(self._client(name, [query])) for name, query in self.bomb_queries.items()]
        tasks.append(asyncio.create_task(self._client("SERVICE to the canary", self.service)))
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        self._started.wait(timeout=10)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=30)

    def _count(self, kind: str, status: str) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), seconds)
            except TimeoutError:
                pass

    async def _connect(self):
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port, local_addr=(HOSTILE_SOURCE, 0)), 10)

    async def _exchange(self, query: str) -> str:
        """POST ``query`` as a form, read the status line and drain the answer; the status or what failed."""
        try:
            reader, writer = await self._connect()
        except (OSError, TimeoutError):
            return "connect failed"
        body = urllib.parse.urlencode({"query": query}).encode()
        head = (
            f"POST {self.sparql_path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Accept: application/sparql-results+json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )

        async def answer() -> str:
            line = await reader.readline()
            while await reader.read(1 << 20):
                pass
            return _status(line) if line else "closed without answer"

        try:
            writer.write(head.encode() + body)
            return await asyncio.wait_for(answer(), self.answer_timeout)
        except TimeoutError:
            return "client timeout"
        except OSError:
            return "reset"
        finally:
            writer.close()

    async def _client(self, kind: str, queries: list[str]) -> None:
        for number in range(MAX_REQUESTS):
            if self._stopping.is_set():
                return
            began = time.monotonic()
            # a comment makes every request distinct: no cache or coalescing can answer it
            query = f"{queries[number % len(queries)]}\n# hostile {id(self)}-{kind}-{number}"
            try:
                self._count(kind, await self._exchange(query))
            except asyncio.CancelledError:
                self._count(kind, "no answer when the run ended")
                raise
            await self._pause(self.gap - (time.monotonic() - began))

    async def _slow_client(self, index: int) -> None:
        await self._pause(index * self.slow_every / max(1, self.slow))  # spread the starts over one period
        for _ in range(MAX_REQUESTS):
            if self._stopping.is_set():
                return
            try:
                reader, writer = await self._connect()
            except (OSError, TimeoutError):
                self._count("slow headers", "connect failed")
                await self._pause(1)
                continue
            self.slow_connections += 1
            status = "open at the end"
            try:
                writer.write(f"GET {self.health_path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode())
                for line in range(MAX_SLOW_LINES):
                    try:
                        data = await asyncio.wait_for(reader.read(4096), self.slow_every)
                    except TimeoutError:
                        writer.write(f"X-Slow-{line}: {'x' * 16}\r\n".encode())
                        await writer.drain()
                        continue
                    status = _status(data) if data else "closed without answer"
                    break
                else:
                    status = f"{MAX_SLOW_LINES} lines sent"
            except OSError:
                status = "reset"
            finally:
                writer.close()
                if status != "open at the end" or self._stopping.is_set():
                    self._count("slow headers", status)
            await self._pause(0.2)


class MemoryCap(threading.Thread):
    """Kills the process group ``group`` once ``sampler``'s last sample passes ``cap_mib``: a safety net, so a
    server without a memory bound cannot take the machine's memory."""

    def __init__(self, sampler, group: int, cap_mib: float):
        super().__init__(daemon=True)
        self.sampler, self.group, self.cap_kib = sampler, group, cap_mib * 1024
        self.killed_at_mib: float | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            if self.sampler.samples and self.sampler.samples[-1][1] > self.cap_kib:
                self.killed_at_mib = round(self.sampler.samples[-1][1] / 1024, 1)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.group, signal.SIGKILL)
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
