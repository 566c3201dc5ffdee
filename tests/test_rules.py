"""The fast OWL RL engine (kg.reasoning.owl_rl) against owlrl, the reference: the same entailments, the same
verdicts."""

from __future__ import annotations

import random

import pytest
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.build.mapping import rdflib_cited
from kg.build.pipeline import map_seeds
from kg.errors import InconsistencyError
from kg.reasoning import owl_rl, owl_rl_schema
from kg.reasoning.entailments import infer_closures, infer_triples
from kg.validation.schema_graphs import load_ontology

EX = Namespace("http://example.org/")


def both(ontology, data, **options):
    """The entailments by each engine, or the exception type each raised."""
    outcomes = []
    for engine in ("fast", "owlrl"):
        try:
            outcomes.append(infer_triples(ontology, data, engine=engine, **options))
        except InconsistencyError:
            outcomes.append(InconsistencyError)
    return outcomes


def turtle(text: str) -> Graph:
    return Graph().parse(
        data="@prefix ex: <http://example.org/> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n" + text,
        format="turtle",
    )


@pytest.fixture(scope="module")
def seed_graphs(settings):
    return load_ontology(settings), set(rdflib_cited(map_seeds(settings, progress=lambda m: None)))


@pytest.mark.parametrize("domains_and_ranges", [True, False])
def test_seed_graph_entailments_equal_owlrls(seed_graphs, domains_and_ranges):
    ontology, asserted = seed_graphs
    fast, reference = both(ontology, asserted, domains_and_ranges=domains_and_ranges)
    assert fast == reference
    assert len(fast) > 1000  # the seed graph entails types, inverses and part-of closures


def test_both_closures_at_once_equal_each_alone(seed_graphs):
    # infer_closures shares the one-time datatype rules between the two; each must come out as if alone
    ontology, asserted = seed_graphs
    full, checked = infer_closures(ontology, asserted)
    assert full == infer_triples(ontology, asserted)
    assert checked == infer_triples(ontology, asserted, domains_and_ranges=False)
    assert checked < full


def test_the_closure_without_domains_and_ranges_comes_back_as_encode_makes_it(seed_graphs):
    from kg.build.pipeline import _as_text
    from kg.store.rdf_io import text_triples

    ontology, asserted = seed_graphs
    full, checked = infer_closures(ontology, asserted)
    encoded_full, encoded = infer_closures(ontology, asserted, encode=_as_text)
    assert encoded_full == full
    assert isinstance(encoded, bytes) and text_triples(encoded) == checked


