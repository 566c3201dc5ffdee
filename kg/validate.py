"""SHACL validation with pyshacl: of a build (before it is published) and of partner data.

A build is checked in two passes: the content shapes over asserted + its OWL RL closure without domain and
range axioms (types are materialised through subclasses, so targets reach them, but a value of the wrong
kind is not silently retyped by a range), and the provenance shapes over asserted + provenance. Partner data is
reasoned over with the ontology first, optionally beside the published graph so that references to our
entities resolve; only results about the partner's own nodes are reported.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SH
from rdflib.term import Node

from kg import shacl
from kg.errors import SeedTableError
from kg.reason import infer_triples
from kg.rules import Triple
from kg.store import memory_store

log = logging.getLogger(__name__)

SEVERITIES = ("Violation", "Warning", "Info")
_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


@dataclass(frozen=True)
class Citation:
    file: str
    paragraph: int | None


@dataclass(frozen=True)
class Result:
    severity: str
    shape: str
    focus: Node
    focus_label: str | None
    path: Node | None
    value: Node | None
    message: str
    constraint: str
    citations: tuple[Citation, ...] = ()


@dataclass
class ValidationReport:
    results: list[Result]
    graph: Graph = field(repr=False)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.severity == s) for s in SEVERITIES}


@dataclass(frozen=True)
class Shapes:
    content: Graph
    provenance: Graph

    def all(self) -> Graph:
        union = Graph()
        for graph in (self.content, self.provenance):
            for triple in graph:
                union.add(triple)
        return union


def load_shapes(folder: Path) -> Shapes:
    """The content shapes (shapes.ttl) and the provenance shapes (shapes-provenance.ttl)."""
    graphs = []
    for name in ("shapes.ttl", "shapes-provenance.ttl"):
        graph = Graph()
        try:
            graph.parse(folder / name, format="turtle")
        except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
            raise SeedTableError(f"{name}: cannot read the shapes ({exc})") from exc
        graphs.append(graph)
    return Shapes(*graphs)


def _union(*graphs: Graph) -> Graph:
    union = Graph()
    for graph in graphs:
        for triple in graph:
            union.add(triple)
    return union


def _run(data: Iterable[Triple], shapes: Graph) -> Graph:
    """The SHACL report of ``data``: kg.shacl (set-at-a-time SPARQL on pyoxigraph) where it supports the
    shapes, otherwise pyshacl, its reference."""
    if not shacl.supported(shapes):
        return shacl.validate(memory_store(data), shapes)
    log.info("validating with pyshacl: kg.shacl does not support %s", "; ".join(shacl.supported(shapes)))
    return _run_pyshacl(_union(data), shapes)


def _run_pyshacl(data: Graph, shapes: Graph) -> Graph:
    # advanced: the provenance shapes use SPARQL targets (SHACL Advanced Features). pyshacl adds triples to
    # the shapes graph it is given (measured: 2), so it gets a copy and the published shapes stay as read.
    conforms, results, text = pyshacl_validate(data, shacl_graph=_union(shapes), ont_graph=None, inference="none",
                                     abort_on_first=False, allow_warnings=True, advanced=True,
                                     allow_infos=True, meta_shacl=False, js=False, debug=False)
    if not isinstance(results, Graph):  # pyshacl could not use the shapes at all
        raise SeedTableError(f"the SHACL shapes cannot be used: {text.strip()}")
    return results


def _results(report: Graph, data: Iterable[Triple], provenance: Iterable[Triple] | None) -> list[Result]:
    nodes = list(report.subjects(RDF.type, SH.ValidationResult))
    focus_nodes = {report.value(node, SH.focusNode) for node in nodes}
    if not focus_nodes:
        return []
    label = RDFS.label
    # predicates are URIRefs: str equality (in C) instead of rdflib's Python __eq__, tested first
    labels = {s: str(o) for s, p, o in data
              if str.__eq__(p, label) and s in focus_nodes and isinstance(o, Literal) and o.language == "en"}
    provenance = _provenance_of(provenance, focus_nodes) if provenance is not None else None
    results = []
    for node in nodes:
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        label = labels.get(focus)
        results.append(Result(
            severity=_SEVERITY.get(report.value(node, SH.resultSeverity), "Violation"),
            shape=str(report.value(node, SH.sourceShape)),
            focus=focus, focus_label=label,
            path=path if isinstance(path, URIRef) else None,
            value=value,
            message=str(report.value(node, SH.resultMessage) or ""),
            constraint=str(report.value(node, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            citations=_citations(provenance, focus, path, value) if provenance is not None else (),
        ))
    return results


def _provenance_of(provenance: Iterable[Triple], focus_nodes: set[Node]) -> Graph:
    """The provenance records of statements about ``focus_nodes``, with their citations (a small graph)."""
    provenance = provenance if isinstance(provenance, (set, Graph)) else set(provenance)
    subject, derived_from = RDF.subject, PROV.wasDerivedFrom
    statements = {s for s, p, o in provenance if str.__eq__(p, subject) and o in focus_nodes}
    records = Graph()
    citations = set()
    for s, p, o in provenance:
        if s in statements:
            records.add((s, p, o))
            if p == derived_from:
                citations.add(o)
    for triple in provenance:
        if triple[0] in citations:
            records.add(triple)
    return records


def _citations(provenance: Graph, focus: Node, path: Node | None, value: Node | None) -> tuple[Citation, ...]:
    """Where the offending fact comes from: the statement about (focus, path, value), or, when the
    problem is a missing value, every citation of the focus node's own description."""
    statements = set(provenance.subjects(RDF.subject, focus))
    if isinstance(path, URIRef):
        matching = {s for s in statements if (s, RDF.predicate, path) in provenance
                    and (value is None or (s, RDF.object, value) in provenance)}
        statements = matching or {s for s in statements if (s, RDF.predicate, RDF.type) in provenance}
    yrd_cited = None
    citations = set()
    for statement in statements:
        for citation in provenance.objects(statement, PROV.wasDerivedFrom):
            if yrd_cited is None:
                yrd_cited = next((p for p in provenance.predicates(citation, None) if str(p).endswith("#citedSource")), None)
            source = provenance.value(citation, yrd_cited) if yrd_cited else None
            paragraph = next((int(o) for p, o in provenance.predicate_objects(citation) if str(p).endswith("#paragraph")), None)
            citations.add(Citation(str(source).rsplit("/", 1)[-1] if source else str(citation), paragraph))
    return tuple(sorted(citations, key=lambda c: (c.file, c.paragraph or 0)))


