"""Imports within limits: checking the data has a time limit (503 with Retry-After, `kg import` exit 2,
nothing written), a writer waits for the write lock a few seconds at most, and readers never wait for
writers (`/health` answers within 1 s throughout). Against a real `kg serve` on loopback."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox
import pytest
from helpers import ROOT, kg_server
from rdflib import URIRef

from kg.store.embedded import EmbeddedStore

TOKEN = "limits-secret"
LIMIT = 3  # seconds: import_timeout in these tests
YRD = "https://w3id.org/yrd-kg/ontology#"


def nested_lists(width: int, depth: int) -> bytes:
    """``width`` statements whose object is a list nested ``depth`` deep: 2,000 x 20 is 0.4 MB of Turtle,
    which took 33 s to import before imports had a time limit."""
    lists = "".join(
        f"<https://partner.example/thing/{k}> ex:p " + "( ex:a " * depth + ")" * depth + " .\n" for k in range(width)
    )
    return ("@prefix ex: <https://partner.example/ns#> .\n" + lists).encode()


def park(n: int) -> bytes:
    return f"""@prefix yrd: <{YRD}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/c{n}> a yrd:IndustrialPark ; rdfs:label "Concurrent park {n}"@en ;
    yrd:locatedIn <https://w3id.org/yrd-kg/id/region/nantong> .
""".encode()


@pytest.fixture
def store_dir(tmp_path, store):
    """A copy of the session's published store."""
    shutil.copytree(store.path.parent.parent, tmp_path / "store", symlinks=True)
    return tmp_path / "store"


def state(store_dir) -> tuple[str, list, list]:
    """The published build, its graphs, and what writers left half-written."""
    opened = EmbeddedStore(store_dir)
    return (
        opened.build_id,
        opened.graphs(),
        sorted(p.name for p in (store_dir / "versions").iterdir() if p.name.startswith(".")),
    )


class HealthWatch:
    """Asks /health every 0.1 s on a thread of its own; ``slowest`` is the longest answer (or 99 s for none)."""

    def __init__(self, base: str):
        self.base, self.times, self._stop = base, [], threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as response:
                    response.read()
                self.times.append(time.monotonic() - started)
            except OSError:
                self.times.append(99.0)
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def slowest(self) -> float:
        return max(self.times, default=99.0)


def put(base: str, graph: str, body: bytes, timeout: float) -> tuple[int, dict, float]:
    """PUT ``body`` into ``graph``: the status, the headers and the seconds it took (599: no answer in time)."""
    request = urllib.request.Request(
        f"{base}/data?" + urllib.parse.urlencode({"graph": graph}),
        data=body,
        method="PUT",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status, dict(response.headers), time.monotonic() - started
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, dict(error.headers), time.monotonic() - started
    except OSError:  # no answer within the timeout
        return 599, {}, time.monotonic() - started


def server(store_dir, tmp_path, limit=LIMIT):
    return kg_server(store_dir, tmp_path / "server.log", KG_WRITE_TOKEN=TOKEN, KG_IMPORT_TIMEOUT=limit)


@pytest.mark.slow
def test_an_import_past_the_time_limit_gets_503_and_changes_nothing(store_dir, tmp_path):
    before = state(store_dir)
    with server(store_dir, tmp_path) as base, HealthWatch(base) as health:
        status, headers, took = put(base, "https://partner.example/graph/big", nested_lists(2000, 20), LIMIT + 12)
        time.sleep(0.5)  # /health asked once more after the answer
    assert status == 503 and "Retry-After" in headers, (status, headers)
    assert took < LIMIT + 3, took
    assert state(store_dir) == before  # same version, no staging left behind
    assert health.slowest < 1.0, health.times


@pytest.mark.slow
def test_concurrent_imports_succeed_or_get_503_and_readers_keep_answering(store_dir, tmp_path):
    graphs = [f"https://partner.example/graph/c{n}" for n in range(8)]
    outcomes: dict[str, tuple] = {}
    # a limit that small imports keep, even two at a time on a busy machine: each worker runs one write and
    # lets one more wait; the rest get 503 at once
    with server(store_dir, tmp_path, limit=30) as base, HealthWatch(base) as health:
        start = threading.Barrier(len(graphs))

        def one(n: int) -> None:
            start.wait()
            outcomes[graphs[n]] = put(base, graphs[n], park(n), 90)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(len(graphs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=100)
    assert len(outcomes) == len(graphs) and all(
        status in (200, 201) or (status == 503 and "Retry-After" in headers) for status, headers, _ in outcomes.values()
    ), outcomes
    written = {URIRef(g) for g, (status, _, _) in outcomes.items() if status in (200, 201)}
    assert written, outcomes  # the writes ahead of the others went through
    build, held, leftovers = state(store_dir)
    assert written == {URIRef(g) for g in graphs} & set(held) and leftovers == []
    store = EmbeddedStore(store_dir)
    for graph in written:  # each one whole
        sent = len(list(ox.parse(park(graphs.index(str(graph))), format=ox.RdfFormat.TURTLE)))
        assert sum(1 for _ in store.quads([graph])) == sent
    assert health.slowest < 1.0, health.times


@pytest.mark.slow
def test_a_writer_waits_for_the_write_lock_a_few_seconds_at_most(store_dir, tmp_path):
    """While a build (here: the test) holds the store's write lock, an import gets 503 with Retry-After
    after a few seconds, and readers answer meanwhile."""
    before = state(store_dir)
    with (
        server(store_dir, tmp_path) as base,
        open(store_dir / ".write-lock", "a+b") as lock,
        HealthWatch(base) as health,
    ):
        fcntl.flock(lock, fcntl.LOCK_EX)
        status, headers, took = put(base, "https://partner.example/graph/waits", park(0), 20)
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert status == 503 and "Retry-After" in headers, (status, headers)
    assert took < 12, took
    assert state(store_dir) == before
    assert health.slowest < 1.0, health.times


def test_kg_import_past_the_time_limit_exits_2_with_a_message(store_dir, tmp_path):
    data = tmp_path / "big.ttl"
    data.write_bytes(nested_lists(2000, 20))
    before = state(store_dir)
    env = {
        **os.environ,
        "KG_STORE_DIR": str(store_dir),
        "KG_WRITE_TOKEN": TOKEN,
        "KG_TOKEN": TOKEN,
        "KG_IMPORT_TIMEOUT": str(LIMIT),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kg.cli import run; run()",
            "import",
            str(data),
            "--graph",
            "https://partner.example/graph/big",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = process.communicate(timeout=LIMIT + 12)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"kg import was still running after {LIMIT + 12} s")
    assert process.returncode == 2 and "import_timeout" in err and "Traceback" not in err, err
    assert time.monotonic() - started < LIMIT + 6
    assert state(store_dir) == before
