"""Hostile content and small holes (issue 23): data that would run script in a reader's browser, the Host
header poisoning shared content, partner labels renaming curated entities, malformed IRIs, the project's
own graph names, and a few protocol and CLI slips. Route logic through Flask's test client; what depends on
the real server (its caches per worker, gunicorn's request parsing, its workers racing) against ``kg serve``
on loopback, whose log ``kg_server`` checks for tracebacks.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse

import pytest
from helpers import ROOT, kg_server
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS
from werkzeug.test import EnvironBuilder

from kg.config import load_settings
from kg.serving.saved_queries import Parameter
from kg.store.versions import publish
from kg.web import create_app

TOKEN = "hostile-content-token"
BASE = "https://w3id.org/yrd-kg/"
YRD = BASE + "ontology#"
PARTNER = URIRef("https://partner.example/graph/hostile")
NANTONG, SHANGHAI = URIRef(BASE + "id/region/nantong"), URIRef(BASE + "id/region/shanghai")
PARK = URIRef(BASE + "id/park/yangtze-river-estuary-industrial-innovation-collaborative-zone")
SCRIPT_PARK, SCRIPT_PART, SCRIPT_SOURCE = (
    URIRef("javascript:alert(1)"),
    URIRef("JaVaScRiPt:alert(3)"),
    URIRef("javascript:alert(4)"),
)
DATA_LINK = URIRef("data:text/html;base64,PHNjcmlwdD5hbGVydCgyKTwvc2NyaXB0Pg==")
#: what a partner graph says: links that would run script, and labels for curated entities
HOSTILE = [
    (SCRIPT_PARK, URIRef(YRD + "coBuiltBy"), NANTONG),
    (SCRIPT_PARK, URIRef(YRD + "coBuiltBy"), SHANGHAI),
    (SCRIPT_PARK, RDFS.label, Literal("Evil park", lang="en")),
    (NANTONG, RDFS.seeAlso, DATA_LINK),
    (SCRIPT_PART, URIRef(YRD + "partOf"), NANTONG),
    (SCRIPT_SOURCE, RDF.type, URIRef(YRD + "Article")),
    (SCRIPT_SOURCE, DCTERMS.identifier, Literal("evil")),
    (SCRIPT_SOURCE, DCTERMS.title, Literal("Evil source")),
    (NANTONG, RDFS.label, Literal("Evilton", lang="en")),
    (SHANGHAI, RDFS.label, Literal("AAA Evil", lang="en")),
    (PARK, RDFS.label, Literal("AAA Evil park", lang="en")),
]
GOOD = f"""@prefix yrd: <{YRD}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p1> a yrd:IndustrialPark ; rdfs:label "Partner park one"@en ;
    yrd:locatedIn <{NANTONG}> .""".encode()
SAFE_HREF = re.compile(r"(/|https?://|#)")


@pytest.fixture(scope="module")
def hostile(store, tmp_path_factory):
    """A copy of the published store with the HOSTILE partner graph, writable with TOKEN."""
    folder = tmp_path_factory.mktemp("hostile-content")
    attachments = {
        name: store.attachment(name) for name in ("report.json", "report.turtle", "report.text", "report.html")
    }
    publish(
        list(store.quads()) + [(s, p, o, PARTNER) for s, p, o in HOSTILE],
        folder / "store",
        keep_versions=2,
        attachments=attachments,
    )
    return load_settings(
        {"root": ROOT, "store_dir": folder / "store", "write_token": TOKEN, "memory_copy_limit_mib": 0}, env={}
    )


@pytest.fixture(scope="module")
def client(hostile):
    return create_app(hostile).test_client()


@pytest.fixture(scope="module")
def server(hostile, tmp_path_factory):
    with kg_server(
        hostile.path("store_dir"), tmp_path_factory.mktemp("hostile-server") / "server.log", KG_WRITE_TOKEN=TOKEN
    ) as base:
        yield base


def raw(base: str, method: str, target: str, headers: dict | None = None, body: bytes | None = None):
    """(status, headers, body) of one request, with exactly the headers given (a Host of our choosing)."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.putrequest(method, target, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for name, value in {**(headers or {}), "Content-Length": str(len(body or b""))}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def hrefs(page: bytes) -> list[str]:
    return re.findall(r'href="([^"]*)"', page.decode("utf-8"))


