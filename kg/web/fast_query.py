"""The SPARQL endpoint's common request, answered below Flask.

Measured at 1M triples, in one process, on the light ad hoc queries of ``bench/http.py`` (86% of them):
a query took 0.5 ms of CPU to evaluate and 1.8 ms through the Flask route, whose request and app
contexts, routing, hooks, form and header objects made up most of the difference; the Oxigraph server
answered such a query in 1.1 ms over HTTP, where ``kg serve`` took 3.5.

So a plain query (by GET, or by POST as a form or as ``application/sparql-query``, with nothing else:
no graph parameters, no ``format``, no If-None-Match) is answered here, through the same policy checks,
negotiation, cache, evaluator and headers as the route. Every other request goes on to Flask with its
body, and so does every request that would end in an error: one that fails before the query runs is
left to the route whole, and a query that fails as it runs is handed over with its error, which the
route raises (``QUERY_ERROR``), so that errors keep one source and the query never runs twice. The
route is the reference: ``tests/test_fast_query.py`` compares both on the same requests.
"""

from __future__ import annotations

import io
from functools import lru_cache
from urllib.parse import parse_qsl

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header
from werkzeug.wrappers import Request

from kg.query_policy import check_query
from kg.sparql_text import query_form
from kg.web import CROSS_ORIGIN_HEADERS, answer_headers, answer_key, cached_answer, protocol_request
from kg.web.negotiation import choose

#: The environ key under which a query's error reaches the Flask route.
QUERY_ERROR = "kg.query_error"
#: The environ key that says the fast path answered (the tests read it).
ANSWERED = "kg.fast_path"

PATHS = ("/sparql", "/sparql/")
FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
UTF8 = ("utf-8", "utf8")


class Declined(Exception):
    """The request is not the plain query the fast path answers; Flask takes it."""


@lru_cache(maxsize=64)
def _base_url(scheme: str, host: str | None, server_name: str | None, server_port: str | None,
              script_name: str, path_info: str) -> str:
    """Werkzeug's ``base_url`` for a request with these parts: the IRI that relative IRIs in a query
    resolve against, as in the route."""
    environ = {"wsgi.url_scheme": scheme, "SCRIPT_NAME": script_name, "PATH_INFO": path_info, "REQUEST_METHOD": "GET"}
    for key, value in (("SERVER_NAME", server_name), ("SERVER_PORT", server_port), ("HTTP_HOST", host)):
        if value is not None:
            environ[key] = value
    return Request(environ).base_url


def _only_query(text: str) -> str:
    """The query of a form or URL query string that holds a query and nothing else."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:  # the route answers 400 for escapes that are not UTF-8
        raise Declined() from None
    if len(pairs) != 1 or pairs[0][0] != "query" or not pairs[0][1].strip():
        raise Declined()
    return pairs[0][1]


class QueryFastPath:
    """WSGI middleware in front of the Flask app (``app.wsgi_app``) that answers plain queries itself."""

    def __init__(self, app, flask_wsgi):
        self.flask_wsgi = flask_wsgi
        self._kg = app.extensions["kg"]
        self._max_body = app.config["MAX_CONTENT_LENGTH"]

    def __call__(self, environ, start_response):
        try:
            query = self._plain_query(environ)
            store = self._kg["store"].get()
            request = _request(query, environ)
            result_format, key = self._negotiated(environ, request, store)
        except Declined:
            return self.flask_wsgi(environ, start_response)
        try:
            result = cached_answer(self._kg, key, result_format, store, request)
        except Exception as error:  # noqa: BLE001 - every error is answered by the route's handlers
            environ[QUERY_ERROR] = error
            return self.flask_wsgi(environ, start_response)
        environ[ANSWERED] = True
        headers = answer_headers(self._kg, key, result_format, result)
        headers.append(("Content-Length", str(len(result.body))))
        headers.extend(CROSS_ORIGIN_HEADERS)
        start_response("200 OK", headers)
        return [result.body]

    def _plain_query(self, environ) -> str:
        """The query text of a plain query request, or Declined (after which Flask can still read the body)."""
        if environ.get("PATH_INFO") not in PATHS or "HTTP_IF_NONE_MATCH" in environ:
            raise Declined()
        method = environ.get("REQUEST_METHOD")
        query_string = environ.get("QUERY_STRING", "")
        if method == "GET":
            try:  # WSGI gives the query string as bytes read as Latin-1
                return _only_query(query_string.encode("latin-1").decode("utf-8"))
            except UnicodeError:
                raise Declined() from None
        if method != "POST" or query_string:
            raise Declined()
        media_type, options = parse_options_header(environ.get("CONTENT_TYPE"))
        if media_type not in (FORM, SPARQL_QUERY) or any(name != "charset" for name in options) \
                or options.get("charset", "utf-8").lower() not in UTF8:
            raise Declined()
        declared = environ.get("CONTENT_LENGTH", "")
        # without a length (a chunked body) or over the limit, Flask's guards answer
        if not declared.isdigit() or int(declared) > self._max_body:
            raise Declined()
        length = int(declared)
        try:
            body = environ["wsgi.input"].read(length)
        except OSError:  # the client went away mid-body: the route answers as for a cut body (400), not the server
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)  # so that Flask reads the same body if it takes the request
        if len(body) < length:  # the client stopped short: the route answers for the cut body
            raise Declined()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Declined() from None
        if media_type == SPARQL_QUERY:
            if not text.strip():
                raise Declined()
            return text
        return _only_query(text)

    def _negotiated(self, environ, request: dict, store) -> tuple[str, str]:
        """The answer's format and cache key, or Declined when the route would refuse the query or the format."""
        if getattr(store, "remote", False):
            raise Declined()
        query = request["query"]
        try:
            check_query(query, False, {str(g) for g in store.graphs()}, self._kg["settings"])
            form = query_form(query)
            if form is None:
                raise Declined()
            kind = "solutions" if form in ("select", "ask") else "graph"
            result_format = choose(kind, parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept), None)
        except Exception:  # noqa: BLE001 - the route finds the same fault and answers it
            raise Declined() from None
        key = answer_key(store, result_format, request)
        if key is None:
            raise Declined()
        return result_format, key


def _request(query: str, environ) -> dict:
    """What the route passes to ``answer`` for a plain query (the cache key is made of it)."""
    base_iri = _base_url(environ["wsgi.url_scheme"], environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
                         environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
    return protocol_request(query, None, None, base_iri)
