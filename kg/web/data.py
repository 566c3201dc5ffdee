"""The graphs as documents: the SPARQL 1.1 Graph Store Protocol and the full dump with its VoID/DCAT
description.

``GET /data?graph=IRI`` gives one named graph, ``GET /data?default`` the default graph (the union of the
named graphs, as at the query endpoint), and ``GET /data`` the whole dataset in TriG or N-Quads. Every
response carries an ETag derived from the build, so an unchanged store answers a repeated request 304.
``PUT``, ``POST`` and ``DELETE`` of ``/data?graph=IRI`` replace, add to and remove a partner graph
(``kg.exchange.imports``); they need the operator's token as ``Authorization: Bearer``. A worker runs one write at a
time and lets one more wait its turn; any other, and one that finds the store's write lock held for seconds
or its data too long to check, gets 503 with Retry-After.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading

from flask import Blueprint, Response, jsonify, request
from rdflib import URIRef

from kg.errors import BadRequest, NotAcceptable, NotFound, ValidationFailed
from kg.exchange.export import dump, export_quads, serialize
from kg.store.rdf_io import RDF_FORMATS
from kg.web.errors import error_body
from kg.web.links import public_url_for
from kg.web.negotiation import MEDIA_TYPE, choose, negotiate, upload_format
from kg.web.state import web_state

data = Blueprint("data", __name__)
#: Formats that carry graph names: the only ones for the whole dataset.
DATASET_TYPES = {"application/trig": "trig", "application/n-quads": "nquads"}


def _kg():
    kg = web_state()
    return kg.settings, kg.store.get()


def _conditional(body: bytes, media_type: str, build_id: str, *parts: str) -> Response:
    """A response with a strong ETag naming the build and what was asked, answered 304 when it matches."""
    response = Response(body, headers={"Content-Type": media_type, "Vary": "Accept"})
    response.set_etag(hashlib.sha256("\n".join((build_id, *parts)).encode()).hexdigest()[:32])
    response.make_conditional(request)  # in place (it returns self, typed as werkzeug's Response)
    return response


def _dataset_format() -> str:
    return negotiate(
        DATASET_TYPES,
        request.accept_mimetypes,
        request.args.get("format"),
        aliases={"nq": "nquads", **DATASET_TYPES},
        unknown="the whole dataset is written as {names}, not {named!r}",
        unacceptable="the whole dataset has named graphs: accept application/trig or application/n-quads, "
        "or ask for one graph with ?graph=IRI or ?default",
    )


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
            raise NotAcceptable(
                "the default graph has no name: ask for a triple format (Turtle, N-Triples, JSON-LD, RDF/XML)"
            )
    else:
        selected, fmt = store.graphs(), _dataset_format()
    body = web_state().documents.get(
        (store.build_id, "data", tuple(selected), fmt, wants_default),
        lambda: serialize(export_quads(store, selected), format=fmt, base_iri=settings.base_iri),
        len,
    )
    return _conditional(body, MEDIA_TYPE[fmt], store.build_id, "data", ",".join(selected), fmt)


def _dump(fmt: str, force: bool, profile: str | None):
    """The dump of the current build in ``fmt`` (narrowed to an export ``profile``, if named), kept per build,
    format, profile and process (within ``dump_cache_bytes``): shared by every client, so its links come
    from the public_url setting or are relative, never from the request's Host."""
    settings, store = _kg()
    made = web_state().documents.get(
        (store.build_id, "dump", fmt, force, profile),
        lambda: dump(
            settings,
            format=fmt,
            force=force,
            profile_id=profile,
            store=store,
            download_url=public_url_for("data.download", format=fmt, **({"profile": profile} if profile else {})),
            endpoint_url=public_url_for("sparql.endpoint"),
        ),
        lambda result: len(result.payload) + len(result.description),
    )
    return store.build_id, made


def _force() -> bool:
    return request.args.get("force", "false").lower() in ("true", "1", "yes")


def _profile() -> str | None:
    """The export profile a request names (``profiles/*.ttl``, as ``kg export --profile``), or None."""
    return request.args.get("profile") or None