def json_error(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.json["ok"] is False and response.json["status"] == status and response.json["error"]
    return response.json["error"]


def bearer() -> dict:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"}


# --- 1. only http(s) IRIs become links -------------------------------------------------------------------


def test_a_script_iri_in_query_results_is_text_not_a_link(client):
    query = "SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> <JaVaScRiPt:alert(2)> <https://example.org/ok> } }"
    page = client.get("/query", query_string={"query": query})
    assert page.status_code == 200
    links = hrefs(page.data)
    assert "https://example.org/ok" in links
    assert all(SAFE_HREF.match(link) for link in links), [link for link in links if not SAFE_HREF.match(link)]
    assert "javascript:alert(1)" in page.data.decode()  # shown, as text


@pytest.mark.parametrize(
    "path, shown",
    [("/doc/region/nantong", "JaVaScRiPt:alert(3)"), ("/map", "Evil park (partner label)"), ("/", "Sources")],
)
def test_partner_iris_that_would_run_script_are_never_links(client, path, shown):
    page = client.get(path)
    assert page.status_code == 200 and shown in page.data.decode()
    links = hrefs(page.data)
    assert links and all(SAFE_HREF.match(link) for link in links), [link for link in links if not SAFE_HREF.match(link)]


# --- 2. security headers on every answer -------------------------------------------------------------------


def assert_security_headers(headers) -> None:
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy and "script-src 'self';" in policy
    assert headers.get("X-Content-Type-Options") == "nosniff" and headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/map",
        "/doc/region/nantong",
        "/query",
        "/static/site.css",
        "/no-such-page",
        "/sparql",
        "/health",
        "/data?graph=https://nowhere.example/g",
        "/queries",
    ],
)
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:  # closes the static file's handle
        assert_security_headers(response.headers)


def test_the_protocol_handlers_answers_carry_the_security_headers_too(hostile):
    """The SPARQL protocol handler answers beside Flask, without its after_request hooks."""
    app = create_app(hostile)
    environ = EnvironBuilder(path="/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).get_environ()
    started = {}
    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: started.update(headers=headers)))
    assert json.loads(body)["boolean"] is True
    assert_security_headers(dict(started["headers"]))


@pytest.mark.slow
def test_the_real_server_sends_the_security_headers(server):
    for target in ["/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D", "/map", "/no-such-page"]:
        status, headers, _ = raw(server, "GET", target)
        assert status in (200, 404)
        assert_security_headers(headers)


