"""kg diff: the change between two datasets, checked by applying its SPARQL Update with pyoxigraph.

pyoxigraph is the reference here: a change is right when OLD with the update applied is, after RDFC-1.0
canonicalisation of both whole datasets, the same dataset as NEW.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pyoxigraph as ox
import pytest
from helpers import ROOT
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDFS

from kg.errors import InputError
from kg.exchange.diff import Change, as_nquads, as_sparql_update, diff, labels_from, load_side, quad_text, summary
from kg.store.rdf_io import parse_rdf, sorted_nquads
from kg.store.terms import to_ox

PREFIXES = """@prefix ex: <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
RESTRICTION = (
    PREFIXES
    + """
ex:Park rdfs:label "Park"@en ; rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:locatedIn ;
    owl:someValuesFrom ex:Region ] .
"""
)
# the same restriction, written in another order with other blank-node labels
RESTRICTION_RELABELLED = (
    PREFIXES
    + """
_:r9 owl:someValuesFrom ex:Region ; owl:onProperty ex:locatedIn ; a owl:Restriction .
ex:Park rdfs:subClassOf _:r9 ; rdfs:label "Park"@en .
"""
)


def quads(text: str, format: str = "trig"):
    return parse_rdf(text.encode("utf-8"), format=format, base_iri="http://example.org/", source="test")


def ox_quad(quad) -> ox.Quad:
    s, p, o, g = quad
    return ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph() if g is None else to_ox(g))


def canonical(dataset) -> list[str]:
    """A dataset as sorted N-Quads lines under RDFC-1.0 labels: equal lists mean isomorphic datasets."""
    copy = ox.Dataset(list(dataset))
    copy.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(str(q) for q in copy)


def store_of(data) -> ox.Store:
    store = ox.Store()
    store.extend([ox_quad(q) for q in data])
    return store


def assert_update_turns(old, new, change: Change | None = None) -> Change:
    """Apply the update for old→new to a store holding OLD and check the result is NEW."""
    change = diff(old, new) if change is None else change
    store = store_of(old)
    store.update(as_sparql_update(change))
    # both through a Store, so literals are in the same (Oxigraph-canonical) form
    assert canonical(store) == canonical(store_of(new))
    return change


# --- the change and its update ------------------------------------------------------------------------------


def test_identical_inputs_give_an_empty_change_and_a_valid_empty_update():
    data = quads(RESTRICTION)
    change = assert_update_turns(data, data)
    assert change.is_empty and change.added == [] and change.removed == []
    assert summary(change) == "no difference\n" and as_nquads(change) == ""


def test_a_relabelled_reordered_restriction_is_no_change():
    change = diff(quads(RESTRICTION), quads(RESTRICTION_RELABELLED))
    assert change.is_empty, as_nquads(change)


def test_a_changed_literal_is_one_removal_and_one_addition():
    old = quads(PREFIXES + 'ex:p1 ex:areaKm2 3.5 ; rdfs:label "Park one"@en .')
    new = quads(PREFIXES + 'ex:p1 ex:areaKm2 4.25 ; rdfs:label "Park one"@en .')
    change = assert_update_turns(old, new)
    area = URIRef("http://example.org/areaKm2")
    decimal = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
    p1 = URIRef("http://example.org/p1")
    assert change.removed == [(p1, area, Literal("3.5", datatype=decimal), None)]
    assert change.added == [(p1, area, Literal("4.25", datatype=decimal), None)]


