"""Partner data in: its own named graph with provenance, validated with the graph it joins, all or nothing,
behind the operator's token; by `kg import`, the Graph Store Protocol, and across rebuilds and kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import BAD_PARK, GOOD, MORE, PARTNER_GRAPH, ROOT, TOKEN, YRD, snapshot, store_content
from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDFS

from kg.config import load_settings
from kg.errors import Forbidden, InconsistencyError, InputError, NotFound, Unauthorized, ValidationFailed
from kg.exchange.imports import drop_graph, import_data, imports_graph
from kg.store.embedded import EmbeddedStore

BASE = "https://w3id.org/yrd-kg/"


def partner_triples(settings, graph=PARTNER_GRAPH) -> set:
    return {(s, p, o) for s, p, o, _ in EmbeddedStore(settings.path("store_dir")).quads([URIRef(graph)])}


def test_valid_data_lands_in_its_own_graph_with_provenance(writable):
    before = EmbeddedStore(writable.path("store_dir"))
    result = import_data(
        writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="Partner Ltd", source_name="parks.ttl", token=TOKEN
    )
    assert result.triples == 3 and result.report.conforms
    after = EmbeddedStore(writable.path("store_dir"))
    assert after.build_id == result.build_id != before.build_id
    assert len(partner_triples(writable)) == 3
    # the build's graphs are untouched
    for graph in before.graphs():
        assert set(after.quads([graph])) == set(before.quads([graph]))
    # who, when, from which file
    rows = after.select(f"""
        PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?who ?when ?file WHERE {{ GRAPH <{imports_graph(writable)}> {{
          <{PARTNER_GRAPH}> prov:wasGeneratedBy ?activity .
          ?activity prov:wasAssociatedWith/rdfs:label ?who ; prov:endedAtTime ?when ;
            prov:used/dcterms:title ?file }} }}""")
    assert len(rows) == 1 and str(rows[0]["who"]) == "Partner Ltd" and str(rows[0]["file"]) == "parks.ttl"
    assert abs(rows[0]["when"].toPython().timestamp() - time.time()) < 120
    # the union default graph sees the partner's park next to the seed graph's
    assert after.ask(f"ASK {{ <https://partner.example/park/p1> <{YRD}locatedIn> ?r . ?r <{RDFS.label}> ?l }}")


def test_put_replaces_and_append_adds(writable):
    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="one.ttl", token=TOKEN)
    import_data(
        writable, MORE, format="turtle", graph=PARTNER_GRAPH, agent="b", source_name="two.ttl", token=TOKEN, append=True
    )
    subjects = {s for s, _, _ in partner_triples(writable)}
    assert subjects == {URIRef("https://partner.example/park/p1"), URIRef("https://partner.example/park/p2")}
    import_data(writable, MORE, format="turtle", graph=PARTNER_GRAPH, agent="c", source_name="three.ttl", token=TOKEN)
    assert {s for s, _, _ in partner_triples(writable)} == {URIRef("https://partner.example/park/p2")}
    # one import record per graph: the latest, and no agent left behind by the replaced ones
    store = EmbeddedStore(writable.path("store_dir"))
    records = {(s, p, o) for s, p, o, _ in store.quads([imports_graph(writable)])}
    assert sum(1 for s, p, o in records if s == URIRef(PARTNER_GRAPH) and p == PROV.wasGeneratedBy) == 1
    assert {o for s, p, o in records if p == RDFS.label} == {Literal("c")}


@pytest.mark.parametrize(
    "data, error, message",
    [
        (BAD_PARK, ValidationFailed, "2 SHACL violations"),
        (b"<https://partner.example/a> <https://partner.example/b> ", InputError, "line"),
        (b"", InputError, "empty"),
        (  # not a decimal: refused as OWL RL's dt-not-type says, where owlrl's own check raised
            b'<https://partner.example/a> <https://partner.example/b> "x"^^<http://www.w3.org/2001/XMLSchema#decimal>.',
            InconsistencyError,
            "'x' does not match its datatype",
        ),
    ],
)
def test_invalid_or_malformed_data_changes_nothing(writable, data, error, message):
    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="one.ttl", token=TOKEN)
    before = snapshot(writable)
    with pytest.raises(error, match=message):
        import_data(writable, data, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="bad.ttl", token=TOKEN)
    assert snapshot(writable) == before


def test_a_violation_report_names_the_partner_node(writable):
    with pytest.raises(ValidationFailed) as failure:
        import_data(
            writable, BAD_PARK, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="bad.ttl", token=TOKEN
        )
    assert {str(r.focus) for r in failure.value.report.results} == {"https://partner.example/park/p3"}


@pytest.mark.parametrize(
    "token_setting, presented, error",
    [
        ("", TOKEN, Forbidden),
        (TOKEN, None, Unauthorized),
        (TOKEN, "partner-secret-2", Forbidden),
    ],
)
def test_writes_need_the_operators_token(writable, token_setting, presented, error):
    settings = load_settings(
        {"root": ROOT, "store_dir": writable.path("store_dir"), "write_token": token_setting}, env={}
    )
    before = snapshot(settings)
    with pytest.raises(error):
        import_data(
            settings, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="x.ttl", token=presented
        )
    with pytest.raises(error):
        drop_graph(settings, PARTNER_GRAPH, token=presented)
    assert snapshot(settings) == before
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    "graph", ["https://w3id.org/yrd-kg/graph/asserted", "https://w3id.org/yrd-kg/graph/imports", "not-an-iri"]
)
def test_the_builds_own_graphs_cannot_be_written(writable, graph):
    with pytest.raises((Forbidden, InputError)):
        import_data(writable, GOOD, format="turtle", graph=graph, agent="a", source_name="x.ttl", token=TOKEN)


def test_drop_removes_the_graph_and_its_record(writable):
    original = store_content(writable)
    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="x.ttl", token=TOKEN)
    drop_graph(writable, PARTNER_GRAPH, token=TOKEN)
    store = EmbeddedStore(writable.path("store_dir"))
    assert URIRef(PARTNER_GRAPH) not in store.graphs() and imports_graph(writable) not in store.graphs()
    assert store.canonical_nquads() == original
    with pytest.raises(NotFound):
        drop_graph(writable, PARTNER_GRAPH, token=TOKEN)


def test_a_rebuild_keeps_imported_graphs(writable):
    from kg.build.pipeline import build_and_publish

    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="x.ttl", token=TOKEN)
    kept = partner_triples(writable)
    build_and_publish(writable, progress=lambda message: None)
    assert partner_triples(writable) == kept and len(kept) == 3
    store = EmbeddedStore(writable.path("store_dir"))
    assert imports_graph(writable) in store.graphs()


def kg(settings, *args, **popen):
    env = {**os.environ, "KG_STORE_DIR": str(settings.path("store_dir")), "KG_WRITE_TOKEN": TOKEN, "KG_TOKEN": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-c", "from kg.cli import run; run()", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_the_cli_imports_refuses_and_drops(writable, tmp_path):
    good, bad = tmp_path / "good.ttl", tmp_path / "bad.ttl"
    good.write_bytes(GOOD)
    bad.write_bytes(BAD_PARK)
    out, err = kg(writable, "import", str(good), "--graph", PARTNER_GRAPH, "--agent", "cli").communicate(timeout=120)
    assert "imported 3 triples" in out, err
    refused = kg(writable, "import", str(bad), "--graph", PARTNER_GRAPH)
    out, err = refused.communicate(timeout=120)
    assert refused.returncode == 1 and "LocatedInPlace" in out and "nothing was written" in err
    dropped = kg(writable, "drop", PARTNER_GRAPH)
    dropped.communicate(timeout=60)
    assert dropped.returncode == 0 and URIRef(PARTNER_GRAPH) not in EmbeddedStore(writable.path("store_dir")).graphs()


def test_an_import_killed_at_any_moment_leaves_a_whole_store(writable, tmp_path):
    """SIGKILL at spread-out moments of an import: afterwards the store is either the old one or the new
    one, whole, and a rerun completes."""
    data = tmp_path / "good.ttl"
    data.write_bytes(GOOD)
    old = store_content(writable)
    started = time.monotonic()
    finished = kg(writable, "import", str(data), "--graph", PARTNER_GRAPH, "--agent", "a")
    finished.communicate(timeout=120)
    duration = time.monotonic() - started
    new_graph = partner_triples(writable)
    drop_graph(writable, PARTNER_GRAPH, token=TOKEN)
    assert store_content(writable) == old
    outcomes = set()
    for fraction in (0.4, 0.9, 0.99):
        process = kg(writable, "import", str(data), "--graph", PARTNER_GRAPH, "--agent", "a")
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        store = EmbeddedStore(writable.path("store_dir"))  # opens: the current version is whole
        assert len(store) > 0
        if URIRef(PARTNER_GRAPH) in store.graphs():
            outcomes.add("new")
            assert partner_triples(writable) == new_graph
            drop_graph(writable, PARTNER_GRAPH, token=TOKEN)
        else:
            outcomes.add("old")
            assert store.canonical_nquads() == old
    assert "old" in outcomes  # at least one kill landed before the switch
    rerun = kg(writable, "import", str(data), "--graph", PARTNER_GRAPH, "--agent", "a")
    rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and partner_triples(writable) == new_graph
    # what the killed writers left half-written is gone
    leftovers = [p.name for p in (writable.path("store_dir") / "versions").iterdir() if p.name.startswith(".")]
    assert leftovers == []


REGION = f"""
@prefix yrd: <{YRD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://partner.example/region/r1> a yrd:AdministrativeRegion ; rdfs:label "Partner district"@en ;
    yrd:adminLevel "county" ; yrd:partOf <https://w3id.org/yrd-kg/id/region/nantong> ;
    skos:notation "999999"^^yrd:AdministrativeDivisionCode .
<https://partner.example/park/p4> a yrd:IndustrialPark ; rdfs:label "Partner park four"@en ;
    yrd:locatedIn <https://partner.example/region/r1> ; yrd:coBuiltBy <https://w3id.org/yrd-kg/id/region/wuxi> .
""".encode()


@pytest.mark.parametrize("document", [GOOD, BAD_PARK, REGION], ids=["good", "bad", "region"])
def test_checking_beside_the_neighbourhood_equals_checking_beside_the_whole_graph(store, settings, document):
    """The import checks partner data beside what the published graph says about the nodes it mentions;
    the reference is the check beside the whole published graph."""
    from rdflib import Graph

    from kg.validation.partner_check import neighbourhood
    from kg.validation.schema_graphs import load_ontology, load_shape_graphs
    from kg.validation.shacl_check import validate_data

    data = Graph().parse(data=document, format="turtle")
    whole = Graph()
    for s, p, o, _ in store.quads([URIRef(settings.base_iri + "graph/asserted")]):
        whole.add((s, p, o))
    ontology, shapes = load_ontology(settings), load_shape_graphs(settings)

    def key(report):
        return sorted((r.shape, str(r.focus), str(r.path), str(r.value), r.severity) for r in report.results)

    reference = validate_data(data, ontology=ontology, shapes=shapes, context=whole, base_iri=settings.base_iri)
    fast = validate_data(
        data, ontology=ontology, shapes=shapes, context=neighbourhood(store, settings, data), base_iri=settings.base_iri
    )
    assert key(fast) == key(reference)
    if document is REGION:
        assert any("Code" in r.shape for r in reference.results)  # the nesting check does see the parent's code


def test_an_import_s_entailments_are_published_in_a_graph_of_their_own_and_dropped_with_it(writable):
    """A park imported as lying in Nantong is a zone lying in Jiangsu: the saved query for Jiangsu's parks
    finds it, as it finds curated ones; its entailments never repeat a published triple; a replace
    replaces them and a drop drops them."""
    from kg.exchange.imports import entailed_graph
    from kg.serving.saved_queries import load_queries

    store_dir = writable.path("store_dir")
    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="one.ttl", token=TOKEN)
    store = EmbeddedStore(store_dir)
    derived = entailed_graph(writable, URIRef(PARTNER_GRAPH))
    assert derived in store.graphs()
    entailed = {(s, p, o) for s, p, o, _ in store.quads([derived])}
    park = URIRef("https://partner.example/park/p1")
    assert (park, URIRef(YRD + "locatedIn"), URIRef(f"{BASE}id/region/jiangsu")) in entailed
    curated = {(s, p, o) for s, p, o, _ in store.quads([URIRef(f"{BASE}graph/{n}") for n in ("asserted", "inferred")])}
    partner = {(s, p, o) for s, p, o, _ in store.quads([URIRef(PARTNER_GRAPH)])}
    assert entailed and not entailed & curated and not entailed & partner
    query = load_queries(ROOT / "queries")["parks_in_province"]
    rows = store.select(query.text, bindings=query.bindings({"province": f"{BASE}id/region/jiangsu"}))
    assert park in {row["park"] for row in rows}
    # its record says which graph it comes from
    records = {(s, p, o) for s, p, o, _ in store.quads([URIRef(f"{BASE}graph/imports")])}
    assert (derived, PROV.wasDerivedFrom, URIRef(PARTNER_GRAPH)) in records
    # replacing the graph with data that entails nothing new replaces the entailments; dropping drops them
    plain = b'<https://partner.example/x> <http://www.w3.org/2000/01/rdf-schema#comment> "x"@en .\n'
    import_data(writable, plain, format="ntriples", graph=PARTNER_GRAPH, agent="a", source_name="x.nt", token=TOKEN)
    assert derived not in EmbeddedStore(store_dir).graphs()
    import_data(writable, GOOD, format="turtle", graph=PARTNER_GRAPH, agent="a", source_name="one.ttl", token=TOKEN)
    drop_graph(writable, PARTNER_GRAPH, token=TOKEN)
    assert (
        derived not in EmbeddedStore(store_dir).graphs()
        and URIRef(PARTNER_GRAPH) not in EmbeddedStore(store_dir).graphs()
    )


def test_a_partner_may_not_write_an_entailed_graph(writable):
    with pytest.raises(Forbidden):
        import_data(
            writable, GOOD, format="turtle", graph=f"{BASE}graph/entailed/0123456789abcdef", agent="a",
            source_name="one.ttl", token=TOKEN,
        )  # fmt: skip