CASES = {
    "subclass chain and equivalence": """
        ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C . ex:C owl:equivalentClass ex:D .
        ex:D rdfs:subClassOf ex:A . ex:x a ex:A . ex:A a owl:Class . ex:D a owl:Class .""",
    "subproperty, equivalent property, domain and range": """
        ex:p rdfs:subPropertyOf ex:q . ex:q owl:equivalentProperty ex:r . ex:r rdfs:domain ex:C ;
        rdfs:range ex:D . ex:C rdfs:subClassOf ex:E . ex:p a owl:ObjectProperty . ex:x ex:p ex:y .
        ex:x ex:r "v" .""",
    "inverse, symmetric and transitive": """
        ex:partOf a owl:TransitiveProperty ; owl:inverseOf ex:hasPart . ex:hasPart a owl:TransitiveProperty .
        ex:near a owl:SymmetricProperty . ex:a ex:partOf ex:b . ex:b ex:partOf ex:c . ex:c ex:partOf ex:d .
        ex:a ex:near ex:b . ex:d ex:partOf ex:a .""",
    "property chains of two and three": """
        ex:in owl:propertyChainAxiom ( ex:locatedIn ex:partOf ) . ex:far owl:propertyChainAxiom ( ex:p ex:q ex:r ) .
        ex:partOf a owl:TransitiveProperty . ex:locatedIn rdfs:subPropertyOf ex:in .
        ex:z ex:locatedIn ex:a . ex:a ex:partOf ex:b . ex:b ex:partOf ex:c .
        ex:x ex:p ex:y . ex:y ex:q ex:w . ex:y ex:q ex:v . ex:w ex:r ex:u . ex:v ex:r ex:t .""",
    "union and intersection": """
        ex:Party owl:equivalentClass [ a owl:Class ; owl:unionOf ( ex:Region ex:Org ) ] .
        ex:Both owl:intersectionOf ( ex:Region ex:Org ) .
        ex:r a ex:Region . ex:o a ex:Org . ex:b a ex:Region , ex:Org . ex:i a ex:Both .""",
    "disjoint classes": """
        ex:A owl:disjointWith ex:B . ex:x a ex:A . ex:y a ex:B . ex:B rdfs:subClassOf ex:E .""",
    "all disjoint classes": """
        [] a owl:AllDisjointClasses ; owl:members ( ex:A ex:B ex:C ) .
        ex:x a ex:A . ex:y a ex:C . ex:C rdfs:subClassOf ex:E .""",
    "typed literals": """
        ex:p rdfs:range xsd:decimal ; rdfs:domain ex:C . ex:x ex:p 3 , 2.5 . ex:y ex:q "2020-01-01"^^xsd:date .""",
    "a string where the range is a decimal (owlrl does not object)": """
        ex:p rdfs:range xsd:decimal ; rdfs:domain ex:C . ex:x ex:p "one" , 2.5 .""",
    "a class typed by a range is schema, derived from instances": """
        ex:kind rdfs:range owl:Class . ex:x ex:kind ex:K . ex:K rdfs:subClassOf ex:L . ex:y a ex:K .""",
}
INCONSISTENT = {
    "disjoint classes share an individual": "ex:A owl:disjointWith ex:B . ex:x a ex:A , ex:B .",
    "all-disjoint members share one through a subclass": """
        [] a owl:AllDisjointClasses ; owl:members ( ex:A ex:B ex:C ) . ex:D rdfs:subClassOf ex:C .
        ex:x a ex:A , ex:D .""",
    "an individual of owl:Nothing": "ex:N rdfs:subClassOf owl:Nothing . ex:x a ex:N .",
    "an ill-typed literal": 'ex:x ex:p "many"^^xsd:integer .',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_matches_owlrl(name):
    fast, reference = both([], turtle(CASES[name]))
    assert fast == reference
    assert fast, "every case entails something"


@pytest.mark.parametrize("name", sorted(INCONSISTENT))
def test_inconsistencies_are_found_as_owlrl_finds_them(name):
    assert both([], turtle(INCONSISTENT[name])) == [InconsistencyError, InconsistencyError]


def test_transitive_closure_is_complete():
    data = turtle(
        "ex:partOf a owl:TransitiveProperty . " + " ".join(f"ex:n{i} ex:partOf ex:n{i + 1} ." for i in range(30))
    )
    inferred = infer_triples([], data, engine="fast")
    assert (EX.n0, EX.partOf, EX.n30) in inferred
    assert sum(1 for t in inferred if t[1] == EX.partOf) == 31 * 30 // 2 - 30


@pytest.mark.parametrize(
    "construct",
    [
        "ex:R owl:onProperty ex:p ; owl:someValuesFrom ex:C .",
        "ex:p a owl:FunctionalProperty .",
        "ex:x owl:sameAs ex:y .",
        "ex:K owl:hasKey ( ex:p ) .",
    ],
)
def test_constructs_outside_the_fragment_go_to_owlrl(construct):
    data = turtle(construct + " ex:x ex:p ex:y . ex:y a ex:C .")
    with pytest.raises(owl_rl.Unsupported):
        infer_triples([], data, engine="fast")
    assert infer_triples([], data, engine="auto") == infer_triples([], data, engine="owlrl")


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        infer_triples([], [], engine="pellet")


def _random_graph(seed: int) -> Graph:
    """A random ontology in the fragment, and random instances of it."""
    rng = random.Random(seed)
    classes = [EX[f"C{i}"] for i in range(8)]
    properties = [EX[f"p{i}"] for i in range(6)]
    nodes = [EX[f"n{i}"] for i in range(12)]
    graph = Graph()
    for _ in range(8):
        graph.add((rng.choice(classes), RDFS.subClassOf, rng.choice(classes)))
    for _ in range(4):
        graph.add((rng.choice(properties), RDFS.subPropertyOf, rng.choice(properties)))
    for _ in range(3):
        graph.add((rng.choice(properties), rng.choice([RDFS.domain, RDFS.range]), rng.choice(classes)))
        graph.add((rng.choice(properties), OWL.inverseOf, rng.choice(properties)))
    for characteristic in (OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.ObjectProperty):
        graph.add((rng.choice(properties), RDF.type, characteristic))
    graph.add((rng.choice(classes), RDF.type, OWL.Class))
    chain = BNode()
    Collection(graph, chain, rng.sample(properties, rng.choice([2, 3])))
    graph.add((rng.choice(properties), OWL.propertyChainAxiom, chain))
    for kind in (OWL.unionOf, OWL.intersectionOf):
        members = BNode()
        Collection(graph, members, rng.sample(classes, 2))
        graph.add((rng.choice(classes), kind, members))
    for _ in range(25):
        graph.add((rng.choice(nodes), rng.choice(properties), rng.choice(nodes)))
    for _ in range(8):
        graph.add((rng.choice(nodes), RDF.type, rng.choice(classes)))
    graph.add((rng.choice(nodes), rng.choice(properties), Literal(rng.randint(0, 9))))
    return graph


#: owlrl takes a second or more over each small random graph, so the comparisons take a sample of seeds (the
#: closure of a union of several graphs costs owlrl more than the graphs one by one)
RANDOM_SEEDS = range(12)


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_graphs_in_the_fragment_match_owlrl(seed):
    graph = _random_graph(seed)
    fast, reference = both([], graph)
    assert fast == reference


def _split(graph: Graph) -> tuple[set, set]:
    """A graph as an ontology (its schema triples) and the asserted facts (the rest)."""
    schema = {t for t in graph if owl_rl_schema.is_schema(t) or t[1] in (RDF.first, RDF.rest)}
    return schema, set(graph) - schema


def _closures_or_error(ontology, asserted, engine):
    try:
        if engine == "owlrl":
            return (
                infer_triples(ontology, asserted, engine="owlrl"),
                infer_triples(ontology, asserted, engine="owlrl", domains_and_ranges=False),
            )
        return infer_closures(ontology, asserted, engine=engine)
    except InconsistencyError:
        return InconsistencyError


@pytest.mark.parametrize(
    "graph",
    [pytest.param(turtle(text), id=name) for name, text in {**CASES, **INCONSISTENT}.items()]
    + [pytest.param(_random_graph(seed), id=f"random-{seed}") for seed in RANDOM_SEEDS[::4]],
)
def test_both_closures_extended_from_one_match_owlrls(graph):
    """infer_closures extends the closure without the ontology's domains and ranges by them (owl_rl.extend):
    both must be owlrl's, and an inconsistency found by either must be found."""
    ontology, asserted = _split(graph)
    assert _closures_or_error(ontology, asserted, "fast") == _closures_or_error(ontology, asserted, "owlrl")


def test_extend_equals_the_closure_with_the_axioms_from_scratch():
    for seed in range(40):
        graph = set(_random_graph(seed))
        axioms = {t for t in graph if t[1] in (RDFS.domain, RDFS.range)}
        if owl_rl.unsupported(graph):
            continue
        closed, _ = owl_rl.closure(graph - axioms)
        before = set(closed)
        added, problems = owl_rl.extend(closed, axioms)
        expected, expected_problems = owl_rl.closure(graph)
        assert closed == expected
        assert added == expected - before
        assert problems == owl_rl._inconsistencies(
            expected, owl_rl._Rules(owl_rl_schema.close_schema(owl_rl_schema.schema_of(expected)))
        )


def test_extend_takes_only_domain_and_range_axioms():
    with pytest.raises(ValueError, match="rdfs:domain and rdfs:range"):
        owl_rl.extend(set(), {(EX.A, RDFS.subClassOf, EX.B)})


@pytest.mark.parametrize("engine", ["fast", "owlrl"])
@pytest.mark.parametrize(
    "text, datatype, valid",
    [
        ("0", XSD.double, True),  # owlrl's own check refuses a zero, INF and NaN
        ("-0.0E0", XSD.double, True),
        ("INF", XSD.double, True),
        ("NaN", XSD.float, True),
        ("1e400", XSD.double, True),  # rounds to INF (XSD 1.1)
        ("inf", XSD.double, False),
        ("4.50", XSD.decimal, True),
        ("x", XSD.decimal, False),  # owlrl's check raised decimal.InvalidOperation
        ("NaN", XSD.decimal, False),  # Python's Decimal takes it, XSD does not
        ("1e5", XSD.decimal, False),
        ("", XSD.date, False),  # owlrl's check raised IndexError
        ("2011-01-01", XSD.dateTime, False),
        ("5", XSD.int, True),
    ],
)
def test_a_literal_is_inconsistent_only_outside_its_datatype_s_lexical_space(engine, text, datatype, valid):
    literal = Literal(text, datatype=datatype, normalize=False)
    triples = [(EX.a, EX.p, literal)]
    if valid:
        infer_triples([], triples, engine=engine)
    else:
        with pytest.raises(InconsistencyError) as refused:
            infer_triples([], triples, engine=engine)
        said = f"Lexical value of the literal '{text}' does not match its datatype ({datatype})"
        assert refused.value.details == [said]