def test_the_standalone_report_keeps_its_inline_style_by_hash(client):
    from kg.web.headers import CONTENT_SECURITY_POLICY

    response = client.post("/validate?report=html&context=false", data=GOOD, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200 and b"<style>" in response.data
    assert (
        "'sha256-" in CONTENT_SECURITY_POLICY and response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    )


# --- 3. the Host header never reaches shared content -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("target", ["/dump/description", "/.well-known/void", "/sparql", "/openapi.json", "/dump"])
def test_the_host_header_never_poisons_shared_content(server, target):
    evil = [raw(server, "GET", target, {"Host": "evil.example"}) for _ in range(6)]
    honest = [raw(server, "GET", target) for _ in range(6)]
    for status, headers, body in evil + honest:
        assert status == 200
        assert b"evil.example" not in body and "evil.example" not in str(headers)


def test_shared_links_come_from_the_public_url_setting(hostile):
    public = "http://127.0.0.1:9/kg"
    client = create_app(dataclasses.replace(hostile, public_url=public)).test_client()
    description = client.get("/dump/description", headers={"Host": "evil.example"}).data.decode()
    assert f"<{public}/sparql>" in description and f"<{public}/dump?format=trig>" in description
    assert "evil.example" not in description
    assert client.get("/openapi.json", headers={"Host": "evil.example"}).json["servers"] == [{"url": public}]
    assert f"<{public}/sparql>" in client.get("/sparql", headers={"Host": "evil.example"}).data.decode()


# --- 4. partner labels never rename curated entities -------------------------------------------------------


def test_an_entity_page_shows_the_curated_label_and_the_partners_as_the_partners(client):
    page = client.get("/doc/region/nantong").data.decode()
    heading = page.split("<h1>")[1].split("</h1>")[0]
    assert heading.startswith("Nantong ") and "Evilton" not in heading
    assert "Evilton" not in page.split('<div class="summary">')[1].split("</div>")[0]  # nor in the summary
    rows = [line for line in page.split("<tr") if "Evilton" in line]
    assert len(rows) == 1 and "partner graph" in rows[0] and str(PARTNER) in rows[0]
    # elsewhere, Nantong and Shanghai keep their names; the park's partner label is one partner row
    assert "Evilton" not in client.get("/doc/region/jiangsu").data.decode()
    park = client.get(f"/doc/{PARK[len(BASE) + 3 :]}").data.decode()
    assert "Evilton" not in park and "AAA Evil park" not in park.split("<h1>")[1].split("</h1>")[0]
    rows = [line for line in park.split("<tr") if "AAA Evil" in line]
    assert len(rows) == 1 and "AAA Evil park" in rows[0] and "partner graph" in rows[0]


def test_the_map_and_the_home_page_show_curated_labels(client):
    for path in ["/map", "/"]:
        text = client.get(path).data.decode()
        assert "Evilton" not in text and "AAA Evil" not in text and "Evil source" not in text
    text = client.get("/map").data.decode()
    assert ">Nantong<" in text and ">Shanghai<" in text


def test_saved_query_choices_are_the_curated_entities_by_their_curated_names(client):
    page = client.get("/saved/agreements_of_region").data.decode()
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page)
    assert (str(NANTONG), "Nantong") in options and (str(SHANGHAI), "Shanghai") in options
    assert "Evilton" not in page and "AAA Evil" not in page
    assert len([value for value, _ in options]) == len({value for value, _ in options})


# --- 5. malformed IRIs are 400 with a message ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        "/doc/region/a%20b",
        "/doc/region/a%7Bb.ttl",
        "/id/region/a%3Cb",
        "/id/region/a%20b",
        "/sparql?query=ASK%7B%7D&default-graph-uri=http%3A%2F%2Fx.example%2Fa%20b",
        "/sparql?query=ASK%7B%7D&named-graph-uri=http%3A%2F%2Fx.example%2F%7B",
        "/sparql?query=ASK%7B%7D&default-graph-uri=relative",
    ],
)
def test_a_malformed_iri_in_a_request_is_a_400(server, target):
    status, headers, body = raw(server, "GET", target)
    document = json.loads(body)
    assert status == 400 and document["status"] == 400 and document["ok"] is False and "IRI" in document["error"]


@pytest.mark.slow
def test_a_put_to_a_malformed_graph_iri_is_a_400(server):
    status, _, body = raw(
        server,
        "PUT",
        "/data?graph=http%3A%2F%2Fx.example%2Fa%20b",
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"},
        GOOD,
    )
    assert status == 400 and "not a well-formed IRI" in json.loads(body)["error"]


def kg(*arguments: str, settings=None) -> subprocess.CompletedProcess:
    """The ``kg`` command over ``settings``' store (writable with TOKEN), without the caller's KG_* variables."""
    store_dir = [] if settings is None else ["--store-dir", str(settings.path("store_dir"))]
    return subprocess.run(
        [sys.executable, "-c", "from kg.cli import run; run()", *store_dir, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("KG_")}, "KG_WRITE_TOKEN": TOKEN},
    )


