"""What the web app holds for its requests, as one typed object in ``app.extensions["kg"]``."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from kg.config import Settings
from kg.limits.evaluator import Evaluator
from kg.web.cache import ResultCache
from kg.web.store_holder import StoreHolder


@dataclass
class WebState:
    """The settings, the store, the time-limited evaluator and the answer cache of one app (one worker);
    the saved queries and the dumps are kept here once read or made."""

    settings: Settings
    store: StoreHolder
    evaluator: Evaluator
    cache: ResultCache
    queries: dict | None = None
    dumps: dict = field(default_factory=dict)


def web_state() -> WebState:
    """The current app's state (inside a request or app context)."""
    return current_app.extensions["kg"]
