"""The SPARQL 1.1 Protocol endpoint (query only) and its Service Description."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from kg import __version__
from kg.errors import BadRequest, Forbidden, QuerySyntaxError, UnsupportedFormat
from kg.query_policy import check_query
from kg.sparql_text import query_form
from kg.web import answer, protocol_request
from kg.web.fast_query import QUERY_ERROR
from kg.web.links import absolute_iri, public
from kg.web.negotiation import choose

sparql = Blueprint("sparql", __name__)
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")


def _context():
    kg = current_app.extensions["kg"]
    return kg["settings"], kg["store"].get()


def _single(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise BadRequest(f"the {name} parameter is given {len(values)} times; give it once")
    return values[0] if values else None


def _read_request() -> tuple[str | None, list[str], list[str]]:
    """The query text and the protocol's default-graph-uri and named-graph-uri values."""
    if request.method in ("GET", "HEAD"):  # HEAD: the GET answer's headers, without its body
        if "update" in request.args:
            raise BadRequest("SPARQL Update is not accepted by GET")
        return (_single(request.args.getlist("query"), "query"), request.args.getlist("default-graph-uri"),
                request.args.getlist("named-graph-uri"))
    media_type = request.mimetype
    if media_type == "application/x-www-form-urlencoded":
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
    if charset not in ("utf-8", "utf8"):
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
    raise UnsupportedFormat(f"unsupported request media type {media_type or '(none)'!r}; send "
                            "application/x-www-form-urlencoded or application/sparql-query")


@sparql.route("/sparql", methods=["GET", "POST", "OPTIONS"])
@sparql.route("/sparql/", methods=["GET", "POST", "OPTIONS"])
def endpoint():
    if request.method == "OPTIONS":
        return Response(status=204)
    error = request.environ.get(QUERY_ERROR)
    if error is not None:  # the fast path ran this query, and it failed: answered here like every error
        raise error
    settings, store = _context()
    query, default_graphs, named_graphs = _read_request()
    for name, values in (("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)):
        for value in values:
            absolute_iri(value, name)
    if query is None:
        return _service_description(settings, store)
    held = {str(g) for g in store.graphs()}
    check_query(query, bool(default_graphs or named_graphs), held, settings)
    form = query_form(query)
    if form is None:
        answer("json", store=store, query=query)  # raises the parser's message
        raise QuerySyntaxError("not a SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
    kind = "solutions" if form in ("select", "ask") else "graph"
    result_format = choose(kind, request.accept_mimetypes, request.values.get("format"))
    # relative IRIs in a query resolve against the endpoint, as the protocol suggests
    return answer(result_format, store=store,
                  **protocol_request(query, default_graphs, named_graphs, request.base_url))


def _service_description(settings, store) -> Response:
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS)
    # shared content: the public_url setting or a reference relative to this document, never the Host header
    service = URIRef(public(request.script_root + request.path))
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads"):
        graph.add((service, SD.resultFormat, FORMATS[fmt]))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for number, iri in enumerate(store.graphs()):
        named = BNode(f"graph{number}")
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, SD.name, iri))
    comment = (f"YRD knowledge graph {__version__}, build {store.build_id}. Read-only: SPARQL Update is refused. "
               "The default graph is the union of the named graphs. SERVICE is refused unless allow-listed; "
               "FROM selects graphs held in the store and is refused for any other; the graph parameters "
               "replace the query's dataset, and a graph the store lacks is empty. Nothing is ever fetched. "
               f"Request bodies are limited to {settings.max_body_bytes} bytes; a query running longer than "
               f"{settings.query_timeout} s is stopped and answered with 503. Results are cut after "
               f"{settings.max_result_rows} rows (solutions or triples), and a cut result carries the header "
               "X-SPARQL-MaxRows.")
    graph.add((service, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"), Literal(comment, lang="en")))
    graph.add((service, URIRef("http://purl.org/dc/terms/modified"), Literal(store.build_id)))
    return Response(graph.serialize(format="turtle"), mimetype="text/turtle")
