"""A partner's report speaks RDF, not the project's seed tables, and names each bad value once; the build's
own report keeps its hints for curators. Expectations are read from the shapes graph, not listed here."""

from __future__ import annotations

import json
from collections import Counter

from rdflib import Graph, URIRef
from rdflib.namespace import SH

from kg.validation.partner_check import validate_documents

YRD = "https://w3id.org/yrd-kg/ontology#"
BAD = f"""@prefix yrd: <{YRD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p3> a yrd:IndustrialPark ; rdfs:label "Partner park three"@en , "Third"@en ;
    yrd:areaKm2 "large" ; yrd:managedBy "someone" .
<https://partner.example/park/p4> a yrd:IndustrialPark ; rdfs:label "未命名"@zh .
""".encode()


def test_a_partner_report_names_no_seed_table_and_each_bad_value_once(settings):
    report = validate_documents(settings, [(BAD, "turtle", "bad.ttl")])
    assert not report.conforms
    for result in report.results:
        assert ".csv" not in result.message and "seed table" not in result.message, result.message
    keys = Counter((r.severity, r.focus, r.path, r.value) for r in report.results)
    assert keys and max(keys.values()) == 1


def test_a_partner_report_says_what_each_constraint_expects_in_rdf_terms(settings, store):
    shapes = Graph()
    for s, p, o, _ in store.quads([URIRef(settings.base_iri + "graph/shapes")]):
        shapes.add((s, p, o))
    report = validate_documents(settings, [(BAD, "turtle", "bad.ttl")])
    area = next(r for r in report.results if r.path == URIRef(YRD + "areaKm2"))
    datatype = next(shapes.objects(URIRef(area.shape), SH.datatype))
    assert str(datatype).rsplit("#", 1)[1] in area.message and '"large"' in area.message
    manager = next(r for r in report.results if r.path == URIRef(YRD + "managedBy"))
    expected_class = next(shapes.objects(URIRef(manager.shape), SH["class"]))
    assert "yrd:" + str(expected_class).rsplit("#", 1)[1] in manager.message
    english = next(r for r in report.results if str(r.focus).endswith("p4") and r.severity == "Violation")
    assert "rdfs:label" in english.message and "en" in english.message


def test_the_build_s_own_report_keeps_its_hints_for_curators(store):
    body = json.loads(store.attachment("report.json"))
    assert any(".csv" in r["message"] for r in body["results"])


def test_each_result_says_where_its_node_is_first_written(settings):
    report = validate_documents(settings, [(BAD, "turtle", "bad.ttl")])
    lines = BAD.decode().splitlines()
    for result in report.results:
        source, line, column = result.location.rsplit(":", 2)
        assert source == "bad.ttl"
        assert lines[int(line) - 1][int(column) - 1 :].startswith(f"<{result.focus}>")


def test_nodes_are_found_in_every_way_a_document_writes_an_iri():
    from kg.validation.locations import locate

    park = URIRef("https://partner.example/park/p1")
    documents = {
        "a.nt": b'<https://partner.example/x> <http://x/p> "1" .\n'
        b'<https://partner.example/park/p1> <http://x/p> "2" .\n',
        "b.ttl": b"@prefix pk: <https://partner.example/park/> .\n\n  pk:p10 a pk:T .\n  pk:p1 a pk:T .\n",
        "c.jsonld": b'{\n  "@id": "https://partner.example/park/p1",\n  "@type": "T"\n}\n',
        "d.rdf": b'<rdf:RDF>\n <rdf:Description rdf:about="https://partner.example/park/p1"/>\n</rdf:RDF>\n',
    }
    expected = {"a.nt": "a.nt:2:1", "b.ttl": "b.ttl:4:3", "c.jsonld": "c.jsonld:2:10", "d.rdf": "d.rdf:2:29"}
    for name, data in documents.items():
        assert locate([park], [(data, "", name)]) == {park: expected[name]}, name
    assert locate([URIRef("https://partner.example/nowhere")], [(documents["b.ttl"], "", "b.ttl")]) == {}
