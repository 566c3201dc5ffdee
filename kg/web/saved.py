"""Saved queries over HTTP: the catalogue, running one by name, its source, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from kg import __version__
from kg.serving.saved_queries import find, load_queries
from kg.web.answers import answer
from kg.web.changes import OPENAPI as CHANGES_OPENAPI
from kg.web.links import public
from kg.web.negotiation import ALIASES, MEDIA_TYPE, choose
from kg.web.search import OPENAPI as SEARCH_OPENAPI
from kg.web.state import web_state

saved = Blueprint("saved", __name__)
#: URL suffixes that force a result format, overriding Accept
SUFFIXES = {
    "json": "json",
    "xml": "xml",
    "csv": "csv",
    "tsv": "tsv",
    "ttl": "turtle",
    "nt": "ntriples",
    "jsonld": "jsonld",
    "rdf": "rdfxml",
    "trig": "trig",
    "nq": "nquads",
}


def saved_queries():
    kg = web_state()
    if kg.queries is None:  # read once per process; the folder is part of the deployment
        kg.queries = load_queries(kg.settings.path("queries_dir"))
    return kg.queries


def _describe(query) -> dict:
    return {
        "id": query.id,
        "summary": query.summary,
        "description": query.description,
        "tags": list(query.tags),
        "form": query.form,
        "url": f"{request.script_root}/queries/{query.id}",
        "parameters": [
            {
                "name": p.name,
                "type": p.kind,
                "description": p.describe(),
                "required": p.required,
                "default": p.default,
                "enum": list(p.enumeration) or None,
            }
            for p in query.parameters
        ],
    }


@saved.get("/queries")
def catalogue():
    return jsonify({"queries": [_describe(q) for q in saved_queries().values()]})


@saved.get("/queries/<name>")
def run(name: str):
    query_id, _, suffix = name.partition(".")
    query = find(saved_queries(), query_id)
    if suffix == "rq":
        return Response(query.text, mimetype="application/sparql-query")
    kind = "solutions" if query.form in ("select", "ask") else "graph"
    if suffix:
        forced = SUFFIXES.get(suffix)
        forced = forced if forced in set(ALIASES[kind].values()) else None
        if forced is None:
            from kg.errors import BadRequest

            raise BadRequest(f"no result format .{suffix} for this query")
        result_format = forced
    else:
        result_format = choose(kind, request.accept_mimetypes, request.args.get("format"))
    values = {k: v for k, v in request.args.items() if k != "format"}
    bindings = query.bindings(values)
    return answer(result_format, query=query.text, bindings=bindings)


@saved.get("/openapi.json")
def openapi():
    """OpenAPI 3 for the saved queries, generated from their #+ headers."""
    paths = {}
    for query in saved_queries().values():
        kind = "solutions" if query.form in ("select", "ask") else "graph"
        media = sorted({MEDIA_TYPE[f].split(";")[0] for f in set(ALIASES[kind].values())})
        paths[f"/queries/{query.id}"] = {
            "get": {
                "operationId": query.id,
                "summary": query.summary,
                "description": query.description,
                "tags": list(query.tags),
                "parameters": [
                    {
                        "name": p.name,
                        "in": "query",
                        "required": p.required and p.default is None,
                        "description": p.describe(),
                        "schema": {
                            "type": "string",
                            **({"default": p.default} if p.default else {}),
                            **({"enum": list(p.enumeration)} if p.enumeration else {}),
                            **({"format": "uri"} if p.kind == "iri" else {}),
                        },
                    }
                    for p in query.parameters
                ],
                "responses": {
                    "200": {
                        "description": "The query's result.",
                        "content": {m: {"schema": {"type": "string"}} for m in media},
                    },
                    "400": {"description": "A parameter is unknown, missing or not of its type."},
                    "404": {"description": "No such saved query."},
                    "406": {"description": "No acceptable result format."},
                },
            }
        }
    paths["/search"] = SEARCH_OPENAPI
    paths["/changes"] = CHANGES_OPENAPI
    paths["/queries"] = {
        "get": {
            "operationId": "catalogue",
            "summary": "Every saved query with its parameters",
            "responses": {"200": {"description": "The catalogue (JSON)."}},
        }
    }
    return jsonify(
        {
            "openapi": "3.0.3",
            "info": {"title": "YRD knowledge graph saved queries, search and changes", "version": __version__},
            # a relative server URL is relative to this document: never the client's Host header
            "servers": [{"url": public(request.script_root) or "/"}],
            "paths": paths,
        }
    )
