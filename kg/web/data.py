"""The graphs as documents: the SPARQL 1.1 Graph Store Protocol (reading) and the full dump with its
VoID/DCAT description.

``GET /data?graph=IRI`` gives one named graph, ``GET /data?default`` the default graph (the union of the
named graphs, as at the query endpoint), and ``GET /data`` the whole dataset in TriG or N-Quads. Every
response carries an ETag derived from the build, so an unchanged store answers a repeated request 304.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request, url_for
from rdflib import URIRef

from kg.errors import BadRequest, NotAcceptable, NotFound
from kg.export import dump, serialize
from kg.web.negotiation import MEDIA_TYPE, choose

data = Blueprint("data", __name__)
#: Formats that carry graph names: the only ones for the whole dataset.
DATASET_TYPES = {"application/trig": "trig", "application/n-quads": "nquads"}
EXTENSIONS = {"turtle": "ttl", "ntriples": "nt", "jsonld": "jsonld", "rdfxml": "rdf", "trig": "trig", "nquads": "nq"}


def _kg():
    kg = current_app.extensions["kg"]
    return kg["settings"], kg["store"].get()


def _conditional(body: bytes, media_type: str, build_id: str, *parts: str) -> Response:
    """A response with a strong ETag naming the build and what was asked, answered 304 when it matches."""
    response = Response(body, headers={"Content-Type": media_type, "Vary": "Accept"})
    response.set_etag(hashlib.sha256("\n".join((build_id, *parts)).encode()).hexdigest()[:32])
    return response.make_conditional(request)


def _dataset_format() -> str:
    named = request.args.get("format")
    if named:
        wanted = {"trig": "trig", "nquads": "nquads", "nq": "nquads", **DATASET_TYPES}.get(named.lower())
        if wanted is None:
            raise BadRequest(f"the whole dataset is written as trig or nquads, not {named!r}")
        return wanted
    if not request.accept_mimetypes:
        return "trig"
    best = request.accept_mimetypes.best_match(list(DATASET_TYPES), default=None)
    if best is None:
        raise NotAcceptable("the whole dataset has named graphs: accept application/trig or application/n-quads, "
                            "or ask for one graph with ?graph=IRI or ?default")
    return DATASET_TYPES[best]


@data.get("/data")
def graph_store():
    """SPARQL 1.1 Graph Store Protocol, GET (HEAD comes with it)."""
    settings, store = _kg()
    graph_param = request.args.getlist("graph")
    wants_default = "default" in request.args
    if len(graph_param) > 1 or (graph_param and wants_default):
        raise BadRequest("name one graph: either ?graph=IRI or ?default")
    if graph_param:
        graph = URIRef(graph_param[0])
        if graph not in store.graphs():
            raise NotFound(f"the store holds no graph <{graph}>")
        selected, fmt = [graph], choose("graph", request.accept_mimetypes, request.args.get("format"))
    elif wants_default:
        selected, fmt = store.graphs(), choose("graph", request.accept_mimetypes, request.args.get("format"))
        if fmt in DATASET_TYPES.values():
            raise NotAcceptable("the default graph has no name: ask for a triple format (Turtle, N-Triples, "
                                "JSON-LD, RDF/XML)")
    else:
        selected, fmt = store.graphs(), _dataset_format()
    body = serialize(list(store.quads(selected)), format=fmt, base_iri=settings.base_iri)
    return _conditional(body, MEDIA_TYPE[fmt], store.build_id, "data", ",".join(selected), fmt)


def _dump(fmt: str, force: bool):
    """The dump of the current build in ``fmt``, made once per build and process."""
    settings, store = _kg()
    cache = current_app.extensions["kg"].setdefault("dumps", {})
    key = (store.build_id, fmt, force)
    if key not in cache:
        cache.clear()  # only the current build's dumps are worth keeping
        cache[key] = dump(settings, format=fmt, force=force, store=store,
                          download_url=url_for("data.download", format=fmt, _external=True),
                          endpoint_url=url_for("sparql.endpoint", _external=True))
    return store.build_id, cache[key]


def _force() -> bool:
    return request.args.get("force", "false").lower() in ("true", "1", "yes")


@data.get("/dump")
def download():
    """Every graph of the build as one file (TriG by default), only if the build passed validation."""
    fmt = _dataset_format()
    build_id, result = _dump(fmt, _force())
    response = _conditional(result.payload, MEDIA_TYPE[fmt], build_id, "dump", fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="yrd-kg-{build_id}.{EXTENSIONS[fmt]}"'
    description = url_for("data.description", format=fmt, _external=True)
    response.headers["Link"] = f'<{description}>; rel="describedby"; type="text/turtle"'
    return response


@data.get("/.well-known/void")
@data.get("/dump/description")  # the rule url_for gives: the innermost decorator registers first
def description():
    """The VoID/DCAT description of the dump (size and SHA-256 of the exact bytes /dump sends)."""
    fmt = _dataset_format()
    build_id, result = _dump(fmt, _force())
    return _conditional(result.description, "text/turtle; charset=utf-8", build_id, "description", fmt)

