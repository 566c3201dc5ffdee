"""Provenance: which sources and paragraphs state each asserted triple.

Model (PROV-O with standard RDF reification): every asserted triple has one ``rdf:Statement`` node,
minted from a hash of the triple, that ``prov:wasDerivedFrom`` one ``yrd:Citation`` per source paragraph
stating it; a citation names its ``yrd:citedSource`` and ``yrd:paragraph``. A fact stated by two
articles is one statement with two citations. ``queries/which_source_states.rq`` asks it in SPARQL.
"""

from __future__ import annotations

import hashlib
import re

from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDF, XSD

from kg.mapping import Citation
from kg.store import Triple

_ARTICLE_SUFFIX = re.compile(r"\.txt$")


def source_iri(base_iri: str, source_id: str) -> URIRef:
    """The IRI of a source: the file name without ``.txt``, or the reference id (as sources.rq mints it)."""
    return URIRef(f"{base_iri}id/source/{_ARTICLE_SUFFIX.sub('', source_id)}")


def citation_iri(base_iri: str, citation: Citation) -> URIRef:
    source_id, paragraph = citation
    slug = _ARTICLE_SUFFIX.sub("", source_id)
    return URIRef(f"{base_iri}id/citation/{slug}" + (f"/{paragraph}" if paragraph is not None else ""))


def statement_iri(base_iri: str, triple: Triple) -> URIRef:
    key = " ".join(term.n3() for term in triple).encode("utf-8")
    return URIRef(f"{base_iri}id/statement/{hashlib.sha256(key).hexdigest()[:24]}")


def provenance_triples(produced: dict[Triple, set[Citation]], base_iri: str) -> set[Triple]:
    """The provenance records of every asserted triple."""
    yrd = base_iri + "ontology#"
    triples: set[Triple] = set()
    add = triples.add
    citations = {c: citation_iri(base_iri, c) for cited in produced.values() for c in cited}
    # rdflib's namespace attributes are looked up in Python each time: once here, not per statement
    a, statement, subject, predicate, object_, derived_from = (RDF.type, RDF.Statement, RDF.subject, RDF.predicate,
                                                              RDF.object, PROV.wasDerivedFrom)
    for triple, cited in produced.items():
        node = statement_iri(base_iri, triple)
        add((node, a, statement))
        add((node, subject, triple[0]))
        add((node, predicate, triple[1]))
        add((node, object_, triple[2]))
        for citation in cited:
            add((node, derived_from, citations[citation]))
    for citation, node in citations.items():
        add((node, RDF.type, URIRef(yrd + "Citation")))
        add((node, URIRef(yrd + "citedSource"), source_iri(base_iri, citation[0])))
        if citation[1] is not None:
            add((node, URIRef(yrd + "paragraph"), Literal(citation[1], datatype=XSD.integer)))
    return triples