def test_literals_with_quotes_newlines_backslashes_languages_and_datatypes():
    old = quads(
        PREFIXES
        + r'''ex:a ex:note "plain" , "one \"quoted\" word\nand a second line\\ with a backslash\r" ,
        """triple "quoted"
        text ending in a quote\"""" , "Nantong"@en-GB , "南通"@zh , "2020-05"^^xsd:gYearMonth , "x"^^ex:custom .'''
    )
    new = quads(
        PREFIXES
        + r"""ex:a ex:note "plain" , "tab\there" , "Nantong"@en , "南通市"@zh ,
        "2020"^^xsd:gYear ."""
    )
    change = assert_update_turns(old, new)
    assert len(change.removed) == 6 and len(change.added) == 4
    # each quad written is one valid N-Quads statement that reads back as the same quad
    for quad in change.removed + change.added:
        (parsed,) = ox.parse(quad_text(quad).encode("utf-8"), format=ox.RdfFormat.N_QUADS)
        assert parsed == ox_quad(quad)
    assert sorted(as_nquads(change).splitlines()) == sorted(
        ["- " + quad_text(q) for q in change.removed] + ["+ " + quad_text(q) for q in change.added]
    )


def test_an_explicit_xsd_string_is_the_plain_literal():
    a, p = URIRef("http://example.org/a"), URIRef("http://example.org/p")
    typed = [(a, p, Literal("x", datatype=URIRef("http://www.w3.org/2001/XMLSchema#string")), None)]
    assert diff(typed, [(a, p, Literal("x"), None)]).is_empty
    assert quad_text(typed[0]) == '<http://example.org/a> <http://example.org/p> "x" .'


def test_a_triple_moved_to_another_graph():
    old = quads(PREFIXES + "ex:g1 { ex:a ex:p ex:b . ex:c ex:p ex:d . } ex:g2 { ex:e ex:p ex:f . }")
    new = quads(PREFIXES + "ex:g1 { ex:c ex:p ex:d . } ex:g2 { ex:e ex:p ex:f . ex:a ex:p ex:b . }")
    change = assert_update_turns(old, new)
    triple = (URIRef("http://example.org/a"), URIRef("http://example.org/p"), URIRef("http://example.org/b"))
    assert change.removed == [(*triple, URIRef("http://example.org/g1"))]
    assert change.added == [(*triple, URIRef("http://example.org/g2"))]
    # the graph is named on each line, or the two lines would read the same
    assert "    - <http://example.org/p> <http://example.org/b>  [<http://example.org/g1>]" in summary(change)
    assert "    + <http://example.org/p> <http://example.org/b>  [<http://example.org/g2>]" in summary(change)


def test_the_default_graph_is_written_outside_any_graph_block():
    old = quads(PREFIXES + "ex:a ex:p 1 . ex:g { ex:a ex:p 1 . }")
    new = quads(PREFIXES + "ex:a ex:p 2 . ex:g { ex:a ex:p 1 . }")
    change = assert_update_turns(old, new)
    assert [q[3] for q in change.removed + change.added] == [None, None]
    update = as_sparql_update(change)
    assert "GRAPH" not in update and "DELETE DATA" in update and "INSERT DATA" in update


def test_a_changed_blank_node_structure_is_removed_and_added_whole():
    new = quads(RESTRICTION.replace("ex:Region", "ex:City"))
    change = assert_update_turns(quads(RESTRICTION), new)
    # the anchor triple and the three restriction triples, on each side; the label is untouched
    assert len(change.removed) == 4 and len(change.added) == 4
    assert {str(q[2]) for q in change.removed} >= {"http://example.org/Region"}
    removed_nodes = {t for q in change.removed for t in q if isinstance(t, BNode)}
    added_nodes = {t for q in change.added for t in q if isinstance(t, BNode)}
    assert removed_nodes and added_nodes and not removed_nodes & added_nodes  # readable, distinct labels
    update = as_sparql_update(change)
    assert "DELETE DATA" not in update and "_:" not in update.split("INSERT DATA")[0]


def test_a_changed_rdf_list():
    old = quads(PREFIXES + "ex:Party owl:unionOf (ex:Company ex:Agency) ; owl:oneOf (ex:a ex:b ex:c) .")
    new = quads(PREFIXES + "ex:Party owl:unionOf (ex:Company ex:Agency ex:Person) ; owl:oneOf (ex:c ex:b ex:a) .")
    change = assert_update_turns(old, new)
    assert len(change.removed) == 1 + 4 + 1 + 6 and len(change.added) == 1 + 6 + 1 + 6
    # a list that did not change is left alone
    kept = quads(PREFIXES + "ex:Party owl:unionOf (ex:Company ex:Agency) ; owl:oneOf (ex:c ex:b ex:a) .")
    change = assert_update_turns(old, kept)
    assert len(change.removed) == 7 and len(change.added) == 7


