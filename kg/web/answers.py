"""A query's answer as the web layer gives it: through the worker's time-limited evaluator, cut at the row
cap and the byte bound, kept in the answer cache, with an ETag that makes If-None-Match a 304."""

from __future__ import annotations

from flask import Response
from werkzeug.http import quote_etag

from kg.web.cache import result_key
from kg.web.negotiation import MEDIA_TYPE
from kg.web.state import WebState, web_state

#: Headers every response carries: the data is read-only, so any origin may query it from a browser.
CROSS_ORIGIN_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Accept, Authorization, If-None-Match"),
    ("Access-Control-Max-Age", "86400"),
    (
        "Access-Control-Expose-Headers",
        "X-SPARQL-MaxRows, X-SPARQL-MaxBytes, ETag, Link, Content-Disposition, Retry-After",
    ),
)


def answer(result_format: str, *, store=None, **request) -> Response:
    """Run a query on the current store through this process's time-limited evaluator, as a response to
    Flask's current request (``answer_for`` outside Flask)."""
    from flask import request as http_request

    kg = web_state()
    return answer_for(
        kg, kg.store.get() if store is None else store, result_format, request, http_request.if_none_match
    )


def answer_for(kg: WebState, store, result_format: str, request: dict, if_none_match) -> Response:
    """The response to ``request`` (what ``run`` takes) from ``store``; ``kg`` is the app's state.

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


def protocol_request(
    query: str, default_graphs: list[str] | None, named_graphs: list[str] | None, base_iri: str
) -> dict:
    """What a SPARQL protocol request asks ``run`` for: the one spelling its cache key is made of."""
    return {
        "query": query,
        "default_graphs": default_graphs or None,
        "named_graphs": named_graphs or None,
        "base_iri": base_iri,
    }


def answer_key(store, result_format: str, request: dict) -> str | None:
    """The cache key and ETag of an answer from ``store``; None for a remote store we did not fill, which
    has no version to key answers on."""
    build_id = store.build_id
    return None if build_id == "unknown" else result_key(build_id, result_format, request)


def cached_answer(kg: WebState, key: str | None, result_format: str, store, request: dict):
    """The ``Answer`` kept under ``key``, or a fresh one (then kept); ``kg`` is the app's state."""
    result = None if key is None else kg.cache.get(key)
    if result is None:
        result = run_on(kg, result_format, store, request)
        if key is not None:
            kg.cache.put(key, result)
    return result


def answer_headers(kg: WebState, key: str | None, result_format: str, result) -> list[tuple[str, str]]:
    """An answer's headers, but Content-Length and those every response carries (CROSS_ORIGIN_HEADERS)."""
    headers = [("Content-Type", MEDIA_TYPE[result_format])]
    if key is not None:
        headers.append(("ETag", quote_etag(key)))
    headers.append(("Vary", "Accept"))
    if result.over_bytes:
        headers.append(("X-SPARQL-MaxBytes", str(kg.settings.max_result_bytes)))
    elif result.truncated:
        headers.append(("X-SPARQL-MaxRows", str(kg.settings.max_result_rows)))
    return headers


def run(result_format: str, *, store=None, **request):
    """A query's ``Answer`` from ``store`` (by default the current one), within the time limit, the memory
    bound, the row cap and the byte bound."""
    kg = web_state()
    return run_on(kg, result_format, kg.store.get() if store is None else store, request)


def run_on(kg: WebState, result_format: str, store, request: dict):
    """``run`` for a caller outside Flask's request context, which passes the app's extension ``kg``."""
    max_rows = kg.settings.max_result_rows
    if getattr(store, "remote", False):  # the remote store keeps its own time limit; ours is the HTTP timeout
        return store.execute(result_format=result_format, max_rows=max_rows, **request)
    return kg.evaluator.execute(
        store, result_format=result_format, max_rows=max_rows, max_bytes=kg.settings.max_result_bytes, **request
    )
