"""Partner data checked before it is imported or reported on: RDF files or documents validated against
the project's shapes and ontology, beside what the published graph says about the nodes they mention."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rdflib import Graph, URIRef

from kg.config import Settings
from kg.errors import InputError
from kg.namespaces import graph_iri
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import format_for, parse_rdf
from kg.validation.locations import locate
from kg.validation.schema_graphs import load_ontology, load_shape_graphs
from kg.validation.shacl_check import ValidationReport, validate_data


def validate_files(
    settings: Settings, paths: list[Path], *, format: str | None = None, context: bool = True
) -> ValidationReport:
    """Check partner files against the shapes and the ontology.

    With ``context`` and a published store, the data is checked beside the published graph, so that it
    may refer to the graph's entities; only results about the files' own nodes are reported.
    """
    documents = []
    for path in paths:
        try:
            documents.append((path.read_bytes(), format_for(path, format), str(path)))
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    return validate_documents(settings, documents, context=context)


def validate_documents(
    settings: Settings, documents: list[tuple[bytes, str, str]], *, context: bool = True
) -> ValidationReport:
    """Check RDF documents, given as (data, format name, source name), as ``validate_files`` does."""
    data = Graph()
    for raw, fmt, source in documents:
        for s, p, o, _ in parse_rdf(raw, format=fmt, base_iri=settings.base_iri, source=source):
            data.add((s, p, o))
    published = None
    if context and (settings.path("store_dir") / "current").exists():
        published = neighbourhood(EmbeddedStore(settings.path("store_dir")), settings, data)
    report = validate_data(
        data,
        ontology=load_ontology(settings),
        shapes=load_shape_graphs(settings),
        context=published,
        base_iri=settings.base_iri,
    )
    return with_locations(report, documents)


def with_locations(report: ValidationReport, documents: list[tuple[bytes, str, str]]) -> ValidationReport:
    """``report`` with each result's location in ``documents`` (``kg.validation.locations``)."""
    where = locate({r.focus for r in report.results}, documents)
    located = [replace(r, location=where.get(r.focus, "")) for r in report.results]
    return ValidationReport(located, report.graph)


def neighbourhood(store: EmbeddedStore, settings: Settings, data: Graph) -> Graph:
    """What the published graph says (asserted and inferred) about the nodes ``data`` mentions.

    Enough context to check partner data: the types and codes of what it refers to, and, because the
    inferred graph holds the closure of the transitive properties, their whole part-of chains, and what
    is said about everything those reach (the values property chains give the partner's nodes, and the
    codes of their ancestors).
    Reasoning over this instead of the whole published graph keeps a partner check fast as it grows.
    """
    graphs = [graph_iri(settings, "asserted"), graph_iri(settings, "inferred")]
    nodes = set(data.subjects()) | {o for o in data.objects() if isinstance(o, URIRef)}
    context = Graph()
    for triple in store.about(nodes, graphs):
        context.add(triple)
    reached = {o for o in context.objects() if isinstance(o, URIRef)} - nodes
    for triple in store.about(reached, graphs):
        context.add(triple)
    return context