def _report(results: list[Result], *graphs: Graph) -> ValidationReport:
    """The report, its results in one stable order: by severity, shape, focus node, path and value."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results = sorted(results, key=lambda r: (order[r.severity], r.shape, str(r.focus), str(r.path), str(r.value)))
    return ValidationReport(results, _union(*graphs))


def validate_build(*, asserted: Iterable[Triple], inferred: Iterable[Triple], provenance: Iterable[Triple],
                   shapes: Shapes) -> ValidationReport:
    """Both passes over a build's graphs; ``inferred`` is the closure without domain and range axioms."""
    asserted, inferred = _as_set(asserted), _as_set(inferred)
    provenance = _as_set(provenance)
    content = asserted | inferred
    first = _run(content, shapes.content)
    second = _run(itertools.chain(asserted, provenance), shapes.provenance)
    results = _results(first, content, provenance) + _results(second, content, provenance)
    return _report(results, first, second)


def _as_set(triples: Iterable[Triple]) -> set[Triple]:
    return triples if isinstance(triples, set) else set(triples)


def validate_data(data: Graph, *, ontology: Graph, shapes: Shapes, context: Graph | None = None) -> ValidationReport:
    """Partner data against the content shapes and the ontology, beside ``context`` (the published graph)."""
    combined = set(data) | (set(context) if context is not None else set())
    everything = combined | infer_triples(ontology, combined, domains_and_ranges=False)
    # pyshacl's focus_nodes would be faster, but it skipped the qualified-count label shapes (measured):
    # every node is checked and only the partner's own are reported
    report = _run(everything, shapes.content)
    own = {s for s, _, _ in data}
    results = [r for r in _results(report, everything, None) if r.focus in own]
    return _report(results, report)
