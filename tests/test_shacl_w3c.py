"""The project's SHACL engine (kg.validation.shacl) against the W3C SHACL Core test suite.

Each test of ``../shared/conformance-data/data-shapes/.../tests/core`` is run as written, with the
specification's meaning of ``sh:conforms`` (any result, whatever its severity, makes the data not
conform: ``allow_warnings=False``), and its report is compared with the expected one as the suite asks:
``sh:conforms`` and, for every result, its focus node, path, severity, constraint component, source shape
and value (messages and details may differ), blank nodes compared by their structure. Literals are compared
in the form the engine's store keeps them: pyoxigraph keeps well-formed numbers by value, so
"4.0"^^xsd:decimal comes back as "4".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic, to_isomorphic
from rdflib.namespace import RDF, XSD

from kg.store.terms import canonical
from kg.validation import shacl

pytestmark = pytest.mark.slow  # the W3C SHACL core test suite

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT.parent / "shared" / "conformance-data" / "data-shapes" / "data-shapes-test-suite" / "tests" / "core"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
SH = Namespace("http://www.w3.org/ns/shacl#")
NUMBERS = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int, XSD.long, XSD.short, XSD.byte}
COMPARED = (SH.focusNode, SH.resultPath, SH.resultSeverity, SH.sourceConstraintComponent, SH.sourceShape, SH.value)


def _parse(path: Path) -> Graph:
    """A test file as written: rdflib would otherwise rewrite ill-formed literals ("none"^^xsd:boolean
    becomes "false"), which some tests are about."""
    graph = Graph()
    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        graph.parse(path, format="turtle", publicID=path.as_uri())
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
    return graph


def _test_files(manifest: Path) -> list[Path]:
    """The test files a manifest includes, through included manifests."""
    files = []
    for included in sorted(_parse(manifest).objects(None, MF.include), key=str):
        path = Path(str(included).removeprefix("file://"))
        files.extend(_test_files(path) if path.name == "manifest.ttl" else [path])
    return files


#: Tests the engine does not pass, each asserted to fail (strict): Oxigraph's store keeps a literal of a type
#: derived from xsd:integer as an xsd:integer ("300"^^xsd:byte is held as "300"^^xsd:integer), so the
#: report names the value as the store holds it, not as written.
KNOWN_FAILURES = {"property/datatype-ill-formed"}


def _cases() -> list:
    if not SUITE.is_dir():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason="../shared/conformance-data (the W3C SHACL test suite) is not beside the project "
                    "on this machine",
                ),
            )
        ]
    cases = []
    for path in _test_files(SUITE / "manifest.ttl"):
        name = f"{path.parent.name}/{path.stem}"
        marks = (
            [pytest.mark.xfail(strict=True, reason="the store holds xsd:byte as xsd:integer")]
            if name in KNOWN_FAILURES
            else []
        )
        cases.append(pytest.param(path, id=name, marks=marks))
    return cases


def _closure(node, graphs: list[Graph], into: Graph, seen: set) -> None:
    """The triples that describe blank node ``node`` (and the blank nodes they reach) in ``graphs``."""
    if not isinstance(node, BNode) or node in seen:
        return
    seen.add(node)
    for graph in graphs:
        for _, p, o in graph.triples((node, None, None)):
            into.add((node, p, o))
            _closure(o, graphs, into, seen)


def _copy(node, graphs: list[Graph], into: Graph):
    """A fresh copy of the structure blank node ``node`` heads (a path), added to ``into``."""
    if not isinstance(node, BNode):
        return node
    fresh = BNode()
    # the first graph that describes it: a report may copy a path's list into nodes of its own
    source = next((g for g in graphs if (node, None, None) in g), Graph())
    for _, p, o in source.triples((node, None, None)):
        into.add((fresh, p, _copy(o, [source], into)))
    return fresh


def _normalised(report: Graph, context: list[Graph]) -> Graph:
    """What the suite compares of a validation report (a result path is compared by its structure, whether
    results share one path node or each has its own)."""
    out, seen = Graph(), set()
    for root in report.subjects(RDF.type, SH.ValidationReport):
        out.add((BNode("report"), RDF.type, SH.ValidationReport))
        out.add((BNode("report"), SH.conforms, report.value(root, SH.conforms)))
        for result in report.objects(root, SH.result):
            out.add((BNode("report"), SH.result, result))
            out.add((result, RDF.type, SH.ValidationResult))
            for predicate in COMPARED:
                for value in report.objects(result, predicate):
                    if predicate == SH.resultPath:
                        out.add((result, predicate, _copy(value, [report, *context], out)))
                        continue
                    out.add((result, predicate, value))
                    _closure(value, [report, *context], out, seen)
    kept = Graph()
    for triple in out:
        number = isinstance(triple[2], Literal) and triple[2].datatype in NUMBERS and not triple[2].ill_typed
        kept.add(canonical([triple])[0] if number else triple)
    return kept


@pytest.mark.parametrize("path", _cases())
def test_kg_shacl_passes_the_w3c_shacl_core_test(path: Path):
    manifest = _parse(path)
    test = next(manifest.subjects(RDF.type, SHT.Validate))
    action = manifest.value(test, MF.action)
    graphs = {}
    for role in (SHT.dataGraph, SHT.shapesGraph):
        iri = manifest.value(action, role)
        graphs[role] = manifest if iri == URIRef(path.as_uri()) else _parse(Path(str(iri).removeprefix("file://")))
    data, shapes = graphs[SHT.dataGraph], graphs[SHT.shapesGraph]
    expected_root = manifest.value(test, MF.result)
    expected = Graph()
    _closure(expected_root, [manifest], expected, set())
    expected.add((expected_root, RDF.type, SH.ValidationReport))
    got = shacl.validate(data, shapes, allow_warnings=False)
    want, have = _normalised(expected, [shapes, data]), _normalised(got, [shapes, data])
    assert isomorphic(want, have), (
        "expected:\n"
        + to_isomorphic(want).serialize(format="turtle")
        + "\ngot:\n"
        + to_isomorphic(have).serialize(format="turtle")
    )
