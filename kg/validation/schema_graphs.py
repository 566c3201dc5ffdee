"""The ontology and the shapes as a build stores them: read from the ontology folder, moved under the
configured base IRI, with blank nodes labelled from their content and literals in the store's canonical
form, so that two builds write the same bytes.
"""

from __future__ import annotations

import hashlib

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import XSD

from kg.config import Settings
from kg.errors import SeedTableError
from kg.store.terms import canonical
from kg.validation.shacl_check import Shapes, load_shapes

#: The base IRI the ontology and shapes files are written with.
DEFAULT_BASE = "https://w3id.org/yrd-kg/"


def as_stored(graph: Graph, base_iri: str) -> Graph:
    """``graph`` moved under ``base_iri``, its blank nodes relabelled stably, its literals canonical."""
    return _canonical_graph(_stable_blank_nodes(_rebase(graph, base_iri)))


def load_ontology(settings: Settings) -> Graph:
    """The ontology files (every *.ttl but the shapes) as one graph, as stored."""
    graph = Graph()
    files = sorted(settings.path("ontology_dir").glob("*.ttl"))
    if not files:
        raise SeedTableError(f"no ontology (*.ttl) in {settings.path('ontology_dir')}")
    for path in files:
        if path.name.startswith("shapes"):
            continue  # SHACL shapes are not part of what the reasoner reads
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
            raise SeedTableError(f"{path.name}: not valid Turtle ({exc})") from exc
    return as_stored(graph, settings.base_iri)


def load_shape_graphs(settings: Settings) -> Shapes:
    """The SHACL shapes (content and provenance), as stored."""
    shapes = load_shapes(settings.path("ontology_dir"))
    return Shapes(as_stored(shapes.content, settings.base_iri), as_stored(shapes.provenance, settings.base_iri))


def _rebase(graph: Graph, base_iri: str) -> Graph:
    """The ontology and shapes are written with the default base IRI; move them under the configured one
    (IRIs, and the namespaces that SHACL prefix declarations give as xsd:anyURI literals)."""
    if base_iri == DEFAULT_BASE:
        return graph

    def swap(term):
        if isinstance(term, URIRef) and str(term).startswith(DEFAULT_BASE):
            return URIRef(base_iri + term[len(DEFAULT_BASE) :])
        if isinstance(term, Literal) and term.datatype == XSD.anyURI and str(term).startswith(DEFAULT_BASE):
            return Literal(base_iri + term[len(DEFAULT_BASE) :], datatype=XSD.anyURI)
        return term

    moved = Graph()
    for s, p, o in graph:
        moved.add((swap(s), swap(p), swap(o)))
    return moved


def _canonical_graph(graph: Graph) -> Graph:
    result = Graph()
    for triple in canonical(graph):
        result.add(triple)
    return result


def _stable_blank_nodes(graph: Graph) -> Graph:
    """Relabel blank nodes (OWL lists and restrictions) from their content, so two builds write the same
    bytes. Labels are 32 hex digits, which Oxigraph keeps as they are (longer ones it replaces)."""
    relabel = lambda t: BNode(hashlib.sha256(str(t).encode()).hexdigest()[:32]) if isinstance(t, BNode) else t  # noqa: E731
    result = Graph()
    for s, p, o in to_canonical_graph(graph):
        result.add((relabel(s), p, relabel(o)))
    return result
