"""Provenance: which sources and paragraphs state each asserted triple.

Model (PROV-O with standard RDF reification): every asserted triple has one statement node, minted from
a hash of the triple, with its ``rdf:subject``, ``rdf:predicate`` and ``rdf:object``, that
``prov:wasDerivedFrom`` one ``yrd:Citation`` per source paragraph stating it; a citation names its
``yrd:citedSource`` and ``yrd:paragraph``. A fact stated by two articles is one statement with two
citations. ``queries/which_source_states.rq`` asks it in SPARQL.

The node's ``rdf:type rdf:Statement`` is not stored: RDFS entails it (``rdf:subject`` has the domain
``rdf:Statement``), and stored it was a large share of the provenance graph, the largest of a build, each
triple of it loaded into RocksDB and the validation store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import PROV, RDF, XSD

from kg.build.mapping import Citation
from kg.store.rdf_io import text_triples
from kg.store.terms import AnyTerm, Triple, ntriples_formatter

_ARTICLE_SUFFIX = re.compile(r"\.txt$")
_INTEGER = ox.NamedNode(str(XSD.integer))


def source_iri(base_iri: str, source_id: str) -> URIRef:
    """The IRI of a source: the file name without ``.txt``, or the reference id (as sources.rq mints it)."""
    return URIRef(f"{base_iri}id/source/{_ARTICLE_SUFFIX.sub('', source_id)}")


def citation_iri(base_iri: str, citation: Citation) -> URIRef:
    source_id, paragraph = citation
    slug = _ARTICLE_SUFFIX.sub("", source_id)
    return URIRef(f"{base_iri}id/citation/{slug}" + (f"/{paragraph}" if paragraph is not None else ""))


def statement_iri(base_iri: str, triple: Triple) -> URIRef:
    text = ntriples_formatter()
    return URIRef(_statement(base_iri, " ".join(text(term) for term in triple)))


def _statement(base_iri: str, key: str) -> str:
    """The statement IRI of a triple, from its terms' N-Triples text joined by spaces."""
    return f"{base_iri}id/statement/{hashlib.sha256(key.encode('utf-8')).hexdigest()[:24]}"


def provenance_ntriples(
    produced: Mapping[tuple, Iterable[Citation]], base_iri: str, text: Callable[[AnyTerm], str] | None = None
) -> bytes:
    """The provenance records of every asserted triple, as an N-Triples document.

    Written as text, not terms: the records are several triples per asserted triple, which as rdflib
    terms were slow to make and large to hold, and were then turned into text again for pyoxigraph.
    ``text`` gives a term's N-Triples text: by default ``kg.store.terms.ntriples_formatter()`` (rdflib or
    pyoxigraph terms); for the pyoxigraph terms the mappings make, ``str`` does (pyoxigraph writes them).
    """
    text = text or ntriples_formatter()
    iri = lambda value: str(ox.NamedNode(value))  # noqa: E731  (validated and escaped by pyoxigraph)
    yrd = base_iri + "ontology#"
    a, subject, predicate, object_, derived_from = (
        iri(value) for value in (RDF.type, RDF.subject, RDF.predicate, RDF.object, PROV.wasDerivedFrom)
    )
    citations = {c: iri(citation_iri(base_iri, c)) for c in set().union(*produced.values())}
    lines: list[bytes] = []
    add = lines.append
    for (s, p, o), cited in produced.items():
        s, p, o = text(s), text(p), text(o)
        node = f"<{_statement(base_iri, f'{s} {p} {o}')}>"
        add(f"{node} {subject} {s} .\n{node} {predicate} {p} .\n{node} {object_} {o} .\n".encode())
        for citation in cited:
            add(f"{node} {derived_from} {citations[citation]} .\n".encode())
    cited_source, paragraph, citation_class = iri(yrd + "citedSource"), iri(yrd + "paragraph"), iri(yrd + "Citation")
    for citation, node in citations.items():
        source = iri(source_iri(base_iri, citation[0]))
        add(f"{node} {a} {citation_class} .\n{node} {cited_source} {source} .\n".encode())
        if citation[1] is not None:
            add(f"{node} {paragraph} {ox.Literal(str(citation[1]), datatype=_INTEGER)} .\n".encode())
    # bytes piece by piece: one str of the whole text would widen to 4 bytes a character with one Chinese
    # label in it
    return b"".join(lines)


def provenance_triples(produced: Mapping[tuple, Iterable[Citation]], base_iri: str) -> set[Triple]:
    """The provenance records as rdflib triples (for small graphs: tests and tools)."""
    return text_triples(provenance_ntriples(produced, base_iri))
