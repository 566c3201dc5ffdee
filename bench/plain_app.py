"""The ``pyoxigraph-plain`` and ``pyoxigraph-uwsgi`` peers of the HTTP benchmark: the least a Python front
over pyoxigraph can do.

A bare WSGI function under gunicorn's threaded worker (``pyoxigraph-plain``: the same server, workers and
threads as ``kg serve``) or behind uWSGI's HTTP socket (``pyoxigraph-uwsgi``, the same workers and
threads), each worker querying its own in-memory copy of the N-Quads, as ``kg serve`` does. It reads
the form's query, runs it on the union of the named graphs and writes SPARQL JSON (or N-Triples for a
graph), and nothing else: no checks, no time limit, no row cap, no cache, no access log. So ``kg serve``
against it measures what kg's own request handling costs, and it against the Oxigraph server what any
Python front over the same engine costs. It is a benchmark peer, never a way to serve the graph.
"""

from __future__ import annotations

import os
import urllib.parse

import pyoxigraph as ox


def _load() -> ox.Store:
    store = ox.Store()
    store.load(path=os.environ["BENCH_HTTP_DATA"], format=ox.RdfFormat.N_QUADS)
    ready = os.environ.get("BENCH_HTTP_READY")
    if ready:  # the harness times it once every worker has its copy
        with open(ready, "a", encoding="utf-8") as marker:
            marker.write(f"{os.getpid()}\n")
    return store


STORE = _load()  # gunicorn imports the app in each worker, after the fork: one copy per worker


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = urllib.parse.parse_qs(environ["wsgi.input"].read(length).decode("utf-8"))
    if "query" not in form:  # a GET (the harness's readiness check): the query string instead
        form = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    try:
        result = STORE.query(form["query"][0], use_default_graph_as_union=True)
    except (KeyError, SyntaxError) as error:
        body = f"bad query: {error}".encode()
        start_response("400 Bad Request", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if isinstance(result, ox.QueryTriples):
        body, media_type = result.serialize(format=ox.RdfFormat.N_TRIPLES), "application/n-triples"
    else:
        body, media_type = result.serialize(format=ox.QueryResultsFormat.JSON), "application/sparql-results+json"
    start_response("200 OK", [("Content-Type", media_type), ("Content-Length", str(len(body)))])
    return [body]
