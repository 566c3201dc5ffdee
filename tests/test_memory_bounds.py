"""Bounded memory: a query past ``max_query_memory`` gets 503 and its worker is replaced; an answer past
``max_result_bytes`` is cut to a whole document that says so (X-SPARQL-MaxBytes); the result cache counts
what its entries hold.

The server tests run ``kg serve`` with small bounds; the bombs are sized so that the code without the
bounds fails these tests within seconds: it answers the doubling query (670 MiB) and the big rows (115 MB)
whole, and spends the 6 s time limit on the ORDER BY.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree

import pytest
from helpers import COUNT_PARKS, http, kg_server
from rdflib import Graph

MAX_QUERY_MEMORY_MIB = 200
MAX_RESULT_BYTES = 4 * 1024 * 1024
QUERY_TIMEOUT = 6  # bounds what the code without a memory bound spends on the ORDER BY bomb
ORDERED = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label"
GROUND = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(!isBlank(?s) && !isBlank(?o)) }"
RESULT = "{http://www.w3.org/2005/sparql-results#}result"
ROWS = {
    "json": lambda body: len(json.loads(body)["results"]["bindings"]),
    "xml": lambda body: len(ElementTree.fromstring(body).findall(f".//{RESULT}")),
    "csv": lambda body: csv_rows(body),
    "tsv": lambda body: body.count(b"\n") - 1,
}
RDFLIB = {
    "turtle": "turtle",
    "ntriples": "nt",
    "jsonld": "json-ld",
    "rdfxml": "xml",
    "trig": "trig",
    "nquads": "nquads",
}


def csv_rows(body: bytes) -> int:
    limit = csv.field_size_limit(len(body) + 1)  # values of a megabyte and more
    try:
        return len(list(csv.reader(io.StringIO(body.decode(), newline="")))) - 1
    finally:
        csv.field_size_limit(limit)


def doubling(times: int) -> str:
    """A short query whose one value doubles ``times`` times: 28 * 2**times characters."""
    binds = " ".join(f"BIND(CONCAT(?a{i},?a{i}) AS ?a{i + 1})" for i in range(times))
    return f'SELECT (STRLEN(?a{times}) AS ?n) WHERE {{ BIND("0123456789012345678901234567" AS ?a0) {binds} }}'


def big_rows(rows: int, times: int, form: str = "select") -> str:
    """``rows`` solutions (or triples) of about 50 * 2**times characters each."""
    binds = " ".join(f"BIND(CONCAT(?a{i},?a{i}) AS ?a{i + 1})" for i in range(times))
    where = (
        f"{{ {{ SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(isIRI(?s)) }} ORDER BY ?s LIMIT {rows} }} "
        f'BIND(CONCAT(STR(?s), "0123456789") AS ?a0) {binds} }}'
    )
    if form == "construct":
        return f"CONSTRUCT {{ ?s <http://example.org/big> ?a{times} }} WHERE {where}"
    return f"SELECT ?s ?a{times} WHERE {where}"


@pytest.fixture(scope="module")
def served(settings, store, tmp_path_factory):
    with kg_server(
        settings.path("store_dir"),
        tmp_path_factory.mktemp("memory") / "server.log",
        KG_MAX_QUERY_MEMORY=MAX_QUERY_MEMORY_MIB,
        KG_MAX_RESULT_BYTES=MAX_RESULT_BYTES,
        KG_QUERY_TIMEOUT=QUERY_TIMEOUT,
        KG_RUNAWAY_PENALTY=0,
    ) as base:  # each test sends its bombs from the same address
        yield base


@pytest.fixture
def ready(served):
    """The server once both its workers answer from their copies of the store in memory (a worker that
    replaced a retired one answers from disk until then, where the big-string queries are slow)."""
    workers = set()
    for _ in range(100):
        health = json.loads(http(served + "/health")[2])
        if health["served_from"] == "memory":
            workers.add(health["worker"])
        if len(workers) == 2:
            break
        time.sleep(0.1)
    return served


def workers_answering(base: str, tries: int = 30) -> set[int]:
    seen = set()
    for _ in range(tries):
        seen.add(json.loads(http(base + "/health")[2])["worker"])
    return seen


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(base: str, query: str, accept: str = "application/sparql-results+json"):
    return http(base + "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})


@pytest.mark.slow
def test_a_string_doubling_query_gets_503_at_once_and_its_worker_is_replaced(ready):
    before = workers_answering(ready)
    started = time.monotonic()
    status, _, body = get(ready, doubling(23))  # 235 million characters: 670 MiB at its peak
    elapsed = time.monotonic() - started
    assert status == 503, body[:200]
    assert "max_query_memory" in json.loads(body)["error"]
    assert elapsed < QUERY_TIMEOUT - 1  # stopped by the memory bound, not the time limit
    for _ in range(100):  # the worker that ran it leaves; gunicorn starts a fresh one
        if not all(alive(pid) for pid in before):
            break
        time.sleep(0.1)
    assert not all(alive(pid) for pid in before)
    for _ in range(4):  # and every worker answers at once afterwards
        status, _, body = get(ready, COUNT_PARKS)
        assert status == 200 and json.loads(body)["results"]["bindings"][0]["n"]["value"] == "10"
    fresh = set()
    for _ in range(50):  # the fresh worker answers too once it has started
        fresh = workers_answering(ready, 4) - before
        if fresh:
            break
        time.sleep(0.2)
    assert fresh


@pytest.mark.slow
def test_a_worker_replacing_a_retired_one_starts_with_the_answers_already_made(ready):
    # STRUUID() differs at each evaluation, so an equal answer is a kept one: with answers kept per worker
    # only, the other worker and the fresh one would each make their own.
    query = f"SELECT (STRUUID() AS ?u) WHERE {{}} # {time.monotonic_ns()}"
    status, _, first = get(ready, query)
    assert status == 200
    before = workers_answering(ready)
    assert get(ready, doubling(23))[0] == 503  # its worker retires
    fresh = set()
    for _ in range(50):
        fresh = workers_answering(ready, 4) - before
        if fresh:
            break
        time.sleep(0.2)
    assert fresh
    answers = {get(ready, query)[2] for _ in range(12)}
    assert answers == {first}


@pytest.mark.slow
def test_an_order_by_over_a_cartesian_product_gets_503_for_its_memory(ready):
    before = workers_answering(ready)
    started = time.monotonic()
    status, _, body = get(ready, "SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c LIMIT 1")
    assert status == 503 and "max_query_memory" in json.loads(body)["error"]
    assert time.monotonic() - started < QUERY_TIMEOUT - 1
    for _ in range(100):  # its worker leaves (the next tests need workers within their bound)
        if not all(alive(pid) for pid in before):
            break
        time.sleep(0.1)
    assert not all(alive(pid) for pid in before)
    assert get(ready, COUNT_PARKS)[0] == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    "accept, result_format",
    [("application/sparql-results+json", "json"), ("application/sparql-results+xml", "xml"), ("text/csv", "csv")],
)
def test_rows_of_big_strings_get_a_cut_answer_that_says_so(ready, accept, result_format):
    # 100 rows of about 1.1 MB each (115 MB uncut), far under the row cap
    status, headers, body = get(ready, big_rows(100, 14), accept)
    assert status == 200, body[:300]
    assert headers["X-SPARQL-MaxBytes"] == str(MAX_RESULT_BYTES) and "X-SPARQL-MaxRows" not in headers
    assert MAX_RESULT_BYTES // 2 < len(body) <= MAX_RESULT_BYTES  # as many whole rows as fit
    assert 0 < ROWS[result_format](body) < 100


@pytest.mark.slow
def test_a_graph_of_big_literals_gets_a_cut_answer_that_parses(ready):
    status, headers, body = get(ready, big_rows(100, 14, "construct"), "text/turtle")
    assert status == 200 and headers["X-SPARQL-MaxBytes"] == str(MAX_RESULT_BYTES)
    assert len(body) <= MAX_RESULT_BYTES
    assert 0 < len(Graph().parse(data=body, format="turtle")) < 100


@pytest.mark.slow
def test_an_answer_within_the_byte_bound_is_whole(ready):
    status, headers, body = get(ready, big_rows(2, 10))
    assert status == 200 and "X-SPARQL-MaxBytes" not in headers
    assert len(json.loads(body)["results"]["bindings"]) == 2


@pytest.mark.parametrize(
    "result_format", ["json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads"]
)
def test_a_byte_cut_result_is_the_query_with_a_limit(store, result_format):
    """Cut at ``max_bytes``: the same document as the query with a LIMIT of the rows kept, within the bound."""
    from rdflib import Dataset

    graph = result_format in RDFLIB
    query = GROUND if graph else ORDERED
    whole = store.execute(query, result_format=result_format, max_rows=100_000)
    assert not whole.truncated and len(whole.body) > 20_000
    cut = store.execute(query, result_format=result_format, max_rows=100_000, max_bytes=20_000)
    assert cut.truncated and cut.over_bytes and 10_000 < len(cut.body) <= 20_000
    if graph:
        triples = store.execute(query, result_format="ntriples", max_rows=100_000).body.count(b"\n")
        assert 0 < len(Dataset().parse(data=cut.body, format=RDFLIB[result_format])) < triples
    else:  # the rows kept are the first ones, written as pyoxigraph writes them
        kept = ROWS[result_format](cut.body)
        assert cut.body == store.execute(f"{query} LIMIT {kept}", result_format=result_format).body
    exact = store.execute(query, result_format=result_format, max_rows=100_000, max_bytes=len(whole.body))
    assert exact == whole  # at the bound exactly: whole, and not said to be cut


def test_the_row_cap_still_says_rows_when_it_cuts_first(store):
    cut = store.execute(ORDERED, result_format="json", max_rows=3, max_bytes=1_000_000)
    assert (
        cut.truncated
        and not cut.over_bytes
        and cut.body == store.execute(ORDERED + " LIMIT 3", result_format="json").body
    )


def test_the_route_and_the_fast_path_both_send_the_byte_header(settings, store):
    from kg.web import create_app

    app = create_app(dataclasses.replace(settings, max_result_bytes=20_000, memory_copy_limit_mib=0), store=store)
    client = app.test_client()
    for extra in ({}, {"format": "json"}):  # the fast path, then the Flask route (a format parameter)
        response = client.get("/sparql", query_string={"query": ORDERED, **extra})
        assert response.status_code == 200 and response.headers["X-SPARQL-MaxBytes"] == "20000"
        assert "X-SPARQL-MaxRows" not in response.headers
        assert len(response.data) <= 20_000 and json.loads(response.data)["results"]["bindings"]


def test_work_past_the_memory_bound_gets_503_at_once_and_reports_the_runaway():
    from kg.limits.evaluator import Evaluator, QueryMemoryExceeded

    runaways, release = [], threading.Event()

    def grows():  # 8 MiB every 5 ms, written so that it is resident, up to 400 MiB unless released
        held = []
        while not release.is_set() and len(held) < 50:
            held.append(b"\x01" * (8 << 20))
            time.sleep(0.005)

    evaluator = Evaluator(30, on_runaway=lambda kind: runaways.append(kind), max_memory=64 << 20)
    started = time.monotonic()
    try:
        with pytest.raises(QueryMemoryExceeded, match="max_query_memory") as raised:
            evaluator.call(grows)
    finally:
        release.set()
    assert raised.value.http_status == 503 and runaways == ["memory"] and time.monotonic() - started < 5
    time.sleep(0.1)  # the runaway has ended and given its memory up
    assert evaluator.call(lambda: "next") == "next" and runaways == ["memory"]


def test_light_work_is_never_sampled_and_slow_work_within_the_bound_is_answered():
    from kg.limits import memory_guard
    from kg.limits.evaluator import Evaluator

    evaluator = Evaluator(30, max_memory=64 << 20)
    sampled = []
    watch = memory_guard.GUARD.watch
    memory_guard.GUARD.watch = lambda w: sampled.append(w) or watch(w)
    try:
        assert [evaluator.call(lambda i=i: i) for i in range(200)] == list(range(200))
        assert sampled == []
        assert evaluator.call(lambda: time.sleep(0.2) or "slow") == "slow" and len(sampled) == 1
    finally:
        memory_guard.GUARD.watch = watch
    assert not memory_guard.GUARD._watched  # an ended evaluation is no longer charged


def test_memory_taken_outside_queries_is_not_charged_to_them():
    """A store copied into memory while a query runs (a fresh worker's first queries) is no runaway."""
    from kg.limits.evaluator import Evaluator, QueryMemoryExceeded
    from kg.limits.memory_guard import GUARD

    copied, release = [], threading.Event()

    def copy_in_memory():
        time.sleep(0.1)
        with GUARD.not_a_query(200 << 20):
            copied.append(b"\x01" * (160 << 20))

    def grows():  # 8 MiB every 5 ms, up to 400 MiB unless released
        held = []
        while not release.is_set() and len(held) < 50:
            held.append(b"\x01" * (8 << 20))
            time.sleep(0.005)

    evaluator = Evaluator(30, max_memory=64 << 20)
    loader = threading.Thread(target=copy_in_memory)
    loader.start()
    try:
        assert evaluator.call(lambda: time.sleep(0.6) or "answered") == "answered"
    finally:
        loader.join()
    try:  # the copy's memory is part of the baseline now, but what a query takes still counts
        with pytest.raises(QueryMemoryExceeded):
            evaluator.call(grows)
    finally:
        release.set()
        copied.clear()


def test_memory_a_slow_query_freed_goes_back_to_the_system():
    from kg.limits.evaluator import Evaluator
    from kg.limits.memory_guard import resident_bytes

    def many_small():  # malloc's own blocks (over pymalloc's 512 bytes), which glibc would keep
        kept = [b"\x01" * 1000 + str(i).encode() for i in range(150_000)]
        time.sleep(0.05)
        return len(kept)

    before = resident_bytes()
    assert Evaluator(30, max_memory=1 << 30).call(many_small) == 150_000
    for _ in range(50):
        if resident_bytes() - before < 48 << 20:
            break
        time.sleep(0.02)
    assert resident_bytes() - before < 48 << 20  # 128 MiB stayed without malloc_trim


def test_many_tiny_answers_stay_within_the_cache_bound():
    from kg.store.results import Answer
    from kg.web.cache import ResultCache

    cache = ResultCache(max_bytes=100_000)
    for number in range(2_000):
        cache.put(f"{number:032x}", Answer(b'{"head":{},"boolean":true}'))
    kept = sum(cache.get(f"{number:032x}") is not None for number in range(2_000))
    assert kept * 300 <= 100_000  # each entry holds some 300 bytes besides its 27-byte body


def test_the_bounds_are_settings():
    from kg.config import ConfigError, load_settings

    settings = load_settings(env={"KG_MAX_QUERY_MEMORY": "300", "KG_MAX_RESULT_BYTES": "1000"})
    assert settings.max_query_memory == 300 and settings.max_result_bytes == 1000
    defaults = load_settings(env={})
    assert defaults.max_query_memory == 1024 and defaults.max_result_bytes == 64 * 1024 * 1024
    for name in ("KG_MAX_QUERY_MEMORY", "KG_MAX_RESULT_BYTES"):
        with pytest.raises(ConfigError):
            load_settings(env={name: "0"})
