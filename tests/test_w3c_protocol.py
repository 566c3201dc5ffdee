"""The W3C SPARQL 1.1 Protocol test suite, run against ``kg serve`` on a loopback port.

The manifest in ../shared/conformance-data is read as RDF and every test is sent as written: its method,
path, headers and body (in the declared character encoding). The suite's graph data (data1-3.nt) is
published into a store of its own under the graph names the manifest gives.

The suite also holds update tests. This endpoint is read-only, so an update test that expects success
instead checks the endpoint's documented answer: 403 naming the read-only setting. Update tests that
expect a 4xx run as written.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import ROOT, kg_server
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from kg.store.rdf_io import parse_rdf
from kg.store.versions import publish

SUITE = ROOT.parent / "shared" / "conformance-data" / "rdf-tests" / "sparql" / "sparql11" / "protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
STATUS = "http://www.w3.org/2011/http-statusCodes#StatusCode"
RESULT_MEDIA = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    },
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples"},
}


@dataclass
class ProtocolRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[str]  # status classes such as "2xx"
    result_format: str | None
    boolean: bool | None

    @property
    def is_update(self) -> bool:
        media = self.headers.get("content-type", "")
        return (
            media.startswith("application/sparql-update")
            or (self.body or b"").startswith(b"update=")
            or "update=" in self.path
        )


@dataclass
class ProtocolTest:
    name: str
    title: str
    requests: list[ProtocolRequest] = field(default_factory=list)
    graphs: dict[str, Path] = field(default_factory=dict)  # graph name -> data file

    @property
    def applies_to_a_read_only_endpoint(self) -> bool:
        return not any(r.is_update and "2xx" in r.statuses for r in self.requests)


def _request(manifest: Graph, node) -> ProtocolRequest:
    headers = {}
    for header in Collection(manifest, manifest.value(node, HT.headers) or RDF.nil):
        headers[str(manifest.value(header, HT.fieldName)).lower()] = str(manifest.value(header, HT.fieldValue))
    body = None
    content = manifest.value(node, HT.body)
    if content is not None:
        encoding = str(manifest.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(manifest.value(content, CNT.chars)).encode(encoding)
    response = manifest.value(node, HT.resp)
    boolean = manifest.value(response, MF.expectedBoolean)
    result_format = manifest.value(response, MF.expectedFormat)
    return ProtocolRequest(
        method=str(manifest.value(node, HT.methodName)),
        path=str(manifest.value(node, HT.absolutePath)),
        headers=headers,
        body=body,
        statuses={str(s).removeprefix(STATUS) for s in manifest.objects(response, MF.expectedStatus)},
        result_format=str(result_format) if result_format is not None else None,
        boolean=boolean.toPython() if boolean is not None else None,
    )


def load_suite() -> list[ProtocolTest]:
    manifest = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    root = next(manifest.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(manifest, manifest.value(root, MF.entries)):
        test = ProtocolTest(name=str(entry).rsplit("#", 1)[-1], title=str(manifest.value(entry, MF.name)))
        for data in manifest.objects(entry, UT.graphData):
            file = Path(str(manifest.value(data, UT.graph)).removeprefix("file://"))
            test.graphs[str(manifest.value(data, RDFS.label))] = SUITE / file.name
        connection = manifest.value(entry, MF.action)
        for node in Collection(manifest, manifest.value(connection, HT.requests)):
            test.requests.append(_request(manifest, node))
        tests.append(test)
    return tests


if SUITE.is_dir():
    SUITE_TESTS = load_suite()
    PARAMS = [pytest.param(t, id=t.name) for t in SUITE_TESTS]
else:
    SUITE_TESTS = []
    PARAMS = [
        pytest.param(
            None,
            marks=pytest.mark.skip(
                reason="../shared/conformance-data (the W3C SPARQL test suite) is not beside the project "
                "on this machine",
            ),
        )
    ]


@pytest.fixture(scope="module")
def protocol_endpoint(tmp_path_factory):
    """The endpoint over a store holding every graph the suite's tests name."""
    store_dir = tmp_path_factory.mktemp("protocol-store")
    graphs = {name: path for test in SUITE_TESTS for name, path in test.graphs.items()}
    quads = []
    for name, path in sorted(graphs.items()):
        for s, p, o, _ in parse_rdf(path.read_bytes(), format="ntriples", base_iri=name, source=path.name):
            quads.append((s, p, o, URIRef(name)))
    publish(quads, store_dir, keep_versions=1)
    with kg_server(store_dir, tmp_path_factory.mktemp("protocol-server") / "server.log") as base:
        yield urllib.parse.urlsplit(base)


def send(endpoint, request: ProtocolRequest) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=30)
    try:
        # the suite's paths start with /sparql/, which is where this endpoint answers too
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def boolean_of(media_type: str, body: bytes) -> bool:
    if media_type == "application/sparql-results+json":
        return json.loads(body)["boolean"]
    assert media_type == "application/sparql-results+xml", media_type
    return b"<boolean>true</boolean>" in body


def test_the_suite_is_read_whole():
    if not SUITE.is_dir():
        pytest.skip("../shared/conformance-data (the W3C SPARQL test suite) is not beside the project on this machine")
    # 34 entries: 13 query tests, 7 update tests that expect success, 14 error tests
    assert len(SUITE_TESTS) == 34 and all(t.requests for t in SUITE_TESTS)
    assert sum(not t.applies_to_a_read_only_endpoint for t in SUITE_TESTS) == 7


@pytest.mark.slow
@pytest.mark.parametrize("test", PARAMS)
def test_protocol(protocol_endpoint, test: ProtocolTest):
    if not test.applies_to_a_read_only_endpoint:
        status, media_type, body = send(protocol_endpoint, test.requests[0])
        assert status == 403 and "read-only" in json.loads(body)["error"], (test.title, status, body)
        return
    for request in test.requests:
        status, media_type, body = send(protocol_endpoint, request)
        assert f"{status // 100}xx" in request.statuses, (test.title, status, body[:500])
        media_type = media_type.split(";")[0].strip()
        if request.result_format is not None:
            assert media_type in RESULT_MEDIA[request.result_format], (test.title, media_type)
        if request.boolean is not None:
            assert boolean_of(media_type, body) is request.boolean, (test.title, body)
