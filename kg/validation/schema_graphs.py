"""The ontology and the shapes as a build stores them: read from the ontology folder, moved under the
configured base IRI, with blank nodes labelled from their content and literals in the store's canonical
form, so that two builds write the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import XSD

from kg.config import Settings
from kg.errors import SeedTableError
from kg.store.rdf_io import text_triples
from kg.store.terms import canonical, to_ox, to_ox_iri, to_ox_resource
from kg.validation.shacl_check import Shapes, load_shapes, union_graph

#: The base IRI the ontology and shapes files are written with.
DEFAULT_BASE = "https://w3id.org/yrd-kg/"


def as_stored(graph: Graph, base_iri: str) -> Graph:
    """``graph`` moved under ``base_iri``, its blank nodes relabelled stably, its literals canonical."""
    return _canonical_graph(_stable_blank_nodes(rebase(graph, base_iri)))


def load_ontology(settings: Settings) -> Graph:
    """The ontology files (every *.ttl but the shapes) as one graph, as stored."""
    files = [p for p in sorted(settings.path("ontology_dir").glob("*.ttl")) if not p.name.startswith("shapes")]
    if not files:  # SHACL shapes are not part of what the reasoner reads
        raise SeedTableError(f"no ontology (*.ttl) in {settings.path('ontology_dir')}")

    def make() -> Graph:
        graph = Graph()
        for path in files:
            try:
                graph.parse(path, format="turtle")
            except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
                raise SeedTableError(f"{path.name}: not valid Turtle ({exc})") from exc
        return as_stored(graph, settings.base_iri)

    return _remembered(settings, "ontology", files, make)


def load_shape_graphs(settings: Settings) -> Shapes:
    """The SHACL shapes (content and provenance), as stored."""
    folder = settings.path("ontology_dir")
    made: list[Shapes] = []

    def make(part: str) -> Graph:
        if not made:
            made.append(load_shapes(folder))
        return as_stored(getattr(made[0], part), settings.base_iri)

    files = [folder / "shapes.ttl", folder / "shapes-provenance.ttl"]
    return Shapes(
        _remembered(settings, "shapes-content", files, lambda: make("content")),
        _remembered(settings, "shapes-provenance", files, lambda: make("provenance")),
    )


#: Changed whenever ``as_stored`` would make something else of the same files, so older copies are not used.
STORED_FORM = "1"


def _remembered(settings: Settings, kind: str, files: list[Path], make: Callable[[], Graph]) -> Graph:
    """``make()``, kept as N-Triples in the store folder's ``cache/`` under a digest of the files, the base
    IRI and ``STORED_FORM``: relabelling blank nodes from their content (rdflib's canonical form) took over
    a second, which every import, each in a fresh process, paid again for the same files."""
    digest = hashlib.sha256(f"{STORED_FORM} {settings.base_iri}".encode())
    for path in files:
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            return make()  # says what is wrong with the file
    folder = settings.path("store_dir") / "cache"
    kept = folder / f"{kind}-{digest.hexdigest()[:32]}.nt"
    try:
        return union_graph(text_triples(kept.read_bytes()))
    except (OSError, SyntaxError):  # absent, unreadable or damaged: made again
        pass
    graph = make()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{kind}-", dir=folder)
        with os.fdopen(fd, "wb") as out:
            out.write(
                ox.serialize(
                    [ox.Triple(to_ox_resource(s), to_ox_iri(p), to_ox(o)) for s, p, o in graph],
                    format=ox.RdfFormat.N_TRIPLES,
                )
                or b""
            )
        os.replace(temporary, kept)  # whole or absent, for a reader in another process
        for stale in folder.glob(f"{kind}-*.nt"):
            if stale != kept:
                stale.unlink(missing_ok=True)
        for abandoned in folder.glob(f".{kind}-*"):  # written by a process killed meanwhile (not one writing now)
            if time.time() - abandoned.stat().st_mtime > 600:
                abandoned.unlink(missing_ok=True)
    except OSError:  # a read-only store folder: made again next time
        pass
    return graph


def rebase(graph: Graph, base_iri: str) -> Graph:
    """The ontology, shapes and export profiles are written with the default base IRI; move them under the
    configured one (IRIs, and the namespaces that SHACL prefix declarations give as xsd:anyURI literals)."""
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
