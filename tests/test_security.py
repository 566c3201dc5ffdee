"""Hostile input against the real endpoint (``kg serve`` on loopback): no query or upload makes the server
fetch anything, nothing crashes it, every refusal is a JSON error with the right status, and the write
token is never logged.

A canary (a loopback listener that records every connection) stands in for "the network": a refused
SERVICE, LOAD, FROM, graph parameter, XML entity or JSON-LD context would otherwise connect to it.
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from urllib.parse import unquote_to_bytes

import pytest
from helpers import ROOT, kg_server
from helpers import http as call

from kg.config import load_settings
from kg.store.embedded import EmbeddedStore
from kg.store.versions import publish
from kg.web.guards import _percent_decoded

TOKEN = "s3cret-token-never-logged"
MAX_BODY = 50_000
MAX_QUERY_LENGTH = 20_000
PARTNER = "https://partner.example/graph/hostile"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@pytest.fixture(scope="module")
def served(store, tmp_path_factory):
    """A copy of the published store behind ``kg serve`` with writes enabled by TOKEN; yields (base URL,
    store dir, log path). The log is read after the server stops."""
    folder = tmp_path_factory.mktemp("hostile")
    publish(list(store.quads()), folder / "store", keep_versions=2)
    log = folder / "server.log"
    with kg_server(
        folder / "store",
        log,
        KG_WRITE_TOKEN=TOKEN,
        KG_MAX_BODY_BYTES=MAX_BODY,
        KG_MAX_QUERY_LENGTH=MAX_QUERY_LENGTH,
        KG_QUERY_TIMEOUT=5,
    ) as base:
        yield base, folder / "store", log
    text = log.read_text(errors="replace")
    assert TOKEN not in text  # neither the access log nor any error line carries the token


def json_error(body: bytes, status: int) -> str:
    """The message of the one JSON error body; fails if the body is anything else."""
    document = json.loads(body)
    assert document["ok"] is False and document["status"] == status and document["error"], document
    return document["error"]


def get_query(base, query, **extra):
    return call(
        f"{base}/sparql?" + urllib.parse.urlencode({"query": query, **extra}),
        headers={"Accept": "application/sparql-results+json"},
    )


def whole_store(store_dir):
    store = EmbeddedStore(store_dir)
    return store.build_id, len(store)


# --- SERVICE, LOAD, FROM and graph parameters never fetch ---------------------------------------------

OUTBOUND = {
    "service": "SELECT * WHERE {{ SERVICE <{c}/sparql> {{ ?s ?p ?o }} }}",
    "service lower case, silent": "select * where {{ service silent <{c}/sparql> {{ ?s ?p ?o }} }}",
    "service without spaces": "SELECT*WHERE{{SERVICE<{c}/sparql>{{?s ?p ?o}}}}",
    "service by prefixed name": "PREFIX e: <{c}/> SELECT * WHERE {{ SERVICE e:sparql {{ ?s ?p ?o }} }}",
    "service relative to BASE": "BASE <{c}/> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
    "service by variable": "SELECT * WHERE {{ VALUES ?e {{ <{c}/sparql> }} SERVICE ?e {{ ?s ?p ?o }} }}",
    "service with an escaped IRI": "SELECT * WHERE {{ SERVICE <{escaped}/sparql> {{ ?s ?p ?o }} }}",
    "service inside EXISTS": "ASK {{ FILTER EXISTS {{ SERVICE <{c}/sparql> {{ ?s ?p ?o }} }} }}",
    "service in DESCRIBE": "DESCRIBE ?s WHERE {{ SERVICE <{c}/sparql> {{ ?s ?p ?o }} }}",
    # a regular expression over the text took the quotes inside these IRIs and names for the two ends of a
    # string, and missed the SERVICE between them (the UNION evaluates every branch)
    "service between quotes in IRIs": (
        "SELECT * WHERE {{ {{ ?s <http://x/'> ?o }} UNION {{ SERVICE <{c}/sparql> "
        "{{ ?a ?b ?c }} }} UNION {{ ?s <http://y/'> ?o }} }}"
    ),
    "service between escaped quotes in names": (
        "PREFIX ex: <http://x/> SELECT * WHERE {{ {{ ?s ex:a\\' ?o }} UNION "
        "{{ SERVICE <{c}/sparql> {{ ?a ?b ?c }} }} UNION {{ ?s ex:b\\' ?o }} }}"
    ),
    "from": "SELECT * FROM <{c}/graph> WHERE {{ ?s ?p ?o }}",
    "from named": "SELECT * FROM NAMED <{c}/graph> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "load as a query": "LOAD <{c}/data.ttl>",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", OUTBOUND)
def test_no_query_reaches_an_address_that_is_not_allow_listed(served, canary, name):
    base, _, _ = served
    escaped = canary.url.replace(":", "\\u003A", 1)  # http\u003A//127.0.0.1:port
    query = OUTBOUND[name].format(c=canary.url, escaped=escaped)
    outcome = {}
    assert not canary.reached_after(lambda: outcome.update(answer=get_query(base, query)))
    status, _, body = outcome["answer"]
    assert status in (400, 403), (status, body[:300])
    assert json_error(body, status)
    page_status = call(f"{base}/query?" + urllib.parse.urlencode({"query": query}))[0]
    assert page_status in (200, 400, 403)  # the page shows the same refusal in HTML


@pytest.mark.slow
@pytest.mark.parametrize(
    "body, media_type",
    [
        ("LOAD <{c}/data.ttl>", "application/sparql-update"),
        ("update=" + urllib.parse.quote("LOAD <{c}/data.ttl> INTO GRAPH <urn:x>"), "application/x-www-form-urlencoded"),
    ],
)
def test_load_by_update_is_refused_without_a_request(served, canary, body, media_type):
    base, _, _ = served
    outcome = {}

    def send():
        outcome.update(
            answer=call(base + "/sparql", data=body.format(c=canary.url).encode(), headers={"Content-Type": media_type})
        )

    assert not canary.reached_after(send)
    status, _, answer = outcome["answer"]
    assert status == 403 and "read-only" in json_error(answer, 403)


@pytest.mark.slow
def test_graph_parameters_naming_remote_graphs_select_empty_graphs(served, canary):
    base, _, _ = served
    outcome = {}

    def ask():
        outcome.update(
            answer=get_query(base, "SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": canary.url + "/g"})
        )

    assert not canary.reached_after(ask)
    status, _, body = outcome["answer"]
    assert status == 200 and json.loads(body)["results"]["bindings"] == []


def test_an_allow_listed_service_is_called(settings, store, canary):
    """The canary does see what is let through: the refusals above are the checks at work."""
    from kg.web import create_app

    allowing = load_settings(
        {"root": ROOT, "store_dir": settings.path("store_dir"), "allow_service": canary.url + "/sparql"}, env={}
    )
    client = create_app(allowing, store=store).test_client()
    query = f"SELECT * WHERE {{ SERVICE <{canary.url}/sparql> {{ ?s ?p ?o }} }}"
    assert canary.reached_after(lambda: client.get("/sparql", query_string={"query": query}))


def test_the_cli_refuses_service_too(settings, store, canary):
    query = f"SELECT * WHERE {{ SERVICE <{canary.url}/sparql> {{ ?s ?p ?o }} }}"
    outcome = {}

    def run():
        outcome.update(
            result=subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from kg.cli import run; run()",
                    "--store-dir",
                    str(settings.path("store_dir")),
                    "sparql",
                    query,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=120,
            )
        )

    assert not canary.reached_after(run)
    assert outcome["result"].returncode == 2 and "allow_service" in outcome["result"].stderr


# --- RDF/XML entities and JSON-LD contexts ----------------------------------------------------------


def upload_everywhere(base, document: bytes, media_type: str) -> dict:
    """The answers to ``document`` checked (POST /validate) and written (PUT /data, with the token)."""
    return {
        "validate": call(base + "/validate", data=document, headers={"Content-Type": media_type}),
        "put": call(
            f"{base}/data?graph={urllib.parse.quote(PARTNER)}",
            data=document,
            method="PUT",
            headers={"Content-Type": media_type, "Authorization": f"Bearer {TOKEN}"},
        ),
    }


def rdf_xml(doctype: str, value: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<rdf:RDF xmlns:rdf="{RDF_NS}" '
        f'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"><rdf:Description rdf:about="https://partner.example/x">'
        f"<rdfs:label>{value}</rdfs:label></rdf:Description></rdf:RDF>"
    ).encode()


# nine levels of ten: 10^9 copies of a 3-byte string, the "billion laughs"; pyoxigraph alone expanded it
# until the process ran out of memory
LAUGHS = "".join(['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)])
HOSTILE_XML = {
    "billion laughs": rdf_xml(f"<!DOCTYPE rdf:RDF [{LAUGHS}]>", "&l9;"),
    "external entity over HTTP": rdf_xml('<!DOCTYPE rdf:RDF [<!ENTITY e SYSTEM "{c}/entity">]>', "&e;"),
    "external entity from a file": rdf_xml('<!DOCTYPE rdf:RDF [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;"),
    "parameter entity": rdf_xml('<!DOCTYPE rdf:RDF [<!ENTITY % p SYSTEM "{c}/dtd"> %p;]>', "x"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", HOSTILE_XML)
def test_rdf_xml_with_entities_is_refused_without_reading_anything(served, canary, name):
    base, store_dir, _ = served
    document = HOSTILE_XML[name].replace(b"{c}", canary.url.encode())
    before = whole_store(store_dir)
    outcome = {}
    assert not canary.reached_after(lambda: outcome.update(upload_everywhere(base, document, "application/rdf+xml")))
    for status, _, body in outcome.values():
        assert status == 400 and "entit" in json_error(body, 400)
        assert b"root:" not in body  # nothing of /etc/passwd comes back
    assert whole_store(store_dir) == before


def test_rdf_xml_without_entities_is_still_read(settings, store):
    from kg.web import create_app

    client = create_app(settings, store=store).test_client()
    response = client.post("/validate", data=rdf_xml("", "Partner"), headers={"Content-Type": "application/rdf+xml"})
    assert response.status_code == 200


@pytest.mark.slow
def test_json_ld_remote_contexts_are_not_fetched(served, canary):
    base, store_dir, _ = served
    document = json.dumps(
        {"@context": canary.url + "/context.jsonld", "@id": "https://partner.example/x", "label": "x"}
    ).encode()
    before = whole_store(store_dir)
    outcome = {}
    assert not canary.reached_after(lambda: outcome.update(upload_everywhere(base, document, "application/ld+json")))
    for status, _, body in outcome.values():
        assert status == 400 and "remote @context" in json_error(body, 400)
    assert whole_store(store_dir) == before


# --- sizes, depth and encodings ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, media_type, authorised",
    [
        ("/sparql", "application/sparql-query", False),
        ("/validate", "text/turtle", False),
        (f"/data?graph={urllib.parse.quote(PARTNER)}", "text/turtle", True),
    ],
)
def test_bodies_over_the_limit_get_413_and_change_nothing(served, path, media_type, authorised):
    base, store_dir, _ = served
    before = whole_store(store_dir)
    headers = {"Content-Type": media_type, **({"Authorization": f"Bearer {TOKEN}"} if authorised else {})}
    status, _, body = call(base + path, data=b"#" * (MAX_BODY + 1), headers=headers, method="POST")
    assert status == 413 and "max_body_bytes" in json_error(body, 413)
    assert whole_store(store_dir) == before


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_gets_413(served):
    """Without a Content-Length the limit holds while the body streams in."""
    base, _, _ = served
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    chunks = (b"#" * 10_000 for _ in range(MAX_BODY // 10_000 + 2))
    connection.request(
        "POST", "/sparql", body=chunks, headers={"Content-Type": "application/sparql-query"}, encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 413 and json_error(response.read(), 413)
    connection.close()


@pytest.mark.slow
def test_a_query_over_the_length_limit_gets_400(served):
    base, _, _ = served
    query = "ASK { }" + " " * MAX_QUERY_LENGTH
    status, _, body = call(base + "/sparql", data=query.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and "max_query_length" in json_error(body, 400)


@pytest.mark.slow
def test_a_url_over_the_server_limit_gets_a_json_414_that_says_to_post(served):
    base, _, _ = served
    status, headers, body = get_query(base, "ASK { }" + " " * 10_000)
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert "POST" in json_error(body, 414)


@pytest.mark.slow
def test_deep_nesting_gets_400(served):
    base, _, _ = served
    query = "SELECT * WHERE " + "{" * 65 + " ?s ?p ?o " + "}" * 65
    status, _, body = get_query(base, query)
    assert status == 400 and "max_query_depth" in json_error(body, 400)


@pytest.mark.slow
def test_long_operator_chains_within_the_limits_are_answered(served):
    """10,000 negations crashed pyoxigraph on a usual 8 MiB thread stack; the query threads' stack holds
    any query within max_query_length, and the server lives on (kg_server checks its log for SIGSEGV)."""
    base, _, _ = served
    query = "ASK { FILTER(" + "!" * (MAX_QUERY_LENGTH - 40) + "true) }"
    status, _, body = call(
        base + "/sparql",
        data=query.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
    )
    assert status == 200 and json.loads(body)["boolean"] is True
    assert call(base + "/health")[0] == 200


@pytest.mark.slow
def test_a_stray_backslash_gets_400(served):
    base, _, _ = served
    status, _, body = get_query(base, "SELECT * WHERE { ?s ?p ?o } \\u0020")
    assert status == 400 and "backslash" in json_error(body, 400)


def test_the_utf8_check_skips_decoding_only_where_that_changes_nothing():
    """kg.web.guards._percent_decoded against urllib's decoding, on random mixes of ASCII, escapes of low
    and high bytes, stray "%" and raw high bytes."""
    pieces = [
        b"a",
        b"%20",
        b"%41",
        b"%",
        b"%2",
        b"%C3",
        b"%a9",
        b"%E4%B8%AD",
        b"%FF",
        b"%80",
        b"%9f",
        b"\xc3",
        b"\xa9",
        b"\xe4\xb8\xad",
        b"\xff",
        "中".encode(),
    ]
    generator = random.Random(7)
    for _ in range(5000):
        raw = b"".join(generator.choice(pieces) for _ in range(generator.randint(0, 8)))
        assert _utf8(_percent_decoded(raw)) == _utf8(unquote_to_bytes(raw)), raw


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, data, media_type",
    [
        ("/sparql?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%22%FF%22%20%7D", None, None),
        ("/sparql", b'SELECT * WHERE { ?s ?p "\xff" }', "application/sparql-query"),
        ("/sparql", b"query=ASK%20%7B%20%22%C3%28%22%20%7D", "application/x-www-form-urlencoded"),
        ("/sparql", b"query=ASK%20%7B%20%22\xc3%28%22%20%7D", "application/x-www-form-urlencoded"),
        (
            "/validate",
            b'<https://partner.example/x> <http://www.w3.org/2000/01/rdf-schema#label> "\xff" .',
            "text/turtle",
        ),
        ("/queries/subregions.json?region=%FF", None, None),
        ("/queries/%FF", None, None),
    ],
)
def test_invalid_utf8_gets_400(served, path, data, media_type):
    base, _, _ = served
    status, _, body = call(base + path, data=data, headers={"Content-Type": media_type} if media_type else {})
    assert status == 400 and "UTF-8" in json_error(body, 400)


# --- writes and the log ------------------------------------------------------------------------------


@pytest.mark.slow
def test_writes_need_the_token_and_the_log_has_one_line_per_request(served):
    base, store_dir, log = served
    before = whole_store(store_dir)
    target = f"{base}/data?graph={urllib.parse.quote(PARTNER)}"
    document = b'<https://partner.example/x> <http://www.w3.org/2000/01/rdf-schema#label> "x"@en .'
    for url, headers, expected in [
        (target, {}, 401),
        (target, {"Authorization": "Bearer wrong"}, 403),
        (target, {"Authorization": f"Basic {TOKEN}"}, 401),
        (target + f"&token={TOKEN}", {}, 401),
    ]:  # the fixture finds it nowhere in the log
        status, _, body = call(url, data=document, method="PUT", headers={"Content-Type": "text/turtle", **headers})
        assert status == expected and TOKEN.encode() not in body
        assert whole_store(store_dir) == before
    marker = f"/health?probe={time.monotonic_ns()}"
    assert call(base + marker)[0] == 200
    status, _, _ = call(
        target, data=document, method="PUT", headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 201 and whole_store(store_dir) != before
    assert call(target, method="DELETE", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 204
    # gunicorn writes its access log line when the request ends; the file may lag a moment
    for _ in range(50):
        lines = [line for line in log.read_text(errors="replace").splitlines() if marker in line]
        if lines:
            break
        time.sleep(0.1)
    assert len(lines) == 1 and '" 200 ' in lines[0] and lines[0].endswith("ms")