@data.get("/dump")
def download():
    """Every graph of the build as one file (TriG by default), only if the build passed validation."""
    fmt, profile = _dataset_format(), _profile()
    build_id, result = _dump(fmt, _force(), profile)
    response = _conditional(result.payload, MEDIA_TYPE[fmt], build_id, "dump", fmt, profile or "")
    named = f"yrd-kg-{build_id}" + (f"-{profile}" if profile else "")
    response.headers["Content-Disposition"] = f'attachment; filename="{named}.{RDF_FORMATS[fmt].file_extension}"'
    description = public_url_for("data.description", format=fmt, **({"profile": profile} if profile else {}))
    response.headers["Link"] = f'<{description}>; rel="describedby"; type="text/turtle"'
    return response


@data.get("/.well-known/void")
@data.get("/dump/description")  # the rule url_for gives: the innermost decorator registers first
def description():
    """The VoID/DCAT description of the dump (size and SHA-256 of the exact bytes /dump sends)."""
    fmt, profile = _dataset_format(), _profile()
    build_id, result = _dump(fmt, _force(), profile)
    return _conditional(result.description, "text/turtle; charset=utf-8", build_id, "description", fmt, profile or "")


# --- writes ------------------------------------------------------------------------------------------------

#: One write at a time in this worker (an import's check runs in a process of its own, which takes a core
#: and that process's memory), and at most one more waiting its turn: any further write gets 503 with
#: Retry-After at once. (Refusing the second at once too made two of three concurrent PUTs, over two
#: workers, fail; a waiting write holds an idle thread, never the GIL, and for a bounded time.)
_WRITING, _ADMITTED = threading.Lock(), threading.BoundedSemaphore(2)


@contextlib.contextmanager
def write_slot(settings):
    from kg.exchange.import_worker import WRITE_WAIT, WriterBusy

    busy = "this server process is already writing to the store; nothing was written: try again in a moment"
    if not _ADMITTED.acquire(blocking=False):
        raise WriterBusy(busy)
    try:
        # the write ahead takes at most its lock wait and its time limit, and then its short publish
        if not _WRITING.acquire(timeout=WRITE_WAIT + settings.import_timeout):
            raise WriterBusy(busy)
        try:
            yield
        finally:
            _WRITING.release()
    finally:
        _ADMITTED.release()


def _token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _target_graph(settings, body: bytes | None = None) -> tuple[str, bool]:
    """The graph a write names; a POST without one gets a new graph named from its content (GSP 5.5)."""
    graphs = request.args.getlist("graph")
    if "default" in request.args:
        raise BadRequest(
            "the default graph is the union of the store's graphs and cannot be written; "
            "name a partner graph with ?graph=IRI"
        )
    if len(graphs) > 1:
        raise BadRequest("name one graph with ?graph=IRI")
    if graphs:
        return graphs[0], False
    if request.method != "POST" or body is None:
        raise BadRequest("name the graph to write with ?graph=IRI")
    return f"{settings.base_iri}graph/partner/{hashlib.sha256(body).hexdigest()[:16]}", True


@data.route("/data", methods=["PUT", "POST"])
def graph_store_write():
    """Replace (PUT) or add to (POST) a partner graph with the RDF document in the body."""
    from kg.exchange.imports import authorize, import_data
    from kg.validation.report_formats import to_json

    settings = web_state().settings
    authorize(settings, _token())  # before anything else: no work for an anonymous client
    input_format = upload_format(request.mimetype)
    body = request.get_data()
    graph, minted = _target_graph(settings, body)
    agent = request.headers.get("From") or "HTTP client with the write token"
    try:
        with write_slot(settings):
            result = import_data(
                settings,
                body,
                format=input_format,
                graph=graph,
                agent=agent,
                source_name="the request body",
                token=_token(),
                append=request.method == "POST",
            )
    except ValidationFailed as failure:
        # the error body of every other failure, with the SHACL report a partner can act on
        report = json.loads(to_json(failure.report, base_iri=settings.base_iri))
        return Response(error_body(422, failure.message, report=report), status=422, mimetype="application/json")
    response = jsonify({"ok": True, "graph": str(result.graph), "triples": result.triples, "build": result.build_id})
    # whether this request made the graph is known only under the write lock (GSP: 201 Created, else 200)
    response.status_code = 201 if result.created else 200
    if minted or result.created:
        response.headers["Location"] = public_url_for("data.graph_store", graph=str(result.graph))
    return response


@data.delete("/data")
def graph_store_delete():
    from kg.exchange.imports import authorize, drop_graph

    settings = web_state().settings
    authorize(settings, _token())
    graph, _ = _target_graph(settings)
    with write_slot(settings):
        drop_graph(settings, graph, token=_token())
    return Response(status=204)