def test_removing_a_structure_never_touches_a_look_alike():
    """A pattern with plain variables would also delete the IRI copy and a part of the larger structure."""
    look_alikes = """
        ex:Park rdfs:subClassOf ex:namedRestriction .
        ex:namedRestriction a owl:Restriction ; owl:onProperty ex:locatedIn ; owl:someValuesFrom ex:Region .
        ex:Park rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:locatedIn ; owl:someValuesFrom ex:Region ;
                                  owl:minCardinality 1 ] .
    """
    old = quads(RESTRICTION + look_alikes)
    new = quads(PREFIXES + 'ex:Park rdfs:label "Park"@en .' + look_alikes)
    change = assert_update_turns(old, new)
    assert len(change.removed) == 4 and change.added == []


def test_isomorphic_copies_are_counted():
    old = quads(PREFIXES + "ex:z ex:q [ ex:r 1 ] , [ ex:r 1 ] , [ ex:r 1 ] .")
    new = quads(PREFIXES + "ex:z ex:q [ ex:r 1 ] .")
    change = assert_update_turns(old, new)
    assert len(change.removed) == 4 and change.added == []
    change = assert_update_turns(new, old)
    assert len(change.added) == 4 and change.removed == []


def test_a_blank_node_shared_by_two_graphs_is_one_node():
    # both sides hold the same triples per graph, but only OLD links them through one blank node
    old = quads(PREFIXES + "ex:g1 { ex:a ex:p _:x . } ex:g2 { _:x ex:q ex:b . }")
    new = quads(PREFIXES + "ex:g1 { ex:a ex:p _:x . } ex:g2 { _:y ex:q ex:b . }")
    change = assert_update_turns(old, new)
    assert not change.is_empty
    assert diff(old, quads(PREFIXES + "ex:g2 { _:n ex:q ex:b . } ex:g1 { ex:a ex:p _:n . }")).is_empty


def test_a_graph_named_by_a_blank_node_is_refused():
    with pytest.raises(InputError, match="blank node"):
        diff(quads(PREFIXES + "_:g { ex:a ex:p ex:b . }"), [])


# --- the outputs for people -----------------------------------------------------------------------------------


def test_the_summary_groups_by_entity_with_labels_and_prefixes():
    base = "https://w3id.org/yrd-kg/"
    old = quads(f"""@prefix yrd: <{base}ontology#> . @prefix id: <{base}id/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
        id:park\\/p1 rdfs:label "园区"@zh , "Park one"@en ; yrd:areaKm2 3.5 .
        yrd:Zone rdfs:subClassOf [ a owl:Restriction ; owl:onProperty yrd:locatedIn ; owl:someValuesFrom yrd:Region ] .
        [] rdfs:comment "a loose node" .""")
    new = quads(f"""@prefix yrd: <{base}ontology#> . @prefix id: <{base}id/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        id:park\\/p1 rdfs:label "园区"@zh , "Park one"@en ; yrd:areaKm2 4 ; yrd:operator id:company\\/c1 .""")
    text = summary(diff(old, new), labels_from(old, new), base_iri=base)
    lines = text.splitlines()
    assert "id:park/p1 (Park one)  +2 -1" in lines
    entity = lines.index("id:park/p1 (Park one)  +2 -1")
    assert lines[entity + 1 : entity + 4] == [
        '    - yrd:areaKm2 "3.5"^^xsd:decimal',
        '    + yrd:areaKm2 "4"^^xsd:integer',
        "    + yrd:operator id:company/c1",
    ]
    # the restriction hangs from the class it restricts; the loose node has no named subject
    assert "yrd:Zone  +0 -4" in lines and any(
        line.startswith("    - _:b") and "owl:onProperty yrd:locatedIn" in line for line in lines
    )
    assert "(blank node structures)  +0 -1" in lines
    assert lines[-1] == "2 triples added, 6 removed, 2 entities touched"


