"""SHACL validation with pyshacl: of a build (before it is published) and of partner data.

A build is checked in two passes: the content shapes over asserted + its OWL RL closure without domain and
range axioms (types are materialised through subclasses, so targets reach them, but a value of the wrong
kind is not silently retyped by a range), and the provenance shapes over asserted + provenance. Partner data is
reasoned over with the ontology first, optionally beside the published graph so that references to our
entities resolve; only results about the partner's own nodes are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SH
from rdflib.term import Node

from kg.errors import SeedTableError
from kg.reason import infer
from kg.rules import Triple

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


def _run(data: Graph, shapes: Graph) -> Graph:
    # advanced: the provenance shapes use SPARQL targets (SHACL Advanced Features)
    conforms, results, text = pyshacl_validate(data, shacl_graph=shapes, ont_graph=None, inference="none",
                                     abort_on_first=False, allow_warnings=True, advanced=True,
                                     allow_infos=True, meta_shacl=False, js=False, debug=False)
    if not isinstance(results, Graph):  # pyshacl could not use the shapes at all
        raise SeedTableError(f"the SHACL shapes cannot be used: {text.strip()}")
    return results


def _results(report: Graph, labels: Graph, provenance: Graph | None) -> list[Result]:
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        label = next((str(l) for l in labels.objects(focus, RDFS.label) if isinstance(l, Literal) and l.language == "en"), None)
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
    provenance = _union(provenance)
    content = _union(asserted, inferred)
    first = _run(content, shapes.content)
    second = _run(_union(asserted, provenance), shapes.provenance)
    results = _results(first, content, provenance) + _results(second, content, provenance)
    return _report(results, first, second)


def validate_data(data: Graph, *, ontology: Graph, shapes: Shapes, context: Graph | None = None) -> ValidationReport:
    """Partner data against the content shapes and the ontology, beside ``context`` (the published graph)."""
    combined = _union(data, context) if context is not None else data
    inferred = infer(ontology, combined, domains_and_ranges=False)
    everything = _union(combined, inferred)
    # pyshacl's focus_nodes would be faster, but it skipped the qualified-count label shapes (measured):
    # every node is checked and only the partner's own are reported
    report = _run(everything, shapes.content)
    own = set(data.subjects())
    results = [r for r in _results(report, everything, None) if r.focus in own]
    return _report(results, report)
