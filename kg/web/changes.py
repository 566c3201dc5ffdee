"""``GET /changes``: what changed between a kept store version and the current one, for partners who keep a
copy and want the difference rather than the whole dump.

Without ``since``: the versions kept (``keep_versions``), newest first, with when each was published and
which is current. With ``since=BUILD``: the change from that version to the current one, by Accept or
``format``: a SPARQL Update (``application/sparql-update``, the default), the added and removed quads as
``+``/``-`` N-Quads lines (``text/plain``), or a summary by entity (``text/markdown``), as ``kg diff`` writes
them (``kg.exchange.diff``: blank-node structures compared by their canonical form). A version no longer
kept is 410 Gone, with the versions that are. The change is made under the endpoint's time and memory
limits, once per pair of versions and format in this worker.
"""

from __future__ import annotations

import datetime
import re

from flask import Blueprint, Response, jsonify, request

from kg.errors import BadRequest, Gone, Unavailable
from kg.exchange.diff import as_nquads, as_sparql_update, diff, labels_from, load_side, published_versions, summary
from kg.web.negotiation import negotiate
from kg.web.state import web_state

changes = Blueprint("changes", __name__)
BUILD_ID = re.compile(r"[0-9a-f]{16}")
#: Accept media type -> the form of the change
FORMS = {"application/sparql-update": "update", "text/plain": "nquads", "text/markdown": "summary"}


def _kept(store_dir) -> list[dict]:
    versions = store_dir / "versions"
    current = (store_dir / "current").resolve().name if (store_dir / "current").exists() else None
    listed = []
    for build in published_versions(store_dir):
        stamp = datetime.datetime.fromtimestamp((versions / build).stat().st_mtime, datetime.UTC)
        listed.append({"build": build, "published": stamp.isoformat(timespec="seconds"), "current": build == current})
    return listed


@changes.get("/changes")
def changes_since():
    kg = web_state()
    settings, store = kg.settings, kg.store.get()
    if getattr(store, "path", None) is None:
        raise Unavailable("changes are read from the embedded store's versions; this server serves a remote store")
    store_dir = settings.path("store_dir")
    since = request.args.get("since")
    if since is None:
        response = jsonify(
            {"current": store.build_id, "keep_versions": settings.keep_versions, "versions": _kept(store_dir)}
        )
        response.headers["Cache-Control"] = "no-cache"
        return response
    if not BUILD_ID.fullmatch(since):
        raise BadRequest(f"since is a build id (16 hexadecimal digits, as GET /changes lists them), not {since!r}")
    kept = [v["build"] for v in _kept(store_dir)]
    if since not in kept:
        raise Gone(
            f"version {since} is no longer kept (the store keeps {settings.keep_versions}, setting keep_versions): "
            "take the whole dump (GET /dump) instead",
            details=[f"kept: {', '.join(kept)}"],
        )
    form = negotiate(
        FORMS,
        request.accept_mimetypes,
        request.args.get("format"),
        aliases={"update": "update", "nquads": "nquads", "summary": "summary"},
        unknown="a change is written as {names}, not {named!r}",
        unacceptable="a change is available as application/sparql-update, text/plain (+/- N-Quads) or text/markdown",
    )

    def made() -> bytes:
        def compute() -> bytes:
            sides = [
                load_side(spec, store_dir=store_dir, base_iri=settings.base_iri) for spec in (since, store.build_id)
            ]
            change = diff(*sides)
            if form == "summary":
                return summary(change, labels_from(*sides), base_iri=settings.base_iri).encode("utf-8")
            return (as_sparql_update(change) if form == "update" else as_nquads(change)).encode("utf-8")

        return kg.evaluator.call(compute, what="the change between the two versions", advice="use kg diff instead")

    body = kg.documents.get((store.build_id, "changes", since, form), made, len)
    media = {"update": "application/sparql-update", "nquads": "text/plain", "summary": "text/markdown"}[form]
    response = Response(body, headers={"Content-Type": f"{media}; charset=utf-8", "Vary": "Accept"})
    response.set_etag(f"changes-{since}-{store.build_id}-{form}")
    response.headers["X-Changes-From"], response.headers["X-Changes-To"] = since, store.build_id
    return response.make_conditional(request)


OPENAPI = {
    "get": {
        "operationId": "changes",
        "summary": "The store versions kept, or what changed since one of them",
        "description": (
            "Without since: the versions kept (newest first, with when each was published and which is current). "
            "With since: the change from that version to the current one, as a SPARQL Update "
            "(application/sparql-update), +/- N-Quads lines (text/plain) or a summary (text/markdown)."
        ),
        "tags": ["exchange"],
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "required": False,
                "description": "A build id the list gives (16 hexadecimal digits).",
                "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            },
            {
                "name": "format",
                "in": "query",
                "required": False,
                "description": "update, nquads or summary; otherwise chosen by Accept.",
                "schema": {"type": "string", "enum": ["update", "nquads", "summary"]},
            },
        ],
        "responses": {
            "200": {
                "description": "The versions (JSON), or the change.",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/sparql-update": {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}},
                    "text/markdown": {"schema": {"type": "string"}},
                },
            },
            "400": {"description": "since is not a build id."},
            "410": {"description": "The version is no longer kept: take the whole dump instead."},
        },
    }
}