def test_kg_import_to_a_malformed_graph_iri_exits_2(hostile, tmp_path):
    data = tmp_path / "good.ttl"
    data.write_bytes(GOOD)
    done = kg("import", str(data), "--graph", "http://x.example/a b", "--token", TOKEN, settings=hostile)
    assert done.returncode == 2 and "not a well-formed IRI" in done.stderr and "Traceback" not in done.stderr


# --- 6. the project's own graphs are reserved ------------------------------------------------------------------

OWN = ["ontology", "asserted", "inferred", "provenance", "shapes", "imports", "build"]


@pytest.mark.parametrize("name", OWN)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_no_partner_write_touches_a_graph_the_project_writes(client, name, method):
    response = client.open(
        "/data", method=method, query_string={"graph": f"{BASE}graph/{name}"}, data=GOOD, headers=bearer()
    )
    assert "writes itself" in json_error(response, 403)


def test_kg_import_refuses_the_graph_kg_push_writes(hostile, tmp_path):
    data = tmp_path / "good.ttl"
    data.write_bytes(GOOD)
    done = kg("import", str(data), "--graph", f"{BASE}graph/build", "--token", TOKEN, settings=hostile)
    assert done.returncode == 2 and "writes itself" in done.stderr and "Traceback" not in done.stderr


# --- 7. small holes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, value",
    [("integer", "١٢"), ("decimal", "١٢.5"), ("gYear", "٢٠٢٤"), ("date", "2024-0٥-01"), ("integer", "１２")],
)
def test_typed_parameters_take_ascii_digits_only(kind, value):
    from kg.serving.saved_queries import QueryParameterError

    with pytest.raises(QueryParameterError):
        Parameter("p", f"_p_{kind}", kind, True).bind(value)


@pytest.mark.parametrize(
    "query_id, name, value",
    [
        ("projects_with_investment", "minimum", "١٢"),
        ("sources", "year", "٢٠٢٤"),
        ("changed_since", "since", "٢٠٢٤-05-01"),
    ],
)
def test_a_saved_query_refuses_non_ascii_digits(client, query_id, name, value):
    assert "must be an xsd:" in json_error(client.get(f"/queries/{query_id}", query_string={name: value}), 400)


@pytest.mark.parametrize("query_string", [{}, {"query": "ASK { ?s ?p ?o }"}])
def test_head_of_the_endpoint_is_its_get_without_a_body(client, query_string):
    got, head = client.get("/sparql", query_string=query_string), client.head("/sparql", query_string=query_string)
    assert got.status_code == head.status_code == 200 and head.data == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]


@pytest.mark.slow
def test_of_concurrent_puts_creating_one_graph_only_one_is_created(server):
    target = "/data?" + urllib.parse.urlencode({"graph": "https://partner.example/graph/raced"})
    start, statuses = threading.Barrier(3), []

    def put():
        start.wait()
        status, headers, _ = raw(
            server, "PUT", target, {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"}, GOOD
        )
        statuses.append(status)
        if status == 503:  # a writer that waited its few seconds for the write lock, on a busy machine
            assert headers["Retry-After"]

    threads = [threading.Thread(target=put) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # one creates the graph; the others replace it (200) or are told to come back (503), never create it too
    assert len(statuses) == 3 and statuses.count(201) == 1 and set(statuses) <= {200, 201, 503}, statuses


@pytest.mark.parametrize("command", [["export"], ["validate", "{data}", "--no-context"]])
def test_writing_into_a_missing_folder_is_exit_2_with_a_message(settings, tmp_path, command):
    data = tmp_path / "good.ttl"
    data.write_bytes(GOOD)
    output = tmp_path / "missing" / "out.txt"
    done = kg(*[part.format(data=data) for part in command], "-o", str(output), settings=settings)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot write {output}" in done.stderr and "folder does not exist" in done.stderr
