"""The HTTP face of the graph: a Flask app factory. Nothing is read at import time."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask, Response, current_app

from kg.config import Settings, load_settings
from kg.evaluator import Evaluator
from kg.remote import open_store
from kg.web.cache import ResultCache, result_key
from kg.store import EmbeddedStore


class StoreHolder:
    """The published store for this process, reopened when a build publishes a new version (or the
    remote store the settings name, which keeps its own versions)."""

    def __init__(self, store_dir: Path, store: EmbeddedStore | None = None, remote=None):
        self._remote = remote
        self._store_dir = store_dir
        self._store = store
        self._target = os.path.realpath(store_dir / "current") if store is None else str(store.path)
        self._lock = threading.Lock()

    def get(self) -> EmbeddedStore:
        if self._remote is not None:
            return self._remote
        target = os.path.realpath(self._store_dir / "current")
        if self._store is None or target != self._target:
            with self._lock:
                if self._store is None or target != self._target:
                    self._store = EmbeddedStore(self._store_dir)
                    self._target = target
        return self._store


def create_app(settings: Settings | None = None, *, store: EmbeddedStore | None = None) -> Flask:
    """The endpoint application. ``store`` is opened lazily from the settings when not given."""
    from kg.web.data import data
    from kg.web.entities import entities
    from kg.web.errors import register_error_handlers
    from kg.web.pages import pages
    from kg.web.meta import meta
    from kg.web.saved import saved
    from kg.web.validation import validation
    from kg.web.sparql import sparql

    settings = settings or load_settings()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    remote = open_store(settings) if settings.store_url and store is None else None
    app.extensions["kg"] = {"settings": settings, "store": StoreHolder(settings.path("store_dir"), store, remote),
                            "evaluator": Evaluator(settings.query_timeout),
                            "cache": ResultCache(settings.result_cache_bytes)}
    app.register_blueprint(sparql)
    app.register_blueprint(meta)
    app.register_blueprint(saved)
    app.register_blueprint(validation)
    app.register_blueprint(data)
    app.register_blueprint(pages)
    app.register_blueprint(entities)
    register_error_handlers(app)

    @app.after_request
    def allow_cross_origin(response):
        # read-only data: any origin may query it from a browser
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept, Authorization, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
        response.headers["Access-Control-Expose-Headers"] = "X-SPARQL-MaxRows, ETag, Link, Content-Disposition"
        return response

    return app


def answer(result_format: str, **request) -> Response:
    """Run a query on the current store through this process's time-limited evaluator, as a response.

    Results are cut at the max_result_rows setting; a cut result says so in X-SPARQL-MaxRows (the
    header Virtuoso uses for the same purpose). The ETag names the store version and the request, so
    If-None-Match is answered 304 without running the query, and a repeated query comes from the cache.
    """
    from flask import request as http_request

    from kg.web.negotiation import MEDIA_TYPE

    kg = current_app.extensions["kg"]
    settings = kg["settings"]
    build_id = kg["store"].get().build_id
    if build_id == "unknown":  # a remote store we did not fill: no version to key answers on
        result = run(result_format, **request)
        response = Response(result.body, headers={"Content-Type": MEDIA_TYPE[result_format], "Vary": "Accept"})
        if result.truncated:
            response.headers["X-SPARQL-MaxRows"] = str(settings.max_result_rows)
        return response
    key = result_key(build_id, result_format, request)
    if key in http_request.if_none_match:
        response = Response(status=304)
        response.set_etag(key)
        response.headers["Vary"] = "Accept"
        return response
    result = kg["cache"].get(key)
    if result is None:
        result = run(result_format, **request)
        kg["cache"].put(key, result)
    response = Response(result.body)
    response.set_etag(key)
    response.headers["Content-Type"] = MEDIA_TYPE[result_format]
    response.headers["Vary"] = "Accept"
    if result.truncated:
        response.headers["X-SPARQL-MaxRows"] = str(settings.max_result_rows)
    return response


def run(result_format: str, **request):
    """A query's ``Answer`` from the current store, within the time limit and the row cap."""
    kg = current_app.extensions["kg"]
    settings = kg["settings"]
    store = kg["store"].get()
    if getattr(store, "remote", False):  # the remote store keeps its own time limit; ours is the HTTP timeout
        return store.execute(result_format=result_format, max_rows=settings.max_result_rows, **request)
    return kg["evaluator"].execute(store.path, result_format=result_format, max_rows=settings.max_result_rows,
                                   **request)
