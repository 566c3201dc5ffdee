"""What the web app holds for its requests, as one typed object in ``app.extensions["kg"]``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from kg.config import Settings
from kg.limits.evaluator import Evaluator
from kg.web.cache import ResultCache
from kg.web.document_cache import DocumentCache
from kg.web.store_holder import StoreHolder


@dataclass
class WebState:
    """The settings, the store, the time-limited evaluator and the answer cache of one app (one worker);
    the whole documents it made (``kg.web.document_cache``); the saved queries, once read."""

    settings: Settings
    store: StoreHolder
    evaluator: Evaluator
    cache: ResultCache
    documents: DocumentCache
    queries: dict | None = None


def web_state() -> WebState:
    """The current app's state (inside a request or app context)."""
    return current_app.extensions["kg"]
