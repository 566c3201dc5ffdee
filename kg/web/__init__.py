"""The HTTP face of the graph: the Flask app factory. Nothing is read at import time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from kg.config import Settings, load_settings
from kg.limits.admission import Admission, PenaltyBox
from kg.limits.evaluator import Evaluator
from kg.store.embedded import EmbeddedStore
from kg.store.remote import open_store
from kg.web.cache import ResultCache, SharedAnswers
from kg.web.document_cache import DocumentCache
from kg.web.state import WebState
from kg.web.store_holder import StoreHolder


def create_app(
    settings: Settings | None = None,
    *,
    store: EmbeddedStore | None = None,
    penalties: PenaltyBox | None = None,
    shared_answers: Path | None = None,
) -> Flask:
    """The endpoint application. ``store`` is opened lazily from the settings when not given; ``penalties``
    (``kg.limits.admission``) and the answers in the folder ``shared_answers`` (``kg.web.cache``) are shared by the
    workers of ``kg serve``."""
    from kg.web.answers import CROSS_ORIGIN_HEADERS
    from kg.web.changes import changes
    from kg.web.curation import curation
    from kg.web.data import data
    from kg.web.editor import editor
    from kg.web.entities import entities
    from kg.web.errors import register_error_handlers
    from kg.web.guards import RememberClient, register_request_guards
    from kg.web.headers import SECURITY_HEADERS, SecurityHeaders
    from kg.web.meta import meta
    from kg.web.pages import pages
    from kg.web.protocol import ENDPOINT_PATH, ProtocolMount, SparqlProtocol
    from kg.web.saved import saved
    from kg.web.search import search
    from kg.web.validation import validation
    from kg.web.vocabulary_page import vocabulary

    settings = settings or load_settings()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    remote = open_store(settings) if settings.store_url and store is None else None
    holder = StoreHolder(settings.path("store_dir"), store, remote, memory_limit_mib=settings.memory_copy_limit_mib)
    shared = SharedAnswers(shared_answers, settings.result_cache_bytes) if shared_answers else None
    admission = Admission(settings.max_running_queries, settings.queue_wait, penalties, settings.runaway_penalty)
    state = WebState(
        settings=settings,
        store=holder,
        cache=ResultCache(settings.result_cache_bytes, shared),
        documents=DocumentCache(settings.dump_cache_bytes),
        evaluator=Evaluator(
            settings.query_timeout,
            max_memory=settings.max_query_memory * 1024 * 1024,
            admission=admission,
            demote_after=settings.demote_after,
        ),
    )
    app.extensions["kg"] = state
    app.register_blueprint(meta)
    app.register_blueprint(saved)
    app.register_blueprint(validation)
    app.register_blueprint(data)
    app.register_blueprint(pages)
    app.register_blueprint(entities)
    app.register_blueprint(editor)
    app.register_blueprint(search)
    app.register_blueprint(vocabulary)
    app.register_blueprint(curation)
    app.register_blueprint(changes)
    register_error_handlers(app)
    register_request_guards(app)

    @app.after_request
    def allow_cross_origin(response):
        for name, value in CROSS_ORIGIN_HEADERS + SECURITY_HEADERS:
            response.headers[name] = value
        return response

    # the SPARQL protocol is answered beside Flask, which only builds links to it (url_for("sparql.endpoint"))
    app.add_url_rule(ENDPOINT_PATH, endpoint="sparql.endpoint", build_only=True)
    protocol = SparqlProtocol(state, settings.max_body_bytes)
    # outermost: every answer, the protocol handler's too. Replacing the instance's wsgi_app is Flask's documented
    # way to add WSGI middleware (Flask.__call__ calls it); mypy refuses assignment to a method, hence setattr
    setattr(app, "wsgi_app", SecurityHeaders(RememberClient(ProtocolMount(protocol, app.wsgi_app))))  # noqa: B010
    return app