def test_labels_prefer_english_and_the_newer_side():
    thing = URIRef("http://example.org/t")
    old = [
        (thing, RDFS.label, Literal("Ding", lang="de"), None),
        (thing, RDFS.label, Literal("Thing", lang="en"), None),
    ]
    new = [(thing, RDFS.label, Literal("Thing (renamed)", lang="en-GB"), None), (thing, RDFS.label, Literal("T"), None)]
    assert labels_from(old) == {thing: "Thing"}
    assert labels_from(old, new) == {thing: "Thing (renamed)"}


def test_nquads_output_is_signed_and_sorted():
    old = quads(PREFIXES + "ex:b ex:p 1 . ex:a ex:p 1 .")
    new = quads(PREFIXES + "ex:b ex:p 2 . ex:a ex:p 1 . ex:c ex:p 1 .")
    assert as_nquads(diff(old, new)).splitlines() == [
        '- <http://example.org/b> <http://example.org/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
        '+ <http://example.org/b> <http://example.org/p> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .',
        '+ <http://example.org/c> <http://example.org/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
    ]


# --- the real seed graph --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(store) -> list:
    return sorted(store.quads(), key=quad_text)


def test_the_seed_graph_against_itself_and_relabelled_is_no_change(seed):
    assert any(isinstance(t, BNode) for q in seed for t in q)  # the ontology's restrictions and lists
    relabelled = [tuple(BNode("other" + t) if isinstance(t, BNode) else t for t in q) for q in seed]
    assert diff(seed, seed).is_empty and diff(seed, relabelled).is_empty


