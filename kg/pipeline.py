"""The build, in order: seeds -> mappings -> asserted + provenance -> OWL RL -> publish to the store.

This is the only module that knows the order of the stages. Each stage returns new graphs and never
changes its input.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import hashlib

from rdflib import BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF

from kg.config import Settings
from kg.errors import MappingError, SeedTableError
from kg.mapping import Citation, load_mapping, run_mapping
from kg.provenance import provenance_graph
from kg.reason import infer
from kg.store import PublishedVersion, Quad, Triple, canonical, publish, sorted_nquads
from kg.tables import load_schemas, read_table

DEFAULT_BASE = "https://w3id.org/yrd-kg/"
#: The named graphs of a build, in the order they are reported.
GRAPH_NAMES = ("ontology", "asserted", "inferred", "provenance")

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def graph_iri(settings: Settings, name: str) -> URIRef:
    return URIRef(f"{settings.base_iri}graph/{name}")


@dataclass
class Build:
    graphs: dict[str, Graph]
    produced: dict[Triple, set[Citation]] = field(repr=False)

    def quads(self, settings: Settings) -> list[Quad]:
        return [(s, p, o, graph_iri(settings, name)) for name in GRAPH_NAMES for s, p, o in self.graphs[name]]

    def nquads(self, settings: Settings) -> bytes:
        return sorted_nquads(self.quads(settings))

    def instance_counts(self) -> Counter:
        typed = Graph()
        for name in ("asserted", "inferred"):
            for s, _, o in self.graphs[name].triples((None, RDF.type, None)):
                typed.add((s, RDF.type, o))
        return Counter(o for _, _, o in typed)


def _rebase(graph: Graph, settings: Settings) -> Graph:
    """The ontology is written with the default base IRI; move it under the configured one."""
    if settings.base_iri == DEFAULT_BASE:
        return graph
    moved = Graph()
    swap = lambda t: URIRef(settings.base_iri + t[len(DEFAULT_BASE):]) if isinstance(t, URIRef) and str(t).startswith(DEFAULT_BASE) else t  # noqa: E731
    for s, p, o in graph:
        moved.add((swap(s), swap(p), swap(o)))
    return moved


def _canonical_graph(graph: Graph) -> Graph:
    result = Graph()
    for triple in canonical(graph):
        result.add(triple)
    return result


def load_ontology(settings: Settings) -> Graph:
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
    return _canonical_graph(_stable_blank_nodes(_rebase(graph, settings)))


def _stable_blank_nodes(graph: Graph) -> Graph:
    """Relabel blank nodes (OWL lists and restrictions) from their content, so two builds write the same
    bytes. Labels are 32 hex digits, which Oxigraph keeps as they are (longer ones it replaces)."""
    relabel = lambda t: BNode(hashlib.sha256(str(t).encode()).hexdigest()[:32]) if isinstance(t, BNode) else t  # noqa: E731
    result = Graph()
    for s, p, o in to_canonical_graph(graph):
        result.add((relabel(s), p, relabel(o)))
    return result


def map_seeds(settings: Settings, progress: Progress = _stderr) -> tuple[Graph, dict[Triple, set[Citation]]]:
    """Run every mapping over its table: the asserted graph, and the citations of each triple."""
    seeds, mappings = settings.path("seeds_dir"), settings.path("mappings_dir")
    schemas = load_schemas(seeds)
    orphans = sorted(p.stem for p in mappings.glob("*.rq") if p.stem not in schemas)
    if orphans:
        raise MappingError("mappings without a table in the seed metadata: " + ", ".join(orphans))
    produced: dict[Triple, set[Citation]] = {}
    for name, schema in schemas.items():
        if not (seeds / schema.file).exists():
            raise SeedTableError(f"{schema.file}: declared in the metadata but missing from {seeds}")
        mapping = load_mapping(mappings / f"{name}.rq", schema, base_iri=settings.base_iri)
        rows = read_table(schema, seeds)
        started = time.perf_counter()
        for triple, cited in run_mapping(mapping, schema, rows, base_iri=settings.base_iri).items():
            produced.setdefault(triple, set()).update(cited)
        progress(f"  mapped {schema.file}: {len(rows)} rows ({time.perf_counter() - started:.2f} s)")
    asserted = Graph()
    for triple in produced:
        asserted.add(triple)
    return asserted, produced


def build_graphs(settings: Settings, progress: Progress = _stderr) -> Build:
    """Every graph of a build, without publishing it."""
    started = time.perf_counter()
    progress("mapping seed tables")
    asserted, produced = map_seeds(settings, progress)
    progress("loading the ontology")
    ontology = load_ontology(settings)
    progress(f"reasoning (OWL RL) over {len(ontology) + len(asserted)} triples")
    inferred = _canonical_graph(infer(ontology, asserted, base_iri=settings.base_iri))
    progress("recording provenance")
    provenance = _canonical_graph(provenance_graph(produced, settings.base_iri))
    progress(f"graphs ready in {time.perf_counter() - started:.1f} s")
    graphs = {"ontology": ontology, "asserted": asserted, "inferred": inferred, "provenance": provenance}
    return Build(graphs, produced)


def build_and_publish(settings: Settings, progress: Progress = _stderr) -> tuple[Build, PublishedVersion]:
    build = build_graphs(settings, progress)
    progress("loading the store")
    version = publish(build.quads(settings), settings.path("store_dir"), keep_versions=settings.keep_versions)
    return build, version
