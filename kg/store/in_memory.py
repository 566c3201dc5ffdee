"""Queries outside the published store: parameters bound as a VALUES block, the mappings' SELECT over
table rows, and the in-memory stores that validation fills and queries.

A bound value is written by pyoxigraph (validated, escaped N-Triples), so no value becomes query syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib.term import Node

from kg.errors import MappingError
from kg.store.rdf_io import ntriples_text
from kg.store.terms import AnyTerm, Triple, from_ox, ox_quad_stream, rows, to_ox


def join_values(query: str, where_brace: int, variables: list[str], rows: Sequence[Mapping[str, AnyTerm]]) -> str:
    """``query`` with a VALUES block of ``rows`` opened right after the WHERE clause's brace.

    Each term is written by pyoxigraph (validated, escaped N-Triples), so no value becomes query syntax.
    """
    header = " ".join("?" + v for v in variables)
    lines = ["(" + " ".join(str(to_ox(row[v])) if v in row else "UNDEF" for v in variables) + ")" for row in rows]
    values = f"\n  VALUES ({header}) {{\n    " + "\n    ".join(lines) + "\n  }\n"
    return query[: where_brace + 1] + values + query[where_brace + 1 :]


def select_over_rows(
    query: str, variables: list[str], rows: Sequence[Mapping[str, AnyTerm]], *, base_iri: str, where_brace: int
) -> ox.QuerySolutions:
    """Run a SELECT with ``rows`` joined as a VALUES block opened right after ``where_brace``.

    The cells are pyoxigraph terms, whose constructors validate them and whose ``str()`` is escaped
    N-Triples, so no cell text is ever pasted into the query as syntax.
    """
    text = join_values(query, where_brace, variables, rows)
    try:
        solutions = ox.Store().query(text, base_iri=base_iri)
    except SyntaxError as exc:
        raise MappingError(f"the mapping does not parse: {exc}") from exc
    assert isinstance(solutions, ox.QuerySolutions)  # a SELECT: the VALUES block goes into its WHERE clause
    return solutions


def check_query_syntax(query: str, *, base_iri: str) -> None:
    """Raise MappingError if ``query`` is not valid SPARQL."""
    try:
        ox.Store().query(query, base_iri=base_iri)
    except SyntaxError as exc:
        raise MappingError(str(exc)) from exc


def memory_store(*parts: Iterable[Triple] | bytes | Path) -> ox.Store:
    """An in-memory pyoxigraph store holding the triples of every part in its default graph.

    A part is a collection of rdflib triples, or an N-Triples document without blank nodes (see
    ``ntriples_text``) given as bytes or as the path of a file (read by pyoxigraph as it loads, never held
    whole). Text is parsed by pyoxigraph in Rust, faster than making a pyoxigraph quad of each triple in
    Python. Blank nodes would be relabelled by the parser (and validation reports name them), so a part
    with any goes in as terms.
    """
    store = ox.Store()
    for part in parts:
        if isinstance(part, Path):
            store.load(path=str(part), format=ox.RdfFormat.N_TRIPLES, lenient=True)
            continue
        if not isinstance(part, bytes):
            part = part if isinstance(part, (set, list, frozenset)) else list(part)
            text = ntriples_text(part)
            if text is None:
                store.extend(quad for quad in ox_quad_stream((s, p, o, None) for s, p, o in part))
                continue
            part = text
        store.load(part, format=ox.RdfFormat.N_TRIPLES, lenient=True)  # the terms were checked by to_ox
    return store


def store_triples(store: ox.Store) -> Iterator[Triple]:
    """The default graph of an in-memory store as rdflib triples (for small graphs and rdflib-only tools)."""
    for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph()):
        yield from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)


def store_rows(store: ox.Store, query: str) -> list[dict[str, Node]]:
    """The rows of a SELECT over an in-memory store's default graph, as rdflib terms."""
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)  # callers give SELECT queries
    return rows(solutions)
