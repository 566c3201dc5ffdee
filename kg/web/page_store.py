"""The store as the pages read it: every query a page runs goes through the worker's evaluator, under the
endpoint's limits (time, memory, admission), instead of running on the request thread without any.

Partner data can make a page's query as costly as any a client sends (things each co-built by many
regions made ``/map`` slow and large), so a page is no way around the limits.
"""

from __future__ import annotations

from kg.web.state import web_state


class PageStore:
    """``store`` with ``select`` run on the evaluator; everything else is the store's own."""

    def __init__(self, store, evaluator):
        self._store, self._evaluator = store, evaluator

    def __getattr__(self, name):
        return getattr(self._store, name)

    def select(self, query: str, **options) -> list:
        return self._evaluator.call(
            lambda: self._store.select(query, **options),
            what="a query of this page",
            advice="the page's data is too large to show; query it through /sparql instead",
        )


def page_store():
    """The settings and the current store for a page, its queries under the endpoint's limits."""
    kg = web_state()
    return kg.settings, PageStore(kg.store.get(), kg.evaluator)
