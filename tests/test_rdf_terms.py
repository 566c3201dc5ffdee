"""kg.rdf_terms gives the terms rdflib's namespaces give, read as plain attributes."""

from __future__ import annotations

import pytest
from rdflib import URIRef
from rdflib import namespace as rdflib_namespaces

from kg import rdf_terms


@pytest.mark.parametrize("name", ["RDF", "RDFS", "OWL", "XSD", "SKOS", "SH"])
def test_every_term_is_rdflibs(name):
    ours, theirs = getattr(rdf_terms, name), getattr(rdflib_namespaces, name)
    names = [n for n in theirs.__annotations__ if not n.startswith("_")]
    assert names and all(getattr(ours, n) == theirs[n] and type(getattr(ours, n)) is URIRef for n in names)
    assert str(ours) == str(theirs)


def test_keywords_by_item_and_unlisted_terms_on_first_use():
    assert rdf_terms.SH["and"] == URIRef("http://www.w3.org/ns/shacl#and")
    assert rdf_terms.SH["class"] == rdflib_namespaces.SH["class"]
    assert rdf_terms.OWL.notInRdflib == URIRef("http://www.w3.org/2002/07/owl#notInRdflib")
    with pytest.raises(AttributeError):
        rdf_terms.OWL.__deepcopy__  # noqa: B018 (probed by copy: not a term)
