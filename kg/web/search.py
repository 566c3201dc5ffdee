"""``GET /search?q=``: entities found by name, in the published version's search index.

Browsers get a page of hits (each with its kind and where it lies, linked to its page); other clients
get JSON. The index is published with its version (``kg.store.search_index``), so a search needs no query
on the store: each costs a few bounded index look-ups, and it runs on the request's thread. Served from a
remote store, the search reads the index of the local version (the one ``kg push`` sent).
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path

from flask import Blueprint, jsonify, render_template, request

from kg.errors import InputError, Unavailable
from kg.store.search import MAX_QUERY_CHARS, SearchIndex
from kg.store.search_index import INDEX
from kg.web.errors import prefers_html
from kg.web.links import href
from kg.web.state import web_state

search = Blueprint("search", __name__)

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
_OPENED: dict[Path, SearchIndex] = {}  # the index of the version served lately (one or two at a time)
_OPENING = threading.Lock()


def _index() -> tuple[str, SearchIndex]:
    """The build id and search index of the version served."""
    kg = web_state()
    store = kg.store.get()
    if getattr(store, "remote", False):  # the index published with the same build here, if there is one
        version = (kg.settings.path("store_dir") / "current").resolve()
        if version.name != store.build_id:
            raise Unavailable(
                f"search reads the index published with a build, and the remote store's build {store.build_id} "
                "was not published here: publish it here too (kg build), or search the embedded store's server"
            )
    else:
        version = Path(store.path)
    path = version.parent / f"{version.name}.{INDEX}"
    with _OPENING:
        index = _OPENED.get(path)
        if index is None:
            try:
                index = SearchIndex(path)
            except (OSError, ValueError):
                raise Unavailable(
                    f"version {version.name} has no search index (published by an older kg, or not built "
                    "here): run 'kg build' again to make one"
                ) from None
            _OPENED.clear()
            _OPENED[path] = index
    return version.name, index


def _limit() -> int:
    text = request.args.get("limit", str(DEFAULT_LIMIT))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InputError(f"limit is a whole number from 1 to {MAX_LIMIT}; got {text!r}")
    return int(text)


@search.get("/search")
def find():
    text = request.args.get("q", "")
    html = request.args.get("format") != "json" and (
        request.args.get("format") == "html" or prefers_html(request.accept_mimetypes)
    )
    if html and not text.strip():
        return render_template("pages/search.html", title="Search", q="", hits=[], more=False, build=None)
    build, index = _index()
    found = index.search(text, _limit())
    if html:
        return render_template(
            "pages/search.html",
            title=f"Search: {text}",
            q=text,
            hits=found.hits,
            more=found.more,
            build=build,
        )
    hits = [{**asdict(hit), "page": href(hit.iri)} for hit in found.hits]
    response = jsonify({"query": text, "build": build, "hits": hits, "more": found.more})
    response.headers["Cache-Control"] = "no-cache"  # revalidated: the version may change
    response.headers["Vary"] = "Accept"
    return response


OPENAPI = {
    "get": {
        "operationId": "search",
        "summary": "Entities found by name",
        "description": (
            "Labels and alternative names in English and Chinese, short forms included; case, hyphens and "
            "spaces are ignored, and a generic last word (City, District, 市...) is optional. Ranked: exact "
            "names, then names that start with the query, then those with a word that does, then any that "
            "contain it. Each hit says what kind of thing it is and where it lies."
        ),
        "tags": ["search"],
        "parameters": [
            {
                "name": "q",
                "in": "query",
                "required": True,
                "description": f"What to look for (at most {MAX_QUERY_CHARS} characters).",
                "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "How many hits at most.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
            {
                "name": "format",
                "in": "query",
                "required": False,
                "description": "json or html; otherwise chosen by Accept (HTML for browsers).",
                "schema": {"type": "string", "enum": ["json", "html"]},
            },
        ],
        "responses": {
            "200": {
                "description": "The hits, best first; `more` says whether a longer query may find others.",
                "content": {"application/json": {"schema": {"type": "object"}}, "text/html": {}},
            },
            "400": {"description": "The query is empty, too long, or the limit is out of range."},
            "503": {"description": "The version served has no search index."},
        },
    }
}
