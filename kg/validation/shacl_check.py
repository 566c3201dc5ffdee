"""SHACL validation of a build (before it is published) and of partner data, by the project's engine
(kg.validation.shacl), with pyshacl for shapes it does not support.

A build is checked in two passes: the content shapes over asserted + its OWL RL closure without domain and
range axioms (types are materialised through subclasses, so targets reach them, but a value of the wrong
kind is not silently retyped by a range), and the provenance shapes over asserted + provenance. Partner data is
reasoned over with the ontology first, optionally beside the published graph so that references to our
entities resolve; only results about the partner's own nodes are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.errors import SeedTableError
from kg.reasoning.entailments import infer_triples
from kg.reasoning.owl_rl import Triple
from kg.store.in_memory import memory_store, store_rows, store_triples
from kg.store.terms import to_ox
from kg.validation import shacl
from kg.validation.partner_terms import in_partner_terms

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
    location: str = ""  # where a partner's document first writes the focus node: "source:line:column"


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


def union_graph(*graphs: Iterable[Triple]) -> Graph:
    union = Graph()
    for graph in graphs:
        for triple in graph:
            union.add(triple)
    return union


def _run(data: ox.Store, shapes: Graph) -> Graph:
    """The SHACL report of the default graph of ``data``: kg.validation.shacl (set-at-a-time SPARQL on pyoxigraph)
    where it supports the shapes, otherwise pyshacl, its reference."""
    if not shacl.supported(shapes):
        return shacl.validate(data, shapes, allow_warnings=True)  # the build gates on violations only
    log.info("validating with pyshacl: kg.validation.shacl does not support %s", "; ".join(shacl.supported(shapes)))
    return _run_pyshacl(union_graph(store_triples(data)), shapes)


def _run_pyshacl(data: Graph, shapes: Graph) -> Graph:
    # imported here: pyshacl is the fallback, and importing it costs every process that validates (each
    # import's child, kg validate) about a quarter of a second
    from pyshacl import validate as pyshacl_validate

    # advanced: the provenance shapes use SPARQL targets (SHACL Advanced Features). pyshacl adds triples to
    # the shapes graph it is given, so it gets a copy and the published shapes stay as read.
    conforms, results, text = pyshacl_validate(
        data,
        shacl_graph=union_graph(shapes),
        ont_graph=None,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
        allow_infos=True,
        meta_shacl=False,
        js=False,
        debug=False,
    )
    if not isinstance(results, Graph):  # pyshacl could not use the shapes at all
        raise SeedTableError(f"the SHACL shapes cannot be used: {text.strip()}")
    return results


def _values(nodes: Iterable[Node | None], separator: str = " ") -> str:
    # IRIs only: a blank focus node has neither a label nor provenance records in a store of ours
    return separator.join(str(to_ox(n)) for n in nodes if isinstance(n, URIRef))


_LABELS = """SELECT ?focus (MIN(?label) AS ?name) WHERE {
  VALUES ?focus { %s }
  ?focus <http://www.w3.org/2000/01/rdf-schema#label> ?label . FILTER(LANG(?label) = "en")
} GROUP BY ?focus"""

#: The statements about each focus node with their citations; the citation's source and paragraph are
#: found by the end of the predicate's IRI, which does not depend on the base IRI.
_RECORDS = """SELECT ?focus ?predicate ?object ?citation ?source ?paragraph WHERE {
  VALUES ?focus { %s }
  ?statement <http://www.w3.org/1999/02/22-rdf-syntax-ns#subject> ?focus ;
             <http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate> ?predicate .
  # a VALUES block instead made Oxigraph scan every statement of those predicates
  FILTER(?predicate IN (%s))
  ?statement <http://www.w3.org/1999/02/22-rdf-syntax-ns#object> ?object ;
             <http://www.w3.org/ns/prov#wasDerivedFrom> ?citation .
  OPTIONAL { ?citation ?cited ?source . FILTER(STRENDS(STR(?cited), "#citedSource")) }
  OPTIONAL { ?citation ?numbered ?paragraph . FILTER(STRENDS(STR(?numbered), "#paragraph")) }
}"""


def _results(report: Graph, data: ox.Store, provenance: ox.Store | None) -> list[Result]:
    """The results of a report, each with its focus node's English label (from ``data``) and, given the
    store holding the provenance records, the citations of the offending fact (both looked up in SPARQL)."""
    nodes = list(report.subjects(RDF.type, SH.ValidationResult))
    focus_nodes = {report.value(node, SH.focusNode) for node in nodes}
    if not focus_nodes:
        return []
    values = _values(focus_nodes)
    labels = {row["focus"]: str(row["name"]) for row in store_rows(data, _LABELS % values)} if values else {}
    records: dict[Node, list[dict]] = {}
    if provenance is not None and values:
        # only the statements _citations reads: those of the results' paths, and the types
        paths = {report.value(node, SH.resultPath) for node in nodes} | {RDF.type}
        for row in store_rows(provenance, _RECORDS % (values, _values(paths, ", "))):
            records.setdefault(row["focus"], []).append(row)
    results = []
    for node in nodes:
        focus = report.value(node, SH.focusNode)
        assert focus is not None  # every SHACL validation result has a focus node
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        severity = report.value(node, SH.resultSeverity)
        results.append(
            Result(
                severity=_SEVERITY.get(severity, "Violation") if isinstance(severity, URIRef) else "Violation",
                shape=str(report.value(node, SH.sourceShape)),
                focus=focus,
                focus_label=labels.get(focus),
                path=path if isinstance(path, URIRef) else None,
                value=value,
                message=str(report.value(node, SH.resultMessage) or ""),
                constraint=str(report.value(node, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
                citations=_citations(records.get(focus, []), path, value) if provenance is not None else (),
            )
        )
    return results


def _citations(records: list[dict], path: Node | None, value: Node | None) -> tuple[Citation, ...]:
    """Where the offending fact comes from: the statement about (focus, path, value), or, when the
    problem is a missing value, every citation of the focus node's own description."""
    if isinstance(path, URIRef):
        matching = [r for r in records if r["predicate"] == path and (value is None or r["object"] == value)]
        records = matching or [r for r in records if r["predicate"] == RDF.type]
    citations = {
        Citation(
            str(r["source"]).rsplit("/", 1)[-1] if "source" in r else str(r["citation"]),
            int(r["paragraph"]) if "paragraph" in r else None,
        )
        for r in records
    }
    return tuple(sorted(citations, key=lambda c: (c.file, c.paragraph or 0)))


