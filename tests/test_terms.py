"""Terms between the store (pyoxigraph) and rdflib: a literal comes out of the store as the store holds it.

rdflib rewrites some lexical forms when it makes a literal ("2011-01-01+01:00"^^xsd:date loses its
timezone, "INF"^^xsd:double becomes "inf", which no XSD type allows, "none"^^xsd:boolean becomes "false"), so
a fact read from the store and written back, or a value named in a validation report, would differ from
the one stored."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from kg.store.terms import from_ox, to_ox
from kg.validation import shacl


def stored(value: str, datatype: str) -> ox.Literal:
    """The literal as the store keeps it."""
    store = ox.Store()
    node = ox.NamedNode("urn:x")
    store.add(ox.Quad(node, node, ox.Literal(value, datatype=ox.NamedNode(str(XSD[datatype])))))
    return next(iter(store)).object


@pytest.mark.parametrize(
    "value, datatype",
    [
        ("2011-01-01+01:00", "date"),
        ("2011-01-01T00:00:00Z", "dateTime"),
        ("2011-01-01T00:00:00.5+01:00", "dateTime"),
        ("INF", "double"),
        ("NaN", "float"),
        ("1500", "double"),
        ("4", "decimal"),
        ("2011-01-01", "dateTime"),  # ill-formed: kept as written by the store, and so here
        ("none", "boolean"),
        ("c", "byte"),
    ],
)
def test_a_literal_reads_back_as_the_store_holds_it(value, datatype):
    held = stored(value, datatype)
    term = from_ox(held)
    assert str(term) == held.value and term.datatype == URIRef(held.datatype.value)
    assert to_ox(term) == held  # written back, the same term


def test_a_report_names_an_ill_formed_value_as_the_data_wrote_it():
    data = Graph()  # rdflib's parser would rewrite the value ("false"): added as written
    data.add((URIRef("urn:i"), URIRef("urn:open"), Literal("none", datatype=XSD.boolean, normalize=False)))
    shapes = Graph().parse(
        data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <urn:s> a sh:NodeShape ; sh:targetNode <urn:i> ;
            sh:property [ sh:path <urn:open> ; sh:datatype xsd:boolean ] .""",
        format="turtle",
    )
    report = shacl.validate(data, shapes)
    assert [str(v) for v in report.objects(None, SH.value)] == ["none"]
