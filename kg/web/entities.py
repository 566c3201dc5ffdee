"""Dereferenceable identifiers: every IRI the graph mints under ``BASE/id/`` resolves here.

Following the Linked Data convention for slash IRIs, ``GET /id/{kind}/{slug}`` answers 303 See Other to
a document about the thing, chosen by Accept: the HTML page ``/doc/{kind}/{slug}``, or its description
as Turtle, JSON-LD, N-Triples or RDF/XML (``/doc/{kind}/{slug}.ttl`` and so on). An IRI the graph holds
nothing about is 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for
from rdflib import URIRef

from kg.exchange.export import serialize
from kg.web.browse import entity_triples
from kg.web.links import entity_iri
from kg.web.page_store import page_store

entities = Blueprint("entities", __name__)
#: Accept media type -> (document extension, export format); HTML first, the default for */*.
DOCUMENTS = {
    "text/html": ("html", None),
    "application/xhtml+xml": ("html", None),
    "text/turtle": ("ttl", "turtle"),
    "application/ld+json": ("jsonld", "jsonld"),
    "application/n-triples": ("nt", "ntriples"),
    "application/rdf+xml": ("rdf", "rdfxml"),
}
FORMATS = {extension: (fmt, media) for media, (extension, fmt) in DOCUMENTS.items() if fmt}


def _kg():
    return page_store()


@entities.get("/id/<path:rest>")
def identifier(rest: str):
    _, store = _kg()
    iri = entity_iri(rest)  # 400 when the path makes no IRI
    if not _held(store, iri):
        abort(404, description=f"the graph holds nothing about <{iri}>")
    best = (
        request.accept_mimetypes.best_match(list(DOCUMENTS), default="text/html")
        if request.accept_mimetypes
        else "text/html"
    )
    extension = DOCUMENTS[best][0]
    target = url_for("pages.document", rest=rest if extension == "html" else f"{rest}.{extension}")
    response = redirect(target, code=303)
    response.headers["Vary"] = "Accept"
    return response


def _held(store, iri: URIRef) -> bool:
    return bool(
        store.select("SELECT ?p WHERE { GRAPH ?g { ?entity ?p ?o } } LIMIT 1", bindings={"entity": iri}, union=False)
    )


def rdf_document(rest: str, extension: str) -> Response:
    """The entity's triples (and the links to it) in the format the extension names."""
    settings, store = _kg()
    iri = entity_iri(rest)  # 400 when the path makes no IRI
    quads = entity_triples(store, iri, settings.base_iri)
    if not quads:
        abort(404, description=f"the graph holds nothing about <{iri}>")
    fmt, media = FORMATS[extension]
    body = serialize(quads, format=fmt, base_iri=settings.base_iri)
    return Response(body, headers={"Content-Type": media, "Link": f'<{iri}>; rel="about"'})
