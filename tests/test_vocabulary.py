"""The vocabulary's documentation: made by the build from the ontology and the shapes, shown at /ontology
for browsers. What it should say is read from the graphs with SPARQL, not listed here."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph, URIRef

from kg.validation.vocabulary import ATTACHMENT, describe_vocabulary

BASE = "https://w3id.org/yrd-kg/"
YRD = BASE + "ontology#"
PREFIXES = f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX yrd: <{YRD}>
"""


@pytest.fixture(scope="module")
def document(store) -> dict:
    stored = store.attachment(ATTACHMENT)
    assert stored is not None, "the build attaches the vocabulary's documentation to its version"
    return json.loads(stored)


def _graph(store, name: str) -> Graph:
    graph = Graph()
    for s, p, o, _ in store.quads([URIRef(f"{BASE}graph/{name}")]):
        graph.add((s, p, o))
    return graph


def test_every_declared_class_and_property_is_documented(store, document):
    def declared(kinds: str) -> set[str]:
        rows = store.select(
            PREFIXES
            + f"SELECT DISTINCT ?t WHERE {{ GRAPH <{BASE}graph/ontology> {{ ?t a ?k VALUES ?k {{ {kinds} }} }} "
            "FILTER(isIRI(?t)) }"
        )
        return {str(row["t"]) for row in rows}

    assert {c["iri"] for c in document["classes"]} == declared("owl:Class")
    assert {p["iri"] for p in document["properties"]} == declared(
        "owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty"
    )


def test_labels_definitions_and_hierarchy_come_from_the_ontology(store, document):
    rows = store.select(
        PREFIXES
        + f"""SELECT ?c ?en ?zh ?parent WHERE {{ GRAPH <{BASE}graph/ontology> {{
            ?c a owl:Class ; rdfs:label ?en , ?zh ; rdfs:subClassOf ?parent
            FILTER(LANG(?en) = "en" && LANG(?zh) = "zh" && isIRI(?parent)) }} }}"""
    )
    assert rows
    classes = {c["iri"]: c for c in document["classes"]}
    for row in rows:
        entry = classes[str(row["c"])]
        assert (entry["label_en"], entry["label_zh"]) == (str(row["en"]), str(row["zh"]))
        assert str(row["parent"]).replace(YRD, "yrd:") in entry["superclasses"] or not str(row["parent"]).startswith(
            YRD
        )


def test_a_class_shows_its_own_and_its_superclasses_constraints_with_their_messages(store, document):
    rows = store.select(
        PREFIXES
        + f"""SELECT ?path ?message WHERE {{ GRAPH <{BASE}graph/shapes> {{
            ?shape sh:targetClass yrd:Zone ; sh:property ?property .
            ?property sh:path ?path ; sh:message ?message }} FILTER(isIRI(?path)) }}"""
    )
    assert rows
    park = next(c for c in document["classes"] if c["iri"] == YRD + "JointlyBuiltPark")
    inherited = {(c["path"], c["message"]) for c in park["constraints"] if c["from"] == "yrd:Zone"}
    assert {(str(r["path"]).replace(YRD, "yrd:"), str(r["message"])) for r in rows} <= inherited
    co_built = next(c for c in park["constraints"] if c["path"] == "yrd:coBuiltBy")
    assert co_built["rules"] == ["a yrd:Party"] and co_built["severity"] == "Violation"


def test_the_build_time_document_equals_one_made_from_the_stored_graphs(store, document):
    made = describe_vocabulary(_graph(store, "ontology"), [_graph(store, "shapes")], BASE)
    assert json.loads(json.dumps(made)) == document


def test_browsers_get_the_vocabulary_as_a_page_with_counts_from_the_graph(client, store):
    page = client.get("/ontology", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    count = store.select(PREFIXES + "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a yrd:JointlyBuiltPark }")[0]["n"]
    section = html.split('id="JointlyBuiltPark"', 1)[1].split("</section>", 1)[0]
    assert '<span lang="zh">共建园区</span>' in section
    assert f"<dt>Instances</dt><dd>{int(count)}, for example" in section
    assert 'href="#Zone"' in section and "coBuiltBy" in section
    assert 'id="partOf"' in html and "transitive" in html.split('id="partOf"', 1)[1].split("</section>", 1)[0]
    # programs still get the ontology graph
    other = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert other.status_code == 303 and "graph%2Fontology" in other.headers["Location"].replace("/", "%2F")


def test_the_document_does_not_depend_on_the_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    from helpers import ROOT

    code = (
        "import json, sys\nfrom kg.config import load_settings\n"
        "from kg.validation.schema_graphs import load_ontology, load_shape_graphs\n"
        "from kg.validation.vocabulary import describe_vocabulary\n"
        "s = load_settings({'store_dir': sys.argv[1]})\nshapes = load_shape_graphs(s)\n"
        "print(json.dumps(describe_vocabulary(load_ontology(s), [shapes.content, shapes.provenance], s.base_iri)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / f"store-{seed}")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
