"""The HTTP face of the graph: a Flask app factory. Nothing is read at import time."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask, Response, current_app
from werkzeug.http import quote_etag

from kg.config import Settings, load_settings
from kg.errors import StoreError
from kg.admission import Admission, PenaltyBox
from kg.evaluator import Evaluator
from kg.remote import open_store
from kg.web.cache import ResultCache, result_key
from kg.web.negotiation import MEDIA_TYPE
from kg.store import EmbeddedStore


#: Headers every response carries: the data is read-only, so any origin may query it from a browser.
CROSS_ORIGIN_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Accept, Authorization, If-None-Match"),
    ("Access-Control-Max-Age", "86400"),
    ("Access-Control-Expose-Headers", "X-SPARQL-MaxRows, X-SPARQL-MaxBytes, ETag, Link, Content-Disposition, "
                                      "Retry-After"),
)


class StoreHolder:
    """The published store for this process, reopened when a build publishes a new version (or the
    remote store the settings name, which keeps its own versions).

    A new version is opened on disk at once, so every request sees the current version, and copied into
    memory on a background thread when its snapshot is at most ``memory_limit_mib``; once the copy is
    loaded, requests read it instead (queries run several times faster there).
    """

    def __init__(self, store_dir: Path, store: EmbeddedStore | None = None, remote=None, *,
                 memory_limit_mib: int = 0):
        self._remote = remote
        self._store_dir = store_dir
        self._store = store
        self._memory: EmbeddedStore | None = None
        self._memory_limit = memory_limit_mib * 1024 * 1024
        self._link = store_dir / "current"
        self._target = os.path.realpath(self._link) if store is None else str(store.path)
        self._link_text: str | None = None  # what ``current`` said when _target was resolved
        self._lock = threading.Lock()
        self._copy_lock = threading.Lock()
        if store is not None:
            self._copy_in_background(store)

    def get(self) -> EmbeddedStore:
        if self._remote is not None:
            return self._remote
        # One readlink per request; the full resolution (several system calls, each a chance for another
        # thread to take the GIL: 7% of a busy worker's time) only when the link changed.
        try:
            link_text = os.readlink(self._link)
        except OSError:
            link_text = None
        if self._store is None or link_text is None or link_text != self._link_text:
            target = os.path.realpath(self._link)
            with self._lock:
                if self._store is None or target != self._target:
                    self._store = EmbeddedStore(self._store_dir)
                    self._memory = None
                    self._target = target
                    self._copy_in_background(self._store)
                self._link_text = link_text  # only once the version it names is open
        memory = self._memory
        return memory if memory is not None and memory.path == self._store.path else self._store

    def _copy_in_background(self, store: EmbeddedStore) -> None:
        files = store.snapshot
        if not self._memory_limit:
            return
        complete = all(f.is_file() for f in files)
        if not complete or sum(f.stat().st_size for f in files) > self._memory_limit:
            why = ("is larger than memory_copy_limit_mib" if complete else
                   "has no snapshot (published by an older kg build; rebuild to serve it from memory)")
            logging.getLogger("kg.web").warning("version %s %s; serving from disk", store.build_id, why)
            return

        def copy() -> None:
            # one copy loads at a time, and only of the version still current: several versions published
            # in a row would otherwise each be loaded at once (2.3 GiB apiece at 1M asserted triples)
            with self._copy_lock:
                if self._store is None or self._store.path != store.path:
                    return
                try:
                    memory = store.copy_in_memory()
                except StoreError as exc:  # the disk store keeps serving; say why it is slower
                    logging.getLogger("kg.web").warning("%s; serving from disk", exc)
                    return
            with self._lock:
                if self._store is not None and self._store.path == memory.path:
                    self._memory = memory

        threading.Thread(target=copy, name="kg-copy-in-memory", daemon=True).start()


def create_app(settings: Settings | None = None, *, store: EmbeddedStore | None = None,
               penalties: PenaltyBox | None = None) -> Flask:
    """The endpoint application. ``store`` is opened lazily from the settings when not given; ``penalties``
    is shared by the workers of ``kg serve`` (``kg.admission``)."""
    from kg.web.data import data
    from kg.web.entities import entities
    from kg.web.errors import register_error_handlers
    from kg.web.guards import RememberClient, register_request_guards
    from kg.web.headers import SECURITY_HEADERS, SecurityHeaders
    from kg.web.pages import pages
    from kg.web.meta import meta
    from kg.web.saved import saved
    from kg.web.validation import validation
    from kg.web.protocol import ENDPOINT_PATH, ProtocolMount, SparqlProtocol

    settings = settings or load_settings()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    remote = open_store(settings) if settings.store_url and store is None else None
    holder = StoreHolder(settings.path("store_dir"), store, remote, memory_limit_mib=settings.memory_copy_limit_mib)
    app.extensions["kg"] = {"settings": settings, "store": holder,
                            "evaluator": Evaluator(settings.query_timeout,
                                                   max_memory=settings.max_query_memory * 1024 * 1024,
                                                   admission=Admission(settings.max_running_queries,
                                                                       settings.queue_wait, penalties,
                                                                       settings.runaway_penalty)),
                            "cache": ResultCache(settings.result_cache_bytes)}
    app.register_blueprint(meta)
    app.register_blueprint(saved)
    app.register_blueprint(validation)
    app.register_blueprint(data)
    app.register_blueprint(pages)
    app.register_blueprint(entities)
    register_error_handlers(app)
    register_request_guards(app)

    @app.after_request
    def allow_cross_origin(response):
        for name, value in CROSS_ORIGIN_HEADERS + SECURITY_HEADERS:
            response.headers[name] = value
        return response

    # the SPARQL protocol is answered beside Flask, which only builds links to it (url_for("sparql.endpoint"))
    app.add_url_rule(ENDPOINT_PATH, endpoint="sparql.endpoint", build_only=True)
    protocol = SparqlProtocol(app.extensions["kg"], settings.max_body_bytes)
    # outermost: every answer, the protocol handler's too
    app.wsgi_app = SecurityHeaders(RememberClient(ProtocolMount(protocol, app.wsgi_app)))
    return app


def answer(result_format: str, *, store=None, **request) -> Response:
    """Run a query on the current store through this process's time-limited evaluator, as a response to
    Flask's current request (``answer_for`` outside Flask)."""
    from flask import request as http_request

    kg = current_app.extensions["kg"]
    return answer_for(kg, kg["store"].get() if store is None else store, result_format, request,
                      http_request.if_none_match)


