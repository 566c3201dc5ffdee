"""Deterministic serialisation of what the store holds: the same graphs give the same bytes."""

from __future__ import annotations

from rdflib import Dataset, Graph, URIRef

from kg.errors import UnsupportedFormat
from kg.namespaces import all_prefixes
from kg.store import EmbeddedStore, sorted_nquads, sorted_ntriples

FORMATS = ("nquads", "trig", "turtle", "ntriples")


def export(store: EmbeddedStore, *, format: str, graphs: list[URIRef] | None, base_iri: str) -> bytes:
    """Serialise ``graphs`` (default: every named graph) in ``format``.

    N-Quads and N-Triples are sorted line by line. Turtle and TriG come from rdflib's serialisers over
    the same sorted input with one fixed prefix map; formats without graphs merge the selected graphs.
    """
    if format not in FORMATS:
        raise UnsupportedFormat(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    quads = list(store.quads(graphs))
    if format == "nquads":
        return sorted_nquads(quads)
    if format == "ntriples":
        return sorted_ntriples((s, p, o) for s, p, o, _ in quads)
    prefixes = all_prefixes(base_iri)
    if format == "turtle":
        graph = Graph()
        _bind(graph, prefixes)
        for s, p, o, _ in sorted(quads):
            graph.add((s, p, o))
        return graph.serialize(format="longturtle", encoding="utf-8")
    dataset = Dataset()
    _bind(dataset, prefixes)
    for s, p, o, g in sorted(quads):
        dataset.graph(g).add((s, p, o))
    return dataset.serialize(format="trig", encoding="utf-8")


def _bind(graph: Graph, prefixes: dict[str, str]) -> None:
    for prefix, namespace in prefixes.items():
        graph.bind(prefix, namespace, override=True, replace=True)
