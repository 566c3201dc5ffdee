"""Query results written in a format within the row cap and the byte bound: ``Answer``, and the writers
that stop pyoxigraph's serialiser once a bound is passed; results from a remote store are rewritten alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib.term import Node

from kg.errors import StoreError
from kg.store.rdf_io import RDF_FORMATS, xml_safe
from kg.store.terms import rows

#: Query result formats by name for solutions and booleans; graphs take ``RDF_FORMATS``.
RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
#: Graph formats whose writer takes quads: a query's triples are written into their default graph.
DATASET_FORMATS = {"trig", "nquads"}


@dataclass(frozen=True)
class Answer:
    """A serialised query result; ``truncated`` when rows were left out: past the byte bound if
    ``over_bytes``, else past the row cap."""

    body: bytes
    truncated: bool = False
    over_bytes: bool = False


class _EnoughRows(Exception):
    """Raised from inside pyoxigraph's serialiser once the row cap or byte bound is passed, to stop it early."""


class _RowCountingOutput:
    """A write-only file that counts a marker in what is written and stops the writer once the count,
    plus ``offset`` (see ``_ROW_MARKERS``), bounds more than ``max_rows`` rows, or once more than
    ``max_bytes`` are written (either bound None: none)."""

    def __init__(self, marker: bytes, offset: int, max_rows: int | None, max_bytes: int | None = None):
        self.marker, self.offset, self.max_rows, self.max_bytes = marker, offset, max_rows, max_bytes
        self.chunks: list[bytes] = []
        self.count = self.size = 0
        self._tail = b""  # a marker may straddle two writes

    def write(self, data) -> int:
        data = bytes(data)
        self.chunks.append(data)
        self.size += len(data)
        joined = self._tail + data
        self.count += joined.count(self.marker)
        self._tail = joined[-(len(self.marker) - 1) :] if len(self.marker) > 1 else b""
        if self.over:
            raise _EnoughRows
        return len(data)

    def flush(self) -> None:
        pass

    @property
    def over_bytes(self) -> bool:
        return self.max_bytes is not None and self.size > self.max_bytes

    @property
    def over(self) -> bool:
        return (self.max_rows is not None and self.count + self.offset > self.max_rows) or self.over_bytes

    def text(self) -> bytes:
        return b"".join(self.chunks)


#: Per results format, a marker whose count plus the offset bounds the rows from above: a JSON row
#: boundary is always "},{" (a string value may hold it too, so this over-counts, never under-counts),
#: an XML row always opens with "<result>" (text escapes "<"), a TSV/CSV row ends with a newline (the
#: header line too; a CSV value may hold more).
_ROW_MARKERS = {"json": (b"},{", 1), "xml": (b"<result>", 0), "tsv": (b"\n", -1), "csv": (b"\n", -1)}


def within_cap(
    solutions: ox.QuerySolutions, result_format: str, max_rows: int | None, max_bytes: int | None = None
) -> bytes | None:
    """The whole result in ``result_format`` when it surely has at most ``max_rows`` rows and
    ``max_bytes`` bytes, else None.

    The usual case, written once by pyoxigraph with no second pass; None costs the caller a second
    evaluation through ``capped_solutions``, which only results near or past the cap need.
    """
    output = _RowCountingOutput(*_ROW_MARKERS[result_format], max_rows, max_bytes)
    try:
        # pyoxigraph writes to any object with ``write``; its stub asks for a file
        solutions.serialize(output, format=RESULT_FORMATS[result_format])  # type: ignore[arg-type]
    except (_EnoughRows, OSError) as exc:
        if not output.over:  # not ours: a real failure
            raise StoreError(f"the query failed: {exc}") from exc
        return None
    return output.text()