def _report(results: list[Result], *graphs: Graph) -> ValidationReport:
    """The report, its results in one stable order: by severity, shape, focus node, path and value."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results = sorted(results, key=lambda r: (order[r.severity], r.shape, str(r.focus), str(r.path), str(r.value)))
    return ValidationReport(results, union_graph(*graphs))


Part = Iterable[Triple] | bytes | Path


def validate_build(
    *, asserted: Part, inferred: Part, provenance: Part, shapes: Shapes, between: Callable[[], object] = lambda: None
) -> ValidationReport:
    """Both passes over a build's graphs; ``inferred`` is the closure without domain and range axioms.

    Each graph is given as rdflib triples, or as N-Triples text without blank nodes
    (``kg.store.rdf_io.ntriples_text``) in bytes or in a file, which pyoxigraph loads without turning it into
    terms in Python. ``between`` runs after the first pass, before the second pass's store is made (a build
    waits there for its store load, so that the two do not take memory at once).
    """
    if not isinstance(asserted, (bytes, Path)):
        asserted = _as_set(asserted)
    first = _run(memory_store(asserted, inferred), shapes.content)
    between()
    # one store at a time (the second, with the provenance graph, is large on its own). Labels come from
    # the asserted graph in it: rdfs:label is an annotation, which kg.reasoning.entailments never entails.
    with_provenance = memory_store(asserted, provenance)
    second = _run(with_provenance, shapes.provenance)
    results = _results(first, with_provenance, with_provenance) + _results(second, with_provenance, with_provenance)
    return _report(results, first, second)


def _as_set(triples: Iterable[Triple]) -> set[Triple]:
    return triples if isinstance(triples, set) else set(triples)


def validate_data(
    data: Graph,
    *,
    ontology: Graph,
    shapes: Shapes,
    base_iri: str,
    context: Graph | None = None,
    entailed: set[Triple] | None = None,
) -> ValidationReport:
    """Partner data against the content shapes and the ontology, beside ``context`` (the published graph);
    the results in the partner's terms (``kg.validation.partner_terms``), each bad value once. ``entailed``
    is what the data and context entail without the domain and range axioms, when the caller has it."""
    combined = set(data) | (set(context) if context is not None else set())
    if entailed is None:
        entailed = infer_triples(ontology, combined, domains_and_ranges=False)
    store = memory_store(combined, entailed)
    # pyshacl's focus_nodes would be faster, but it skipped the qualified-count label shapes (observed):
    # every node is checked and only the partner's own are reported
    report = _run(store, shapes.content)
    own = {s for s, _, _ in data}
    results = [r for r in _results(report, store, None) if r.focus in own]
    return _report(in_partner_terms(results, shapes.content, base_iri), report)
