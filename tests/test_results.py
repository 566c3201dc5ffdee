"""Query results from the embedded store: the row cap and the dataset formats."""

from __future__ import annotations

import re

import pytest
from rdflib import Dataset, Graph

ORDERED = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label"
BRIDGE = "CONSTRUCT { ?b ?p ?o } WHERE { BIND(<https://w3id.org/yrd-kg/id/infra/sutong-bridge> AS ?b) ?b ?p ?o }"


def without_blank_labels(body: bytes) -> bytes:
    """Blank node labels are fresh on every evaluation; everything else must match."""
    return re.sub(rb'(_:|<bnode>|"bnode","value":")[A-Za-z0-9]+', rb"\1b", body)


@pytest.mark.parametrize("result_format", ["json", "xml", "csv", "tsv"])
def test_a_capped_result_is_the_same_as_the_query_with_limit(store, result_format):
    # The cut rows are written by a different path (through the TSV results format), so the reference
    # is pyoxigraph's own serialisation of the same query with a LIMIT.
    capped = store.execute(ORDERED, result_format=result_format, max_rows=7)
    limited = store.execute(ORDERED + " LIMIT 7", result_format=result_format)
    assert capped.truncated and not limited.truncated
    assert capped.body == limited.body


def test_a_result_exactly_at_the_cap_is_not_truncated(store):
    rows = store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }")
    total = int(rows[0]["n"])
    exact = store.execute(ORDERED, result_format="json", max_rows=total)
    assert not exact.truncated and exact.body == store.execute(ORDERED, result_format="json").body
    assert store.execute(ORDERED, result_format="json", max_rows=total - 1).truncated


def test_capped_results_keep_every_kind_of_term(store):
    query = (
        "SELECT ?iri ?blank ?lang ?typed ?plain ?unbound WHERE { VALUES (?iri ?lang ?typed ?plain) { "
        '(<https://example.org/a> "江苏"@zh "1.5"^^<http://www.w3.org/2001/XMLSchema#decimal> "x") } '
        "BIND(BNODE() AS ?blank) }"
    )
    for result_format in ("json", "xml", "csv", "tsv"):
        capped = store.execute(query, result_format=result_format, max_rows=5)
        assert not capped.truncated
        whole = store.execute(query, result_format=result_format).body
        assert without_blank_labels(capped.body) == without_blank_labels(whole)
    assert b'"xml:lang":"zh"' in store.execute(query, result_format="json", max_rows=5).body


def test_ask_results_ignore_the_cap(store):
    answer = store.execute("ASK { ?s ?p ?o }", result_format="json", max_rows=1)
    assert answer.body.replace(b" ", b"") == b'{"head":{},"boolean":true}' and not answer.truncated


def test_graph_results_are_capped_in_triples(store):
    whole = Graph().parse(data=store.execute(BRIDGE, result_format="turtle").body, format="turtle")
    capped = store.execute(BRIDGE, result_format="ntriples", max_rows=3)
    kept = Graph().parse(data=capped.body, format="nt")
    assert capped.truncated and len(kept) == 3 and set(kept) <= set(whole)


@pytest.mark.parametrize("result_format, rdflib_format", [("trig", "trig"), ("nquads", "nquads")])
def test_graph_results_in_dataset_formats_use_the_default_graph(store, result_format, rdflib_format):
    body = store.execute(BRIDGE, result_format=result_format).body
    dataset = Dataset().parse(data=body, format=rdflib_format)
    whole = Graph().parse(data=store.execute(BRIDGE, result_format="turtle").body, format="turtle")
    assert len(whole) >= 5 and set(dataset.default_graph) == set(whole)


def test_the_result_cache_is_bounded_and_keyed_on_everything_that_shapes_an_answer():
    from rdflib import URIRef

    from kg.store.results import Answer
    from kg.web.cache import ENTRY_BYTES, ResultCache, result_key

    cache = ResultCache(max_bytes=4 * (90 + ENTRY_BYTES))
    for number in range(10):
        cache.put(f"k{number}", Answer(b"x" * 90))
    kept = [k for k in (f"k{n}" for n in range(10)) if cache.get(k) is not None]
    assert kept == ["k6", "k7", "k8", "k9"]  # the least recently used went first
    cache.put("huge", Answer(b"x" * 200))
    assert cache.get("huge") is None  # more than a quarter of the cache is never kept
    base = result_key("build1", "json", {"query": "ASK {}", "bindings": {"r": URIRef("http://a/")}})
    assert base == result_key("build1", "json", {"bindings": {"r": URIRef("http://a/")}, "query": "ASK {}"})
    assert base != result_key("build2", "json", {"query": "ASK {}", "bindings": {"r": URIRef("http://a/")}})
    assert base != result_key("build1", "xml", {"query": "ASK {}", "bindings": {"r": URIRef("http://a/")}})
    assert base != result_key("build1", "json", {"query": "ASK {}", "bindings": {"r": URIRef("http://b/")}})


