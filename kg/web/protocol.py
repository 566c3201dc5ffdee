"""The SPARQL 1.1 Protocol (query only), as one plain WSGI handler mounted beside the Flask app.

Every request to ``/sparql`` or ``/sparql/``, whatever its method, form or outcome, is answered here and
nowhere else: the query by GET, by POST as a form or as ``application/sparql-query``, the graph
parameters, ``format``, If-None-Match and 304, HEAD, OPTIONS, the Service Description, and every error
(through ``kg.web.errors.error_response``, as the Flask app's). It needs no Flask context: the endpoint's
common request is a short query, and Flask's request and app contexts, routing and hooks cost more than
evaluating one (docs/PERFORMANCE.md). Pages and the other routes stay in Flask, which builds links to the
endpoint from a build-only URL rule named ``sparql.endpoint``.
"""

from __future__ import annotations

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from kg.errors import BadRequest, Forbidden, QuerySyntaxError, UnsupportedFormat
from kg.serving.query_policy import check_query
from kg.sparql_text import query_form
from kg.web.answers import CROSS_ORIGIN_HEADERS, answer_for, protocol_request, run_on
from kg.web.errors import error_response, prefers_html
from kg.web.guards import refuse_invalid_utf8, refuse_streamed_body_over_the_limit
from kg.web.links import absolute_iri, public_address
from kg.web.negotiation import choose
from kg.web.service_description import service_description
from kg.web.state import WebState

#: The endpoint's path (Flask's ``sparql.endpoint`` URL rule builds it); it answers with a slash too.
ENDPOINT_PATH = "/sparql"
PATHS = frozenset((ENDPOINT_PATH, ENDPOINT_PATH + "/"))
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
FORM = "application/x-www-form-urlencoded"
UTF8 = ("utf-8", "utf8")


class ProtocolMount:
    """WSGI: requests to the endpoint's ``PATHS`` go to ``protocol``, every other request to ``app``."""

    def __init__(self, protocol, app):
        self.protocol, self.app = protocol, app

    def __call__(self, environ, start_response):
        handler = self.protocol if environ.get("PATH_INFO") in PATHS else self.app
        return handler(environ, start_response)


class SparqlProtocol:
    """The endpoint. ``kg`` is the app's extension (settings, store holder, evaluator, cache)."""

    def __init__(self, kg: WebState, max_body_bytes: int):
        self.kg = kg
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        try:
            response = self.respond(request)
        except Exception as error:  # noqa: BLE001 - every error is answered as JSON (a fault is logged: 500)
            # a browser following a link gets a page; clients of the protocol get JSON
            root = request.script_root if request.method == "GET" and prefers_html(request.accept_mimetypes) else None
            response = error_response(error, self.max_body_bytes, root)
        for name, value in CROSS_ORIGIN_HEADERS:
            response.headers[name] = value
        return response(environ, start_response)  # werkzeug sends no body for HEAD

    def respond(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status=204)
        if request.method not in METHODS:
            raise MethodNotAllowed(valid_methods=list(METHODS))
        refuse_streamed_body_over_the_limit(request, self.max_body_bytes)
        refuse_invalid_utf8(request)
        settings, store = self.kg.settings, self.kg.store.get()
        query, default_graphs, named_graphs = read_protocol_request(request)
        for name, values in (("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)):
            for value in values:
                absolute_iri(value, name)
        if query is None:
            if request.method == "GET" and prefers_html(request.accept_mimetypes):
                return redirect(request.script_root + "/query", code=303)  # a person: the query editor
            # shared content: the public_url setting or a reference relative to this document, never the Host
            endpoint = public_address(settings.public_url, request.script_root, request.script_root + request.path)
            return Response(service_description(endpoint, settings, store), mimetype="text/turtle")
        check_query(query, bool(default_graphs or named_graphs), {str(g) for g in store.graphs()}, settings)
        form = query_form(query)
        if form is None:
            run_on(self.kg, "json", store, {"query": query})  # raises the parser's message
            raise QuerySyntaxError("not a SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
        kind = "solutions" if form in ("select", "ask") else "graph"
        result_format = choose(kind, request.accept_mimetypes, request.values.get("format"))
        # relative IRIs in a query resolve against the endpoint, as the protocol suggests
        asked = protocol_request(query, default_graphs, named_graphs, request.base_url)
        return answer_for(self.kg, store, result_format, asked, request.if_none_match)


def _single(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise BadRequest(f"the {name} parameter is given {len(values)} times; give it once")
    return values[0] if values else None


def read_protocol_request(request: Request) -> tuple[str | None, list[str], list[str]]:
    """The query text (None: no query, the Service Description is asked for) and the protocol's
    default-graph-uri and named-graph-uri values, from any of the protocol's three request forms."""
    if request.method in ("GET", "HEAD"):  # HEAD: the GET answer's headers, without its body
        if "update" in request.args:
            raise BadRequest("SPARQL Update is not accepted by GET")
        return (
            _single(request.args.getlist("query"), "query"),
            request.args.getlist("default-graph-uri"),
            request.args.getlist("named-graph-uri"),
        )
    media_type = request.mimetype
    if media_type == FORM:
        form = request.form
        if "update" in form:
            raise Forbidden("this endpoint is read-only: SPARQL Update is not accepted")
        if "query" in request.args:
            raise BadRequest("the query is given both in the URL and in the body; give it once")
        query = _single(form.getlist("query"), "query")
        if query is None:
            raise BadRequest("a POST form needs a query parameter")
        return query, form.getlist("default-graph-uri"), form.getlist("named-graph-uri")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in UTF8:
        raise UnsupportedFormat(f"the request body is declared as {charset}; SPARQL requests are UTF-8")
    if media_type == "application/sparql-query":
        if "query" in request.args:
            raise BadRequest("the query is given both in the URL and in the body; give it once")
        try:
            query = request.get_data().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"the query is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        if not query.strip():
            raise BadRequest("the request body holds no query")
        return query, request.args.getlist("default-graph-uri"), request.args.getlist("named-graph-uri")
    if media_type == "application/sparql-update":
        raise Forbidden("this endpoint is read-only: SPARQL Update is not accepted")
    raise UnsupportedFormat(
        f"unsupported request media type {media_type or '(none)'!r}; send "
        "application/x-www-form-urlencoded or application/sparql-query"
    )
