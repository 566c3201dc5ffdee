"""The fast path for plain queries (kg.web.fast_query) against the Flask route it stands in for.

Every request goes to two apps on the same store: through the fast path of one, and straight to Flask in
the other (its own cache and evaluator, so the reference computes its own answer). Status, headers and
body must be the same; the fast path must answer each plain query itself and leave every other request
to Flask, which must still read the body the fast path read first.
"""

from __future__ import annotations

import dataclasses
import io
import urllib.parse
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder

from kg.web import create_app
from kg.web.fast_query import ANSWERED, QUERY_ERROR

ROOT = Path(__file__).resolve().parent.parent
MAX_ROWS = 5
ASSERTED = "https://w3id.org/yrd-kg/graph/asserted"
PARK = "https://w3id.org/yrd-kg/id/park/jiangyin-jingjiang-industrial-park"

SELECTS = [
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label LIMIT 3",
    # more rows than MAX_ROWS: cut, with X-SPARQL-MaxRows
    "SELECT ?s WHERE { ?s a ?type } ORDER BY ?s",
    # relative IRIs resolve against the endpoint's URL, which differs with the host and the mount point
    "SELECT ?x WHERE { BIND(<relative/thing> AS ?x) }",
    "ASK { ?s ?p ?o }",
    'SELECT ?s WHERE { ?s ?p "江阴-靖江工业园区" }',
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n# a comment\nSELECT (COUNT(*) AS ?n) { ?s rdfs:label ?l }",
]
GRAPHS = [
    f"CONSTRUCT {{ <{PARK}> ?p ?o }} WHERE {{ <{PARK}> ?p ?o }}",
    f"DESCRIBE <{PARK}>",
]
SAVED = sorted(path.read_text(encoding="utf-8") for path in (ROOT / "queries").glob("*.rq"))
SOLUTION_ACCEPTS = [None, "application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                    "text/tab-separated-values", "*/*", "application/json;q=0.5, text/csv",
                    "text/html, application/sparql-results+xml;q=0.9"]
GRAPH_ACCEPTS = [None, "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml",
                 "*/*", "application/trig;q=0.4, text/turtle;q=0.8"]


@pytest.fixture(scope="module")
def apps(settings, store):
    narrow = dataclasses.replace(settings, max_result_rows=MAX_ROWS, memory_copy_limit_mib=0)
    fast = create_app(narrow, store=store)
    reference = create_app(narrow, store=store)
    return fast.wsgi_app, reference.wsgi_app.flask_wsgi


def call(wsgi, environ: dict) -> tuple[str, list, bytes]:
    """Status, sorted headers and body of ``wsgi`` on ``environ`` (this very dict: werkzeug's
    run_wsgi_app would copy it, and hide what the fast path records in it)."""
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=headers)

    chunks = wsgi(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started["status"], sorted((name.lower(), value) for name, value in started["headers"]), body


def plain(query: str, how: str, accept: str | None = None, *, host: str = "localhost", root: str = "",
          path: str = "/sparql") -> dict:
    """EnvironBuilder arguments for a plain query sent ``how`` (get, form or direct)."""
    headers = {} if accept is None else {"Accept": accept}
    request = {"path": path, "headers": headers, "base_url": f"http://{host}{root}"}
    if how == "get":
        return {**request, "method": "GET", "query_string": urllib.parse.urlencode({"query": query})}
    if how == "form":
        return {**request, "method": "POST", "data": urllib.parse.urlencode({"query": query}),
                "content_type": "application/x-www-form-urlencoded"}
    return {**request, "method": "POST", "data": query.encode("utf-8"), "content_type": "application/sparql-query"}


def both(apps, request: dict) -> tuple[tuple, tuple, bool]:
    """(status, headers, body) from the fast path and from the reference, and whether the fast path answered."""
    fast, reference = apps
    environ = EnvironBuilder(**request).get_environ()
    answer = call(fast, environ)
    return answer, call(reference, EnvironBuilder(**request).get_environ()), environ.get(ANSWERED, False)


PLAIN = [(query, accept) for query in SELECTS for accept in SOLUTION_ACCEPTS] + \
        [(query, accept) for query in GRAPHS for accept in GRAPH_ACCEPTS]


@pytest.mark.parametrize("how", ["get", "form", "direct"])
@pytest.mark.parametrize("query, accept", PLAIN)
def test_a_plain_query_is_answered_as_the_route_answers_it(apps, query, accept, how):
    fast, reference, answered = both(apps, plain(query, how, accept))
    assert fast == reference
    assert fast[0] == "200 OK" and answered


@pytest.mark.parametrize("query", SAVED, ids=[f"saved{n}" for n in range(len(SAVED))])
def test_every_saved_query_text_is_answered_as_the_route_answers_it(apps, query):
    fast, reference, answered = both(apps, plain(query, "form", "application/sparql-results+json"))
    assert fast == reference
    assert fast[0] == "200 OK" and answered


@pytest.mark.parametrize("host, root, path", [("example.org", "", "/sparql"), ("127.0.0.1:8000", "/kg", "/sparql"),
                                              ("[::1]:5000", "", "/sparql/"), ("example.org:443", "/a%20b", "/sparql")])
def test_the_base_iri_follows_the_host_and_mount_point_as_in_the_route(apps, host, root, path):
    fast, reference, answered = both(apps, plain(SELECTS[2], "get", "text/csv", host=host, root=root, path=path))
    assert fast == reference and answered
    assert fast[2].splitlines()[1].decode().startswith("http")


def refused(query: str) -> dict:
    return plain(query, "form", "application/sparql-results+json")


FORM = "application/x-www-form-urlencoded"
NOT_PLAIN = {
    # the query fails as it runs: the fast path hands the error over
    "syntax error": refused("SELECT ?s WHERE { ?s ?p }"),
    # refused before it runs
    "SERVICE": refused("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"),
    "FROM a graph not held": refused("SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }"),
    "update in a query": refused("INSERT DATA { <http://a> <http://b> <http://c> }"),
    "no form": refused("PREFIX a: <http://a#>"),
    "unacceptable": plain(SELECTS[0], "form", "text/html"),
    "graph as solutions only": plain(GRAPHS[0], "form", "application/sparql-results+json"),
    # more than a query
    "format parameter": {"method": "POST", "path": "/sparql", "content_type": FORM,
                         "data": urllib.parse.urlencode({"query": SELECTS[0], "format": "csv"})},
    "graph parameter": {"method": "POST", "path": "/sparql", "content_type": FORM,
                        "data": urllib.parse.urlencode({"query": SELECTS[0], "default-graph-uri": ASSERTED})},
    "query twice": {"method": "POST", "path": "/sparql", "content_type": FORM,
                    "data": urllib.parse.urlencode([("query", SELECTS[0]), ("query", SELECTS[3])])},
    "update form": {"method": "POST", "path": "/sparql", "content_type": FORM,
                    "data": urllib.parse.urlencode({"update": "CLEAR ALL"})},
    "query in URL and body": {"method": "POST", "path": "/sparql", "content_type": FORM,
                              "query_string": "query=ASK%7B%7D", "data": urllib.parse.urlencode({"query": SELECTS[0]})},
    "empty query": {"method": "POST", "path": "/sparql", "content_type": FORM, "data": "query=%20"},
    "empty body": {"method": "POST", "path": "/sparql", "content_type": "application/sparql-query", "data": b""},
    "no query": {"method": "GET", "path": "/sparql"},
    # bodies and encodings the route refuses
    "escapes not UTF-8": {"method": "POST", "path": "/sparql", "content_type": FORM, "data": b"query=ASK%7B%7D%FF"},
    "body not UTF-8": {"method": "POST", "path": "/sparql", "content_type": "application/sparql-query",
                       "data": b"ASK { ?s ?p \"\xff\" }"},
    "URL not UTF-8": {"method": "GET", "path": "/sparql", "query_string": "query=ASK%7B%7D%C3"},
    "Latin-1 declared": {"method": "POST", "path": "/sparql", "data": b"ASK {}",
                         "content_type": "application/sparql-query; charset=latin-1"},
    "unknown media type": {"method": "POST", "path": "/sparql", "content_type": "text/plain", "data": b"ASK {}"},
    "SPARQL Update body": {"method": "POST", "path": "/sparql", "content_type": "application/sparql-update",
                           "data": b"CLEAR ALL"},
    "over the size limit": {"method": "POST", "path": "/sparql", "content_type": FORM,
                            "data": "query=" + "%20" * 400_000 + "ASK%7B%7D"},
    # other methods and paths
    "HEAD": {"method": "HEAD", "path": "/sparql", "query_string": "query=ASK%7B%7D"},
    "OPTIONS": {"method": "OPTIONS", "path": "/sparql"},
    "other path": {"method": "GET", "path": "/sparqlx", "query_string": "query=ASK%7B%7D"},
}


@pytest.mark.parametrize("name", list(NOT_PLAIN))
def test_every_other_request_is_left_to_the_route(apps, name):
    fast, reference, answered = both(apps, NOT_PLAIN[name])
    assert fast == reference
    assert not answered


def test_a_body_streamed_without_a_length_is_left_to_the_route(apps):
    answers = []
    for wsgi in apps:
        environ = EnvironBuilder(method="POST", path="/sparql", content_type="application/sparql-query",
                                 data=b"ASK {}").get_environ()
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
        answers.append(call(wsgi, environ))
        assert not environ.get(ANSWERED)
    assert answers[0] == answers[1]
    assert answers[0][0] == "200 OK"


def test_a_body_shorter_than_its_length_is_left_to_the_route(apps):
    """A client that stops before the Content-Length it declared: the query must not run on a cut text."""
    answers = []
    for wsgi in apps:
        environ = EnvironBuilder(**plain(SELECTS[0], "direct")).get_environ()
        environ["CONTENT_LENGTH"] = str(int(environ["CONTENT_LENGTH"]) + 10)
        answers.append(call(wsgi, environ))
        assert not environ.get(ANSWERED)
    assert answers[0] == answers[1]
    assert answers[0][0].startswith("400")


def test_a_conditional_request_gets_304_from_the_route(apps):
    first, _, answered = both(apps, plain(SELECTS[0], "form"))
    etag = dict(first[1])["etag"]
    again = plain(SELECTS[0], "form")
    again["headers"]["If-None-Match"] = etag
    fast, reference, answered_again = both(apps, again)
    assert answered and not answered_again
    assert fast == reference and fast[0] == "304 NOT MODIFIED"


def test_a_query_that_fails_as_it_runs_is_run_once_and_answered_by_the_route(apps, monkeypatch):
    fast, _ = apps
    calls = []
    evaluator = fast.flask_wsgi.__self__.extensions["kg"]["evaluator"]
    real = evaluator.execute

    def counted(store, **request):
        calls.append(request["query"])
        return real(store, **request)

    monkeypatch.setattr(evaluator, "execute", counted)
    environ = EnvironBuilder(**refused("SELECT ?s WHERE { ?s ?p }")).get_environ()
    status, _, body = call(fast, environ)
    assert status == "400 BAD REQUEST" and b"does not parse" in body
    assert len(calls) == 1 and QUERY_ERROR in environ


def test_a_repeated_plain_query_comes_from_the_cache(apps, monkeypatch):
    fast, _ = apps
    query = SELECTS[0] + " # repeated"
    first, _, _ = both(apps, plain(query, "get"))
    evaluator = fast.flask_wsgi.__self__.extensions["kg"]["evaluator"]
    monkeypatch.setattr(evaluator, "execute", lambda store, **request: pytest.fail("the query ran again"))
    again, _, answered = both(apps, plain(query, "direct"))
    assert answered and again == first  # the same answer and ETag, by GET or POST


class _BrokenBody(io.BytesIO):
    """A request body whose client hangs up after the first bytes (what gunicorn's reader then raises)."""

    def read(self, size=-1):
        raise ConnectionResetError(104, "Connection reset by peer")


def test_a_client_gone_mid_body_gets_the_routes_answer_for_a_cut_body(apps):
    """The fast path must not let a reading error reach the server (which logs it as a crash)."""
    fast, reference = apps
    environ = EnvironBuilder(**plain(SELECTS[0], "direct")).get_environ()
    environ["wsgi.input"] = _BrokenBody()
    answer = call(fast, environ)
    assert not environ.get(ANSWERED)
    cut = EnvironBuilder(**plain(SELECTS[0], "direct")).get_environ()
    cut["wsgi.input"] = io.BytesIO(b"")
    assert answer == call(reference, cut)
    assert answer[0].startswith("400")