def test_answers_shared_on_disk_reach_another_process_with_their_flags(tmp_path):
    import multiprocessing

    from kg.store.results import Answer
    from kg.web.cache import ResultCache, SharedAnswers

    shared = SharedAnswers(tmp_path / "answers", max_bytes=1 << 20)
    first = ResultCache(max_bytes=1 << 20, shared=shared)
    first.put("cut", Answer(b"rows", truncated=True, over_bytes=True))
    first.put("whole", Answer(b"all rows"))
    context = multiprocessing.get_context("fork")  # as gunicorn starts a worker: a fork of the arbiter
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(target=_answers_in_a_fresh_worker, args=(shared, ["cut", "whole", "absent"], sending))
    worker.start()
    assert receiving.poll(30)
    seen = receiving.recv()
    worker.join(10)
    assert seen == [(b"rows", True, True), (b"all rows", False, False), None]
    alone = ResultCache(max_bytes=1 << 20)  # without the shared tier another cache knows nothing
    assert alone.get("whole") is None


def _answers_in_a_fresh_worker(shared, keys, sending):
    from kg.web.cache import ResultCache

    cache = ResultCache(max_bytes=1 << 20, shared=shared)
    answers = [cache.get(key) for key in keys]
    sending.send([None if a is None else (a.body, a.truncated, a.over_bytes) for a in answers])


def test_the_shared_answers_stay_within_their_bound(tmp_path):
    from kg.store.results import Answer
    from kg.web.cache import SharedAnswers

    shared = SharedAnswers(tmp_path / "answers", max_bytes=200_000)
    for number in range(100):
        shared.put(f"k{number}", Answer(bytes([number]) * 10_000))
    kept = [n for n in range(100) if shared.get(f"k{n}") is not None]
    assert 0 < len(kept) * 10_000 <= 200_000 + 10 * 10_000  # diskcache culls a few entries at a time
    assert 99 in kept and 0 not in kept  # the least recently stored went first


def test_the_memory_copy_is_the_same_version_blank_node_labels_included(disk_store):
    store, copy = disk_store, disk_store.copy_in_memory()
    assert copy.in_memory and not store.in_memory and copy.build_id == store.build_id
    assert copy.canonical_nquads() == store.canonical_nquads()
    for result_format in ("json", "xml", "csv", "tsv"):
        assert copy.execute(ORDERED, result_format=result_format, max_rows=7) == store.execute(
            ORDERED, result_format=result_format, max_rows=7
        )

    def triples(answer):  # the two stores may give a graph's triples in another order
        return sorted(answer.body.splitlines())

    assert triples(copy.execute(BRIDGE, result_format="ntriples")) == triples(
        store.execute(BRIDGE, result_format="ntriples")
    )


def test_a_capped_result_stops_a_long_query_early(store):
    # Without the early stop the cap would still hold, but every one of the ~10^12 rows would be made.
    cartesian = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    assert store.in_memory
    capped = store.execute(cartesian, result_format="json", max_rows=3)
    assert capped.truncated and capped.body.count(b'"a":') == 3


@pytest.mark.parametrize("result_format", ["json", "xml", "csv", "tsv"])
def test_values_that_look_like_row_boundaries_do_not_cut_a_result(store, result_format):
    # The first pass counts row boundaries from above ("},{" may sit inside a JSON string, a newline inside
    # a CSV value); a result it cannot vouch for goes through the exact path, so nothing is cut wrongly.
    query = 'SELECT ?x WHERE { VALUES ?x { "a},{b" "c},{d\\nline" "e<result>" "f\\n\\ng" } } ORDER BY ?x'
    whole = store.execute(query, result_format=result_format)
    at_cap = store.execute(query, result_format=result_format, max_rows=4)
    assert not at_cap.truncated and at_cap.body == whole.body
    cut = store.execute(query, result_format=result_format, max_rows=3)
    assert cut.truncated and cut.body == store.execute(query + " LIMIT 3", result_format=result_format).body


def test_row_markers_split_across_writes_are_counted_once():
    from kg.store.results import _RowCountingOutput

    output = _RowCountingOutput(b"},{", 1, max_rows=10)
    for piece in (b'[{"a":1}', b"}", b",", b'{"a":2}},{"a":3}]'):  # the first marker arrives a byte at a time
        output.write(piece)
    assert output.count == 2 and not output.over
