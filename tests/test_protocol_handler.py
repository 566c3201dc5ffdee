"""The SPARQL protocol's one implementation (kg.web.protocol), mounted beside the Flask app.

Every request to the endpoint's paths must be answered by the handler alone, whatever its form or
outcome (Flask is replaced by an app that fails the test if it is called); errors must have the shape
the Flask app gives its own; the cache, ETags and 304s, the base IRI and the cut-body answers hold.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder

from kg.web import create_app
from kg.web.protocol import ProtocolMount

ROOT = Path(__file__).resolve().parent.parent
MAX_ROWS = 5
ASSERTED = "https://w3id.org/yrd-kg/graph/asserted"
PARK = "https://w3id.org/yrd-kg/id/park/jiangyin-jingjiang-industrial-park"
FORM = "application/x-www-form-urlencoded"
SELECT = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label LIMIT 3"
SAVED = sorted(path.read_text(encoding="utf-8") for path in (ROOT / "queries").glob("*.rq"))


def _flask_must_not_answer(environ, start_response):
    pytest.fail(f"Flask answered {environ['REQUEST_METHOD']} {environ['PATH_INFO']}, not the protocol handler")


@pytest.fixture(scope="module")
def app(settings, store):
    """The app, with Flask below the protocol mount replaced by a tripwire."""
    app = create_app(dataclasses.replace(settings, max_result_rows=MAX_ROWS, memory_copy_limit_mib=0), store=store)
    mount = app.wsgi_app.app.app  # SecurityHeaders -> RememberClient -> ProtocolMount
    assert isinstance(mount, ProtocolMount)
    mount.app = _flask_must_not_answer
    return app


def call(app, environ: dict) -> tuple[int, dict, bytes]:
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=headers)

    chunks = app.wsgi_app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return int(started["status"].split()[0]), {name.lower(): value for name, value in started["headers"]}, body


def send(app, **request) -> tuple[int, dict, bytes]:
    return call(app, EnvironBuilder(**request).get_environ())


def query(
    text: str, how: str, accept: str | None = None, *, host: str = "localhost", root: str = "", path: str = "/sparql"
) -> dict:
    """EnvironBuilder arguments for ``text`` sent ``how`` (get, form or direct)."""
    request = {
        "path": path,
        "headers": {} if accept is None else {"Accept": accept},
        "base_url": f"http://{host}{root}",
    }
    if how == "get":
        return {**request, "method": "GET", "query_string": urllib.parse.urlencode({"query": text})}
    if how == "form":
        return {**request, "method": "POST", "data": urllib.parse.urlencode({"query": text}), "content_type": FORM}
    return {**request, "method": "POST", "data": text.encode("utf-8"), "content_type": "application/sparql-query"}


ANSWERS = {  # name: (request, status, a word the answer holds)
    "GET": (query(SELECT, "get"), 200, b'"bindings"'),
    "POST form": (query(SELECT, "form", "text/csv"), 200, b"s,label"),
    "POST direct": (query(f"DESCRIBE <{PARK}>", "direct", "application/n-triples"), 200, PARK.encode()),
    "with a slash": (query("ASK { ?s ?p ?o }", "get", path="/sparql/"), 200, b"true"),
    "format parameter": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": FORM,
            "data": urllib.parse.urlencode({"query": SELECT, "format": "tsv"}),
        },
        200,
        b"?s\t?label",
    ),
    "graph parameter": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": FORM,
            "data": urllib.parse.urlencode({"query": SELECT, "default-graph-uri": ASSERTED}),
        },
        200,
        b"label",
    ),
    "service description": ({"method": "GET", "path": "/sparql"}, 200, b"sd:Service"),
    "HEAD": ({"method": "HEAD", "path": "/sparql", "query_string": "query=ASK%7B%7D"}, 200, b""),
    "OPTIONS": ({"method": "OPTIONS", "path": "/sparql"}, 204, b""),
    "PUT": ({"method": "PUT", "path": "/sparql", "data": b"ASK {}"}, 405, b"not allowed"),
    "syntax error": (query("SELECT ?s WHERE { ?s ?p }", "form"), 400, b"does not parse"),
    "SERVICE": (query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "form"), 403, b"SERVICE"),
    "FROM a graph not held": (
        query("SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }", "form"),
        403,
        b"FROM",
    ),
    "update as a query": (query("INSERT DATA { <http://a> <http://b> <http://c> }", "form"), 403, b"read-only"),
    "no query form": (query("PREFIX a: <http://a#>", "form"), 400, b"error"),
    "unacceptable": (query(SELECT, "form", "text/html"), 406, b"media types"),
    "graph as solutions": (query(f"DESCRIBE <{PARK}>", "form", "application/sparql-results+json"), 406, b"media"),
    "query twice": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": FORM,
            "data": urllib.parse.urlencode([("query", SELECT), ("query", SELECT)]),
        },
        400,
        b"2 times",
    ),
    "update form": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": FORM,
            "data": urllib.parse.urlencode({"update": "CLEAR ALL"}),
        },
        403,
        b"read-only",
    ),
    "update by GET": ({"method": "GET", "path": "/sparql", "query_string": "update=CLEAR%20ALL"}, 400, b"GET"),
    "query in URL and body": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": FORM,
            "query_string": "query=ASK%7B%7D",
            "data": urllib.parse.urlencode({"query": SELECT}),
        },
        400,
        b"give it once",
    ),
    "empty form": ({"method": "POST", "path": "/sparql", "content_type": FORM, "data": "x=1"}, 400, b"needs a query"),
    "empty body": (
        {"method": "POST", "path": "/sparql", "content_type": "application/sparql-query", "data": b" "},
        400,
        b"holds no query",
    ),
    "escapes not UTF-8": (
        {"method": "POST", "path": "/sparql", "content_type": FORM, "data": b"query=ASK%7B%7D%FF"},
        400,
        b"UTF-8",
    ),
    "body not UTF-8": (
        {
            "method": "POST",
            "path": "/sparql",
            "content_type": "application/sparql-query",
            "data": b'ASK { ?s ?p "\xff" }',
        },
        400,
        b"UTF-8",
    ),
    "URL not UTF-8": ({"method": "GET", "path": "/sparql", "query_string": "query=ASK%7B%7D%C3"}, 400, b"UTF-8"),
    "Latin-1 declared": (
        {
            "method": "POST",
            "path": "/sparql",
            "data": b"ASK {}",
            "content_type": "application/sparql-query; charset=latin-1",
        },
        415,
        b"latin-1",
    ),
    "unknown media type": (
        {"method": "POST", "path": "/sparql", "content_type": "text/plain", "data": b"ASK {}"},
        415,
        b"text/plain",
    ),
    "SPARQL Update body": (
        {"method": "POST", "path": "/sparql", "content_type": "application/sparql-update", "data": b"CLEAR ALL"},
        403,
        b"read-only",
    ),
    "over the size limit": (
        {"method": "POST", "path": "/sparql", "content_type": FORM, "data": "query=" + "%20" * 400_000 + "ASK%7B%7D"},
        413,
        b"max_body_bytes",
    ),
    "graph IRI not absolute": (
        {"method": "GET", "path": "/sparql", "query_string": "query=ASK%7B%7D&named-graph-uri=not%20an%20iri"},
        400,
        b"absolute IRI",
    ),
}


@pytest.mark.parametrize("name", list(ANSWERS))
def test_every_endpoint_request_is_answered_by_the_protocol_handler(app, name):
    request, status, word = ANSWERS[name]
    got, headers, body = send(app, **request)
    assert got == status, body[:300]
    assert word.lower() in body.lower()
    assert headers["access-control-allow-origin"] == "*" and headers["x-content-type-options"] == "nosniff"
    if status >= 400:
        error = json.loads(body)
        assert error["ok"] is False and error["status"] == status and headers["content-type"] == "application/json"


def test_errors_have_the_shape_of_the_flask_apps_errors(settings, store):
    app = create_app(settings, store=store)
    client = app.test_client()
    from_flask = client.get("/doc/region/%3Cbad%3E")
    from_handler = client.get("/sparql", query_string={"query": "ASK {", "default-graph-uri": "x y"})
    assert from_flask.status_code == from_handler.status_code == 400
    assert set(from_flask.json) == set(from_handler.json) == {"ok", "error", "errors", "status"}
    assert from_flask.mimetype == from_handler.mimetype == "application/json"


def test_a_put_is_told_which_methods_are_allowed(app):
    status, headers, _ = send(app, method="PUT", path="/sparql", data=b"ASK {}")
    assert status == 405 and {m.strip() for m in headers["allow"].split(",")} == {"GET", "HEAD", "POST", "OPTIONS"}


def test_head_has_the_gets_headers_without_a_body(app):
    get = send(app, **query("ASK { ?s ?p ?o }", "get"))
    head = send(app, **{**query("ASK { ?s ?p ?o }", "get"), "method": "HEAD"})
    assert head[0] == get[0] == 200 and head[2] == b"" and get[2]
    assert head[1]["etag"] == get[1]["etag"] and head[1]["content-length"] == str(len(get[2]))


@pytest.mark.parametrize("text", SAVED, ids=[f"saved{n}" for n in range(len(SAVED))])
def test_every_saved_query_text_is_answered(app, text):
    status, _, body = send(app, **query(text, "form", "application/sparql-results+json"))
    assert status == 200 and "results" in json.loads(body) or "boolean" in json.loads(body)


@pytest.mark.parametrize(
    "host, root, path",
    [
        ("example.org", "", "/sparql"),
        ("127.0.0.1:8000", "/kg", "/sparql"),
        ("[::1]:5000", "", "/sparql/"),
        ("example.org:443", "/a%20b", "/sparql"),
    ],
)
def test_relative_iris_resolve_against_the_endpoint_as_requested(app, host, root, path):
    request = query(
        "SELECT ?x WHERE { BIND(<relative/thing> AS ?x) }", "get", "text/csv", host=host, root=root, path=path
    )
    status, _, body = send(app, **request)
    endpoint = EnvironBuilder(**request).get_request().base_url
    assert status == 200 and body.splitlines()[1].decode() == urllib.parse.urljoin(endpoint, "relative/thing")


def test_a_body_streamed_without_a_length_is_read_whole(app):
    environ = EnvironBuilder(**query("ASK { ?s ?p ?o }", "direct")).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    status, _, body = call(app, environ)
    assert status == 200 and json.loads(body)["boolean"] is True


def test_a_body_shorter_than_its_length_is_not_run_cut(app):
    """A client that stops before the Content-Length it declared: the query must not run on a cut text."""
    environ = EnvironBuilder(**query(SELECT, "direct")).get_environ()
    environ["CONTENT_LENGTH"] = str(int(environ["CONTENT_LENGTH"]) + 10)
    status, _, body = call(app, environ)
    assert status == 400 and json.loads(body)["ok"] is False


def test_a_conditional_request_gets_304_without_running_the_query(app, monkeypatch):
    status, headers, _ = send(app, **query(SELECT, "form"))
    assert status == 200
    monkeypatch.setattr(app.extensions["kg"].evaluator, "execute", lambda store, **r: pytest.fail("it ran"))
    monkeypatch.setattr(app.extensions["kg"].cache, "get", lambda key: pytest.fail("it was looked up"))
    again = query(SELECT, "get")
    again["headers"]["If-None-Match"] = headers["etag"]
    status, again_headers, body = send(app, **again)
    assert status == 304 and body == b"" and again_headers["etag"] == headers["etag"]


def test_a_repeated_query_comes_from_the_cache_by_get_or_post(app, monkeypatch):
    text = SELECT + " # repeated"
    first = send(app, **query(text, "get"))
    monkeypatch.setattr(app.extensions["kg"].evaluator, "execute", lambda store, **r: pytest.fail("it ran again"))
    assert send(app, **query(text, "direct")) == first


def test_a_query_that_fails_as_it_runs_is_run_once(app, monkeypatch):
    evaluator = app.extensions["kg"].evaluator
    calls, real = [], evaluator.execute
    monkeypatch.setattr(evaluator, "execute", lambda store, **r: calls.append(r["query"]) or real(store, **r))
    status, _, body = send(app, **query("SELECT ?s WHERE { ?s ?p }", "form"))
    assert status == 400 and b"does not parse" in body and len(calls) == 1


def test_pages_link_to_the_endpoint(settings, store):
    client = create_app(settings, store=store).test_client()
    home = client.get("/").data.decode()
    assert 'href="/sparql"' in home