def capped_solutions(
    solutions: ox.QuerySolutions, result_format: str, max_rows: int | None, max_bytes: int | None = None
) -> Answer:
    """The first ``max_rows`` solutions that fit in ``max_bytes``, serialised by pyoxigraph all the same.

    pyoxigraph serialises only whole result iterators, so the solutions are written as TSV (one row per
    line, terms in N-Triples syntax) into an output that stops the writer, and so the evaluation, once
    a bound is passed; the kept lines are parsed back and written in the asked format. All of it runs in
    Rust (building the rows as JSON in Python had cost much more than an uncapped serialisation). The
    asked format may be longer than TSV (JSON, XML): then fewer rows are written again until they fit.
    """
    output = _RowCountingOutput(b"\n", -1, max_rows, max_bytes)
    try:
        # pyoxigraph writes to any object with ``write``; its stub asks for a file
        solutions.serialize(output, format=ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
    except (_EnoughRows, OSError) as exc:
        if not output.over:  # not ours: a real failure
            raise StoreError(f"the query failed: {exc}") from exc
    text = output.text()
    output.chunks.clear()
    head = "\t".join(str(v) for v in solutions.variables).encode() + b"\n"  # in case not even it fits
    # whole lines only, within the byte bound (the writer may stop mid-line), then within the row cap
    end = text.rfind(b"\n", 0, len(text) if max_bytes is None else min(len(text), max_bytes)) + 1
    by_rows = None if max_rows is None else _line_end(text, max_rows + 1)
    if by_rows is not None and by_rows <= end:
        end, over_bytes = by_rows, False
    else:
        over_bytes = output.over_bytes or end < len(text)
    truncated = output.over or end < len(text)
    while True:
        kept = ox.parse_query_results(text[:end] or head, format=ox.QueryResultsFormat.TSV)
        body = kept.serialize(format=RESULT_FORMATS[result_format]) or b""
        rows = text.count(b"\n", 0, end) - 1
        if max_bytes is None or len(body) <= max_bytes or rows <= 0:
            return Answer(body, truncated=truncated, over_bytes=over_bytes)
        fewer = _line_end(text, 1 + min(rows - 1, rows * max_bytes // len(body)))
        assert fewer is not None  # at most ``rows`` lines, and text[:end] holds rows + 1
        end = fewer
        truncated = over_bytes = True


def _line_end(text: bytes, lines: int) -> int | None:
    """The offset just past the ``lines``-th newline of ``text``, or None when it has fewer."""
    at = -1
    for _ in range(lines):
        at = text.find(b"\n", at + 1)
        if at < 0:
            return None
    return at + 1


def capped_triples(
    triples: Iterable[ox.Triple], result_format: str, max_rows: int | None, max_bytes: int | None = None
) -> Answer:
    """At most ``max_rows`` triples in ``result_format``, in at most ``max_bytes``: the writer takes the
    triples as they come and is stopped past the bound, and then writes fewer again until they fit."""
    kept: list = []
    more = []  # a triple past max_rows was there

    def taken():
        for triple in triples if max_rows is None else itertools.islice(triples, max_rows + 1):
            if len(kept) == max_rows:
                more.append(triple)
                return
            if result_format in DATASET_FORMATS:
                triple = ox.Quad(triple.subject, triple.predicate, triple.object, ox.DefaultGraph())
            elif result_format == "rdfxml":
                triple = ox.Triple(xml_safe(triple.subject), triple.predicate, xml_safe(triple.object))
            kept.append(triple)
            yield triple

    output = _RowCountingOutput(b"\n", 0, None, max_bytes)
    try:
        # pyoxigraph writes to any object with ``write``; its stub asks for a file
        ox.serialize(taken(), output, format=RDF_FORMATS[result_format])  # type: ignore[arg-type]
    except _EnoughRows:
        pass
    if not output.over_bytes:
        return Answer(output.text(), truncated=bool(more))
    assert max_bytes is not None  # past the byte bound, so there is one
    keep = len(kept) - 1  # the last one taken passed the bound
    while True:
        body = ox.serialize(kept[:keep], format=RDF_FORMATS[result_format]) or b""
        if len(body) <= max_bytes or keep == 0:
            return Answer(body, truncated=True, over_bytes=True)
        keep = min(keep - 1, keep * max_bytes // len(body))


def reserialize_solutions(document: bytes, result_format: str, max_rows: int | None) -> Answer:
    """SPARQL JSON results (from a remote store) in ``result_format``, cut at ``max_rows``."""
    try:
        results = ox.parse_query_results(document, format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise StoreError(f"the remote store sent results that are not SPARQL JSON: {exc}") from exc
    if isinstance(results, ox.QueryBoolean):
        return Answer(results.serialize(format=RESULT_FORMATS[result_format]) or b"")
    if max_rows is None:
        return Answer(results.serialize(format=RESULT_FORMATS[result_format]) or b"")
    return capped_solutions(results, result_format, max_rows)


def reserialize_triples(document: bytes, result_format: str, max_rows: int | None) -> Answer:
    """An N-Triples graph (from a remote store) in ``result_format``, cut at ``max_rows`` triples."""
    try:
        triples = [
            ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(document, format=ox.RdfFormat.N_TRIPLES)
        ]
    except (SyntaxError, ValueError) as exc:
        raise StoreError(f"the remote store sent a graph that is not N-Triples: {exc}") from exc
    return capped_triples(iter(triples), result_format, max_rows)


def solution_rows(document: bytes) -> list[dict[str, Node]] | bool:
    """SPARQL JSON results as rows of rdflib terms (or the boolean of an ASK)."""
    results = ox.parse_query_results(document, format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return bool(results)
    return rows(results)
