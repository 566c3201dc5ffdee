"""RDF terms, and their conversion between rdflib (which the build uses) and pyoxigraph (the store).

The build makes rdflib terms and the store keeps pyoxigraph's; every crossing between the two goes through
here, including literals in the canonical form the store keeps ("52.0" -> "52") and a term's N-Triples text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
#: A triple with its graph: the graph's name, or None for the default graph. (A parsed document may name
#: a graph by a blank node; a store's graphs are named by IRIs: ``NamedQuad``.)
Quad = tuple[Node, Node, Node, Node | None]
#: A quad of a store's named graph.
NamedQuad = tuple[Node, Node, Node, URIRef]
#: A term as pyoxigraph gives it. A quoted triple (RDF 1.2) never gets into the store: ``to_ox`` and
#: ``from_ox`` refuse one with TypeError.
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
#: A term of either library: the build makes rdflib's, the store keeps pyoxigraph's.
AnyTerm = Node | OxTerm
#: ``Quad`` and ``NamedQuad`` with terms of either library: rdflib's, or pyoxigraph's as
#: ``EmbeddedStore.export_quads`` gives them without converting.
AnyQuad = tuple[AnyTerm, AnyTerm, AnyTerm, AnyTerm | None]
AnyNamedQuad = tuple[AnyTerm, AnyTerm, AnyTerm, URIRef]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(term: AnyTerm) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    if isinstance(term, (ox.NamedNode, ox.Literal, ox.BlankNode)):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_ox_resource(term: AnyTerm) -> ox.NamedNode | ox.BlankNode:
    """``to_ox`` of a subject or a graph name; TypeError for a literal, which pyoxigraph takes in neither place."""
    converted = to_ox(term)
    if isinstance(converted, ox.Literal):
        raise TypeError(f"a literal cannot be a subject or a graph name: {term!r}")
    return converted


def to_ox_iri(term: AnyTerm) -> ox.NamedNode:
    """``to_ox`` of a predicate; TypeError for a literal or a blank node, which pyoxigraph does not take there."""
    converted = to_ox(term)
    if not isinstance(converted, ox.NamedNode):
        raise TypeError(f"a predicate must be an IRI: {term!r}")
    return converted


def iri_of(term) -> str | None:
    """The IRI of an rdflib or pyoxigraph IRI term; None for any other term."""
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term) if isinstance(term, URIRef) else None


def from_ox(term) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    raise TypeError(f"unsupported term from the store: {term!r}")


def from_ox_quad(quad: ox.Quad) -> Quad:
    """A pyoxigraph quad as rdflib terms, its default graph as None."""
    graph = quad.graph_name
    return (
        from_ox(quad.subject),
        from_ox(quad.predicate),
        from_ox(quad.object),
        None if isinstance(graph, ox.DefaultGraph) else from_ox(graph),
    )


def canonical_literals(literals: Iterable[ox.Literal]) -> dict[ox.Literal, ox.Literal]:
    """The canonical form the store keeps of each literal whose form differs ("52.0" -> "52")."""
    literals = list(literals)
    scratch = ox.Store()
    scratch.extend(
        ox.Quad(ox.NamedNode(f"urn:x-literal:{i}"), ox.NamedNode("urn:x-value"), literal)
        for i, literal in enumerate(literals)
    )
    stored = ((literals[int(q.subject.value.rsplit(":", 1)[1])], q.object) for q in scratch)
    return {literal: kept for literal, kept in stored if kept != literal}


def to_rdflib_terms(terms: Iterable) -> dict:
    """Each pyoxigraph term's rdflib twin, literals in the canonical form the store keeps ("52.0" -> "52")."""
    terms = set(terms)
    canonical = canonical_literals(t for t in terms if isinstance(t, ox.Literal))
    return {t: from_ox(canonical.get(t, t)) for t in terms}


def canonical(triples: Iterable[Triple]) -> list[Triple]:
    """The triples with their literals in the canonical form the store keeps."""
    scratch = ox.Store()
    scratch.extend([ox.Quad(to_ox_resource(s), to_ox_iri(p), to_ox(o)) for s, p, o in triples])
    return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)) for q in scratch]


def rows(solutions: ox.QuerySolutions) -> list[dict[str, Node]]:
    """Solutions as rows of rdflib terms, unbound variables left out."""
    names = [v.value for v in solutions.variables]
    return [{n: from_ox(row[n]) for n in names if row[n] is not None} for row in solutions]


def ox_quad_stream(quads: Iterable[AnyQuad]) -> Iterator[ox.Quad]:
    """Quads as pyoxigraph quads, one by one: rdflib terms converted (each term object once), pyoxigraph's
    as they are."""
    twin = _once_per_object(to_ox)
    graphs: dict = {None: ox.DefaultGraph()}
    for s, p, o, g in quads:
        graph = graphs.get(g)
        if graph is None:
            graph = graphs[g] = ox.NamedNode(str(g))  # graph names may be given as plain strings
        yield ox.Quad(twin(s), twin(p), twin(o), graph)


def _once_per_object(convert):
    """``convert``, remembering its answer for each argument object (terms repeat: a build's triples share them).

    Keyed on the object's identity: keyed on the term, every hit ran rdflib's Python ``__eq__``, a large
    share of the conversion's time. Each entry keeps its term alive, so an identity is never reused
    while the cache lives; an equal term in another object converts to an equal answer.
    """
    answers: dict[int, tuple] = {}
    get = answers.get

    def converted(term):
        found = get(id(term))
        if found is None or found[0] is not term:
            found = answers[id(term)] = (term, convert(term))
        return found[1]

    return converted


def _ntriples_term(term) -> str:
    converted = to_ox(term)
    if not isinstance(converted, (ox.NamedNode, ox.Literal)):
        raise HasBlankNode
    return str(converted)


def ntriples_formatter() -> Callable[[AnyTerm], str]:
    """A function giving a term's N-Triples text (written by pyoxigraph: validated and escaped), computed
    once per term object; it raises HasBlankNode for a blank node. Keep one for a whole build: terms repeat."""
    return _once_per_object(_ntriples_term)


class HasBlankNode(Exception):
    pass
