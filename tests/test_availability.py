"""Availability under slow and idle clients, against ``kg serve`` on loopback: a client that trickles its
request or sends nothing never holds a request thread, and its request has one total deadline.

Each test uses a handful of connections and short limits, and ends within seconds.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest
from helpers import kg_server

from kg.serving.front_connection import LINGER_SECONDS
from kg.store.versions import publish

pytestmark = pytest.mark.slow  # kg serve on loopback

REQUEST_TIMEOUT = 3
KEEPALIVE_TIMEOUT = 2
THREADS = 2  # per worker: two workers, four request threads in all


@pytest.fixture(scope="module")
def endpoint(store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("availability")
    publish(list(store.quads()), folder / "store", keep_versions=1)
    with kg_server(
        folder / "store",
        folder / "server.log",
        KG_REQUEST_TIMEOUT=REQUEST_TIMEOUT,
        KG_KEEPALIVE_TIMEOUT=KEEPALIVE_TIMEOUT,
        KG_THREADS=THREADS,
    ) as base:
        yield base


def port_of(base: str) -> int:
    return urllib.parse.urlsplit(base).port


def health_seconds(base: str) -> float:
    """How long /health takes to answer 200 (fails past 5 s)."""
    started = time.monotonic()
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["ok"]
    return time.monotonic() - started


class Trickler(threading.Thread):
    """A client that sends ``head`` (and ``body``) a few bytes at a time, ``pause`` seconds apart, for at
    most ``seconds``; it records the answer the server gives, if any, and when."""

    def __init__(self, port: int, head: bytes, body: bytes = b"", pause: float = 0.5, seconds: float = 8):
        super().__init__(daemon=True)
        self.port, self.data, self.pause, self.seconds = port, head + body, pause, seconds
        self.answer, self.answered_after = b"", None

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.seconds) as sock:
            started = time.monotonic()
            sock.settimeout(self.pause)
            sent = 0
            while time.monotonic() - started < self.seconds:
                if sent < len(self.data):
                    try:
                        sock.sendall(self.data[sent : sent + 4])
                    except OSError:
                        pass
                    sent += 4
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                self.answer += chunk
                self.answered_after = self.answered_after or time.monotonic() - started
            self.closed_after = time.monotonic() - started


def trickle_beside_health(endpoint: str, clients: list[Trickler]) -> list[Trickler]:
    """Start the slow clients, check that /health answers within a second while they trickle, and wait
    for them to end."""
    for client in clients:
        client.start()
    time.sleep(1)
    assert max(health_seconds(endpoint) for _ in range(5)) < 1
    for client in clients:
        client.join(timeout=15)
    return clients


def status_of(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_clients_trickling_headers_hold_no_thread_and_get_408_at_the_deadline(endpoint):
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Slow-%d: %s\r\n" % (i, b"a" * 20) for i in range(20))
    # twice as many slow clients as there are request threads, and /health still answers at once
    clients = trickle_beside_health(endpoint, [Trickler(port_of(endpoint), head) for _ in range(4 * THREADS * 2)])
    for client in clients:
        assert status_of(client.answer) == 408, client.answer[:200]
        assert REQUEST_TIMEOUT - 0.5 <= client.answered_after <= REQUEST_TIMEOUT + 2, client.answered_after
        assert json.loads(client.answer.split(b"\r\n\r\n", 1)[1])["status"] == 408


def test_a_trickled_body_has_the_same_total_deadline(endpoint):
    body = b"query=" + urllib.parse.quote("SELECT * WHERE { ?s ?p ?o } LIMIT 1").encode()
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % (len(body) + 400)
    )  # promises more than it sends
    clients = trickle_beside_health(
        endpoint,
        [Trickler(port_of(endpoint), head, body + b"&x=" + b"a" * 397, pause=0.3) for _ in range(2 * THREADS * 2)],
    )
    for client in clients:
        assert status_of(client.answer) == 408, client.answer[:200]
        assert client.answered_after <= REQUEST_TIMEOUT + 2


def test_idle_connections_are_closed_after_the_keepalive_timeout(endpoint):
    sockets = [socket.create_connection(("127.0.0.1", port_of(endpoint)), timeout=10) for _ in range(4 * THREADS)]
    try:
        assert health_seconds(endpoint) < 1  # they hold no thread
        started = time.monotonic()
        for sock in sockets:
            assert sock.recv(1) == b""  # closed by the server, without an answer
        assert time.monotonic() - started <= KEEPALIVE_TIMEOUT + 2
    finally:
        for sock in sockets:
            sock.close()


def test_a_whole_request_sent_slowly_within_the_deadline_is_answered(endpoint):
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    client = Trickler(port_of(endpoint), head, pause=0.05, seconds=5)
    client.start()
    client.join(timeout=10)
    assert status_of(client.answer) == 200, client.answer[:200]


@pytest.mark.parametrize(
    "head, status",
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
        (b"BLAH\r\n\r\n", 400),
    ],
)
def test_malformed_requests_get_a_json_error_from_the_front(endpoint, head, status):
    with socket.create_connection(("127.0.0.1", port_of(endpoint)), timeout=10) as sock:
        sock.sendall(head)
        answer, answered = b"", None
        while chunk := sock.recv(65536):
            answer += chunk
            answered = answered or time.monotonic()
        ended = time.monotonic()
    assert status_of(answer) == status, answer[:300]
    # the front shuts its side after the answer: the client reads the end at once, not after the linger
    assert ended - answered < LINGER_SECONDS / 2
    document = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert document["ok"] is False and document["status"] == status and document["error"]


# --- slow queries: /health, cached answers and pages without queries never wait behind them -----------

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LIGHT = "SELECT ?p WHERE { ?p a <https://w3id.org/yrd-kg/ontology#IndustrialPark> } LIMIT 3"
QUERY_TIMEOUT, QUEUE_WAIT, SLOTS = 4, 0.5, 2


@pytest.fixture(scope="module")
def limited(store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("admission")
    publish(list(store.quads()), folder / "store", keep_versions=1)
    with kg_server(
        folder / "store",
        folder / "server.log",
        KG_QUERY_TIMEOUT=QUERY_TIMEOUT,
        KG_MAX_RUNNING_QUERIES=SLOTS,
        KG_QUEUE_WAIT=QUEUE_WAIT,
        KG_THREADS=8,
    ) as base:
        yield base


def ask(base: str, query: str, source: str = "127.0.0.1", timeout: float = 30):
    """(status, headers, seconds) of a query sent from ``source`` (another loopback address is another client)."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(base), timeout=timeout, source_address=(source, 0))
    started = time.monotonic()
    try:
        connection.request(
            "GET",
            "/sparql?" + urllib.parse.urlencode({"query": query}),
            headers={"Accept": "application/sparql-results+json"},
        )
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders()), time.monotonic() - started
    finally:
        connection.close()


