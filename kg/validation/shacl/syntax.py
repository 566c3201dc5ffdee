"""The shapes graph written as SPARQL text: terms, property paths, the PREFIX prologues of the shapes' own
queries, fresh variable names; and the term tests several constraints share."""

from __future__ import annotations

import itertools
import re

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.sparql_text import code_only
from kg.store.terms import to_ox
from kg.validation.shacl import literals
from kg.validation.shacl.errors import ShaclError, Unsupported
from kg.validation.shacl.shapes import SH

#: The instances of a class: rdf:type, then rdfs:subClassOf* in the data.
TYPE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"


def sparql_term(node) -> str:
    """An rdflib or pyoxigraph term as SPARQL text (escaped N-Triples, written by pyoxigraph)."""
    if isinstance(node, (ox.NamedNode, ox.Literal)):
        return str(node)
    if isinstance(node, (URIRef, Literal)):
        return str(to_ox(node))
    raise Unsupported(f"a blank node cannot be written into a query ({node!r})")


def sparql_path(sg: Graph, node, depth: int = 0) -> str:
    """A SHACL path as a SPARQL property path."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal) or depth > 12:
        raise ShaclError("a SHACL path cannot be a literal")
    items = list(sg.items(node)) if (node, RDF.first, None) in sg else []
    if items:
        if len(items) < 2:
            raise ShaclError("a sequence path needs at least two members")
        return "(" + " / ".join(sparql_path(sg, i, depth + 1) for i in items) + ")"
    for predicate, template in (
        (SH.inversePath, "^({})"),
        (SH.zeroOrMorePath, "({})*"),
        (SH.oneOrMorePath, "({})+"),
        (SH.zeroOrOnePath, "({})?"),
    ):
        inner = next(sg.objects(node, predicate), None)
        if inner is not None:
            return template.format(sparql_path(sg, inner, depth + 1))
    alternatives = next(sg.objects(node, SH.alternativePath), None)
    if alternatives is not None:
        items = list(sg.items(alternatives))
        if len(items) < 2:
            raise ShaclError("an alternative path needs at least two members")
        return "(" + " | ".join(sparql_path(sg, i, depth + 1) for i in items) + ")"
    raise Unsupported(f"an unknown kind of path ({node!r})")


def zero_length(sg: Graph, node) -> bool:
    """Whether a path may have length zero (Oxigraph starts such a path only from nodes in the data)."""
    return isinstance(node, BNode) and any(
        True for p in (SH.zeroOrMorePath, SH.zeroOrOnePath) for _ in sg.objects(node, p)
    )


def is_true(flag) -> bool:
    """Whether a parameter is the literal true: the specification names only "true"^^xsd:boolean, so
    "1"^^xsd:boolean leaves sh:uniqueLang off (the W3C test uniqueLang-002)."""
    return isinstance(flag, Literal) and flag.datatype == XSD.boolean and str(flag) == "true"


class Vars:
    """Fresh variable names for generated queries."""

    def __init__(self):
        self.counter = itertools.count()

    def __call__(self, stem: str = "x") -> str:
        return f"?_{stem}{next(self.counter)}"


_PROLOGUE = re.compile(r"\s*(?:PREFIX\s+([A-Za-z][\w.-]*)?:\s*(<[^>]*>)|(BASE)\s*<[^>]*>)", re.IGNORECASE)


def split_prologue(text: str) -> tuple[dict[str, str], str]:
    """The PREFIX declarations at the start of a query, and the rest."""
    code = code_only(text)
    prefixes, offset = {}, 0
    while True:
        match = _PROLOGUE.match(code, offset)
        if not match:
            break
        if match.group(3):
            raise Unsupported("BASE in a SPARQL query of the shapes")
        iri_start, iri_end = match.span(2)
        prefixes[match.group(1) or ""] = text[iri_start + 1 : iri_end - 1]
        offset = match.end()
    return prefixes, text[offset:]


def merge_prefixes(into: dict[str, str], more: dict[str, str]) -> None:
    """Add ``more`` to ``into``; one prefix cannot mean two namespaces in the queries of one shape."""
    for prefix, namespace in more.items():
        if into.get(prefix, namespace) != namespace:
            raise Unsupported(f"the prefix {prefix}: means two namespaces in the SPARQL of one shape")
        into[prefix] = namespace


def collect_prefixes(sg: Graph, node) -> dict[str, str]:
    """pyshacl's prefixes for a SPARQL constraint or target: rdf, rdfs, owl and its sh:prefixes declarations."""
    prefixes = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
    values = set(sg.objects(node, SH.prefixes))
    if not values:
        return prefixes
    graph_declares = set(sg.objects(sg.identifier, SH.declare)) if sg.identifier else set()
    ontologies = set(sg.subjects(RDF.type, OWL.Ontology))
    everywhere = graph_declares.union(*(set(sg.objects(o, SH.declare)) for o in ontologies))
    for value in values:
        own = set(sg.objects(value, SH.declare))
        declares = own | graph_declares if own and value in ontologies else everywhere | own
        for declare in declares:
            if isinstance(declare, Literal):
                raise ShaclError("sh:declare must be an IRI or a blank node")
            names, namespaces = list(sg.objects(declare, SH.prefix)), list(sg.objects(declare, SH.namespace))
            if len(names) != 1 or len(namespaces) != 1:
                raise ShaclError("sh:declare needs exactly one sh:prefix and one sh:namespace")
            prefixes[str(names[0])] = str(namespaces[0])
    return prefixes


def stable_term(node) -> bool:
    """Whether sameTerm in a query matches this shapes-graph term as rdflib's term equality does: an IRI, or
    a literal Oxigraph keeps as written."""
    if isinstance(node, Literal):
        return literals.stable(node)
    return isinstance(node, URIRef)
