"""The published store, or a given version of it, opened read-only: ``EmbeddedStore``, and its copy in memory.

What the server, exports, diffs and imports read; ``execute`` writes its results through kg.store.results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, URIRef
from rdflib.term import Node

from kg.errors import QuerySyntaxError, StoreError
from kg.limits.memory_guard import GUARD
from kg.sparql_text import dataset_clause, where_brace
from kg.store.in_memory import join_values
from kg.store.results import RESULT_FORMATS, Answer, capped_solutions, capped_triples, within_cap
from kg.store.terms import AnyNamedQuad, NamedQuad, Triple, from_ox, rows, to_ox_resource
from kg.store.versions import SNAPSHOT, SNAPSHOT_BLANK, load_snapshot


def _canonical_store_nquads(store: ox.Store) -> bytes:
    text = store.dump(format=ox.RdfFormat.N_QUADS) or b""
    return b"".join(line + b"\n" for line in sorted(set(text.splitlines())))


class EmbeddedStore:
    """The published store (or a given ``version`` of it), opened read-only."""

    in_memory = False

    def __init__(self, store_dir: Path, *, version: Path | None = None):
        link = store_dir / "current"
        if version is None and not link.exists():
            raise StoreError(f"no published store in {store_dir}: run 'kg build' first")
        self.path = version if version is not None else link.resolve()
        try:
            self._store = ox.Store.read_only(str(self.path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        self.build_id = self.path.name
        self._length: int | None = None

    @property
    def snapshot(self) -> tuple[Path, Path]:
        """The version's N-Quads snapshot: the quads without a blank node, and those with one."""
        return (
            self.path.parent / f"{self.build_id}.{SNAPSHOT}",
            self.path.parent / f"{self.build_id}.{SNAPSHOT_BLANK}",
        )

    def snapshot_bytes(self) -> int | None:
        """The size of the version's snapshot, or None when it has none (published before snapshots were kept):
        what decides whether the version may be copied into memory."""
        files = self.snapshot
        return sum(f.stat().st_size for f in files) if all(f.is_file() for f in files) else None

    def copy_in_memory(self) -> EmbeddedStore:
        """The same version, read from its snapshot into an in-memory store.

        Ad hoc queries run several times as fast in memory as on RocksDB, which looks every term of a
        result up on disk. The copy takes more memory than the snapshot's size, though less than twice it.
        StoreError when the version has no snapshot (one published before snapshots were kept).
        """
        snapshot, blank = self.snapshot
        if not (snapshot.is_file() and blank.is_file()):
            raise StoreError(f"version {self.build_id} has no snapshot to copy into memory")
        copy = object.__new__(EmbeddedStore)
        copy.path, copy.build_id, copy.in_memory, copy._length = self.path, self.build_id, True, self._length
        copy._store = ox.Store()
        try:
            # queries running meanwhile are not charged with the copy (less than twice the snapshot)
            with GUARD.not_a_query(2 * (snapshot.stat().st_size + blank.stat().st_size)):
                load_snapshot(copy._store, snapshot, blank, in_memory=True)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot copy version {self.build_id} into memory: {exc}") from exc
        return copy

    def attachment(self, name: str) -> bytes | None:
        """A file published with this version (``report.json``, ``report.ttl``), or None."""
        path = self.path.parent / f"{self.build_id}.{name}"
        return path.read_bytes() if path.is_file() else None

    def __len__(self) -> int:
        # a version never changes, and pyoxigraph counts by scanning, which is slow on a large RocksDB
        # store and which /health would have paid on every call
        if self._length is None:
            self._length = len(self._store)
        return self._length

    def graphs(self) -> list[URIRef]:
        return sorted(URIRef(g.value) for g in self._store.named_graphs())

    def graph_sizes(self) -> dict[URIRef, int]:
        """The number of triples in each named graph, counted by the engine (no term is decoded)."""
        counts = self._store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        assert isinstance(counts, ox.QuerySolutions)
        return {URIRef(row["g"].value): int(row["n"].value) for row in counts}

    def quads(self, graphs: list[URIRef] | None = None) -> Iterator[NamedQuad]:
        for s, p, o, graph in self.export_quads(graphs if graphs is not None else self.graphs()):
            yield from_ox(s), from_ox(p), from_ox(o), graph

    def export_quads(self, graphs: list[URIRef]) -> Iterator[AnyNamedQuad]:
        """The quads of ``graphs`` with their terms as pyoxigraph keeps them (graph names as given): what an
        export serialises, without making rdflib terms of every quad and back (on a large store that round
        trip held a great deal of memory)."""
        for graph in graphs:
            for q in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph))):
                yield q.subject, q.predicate, q.object, graph

    def about(self, nodes: Iterable[Node], graphs: list[URIRef]) -> list[Triple]:
        """The triples of ``graphs`` whose subject is one of ``nodes``."""
        names = [ox.NamedNode(str(g)) for g in graphs]
        triples = []
        for node in nodes:
            if isinstance(node, (URIRef, BNode)):
                for graph in names:
                    triples += [
                        (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object))
                        for q in self._store.quads_for_pattern(to_ox_resource(node), None, None, graph)
                    ]
        return triples

    def instances(self, classes: Iterable[URIRef]) -> set[Node]:
        """Subjects typed with any of ``classes`` in any graph (asserted or inferred types alike)."""
        rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        return {
            from_ox(q.subject)
            for c in classes
            for q in self._store.quads_for_pattern(None, rdf_type, ox.NamedNode(str(c)), None)
        }

    def select(
        self, query: str, *, bindings: dict[str, Node] | None = None, union: bool = True
    ) -> list[dict[str, Node]]:
        """Rows of a SELECT query over the union of the named graphs; ``bindings`` fix variables."""
        if bindings:
            brace = where_brace(query)
            if brace is None:
                raise StoreError("a query with bindings needs a WHERE clause")
            query = join_values(query, brace, list(bindings), [bindings])
        try:
            solutions = self._store.query(query, use_default_graph_as_union=union)
        except SyntaxError as exc:
            raise StoreError(f"query does not parse: {exc}") from exc
        if not isinstance(solutions, ox.QuerySolutions):
            raise StoreError("expected a SELECT query")  # as RemoteStore.select says
        return rows(solutions)

    def ask(self, query: str, *, union: bool = True) -> bool:
        return bool(self._store.query(query, use_default_graph_as_union=union))

    def canonical_nquads(self) -> bytes:
        return _canonical_store_nquads(self._store)

    def execute(
        self,
        query: str,
        *,
        result_format: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        bindings: dict[str, Node] | None = None,
        max_rows: int | None = None,
        base_iri: str | None = None,
        max_bytes: int | None = None,
    ) -> Answer:
        """Run a query and serialise its result in ``result_format`` (a key of ``RESULT_FORMATS`` in kg.store.results
        or of ``RDF_FORMATS`` in kg.store.rdf_io).

        Without ``default_graphs`` the default graph is the union of the named graphs (unless the query
        has its own FROM). ``bindings`` fix variables through a VALUES block. At most ``max_rows``
        solutions or triples are kept, in at most ``max_bytes``; relative IRIs resolve against
        ``base_iri``. Raises QuerySyntaxError with the parser's message.
        """
        if bindings:
            brace = where_brace(query)
            if brace is None:
                raise QuerySyntaxError("a query with parameters needs a WHERE clause")
            query = join_values(query, brace, list(bindings), [bindings])
        options: dict[str, Any] = {"base_iri": base_iri} if base_iri else {}
        if default_graphs is not None or named_graphs is not None:
            # a dataset given with the request replaces the query's own entirely (SPARQL 1.1 Protocol 2.1.4)
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs or []]
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or []]
        elif dataset_clause(query) == ([], []):
            options["use_default_graph_as_union"] = True
        try:
            result = self._store.query(query, **options)
            if isinstance(result, ox.QueryTriples):
                return capped_triples(result, result_format, max_rows, max_bytes)
            if isinstance(result, ox.QuerySolutions) and (max_rows is not None or max_bytes is not None):
                body = within_cap(result, result_format, max_rows, max_bytes)
                if body is not None:
                    return Answer(body)
                del result  # the first evaluation's memory goes before the second one takes its own
                again = self._store.query(query, **options)
                assert isinstance(again, ox.QuerySolutions)  # the same query as the first evaluation
                return capped_solutions(again, result_format, max_rows, max_bytes)
            return Answer(result.serialize(format=RESULT_FORMATS[result_format]) or b"")
        except SyntaxError as exc:
            raise QuerySyntaxError(f"the query does not parse: {exc}") from exc
        except ValueError as exc:  # a NamedNode of a malformed graph IRI
            raise QuerySyntaxError(str(exc)) from exc
        except OSError as exc:
            raise StoreError(f"the query failed: {exc}") from exc