def answer_for(kg: dict, store, result_format: str, request: dict, if_none_match) -> Response:
    """The response to ``request`` (what ``run`` takes) from ``store``; ``kg`` is the app's extension.

    Results are cut at the max_result_rows setting; a cut result says so in X-SPARQL-MaxRows (the
    header Virtuoso uses for the same purpose). The ETag names the store version and the request, so
    If-None-Match is answered 304 without running the query, and a repeated query comes from the cache.
    ``store`` is the one the caller read the request against: the key and the answer must come from the
    same version, though a build may publish a new one meanwhile.
    """
    key = answer_key(store, result_format, request)
    if key is not None and key in if_none_match:
        response = Response(status=304)
        response.set_etag(key)
        response.headers["Vary"] = "Accept"
        return response
    result = cached_answer(kg, key, result_format, store, request)
    return Response(result.body, headers=answer_headers(kg, key, result_format, result))


def protocol_request(query: str, default_graphs: list[str] | None, named_graphs: list[str] | None,
                     base_iri: str) -> dict:
    """What a SPARQL protocol request asks ``run`` for: the one spelling its cache key is made of."""
    return {"query": query, "default_graphs": default_graphs or None, "named_graphs": named_graphs or None,
            "base_iri": base_iri}


def answer_key(store, result_format: str, request: dict) -> str | None:
    """The cache key and ETag of an answer from ``store``; None for a remote store we did not fill, which
    has no version to key answers on."""
    build_id = store.build_id
    return None if build_id == "unknown" else result_key(build_id, result_format, request)


def cached_answer(kg: dict, key: str | None, result_format: str, store, request: dict):
    """The ``Answer`` kept under ``key``, or a fresh one (then kept); ``kg`` is the app's extension."""
    result = None if key is None else kg["cache"].get(key)
    if result is None:
        result = run_on(kg, result_format, store, request)
        if key is not None:
            kg["cache"].put(key, result)
    return result


def answer_headers(kg: dict, key: str | None, result_format: str, result) -> list[tuple[str, str]]:
    """An answer's headers, but Content-Length and those every response carries (CROSS_ORIGIN_HEADERS)."""
    headers = [("Content-Type", MEDIA_TYPE[result_format])]
    if key is not None:
        headers.append(("ETag", quote_etag(key)))
    headers.append(("Vary", "Accept"))
    if result.over_bytes:
        headers.append(("X-SPARQL-MaxBytes", str(kg["settings"].max_result_bytes)))
    elif result.truncated:
        headers.append(("X-SPARQL-MaxRows", str(kg["settings"].max_result_rows)))
    return headers


def run(result_format: str, *, store=None, **request):
    """A query's ``Answer`` from ``store`` (by default the current one), within the time limit, the memory
    bound, the row cap and the byte bound."""
    kg = current_app.extensions["kg"]
    return run_on(kg, result_format, kg["store"].get() if store is None else store, request)


def run_on(kg: dict, result_format: str, store, request: dict):
    """``run`` for a caller outside Flask's request context, which passes the app's extension ``kg``."""
    max_rows = kg["settings"].max_result_rows
    if getattr(store, "remote", False):  # the remote store keeps its own time limit; ours is the HTTP timeout
        return store.execute(result_format=result_format, max_rows=max_rows, **request)
    return kg["evaluator"].execute(store, result_format=result_format, max_rows=max_rows,
                                   max_bytes=kg["settings"].max_result_bytes, **request)
