"""A remote SPARQL 1.1 store (Oxigraph server, Virtuoso, Fuseki, GraphDB, ...) in place of the embedded one.

Queries go through SPARQLWrapper (the SPARQL 1.1 Protocol); data goes in with the Graph Store Protocol
(``kg.store.graph_store``). The remote store's default graph is not assumed to be the union of its named
graphs (Oxigraph's is not, Fuseki's depends on its configuration, Virtuoso's holds its own graphs too): a
query that names no dataset is sent with every graph of the build as both default-graph-uri and
named-graph-uri, the Protocol's portable way of saying "the union, and the graphs by name".

``kg push`` loads a build into the remote store graph by graph, in batches: the first batch of a graph
replaces it (PUT), the rest add to it (POST), so a push that failed half-way is rerun to completion.
A small graph (``…/graph/build``) records the build id, the graphs pushed with their triple counts, and
the build's validation report.

Answers are taken as the embedded store would give them: an answer the store says it cut short
(X-SPARQL-MaxRows) is marked truncated, and terms are written as the embedded store writes them
(``_as_embedded``).
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
from collections.abc import Callable, Iterable, Iterator, Mapping

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, VOID, XSD
from rdflib.term import Node
from SPARQLWrapper import POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from kg.config import Settings
from kg.errors import QuerySyntaxError, StoreError
from kg.limits.evaluator import Evaluator, QueryTimeout
from kg.sparql_text import dataset_clause, query_form, where_brace, without_comments
from kg.store.embedded import EmbeddedStore
from kg.store.graph_store import send
from kg.store.rdf_io import ntriples, parse_rdf
from kg.store.results import Answer, reserialize_solutions, reserialize_triples, solution_rows
from kg.store.terms import NamedQuad, Triple, to_ox

RDF_JSON = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")
Progress = Callable[[str], None]


def build_graph(base_iri: str) -> URIRef:
    return URIRef(f"{base_iri}graph/build")


class RemoteStore:
    """A store reached over HTTP; the methods the web layer and the CLI use of an EmbeddedStore."""

    remote = True

    def __init__(self, query_url: str, *, base_iri: str, timeout: float = 30, user_agent: str = "kg"):
        self.query_url = query_url
        self.base_iri = base_iri
        self.timeout = timeout
        self.user_agent = user_agent
        self._graphs: tuple[str, list[URIRef]] | None = None  # (build id, graphs), refreshed per build
        self._exchanges = Evaluator(timeout + 0.5)  # waits for each answer on a pooled thread, up to the deadline

    # --- the protocol -----------------------------------------------------------------------------------

    def _request(
        self, query: str, accept: str, default_graphs: list[str] | None, named_graphs: list[str] | None
    ) -> tuple[bytes, bool]:
        """The answer's body, and whether the store says it cut the answer short (X-SPARQL-MaxRows)."""
        client = SPARQLWrapper(self.query_url, agent=self.user_agent)
        client.setMethod(POST)
        client.setRequestMethod(URLENCODED)
        client.setTimeout(int(max(1, self.timeout)))
        # SPARQLWrapper guesses query or update from keywords, comments included ("drop out" in a
        # saved query's description made it send an update): it gets the query without comments
        client.setQuery(without_comments(query))
        client.setOnlyConneg(True)  # the Accept header, not a format parameter some servers reject
        client.addCustomHttpHeader("Accept", accept)
        for graph in default_graphs or []:
            client.addDefaultGraph(graph)
        for graph in named_graphs or []:
            client.addNamedGraph(graph)
        # The socket timeout bounds each wait for bytes, not the whole answer, and a store trickling its
        # status line or headers a byte at a time would hold the request for hours: the exchange runs on
        # a thread of its own, and the caller stops waiting at the deadline (the thread ends with the socket).
        deadline = time.monotonic() + self.timeout
        try:
            return self._exchanges.call(lambda: self._exchange(client, deadline))
        except QueryTimeout:
            raise StoreError(f"the remote store at {self.query_url} did not answer within {self.timeout:g} s") from None

    def _exchange(self, client: SPARQLWrapper, deadline: float) -> tuple[bytes, bool]:
        try:
            with client.query().response as response:
                body = self._read_by(response, deadline)
                return _as_embedded(body), response.headers.get("X-SPARQL-MaxRows") is not None
        except SPARQLWrapperException as exc:
            message = str(exc).split("\n")[0]
            if "QueryBadFormed" in type(exc).__name__:
                raise QuerySyntaxError(f"the remote store refused the query: {message}") from exc
            raise StoreError(f"the remote store at {self.query_url} failed: {message}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreError(
                f"the remote store at {self.query_url} cannot be reached or did not answer within "
                f"{self.timeout:g} s ({reason})"
            ) from exc

    def _read_by(self, response, deadline: float) -> bytes:
        """The response body, or StoreError once ``deadline`` passes.

        Checked between chunks, so the thread gives up a trickled body and closes the connection;
        ``read1`` returns what has arrived.
        """
        chunks = []
        while chunk := response.read1(65536):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the remote store at {self.query_url} did not finish its answer within {self.timeout:g} s"
                )
        return b"".join(chunks)

    def _whole(
        self, query: str, accept: str, default_graphs: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> bytes:
        """The whole answer, for kg's own queries: StoreError if the store cut it short."""
        body, cut = self._request(query, accept, default_graphs, named_graphs)
        if cut:
            raise StoreError(
                f"the remote store at {self.query_url} cut its answer short: raise its row limit "
                "(Virtuoso: ResultSetMaxRows in the [SPARQL] section of virtuoso.ini)"
            )
        return body

    def _dataset(self, query: str, default_graphs, named_graphs) -> tuple[list[str] | None, list[str] | None]:
        if default_graphs is not None or named_graphs is not None:
            return default_graphs or [], named_graphs or []
        if dataset_clause(query) != ([], []):
            return None, None
        everything = [str(g) for g in self.graphs()]
        return everything, everything

    def execute(
        self,
        query: str,
        *,
        result_format: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        bindings=None,
        max_rows: int | None = None,
        base_iri: str | None = None,
    ) -> Answer:
        """As ``EmbeddedStore.execute``: the remote store evaluates, and our serialisers write the result."""
        if bindings:
            query = _bound(query, bindings, QuerySyntaxError("a query with parameters needs a WHERE clause"))
        if base_iri and "BASE" not in query.upper().split("{", 1)[0]:
            query = f"BASE <{base_iri}>\n{query}"
        default_graphs, named_graphs = self._dataset(query, default_graphs, named_graphs)
        if query_form(query) in ("construct", "describe"):
            body, cut = self._request(query, "application/n-triples", default_graphs, named_graphs)
            answer = reserialize_triples(body, result_format, max_rows)
        else:
            body, cut = self._request(query, "application/sparql-results+json", default_graphs, named_graphs)
            answer = reserialize_solutions(body, result_format, max_rows)
        return dataclasses.replace(answer, truncated=True) if cut else answer  # cut by the store: say so

    def select(self, query: str, *, bindings=None, union: bool = True) -> list[dict]:
        if bindings:  # the message EmbeddedStore.select gives
            query = _bound(query, bindings, StoreError("a query with bindings needs a WHERE clause"))
        return self._rows(query, *self._union_or_graphs(query, union))

    def _union_or_graphs(self, query: str, union: bool) -> tuple[list[str] | None, list[str] | None]:
        """The dataset of a query without one: the union and the graphs by name, or (``union`` false, as the
        embedded store's own default graph, which is empty) only the build's graphs by name."""
        if union or dataset_clause(query) != ([], []):
            return self._dataset(query, None, None)
        return [], [str(g) for g in self.graphs()]

    def _rows(
        self, query: str, default_graphs: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> list[dict[str, Node]]:
        """The rows of a SELECT query; StoreError for an ASK."""
        rows = solution_rows(self._whole(query, "application/sparql-results+json", default_graphs, named_graphs))
        if isinstance(rows, bool):
            raise StoreError("expected a SELECT query")
        return rows

    def ask(self, query: str, *, union: bool = True) -> bool:
        dataset = self._union_or_graphs(query, union)
        return bool(solution_rows(self._whole(query, "application/sparql-results+json", *dataset)))

    # --- what the web layer asks of a store -------------------------------------------------------------

    @property
    def build_id(self) -> str:
        """The build pushed last (recorded by ``push``), or "unknown" for a store we did not fill."""
        rows = self._rows(
            f"SELECT ?id WHERE {{ GRAPH <{build_graph(self.base_iri)}> {{ ?d <{OWL.versionInfo}> ?id }} }}"
        )
        return str(rows[0]["id"]) if rows else "unknown"

    @property
    def path(self) -> str:
        return self.query_url

    def graphs(self) -> list[URIRef]:
        """The graphs the build record lists (a store holds others too: Virtuoso its own), else every graph."""
        build = self.build_id
        if self._graphs is None or self._graphs[0] != build:
            rows = self._rows(
                f"SELECT ?g WHERE {{ GRAPH <{build_graph(self.base_iri)}> {{ ?d <{DCTERMS.hasPart}> ?g }} }}"
            ) or self._rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
            # a named graph's name is an IRI (SPARQL 1.1 Query, 13)
            names = [g for r in rows if isinstance(g := r["g"], URIRef)]
            self._graphs = (build, sorted(g for g in names if g != build_graph(self.base_iri)))
        return list(self._graphs[1])

    def quads(self, graphs: list[URIRef] | None = None) -> Iterator[NamedQuad]:
        for graph in graphs if graphs is not None else self.graphs():
            body = self._whole(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", "application/n-triples"
            )
            if body.strip():
                for s, p, o, _ in parse_rdf(body, format="ntriples", base_iri=self.base_iri, source=str(graph)):
                    yield s, p, o, graph

    def __len__(self) -> int:
        """The triples of the build's graphs as the build record counts them (``push`` checked them), since
        /health asks on every call; a store ``push`` did not fill is counted, which takes long on a large one."""
        recorded = self._rows(
            f"SELECT (COUNT(?n) AS ?graphs) (SUM(?n) AS ?triples) "
            f"WHERE {{ GRAPH <{build_graph(self.base_iri)}> {{ ?g <{VOID.triples}> ?n }} }}"
        )
        if recorded and int(str(recorded[0]["graphs"])):
            return int(str(recorded[0]["triples"]))
        rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        return int(rows[0]["n"])

    def attachment(self, name: str) -> bytes | None:
        """The build's JSON validation report, which ``push`` stores in the build graph; nothing else."""
        if name != "report.json":
            return None
        rows = self._rows(
            f"SELECT ?report WHERE {{ GRAPH <{build_graph(self.base_iri)}> {{ ?d <{RDF.value}> ?report }} }}"
        )
        return str(rows[0]["report"]).encode("utf-8") if rows else None

    def instances(self, classes: Iterable[URIRef]) -> set:
        members = set()
        for cls in classes:
            members |= {r["s"] for r in self.select(f"SELECT DISTINCT ?s WHERE {{ ?s a <{cls}> }}")}
        return members


def _as_embedded(body: bytes) -> bytes:
    """``body`` (SPARQL JSON or N-Triples) with its terms written as the embedded store writes them: Virtuoso
    keeps an xsd:boolean as a number, answering "1" or "0" for "true" or "false", and names a blank node
    "nodeID://b1" in SPARQL JSON, which is not a blank node label."""
    boolean = f"{XSD.boolean}"
    if boolean.encode() not in body and b"nodeID://" not in body:
        return body
    if not body.lstrip().startswith(b"{"):  # N-Triples, where a quote inside a literal is escaped
        for number, word in (("1", "true"), ("0", "false")):
            body = body.replace(f'"{number}"^^<{boolean}>'.encode(), f'"{word}"^^<{boolean}>'.encode())
        return body
    document = json.loads(body)
    for row in document.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("datatype") == boolean and term.get("value") in ("1", "0"):
                term["value"] = "true" if term["value"] == "1" else "false"
            elif term.get("type") == "bnode":
                term["value"] = term["value"].removeprefix("nodeID://")
    return json.dumps(document, ensure_ascii=False).encode()


def _bound(query: str, bindings: Mapping[str, Node], missing: Exception) -> str:
    """``query`` with ``bindings`` as BIND clauses opened right after its WHERE clause's brace (``missing``
    raised without one), each term written by pyoxigraph (escaped N-Triples). The embedded store joins a
    one-row VALUES block, which means the same, but Virtuoso does not start a property path (``yrd:partOf+``)
    at a variable that VALUES binds ("transitive start not given")."""
    brace = where_brace(query)
    if brace is None:
        raise missing
    binds = "".join(f"\n  BIND({to_ox(term)} AS ?{name})" for name, term in bindings.items())
    return f"{query[: brace + 1]}{binds}\n{query[brace + 1 :]}"


def open_store(settings: Settings):
    """The store the settings name: a remote one when ``store_url`` is set, else the embedded one."""
    if settings.store_url:
        return RemoteStore(settings.store_url, base_iri=settings.base_iri, timeout=settings.query_timeout)
    return EmbeddedStore(settings.path("store_dir"))


# --- loading a build into a remote store --------------------------------------------------------------


def _batches(triples: list[Triple], size: int) -> Iterator[list[Triple]]:
    """Batches of triples; every triple with a blank node goes in the first batch, since a blank node
    written in two documents would become two nodes."""
    blank = [t for t in triples if isinstance(t[0], BNode) or isinstance(t[2], BNode)]
    ground = [t for t in triples if not (isinstance(t[0], BNode) or isinstance(t[2], BNode))]
    first, rest = blank + ground[: max(0, size - len(blank))], ground[max(0, size - len(blank)) :]
    yield first
    for start in range(0, len(rest), size):
        yield rest[start : start + size]


def push(
    store: EmbeddedStore,
    *,
    data_url: str,
    query_url: str,
    base_iri: str,
    batch_size: int = 50_000,
    timeout: float = 300,
    token: str | None = None,
    credentials: tuple[str, str] | None = None,
    progress: Progress = lambda message: None,
) -> dict:
    """Load every named graph of ``store`` into the remote store, then check the counts there.

    Returns the triples per graph. Raises StoreError naming the graph that failed; rerunning completes it.
    """
    counts = {}

    def write(method: str, graph: URIRef, triples: list[Triple]) -> None:
        send(method, data_url, graph, ntriples(triples), timeout=timeout, token=token, credentials=credentials)

    graphs = store.graphs()
    started = time.perf_counter()
    for number, graph in enumerate(graphs, 1):
        triples = [(s, p, o) for s, p, o, _ in store.quads([graph])]
        counts[graph] = len(triples)
        for index, batch in enumerate(_batches(triples, batch_size)):
            write("PUT" if index == 0 else "POST", graph, batch)
            progress(
                f"  [{number}/{len(graphs)}] <{graph}>: {min(len(triples), (index + 1) * batch_size)}"
                f"/{len(triples)} triples"
            )
    report, dataset = store.attachment("report.json"), URIRef(f"{base_iri}dataset")
    record: list[Triple] = [(dataset, OWL.versionInfo, Literal(store.build_id))]
    record += [(dataset, DCTERMS.hasPart, graph) for graph in counts]  # what graphs() reads
    record += [(graph, VOID.triples, Literal(count)) for graph, count in counts.items()]  # and len()
    if report is not None:
        record.append((dataset, RDF.value, Literal(report.decode("utf-8"), datatype=RDF_JSON)))
    write("PUT", build_graph(base_iri), record)
    remote = RemoteStore(query_url, base_iri=base_iri, timeout=timeout)
    for graph, expected in counts.items():
        rows = remote.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
        held = int(rows[0]["n"])
        if held != expected:
            raise StoreError(f"after the push the remote store holds {held} triples in <{graph}>, not {expected}")
    progress(f"pushed {sum(counts.values())} triples in {len(counts)} graphs in {time.perf_counter() - started:.1f} s")
    return counts
