"""The ontology: it parses, documents every term in both languages, and the mappings use only its terms."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.errors import InconsistencyError
from kg.reasoning.entailments import infer

YRD = "https://w3id.org/yrd-kg/ontology#"
SHAPES = "https://w3id.org/yrd-kg/shapes#"
TERM_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDFS.Datatype, OWL.AnnotationProperty}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    graph.parse(ROOT / "ontology" / "yrd.ttl", format="turtle")
    return graph


def declared(graph: Graph) -> set[URIRef]:
    return {s for t in TERM_TYPES for s in graph.subjects(RDF.type, t) if str(s).startswith(YRD)}


def test_ontology_metadata(ontology):
    (onto,) = ontology.subjects(RDF.type, OWL.Ontology)
    assert str(ontology.value(onto, OWL.versionIRI)).startswith(str(onto))


def test_every_term_has_english_and_chinese_labels_and_a_definition(ontology):
    terms = declared(ontology)
    assert len(terms) > 100
    for term in terms:
        languages = {label.language for label in ontology.objects(term, RDFS.label)}
        assert {"en", "zh"} <= languages, f"{term} lacks a label in { ({'en', 'zh'} - languages) }"
        assert any(isinstance(d, Literal) and d.language == "en" for d in ontology.objects(term, SKOS.definition)), term


def test_properties_have_domains_or_say_why_not(ontology):
    for prop in ontology.subjects(RDF.type, OWL.ObjectProperty):
        if str(prop).startswith(YRD):
            assert (prop, RDFS.range, None) in ontology or (prop, SKOS.scopeNote, None) in ontology, prop


def test_mappings_use_only_declared_terms(ontology):
    terms = {str(t)[len(YRD) :] for t in declared(ontology)} | {
        str(s)[len(YRD) :] for s in ontology.subjects() if str(s).startswith(YRD)
    }
    for path in sorted((ROOT / "mappings").glob("*.rq")):
        used = set(re.findall(r"\byrd:([A-Za-z][A-Za-z0-9]*)", path.read_text(encoding="utf-8")))
        assert not used - terms, f"{path.name} uses undeclared terms {sorted(used - terms)}"


def test_seed_enumerations_name_declared_classes_and_properties(ontology):
    import json

    metadata = json.loads((ROOT / "seeds" / "tables.csv-metadata.json").read_text(encoding="utf-8"))
    names = {str(t)[len(YRD) :] for t in declared(ontology)}
    w3c = {"Organisation", "hasMember", "prefLabel", "altLabel"}
    for table in metadata["tables"]:
        for column in table["tableSchema"]["columns"]:
            # sources.csv maps its kinds with IF; an observation's kind is a value (test below), not a class
            if column["name"] in ("kind", "role") and table["url"] not in ("sources.csv", "observations.csv"):
                values = re.fullmatch(r"\^\((.*)\)\$", column["datatype"]["format"]).group(1).split("|")
                assert not set(values) - names - w3c, f"{table['url']} {column['name']}: {set(values) - names - w3c}"


def test_status_and_observation_kinds_are_one_vocabulary_with_the_shapes():
    """Every status column allows the values the status shape allows, no more and no fewer; so does the
    observations' kind column with the observation-kind shape."""
    import json

    from rdflib.collection import Collection
    from rdflib.namespace import SH

    shapes = Graph().parse(ROOT / "ontology" / "shapes.ttl", format="turtle")

    def allowed(shape: str) -> set[str]:
        return {str(v) for v in Collection(shapes, shapes.value(URIRef(SHAPES + shape), SH["in"]))}

    def enumeration(column: dict) -> set[str]:
        return set(re.fullmatch(r"\^\((.*)\)\$", column["datatype"]["format"]).group(1).split("|"))

    metadata = json.loads((ROOT / "seeds" / "tables.csv-metadata.json").read_text(encoding="utf-8"))
    columns = {
        (table["url"], column["name"]): enumeration(column)
        for table in metadata["tables"]
        for column in table["tableSchema"]["columns"]
        if column["name"] in ("status", "kind") and isinstance(column["datatype"], dict)
    }
    statuses = {url: values for (url, name), values in columns.items() if name == "status"}
    assert {"parks.csv", "infrastructure.csv", "projects.csv", "organisations.csv", "plans.csv"} <= set(statuses)
    assert all(values == allowed("StatusValue") for values in statuses.values()), statuses
    assert "proposed" in allowed("StatusValue")
    kinds = columns["observations.csv", "kind"]
    assert kinds == allowed("ObservationKind") == {"actual", "target", "expected", "planned"}


def test_reasoning_over_the_seed_graph_is_consistent(build):
    assert not list(build.graph("inferred").subjects(RDF.type, OWL.Nothing))
    assert len(build.graphs["inferred"]) > 0


def test_inconsistent_data_is_reported(ontology):
    base = "https://w3id.org/yrd-kg/"
    thing = URIRef(base + "id/agreement/x")
    asserted = Graph()
    asserted.add((thing, RDF.type, URIRef(YRD + "Agreement")))
    asserted.add((thing, RDF.type, URIRef(YRD + "Event")))  # declared disjoint
    with pytest.raises(InconsistencyError):
        infer(ontology, asserted)