def test_runaway_queries_from_eight_clients_starve_nothing_else(limited):
    assert ask(limited, LIGHT)[0] == 200  # now in the cache of the worker that answered
    outcomes, stop = [], time.monotonic() + QUERY_TIMEOUT + 3

    def resend(source: str) -> None:
        while time.monotonic() < stop:
            outcomes.append(ask(limited, RUNAWAY, source))

    hostile = [threading.Thread(target=resend, args=("127.0.0.2",), daemon=True) for _ in range(8)]
    for thread in hostile:
        thread.start()
    time.sleep(1)
    health, pages, fresh = [], [], []
    while time.monotonic() < stop - 1:
        health.append(health_seconds(limited))
        time.sleep(0.1)
        started = time.monotonic()
        with urllib.request.urlopen(limited + "/queries", timeout=5) as response:  # a page that runs no query
            assert response.status == 200
        pages.append(time.monotonic() - started)
        fresh.append(ask(limited, LIGHT + f" # {len(fresh)}", "127.0.0.9"))
    for thread in hostile:
        thread.join(QUERY_TIMEOUT + 15)
    # starved, they would wait for a runaway's time limit; on a loaded two-core machine one can take a second
    assert max(health) < QUERY_TIMEOUT / 2 and max(pages) < QUERY_TIMEOUT / 2, (health, pages)
    assert sorted(health)[len(health) // 2] < 0.5 and sorted(pages)[len(pages) // 2] < 0.5, (health, pages)
    # a query from another client is answered, or refused at once with Retry-After: never a long wait
    for status, headers, seconds in fresh:
        assert status == 200 or (status == 503 and "Retry-After" in headers), (status, headers)
        assert seconds < QUEUE_WAIT + 2, fresh
    # the runaways: stopped at the time limit, or refused soon with Retry-After; none waits longer
    assert all(status == 503 and "Retry-After" in headers for status, headers, _ in outcomes), outcomes
    assert any(seconds < QUEUE_WAIT + 1 for _, _, seconds in outcomes)
    assert any(seconds >= QUERY_TIMEOUT - 0.5 for _, _, seconds in outcomes)
    assert max(seconds for _, _, seconds in outcomes) < QUERY_TIMEOUT + 3
    assert ask(limited, LIGHT + " # after")[0] == 200  # the workers replaced, all answers again


def test_a_client_whose_query_ran_away_is_refused_a_while_by_every_worker(store, tmp_path):
    publish(list(store.quads()), tmp_path / "store", keep_versions=1)
    penalty = 4
    with kg_server(tmp_path / "store", tmp_path / "server.log", KG_QUERY_TIMEOUT=2, KG_RUNAWAY_PENALTY=penalty) as base:
        status, _, seconds = ask(base, RUNAWAY, "127.0.0.2")
        assert status == 503 and seconds >= 1.5
        refused = [ask(base, LIGHT + f" # {n}", "127.0.0.2") for n in range(4)]  # both workers refuse it at once
        for status, headers, seconds in refused:
            assert status == 503 and int(headers["Retry-After"]) >= 1 and seconds < 1, refused
        assert ask(base, LIGHT + " # other", "127.0.0.3")[0] == 200  # another client is served meanwhile
        time.sleep(penalty + 0.5)
        assert ask(base, LIGHT + " # later", "127.0.0.2")[0] == 200  # and the penalty ends


def test_a_client_sending_a_body_over_the_limit_reads_the_413(endpoint):
    """The front answers 413 as soon as the headers promise too much, and reads and drops the rest of the
    body meanwhile, so that a client that sends it all before reading gets the answer, not a broken pipe."""
    body = b"#" * (2 * 1_048_576)
    with socket.create_connection(("127.0.0.1", port_of(endpoint)), timeout=10) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert status_of(answer) == 413, answer[:300]
    assert "max_body_bytes" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