def test_the_seed_graph_with_triples_dropped_and_one_added(seed, settings):
    ground = [q for q in seed if not any(isinstance(t, BNode) for t in q)]
    dropped = ground[:: len(ground) // 3][:3]
    extra = (URIRef(settings.base_iri + "id/park/new"), RDFS.label, Literal("New park", lang="en"), dropped[0][3])
    new = [q for q in seed if q not in dropped] + [extra]
    change = assert_update_turns(seed, new)
    assert sorted(change.removed, key=quad_text) == sorted(dropped, key=quad_text) and change.added == [extra]

    # one triple less in a blank-node structure of the ontology: the structure is replaced whole
    (victim,) = [q for q in seed if isinstance(q[0], BNode)][:1]
    graph = [q for q in seed if q[3] == victim[3]]
    change = assert_update_turns(graph, [q for q in graph if q != victim])
    assert len(change.removed) == len(change.added) + 1
    assert all(any(isinstance(t, BNode) for t in q) for q in change.removed + change.added)


def test_sides_are_files_the_current_version_or_a_build_id(seed, store, settings, tmp_path):
    store_dir = settings.path("store_dir")
    dump = tmp_path / "seed.nq"
    dump.write_bytes(sorted_nquads(seed))
    # N-Quads keeps the blank-node labels, so all three are the very same quads
    for spec in ("current", store.build_id, str(dump)):
        assert set(load_side(spec, store_dir=store_dir, base_iri=settings.base_iri)) == set(seed), spec
    triple_term = tmp_path / "star.ttl"
    triple_term.write_text("<http://a> <http://p> <<( <http://a> <http://p> <http://b> )>> .", encoding="utf-8")
    with pytest.raises(InputError, match="triple terms"):
        load_side(str(triple_term), store_dir=store_dir, base_iri=settings.base_iri)
    empty = tmp_path / "empty.ttl"
    empty.write_text("\n", encoding="utf-8")
    assert load_side(str(empty), store_dir=store_dir, base_iri=settings.base_iri) == []
    for spec in ("no-such-version", "../versions", str(tmp_path / "missing.ttl")):
        with pytest.raises(InputError) as error:
            load_side(spec, store_dir=store_dir, base_iri=settings.base_iri)
        assert repr(spec) in str(error.value) and store.build_id in str(error.value)


# --- the command ----------------------------------------------------------------------------------------------


def kg(*args):
    return subprocess.run(
        [sys.executable, "-c", "from kg.cli import run; run()", *args],
        capture_output=True,
        text=True,
        env={**os.environ},
        cwd=ROOT,
        timeout=600,
    )


PARTNER_OLD = """@prefix yrd: <https://w3id.org/yrd-kg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p1> a yrd:IndustrialPark ; rdfs:label "Partner park"@en , "合作园区"@zh ;
    yrd:areaKm2 3.5 .
<https://partner.example/park/p2> a yrd:IndustrialPark ; rdfs:label "Second park"@en .
"""
PARTNER_NEW = PARTNER_OLD.replace("yrd:areaKm2 3.5", "yrd:areaKm2 4.5")


@pytest.fixture
def partner_files(tmp_path):
    old, new = tmp_path / "old.ttl", tmp_path / "new.ttl"
    old.write_text(PARTNER_OLD, encoding="utf-8")
    new.write_text(PARTNER_NEW, encoding="utf-8")
    return old, new


def test_cli_summary_update_and_exit_codes(settings, partner_files):
    old, new = partner_files
    store_dir = str(settings.path("store_dir"))
    result = kg("--store-dir", store_dir, "diff", str(old), str(new))
    assert result.returncode == 1, result.stderr
    assert "<https://partner.example/park/p1> (Partner park)  +1 -1" in result.stdout
    assert "p2" not in result.stdout and "1 triple added, 1 removed, 1 entity touched" in result.stdout

    result = kg("--store-dir", store_dir, "diff", "--as", "update", str(old), str(new))
    assert result.returncode == 1
    target = store_of(quads(PARTNER_OLD, "turtle"))
    target.update(result.stdout)
    assert canonical(target) == canonical(store_of(quads(PARTNER_NEW, "turtle")))

    result = kg("--store-dir", store_dir, "diff", "--as", "nquads", str(old), str(new))
    assert result.returncode == 1 and [line[:2] for line in result.stdout.splitlines()] == ["- ", "+ "]

    result = kg("--store-dir", store_dir, "diff", str(old), str(old))
    assert result.returncode == 0 and result.stdout == "no difference\n"


def test_cli_unreadable_input_and_unknown_version_exit_2(settings, partner_files, tmp_path):
    old, _ = partner_files
    broken = tmp_path / "broken.ttl"
    broken.write_text(PARTNER_OLD[:-30], encoding="utf-8")
    result = kg("--store-dir", str(settings.path("store_dir")), "diff", str(old), str(broken))
    assert result.returncode == 2 and "line" in result.stderr and "broken.ttl" in result.stderr
    assert "Traceback" not in result.stderr
    result = kg("--store-dir", str(settings.path("store_dir")), "diff", str(old), "nonsense")
    assert result.returncode == 2 and "'nonsense'" in result.stderr and "(current)" in result.stderr


def test_cli_current_against_a_file(seed, settings, tmp_path):
    labels = labels_from(seed)
    fact = next(
        q for q in seed if q[0] in labels and q[1] != RDFS.label and str(q[0]).startswith(settings.base_iri + "id/")
    )
    edited = tmp_path / "edited.nq"
    edited.write_bytes(sorted_nquads(q for q in seed if q != fact))
    store_dir = str(settings.path("store_dir"))
    result = kg("--store-dir", store_dir, "diff", "current", str(edited))
    assert result.returncode == 1, result.stderr
    entity = str(fact[0])[len(settings.base_iri + "id/") :]
    assert f"id:{entity} ({labels[fact[0]]})  +0 -1" in result.stdout, result.stdout
    assert "0 triples added, 1 removed, 1 entity touched" in result.stdout
