"""The embedded store (pyoxigraph) and every other use of pyoxigraph.

Published stores live in ``store_dir/versions/<build-id>``; ``store_dir/current`` is a symbolic link to
the published one. A build writes a new version beside the others and then swaps the link with an atomic
rename, so readers see either the old store or the new one, never a half-written one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyoxigraph as ox
import xxhash
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError, MappingError, QuerySyntaxError, StoreError
from kg.memory_guard import GUARD
from kg.parallel import Spawned, process_alive
from kg.sparql_text import dataset_clause, where_brace

Triple = tuple[Node, Node, Node]
Quad = tuple[Node, Node, Node, URIRef]

#: Query result formats by name: solutions and booleans, and graphs.
RESULT_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                  "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
                 "rdfxml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}
#: Graph formats that carry graph names: a query's triples are written into their default graph.
DATASET_FORMATS = {"trig", "nquads"}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


# --- term conversion between rdflib (build time) and pyoxigraph (store) ------------------------------

def to_ox(term: Node) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    if isinstance(term, (ox.NamedNode, ox.Literal, ox.BlankNode)):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def iri_of(term) -> str | None:
    """The IRI of an rdflib or pyoxigraph IRI term; None for any other term."""
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term) if isinstance(term, URIRef) else None


def from_ox(term) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    raise TypeError(f"unsupported term from the store: {term!r}")


# --- mapping execution and parameter binding ----------------------------------------------------------

def join_values(query: str, where_brace: int, variables: list[str], rows: list[dict[str, Node]]) -> str:
    """``query`` with a VALUES block of ``rows`` opened right after the WHERE clause's brace.

    Each term is written by pyoxigraph (validated, escaped N-Triples), so no value becomes query syntax.
    """
    header = " ".join("?" + v for v in variables)
    lines = ["(" + " ".join(str(to_ox(row[v])) if v in row else "UNDEF" for v in variables) + ")" for row in rows]
    values = f"\n  VALUES ({header}) {{\n    " + "\n    ".join(lines) + "\n  }\n"
    return query[: where_brace + 1] + values + query[where_brace + 1:]


def select_over_rows(query: str, variables: list[str], rows: list[dict[str, Node]], *,
                     base_iri: str, where_brace: int) -> ox.QuerySolutions:
    """Run a SELECT with ``rows`` joined as a VALUES block opened right after ``where_brace``.

    The cells are pyoxigraph terms, whose constructors validate them and whose ``str()`` is escaped
    N-Triples, so no cell text is ever pasted into the query as syntax.
    """
    text = join_values(query, where_brace, variables, rows)
    try:
        return ox.Store().query(text, base_iri=base_iri)
    except SyntaxError as exc:
        raise MappingError(f"the mapping does not parse: {exc}") from exc


def canonical_literals(literals: Iterable[ox.Literal]) -> dict[ox.Literal, ox.Literal]:
    """The canonical form the store keeps of each literal whose form differs ("52.0" -> "52")."""
    literals = list(literals)
    scratch = ox.Store()
    scratch.extend(ox.Quad(ox.NamedNode(f"urn:x-literal:{i}"), ox.NamedNode("urn:x-value"), literal)
                   for i, literal in enumerate(literals))
    stored = ((literals[int(q.subject.value.rsplit(":", 1)[1])], q.object) for q in scratch)
    return {literal: kept for literal, kept in stored if kept != literal}


def to_rdflib_terms(terms: Iterable) -> dict:
    """Each pyoxigraph term's rdflib twin, literals in the canonical form the store keeps ("52.0" -> "52")."""
    terms = set(terms)
    canonical = canonical_literals(t for t in terms if isinstance(t, ox.Literal))
    return {t: from_ox(canonical.get(t, t)) for t in terms}


def memory_store(*parts: Iterable[Triple] | bytes | Path) -> ox.Store:
    """An in-memory pyoxigraph store holding the triples of every part in its default graph.

    A part is a collection of rdflib triples, or an N-Triples document without blank nodes (see
    ``ntriples_text``) given as bytes or as the path of a file (read by pyoxigraph as it loads, never held
    whole). Text is parsed by pyoxigraph in Rust: measured 2-3 times as fast as making a pyoxigraph quad of
    each triple in Python. Blank nodes would be relabelled by the parser (and validation reports name
    them), so a part with any goes in as terms.
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
                store.extend(quad for quad in _ox_quad_stream((s, p, o, None) for s, p, o in part))
                continue
            part = text
        store.load(part, format=ox.RdfFormat.N_TRIPLES, lenient=True)  # the terms were checked by to_ox
    return store


def store_triples(store: ox.Store) -> Iterator[Triple]:
    """The default graph of an in-memory store as rdflib triples (for small graphs and rdflib-only tools)."""
    for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph()):
        yield from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)


def text_triples(text: bytes) -> set[Triple]:
    """The triples of an N-Triples document as rdflib terms, literals as the store keeps them."""
    parsed = list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))
    twins = to_rdflib_terms({t for triple in parsed for t in (triple.subject, triple.predicate, triple.object)})
    return {(twins[t.subject], twins[t.predicate], twins[t.object]) for t in parsed}


def store_rows(store: ox.Store, query: str) -> list[dict[str, Node]]:
    """The rows of a SELECT over an in-memory store's default graph, as rdflib terms."""
    return _rows(store.query(query))


def _rows(solutions: ox.QuerySolutions) -> list[dict[str, Node]]:
    """Solutions as rows of rdflib terms, unbound variables left out."""
    names = [v.value for v in solutions.variables]
    return [{n: from_ox(row[n]) for n in names if row[n] is not None} for row in solutions]


def _once_per_object(convert):
    """``convert``, remembering its answer for each argument object (terms repeat: a build's triples share them).

    Keyed on the object's identity: keyed on the term, every hit ran rdflib's Python ``__eq__`` (measured:
    a third of the conversion's time). Each entry keeps its term alive, so an identity is never reused
    while the cache lives; an equal term in another object converts to an equal answer.
    """
    answers: dict[int, tuple] = {}
    get = answers.get

    def converted(term):
        found = get(id(term))
        if found is None or found[0] is not term:
            found = answers[id(term)] = (term, convert(term))
        return found[1]
    return converted


def _ntriples_term(term) -> str:
    converted = to_ox(term)
    if not isinstance(converted, (ox.NamedNode, ox.Literal)):
        raise HasBlankNode
    return str(converted)


def ntriples_formatter() -> Callable[[Node], str]:
    """A function giving a term's N-Triples text (written by pyoxigraph: validated and escaped), computed
    once per term object; it raises HasBlankNode for a blank node. Keep one for a whole build: terms repeat."""
    return _once_per_object(_ntriples_term)


def ntriples_text(triples: Iterable[Triple], text: Callable[[Node], str] | None = None) -> bytes | None:
    """``triples`` as an N-Triples document, or None if a term is a blank node or a quoted triple."""
    text = text or ntriples_formatter()
    try:
        # bytes line by line: one str of the whole text would widen to 4 bytes a character with one
        # Chinese label in it
        return b"".join([f"{text(s)} {text(p)} {text(o)} .\n".encode() for s, p, o in triples])
    except HasBlankNode:
        return None


def in_graph(text: bytes, graph: str) -> bytes:
    """An N-Triples document (as written here: one triple a line) as N-Quads in the named graph ``graph``.

    A raw line break never occurs inside an N-Triples term (literals escape it), so the line ends are
    exactly the triples' ends.
    """
    return text.replace(b" .\n", f" {ox.NamedNode(graph)} .\n".encode())


class HasBlankNode(Exception):
    pass


def canonical(triples: Iterable[Triple]) -> list[Triple]:
    """The triples with their literals in the canonical form the store keeps."""
    scratch = ox.Store()
    scratch.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in triples])
    return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)) for q in scratch]


def check_query_syntax(query: str, *, base_iri: str) -> None:
    """Raise MappingError if ``query`` is not valid SPARQL."""
    try:
        ox.Store().query(query, base_iri=base_iri)
    except SyntaxError as exc:
        raise MappingError(str(exc)) from exc


# --- reading RDF files -------------------------------------------------------------------------------------

#: Input formats by name, and the file extensions that imply them.
INPUT_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS,
}
EXTENSIONS: dict[str, str] = {
    "ttl": "turtle", "nt": "ntriples", "jsonld": "jsonld", "json": "jsonld", "rdf": "rdfxml", "xml": "rdfxml",
    "owl": "rdfxml", "trig": "trig", "nq": "nquads",
}


def format_for(path: Path, name: str | None = None) -> str:
    """The input format named, or implied by the file's extension; InputError if neither works."""
    if name is not None:
        if name not in INPUT_FORMATS:
            raise InputError(f"unknown input format {name!r}; choose one of {', '.join(INPUT_FORMATS)}")
        return name
    extension = path.suffix.lower().lstrip(".")
    if extension not in EXTENSIONS:
        raise InputError(f"{path.name}: cannot tell the RDF format from the extension {path.suffix or '(none)'!r}; "
                         f"use one of .{', .'.join(EXTENSIONS)} or name the format")
    return EXTENSIONS[extension]


def parse_rdf(data: bytes, *, format: str, base_iri: str, source: str) -> list[Quad]:
    """Every quad of an RDF document (triples land in the default graph, as None).

    Raises InputError for an empty document or a syntax error, with the parser's line and column.
    Nothing is fetched: pyoxigraph resolves no remote JSON-LD context and no XML external entity, and
    RDF/XML declaring entities is refused before pyoxigraph reads it (it expands them without bound: a
    738-byte "billion laughs" document took all the memory of the process).
    """
    if not data.strip():
        raise InputError(f"{source}: the file is empty")
    if format == "rdfxml":
        _refuse_xml_entities(data, source)
    try:
        quads = list(ox.parse(data, format=INPUT_FORMATS[format], base_iri=base_iri))
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        if "LoadDocumentCallback" in str(exc):  # pyoxigraph's words for a remote context it will not load
            raise InputError(f"{source}: the JSON-LD names a remote @context, and remote contexts are never "
                             "fetched; put the context inline in the document") from exc
        # pyoxigraph's message already names the line and column
        raise InputError(f"{source}: not valid {format}: {exc}") from exc
    if not quads:
        raise InputError(f"{source}: the file holds no RDF statements")
    try:
        return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
                 None if isinstance(q.graph_name, ox.DefaultGraph) else from_ox(q.graph_name)) for q in quads]
    except TypeError as exc:  # an RDF 1.2 triple term, which the graph's model has no place for
        raise InputError(f"{source}: {exc}; RDF 1.2 triple terms are not accepted") from exc


def _refuse_xml_entities(data: bytes, source: str) -> None:
    """InputError for XML that declares entities (internal or external); defusedxml reads it with expat."""
    import xml.etree.ElementTree

    import defusedxml.ElementTree
    from defusedxml import DefusedXmlException

    try:
        defusedxml.ElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise InputError(f"{source}: the RDF/XML declares entities ({exc}); entity declarations are refused, "
                         "since they can read local files or expand without bound. Write the values out, or "
                         "send Turtle") from exc
    except xml.etree.ElementTree.ParseError as exc:
        raise InputError(f"{source}: not valid rdfxml: {exc}") from exc


# --- canonical serialisation ------------------------------------------------------------------------

def canonical_blank_nodes(quads: Iterable[Quad]) -> list[Quad]:
    """The quads with blank nodes relabelled by RDFC-1.0, so that isomorphic inputs become equal.

    Labels depend on the whole input: relabel small independent pieces (one blank-node structure at a
    time) when comparing datasets that differ elsewhere. A ``None`` graph is the default graph.
    """
    dataset = ox.Dataset([ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph() if g is None else to_ox(g))
                          for s, p, o, g in quads])
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
             None if isinstance(q.graph_name, ox.DefaultGraph) else from_ox(q.graph_name)) for q in dataset]


def sorted_nquads(quads: Iterable[Quad]) -> bytes:
    """Quads as N-Quads, one per line, sorted: the canonical form of a dataset (no blank nodes)."""
    text = ox.serialize(list(_ox_quad_stream(quads)), format=ox.RdfFormat.N_QUADS) or b""
    lines = sorted(set(text.splitlines()))
    return b"".join(line + b"\n" for line in lines)


def _ox_quad_stream(quads: Iterable[Quad]) -> Iterator[ox.Quad]:
    """rdflib quads as pyoxigraph quads, one by one, converting each term object once."""
    twin = _once_per_object(to_ox)
    graphs: dict = {None: ox.DefaultGraph()}
    for s, p, o, g in quads:
        graph = graphs.get(g)
        if graph is None:
            graph = graphs[g] = ox.NamedNode(str(g))  # graph names may be given as plain strings
        yield ox.Quad(twin(s), twin(p), twin(o), graph)


def _xml_safe(term):
    """pyoxigraph writes blank-node labels as rdf:nodeID unchanged, and its own parser (rightly) rejects a
    nodeID that is not an XML name, such as our hex labels starting with a digit: prefix them."""
    return ox.BlankNode("b" + term.value) if isinstance(term, ox.BlankNode) else term


#: Formats that ``serialize_sorted`` writes, and whether they carry graph names.
EXPORT_FORMATS = {"turtle": (ox.RdfFormat.TURTLE, False), "ntriples": (ox.RdfFormat.N_TRIPLES, False),
                  "jsonld": (ox.RdfFormat.JSON_LD, True), "rdfxml": (ox.RdfFormat.RDF_XML, False),
                  "trig": (ox.RdfFormat.TRIG, True), "nquads": (ox.RdfFormat.N_QUADS, True)}


def serialize_sorted(quads: Iterable[Quad], format: str, *, prefixes: dict[str, str] | None = None) -> bytes:
    """Quads written in ``format`` in one fixed order (graph, subject, predicate, object), duplicates removed.

    The same quads give the same bytes in any process. Formats without graph names merge the graphs. The
    terms may be rdflib's or pyoxigraph's (``EmbeddedStore.export_quads``). The order is that of the terms'
    N-Triples text, graph first: sorting on a triple's line is the same as sorting on its terms in turn,
    since a term's text never continues with a character below the space that follows it in the line.
    Only the lines are kept and sorted; pyoxigraph parses them back (blank-node labels kept) as it writes.
    """
    rdf_format, with_graphs = EXPORT_FORMATS[format]
    graphs: dict = {}  # graph name -> its N-Triples text: names repeat on every quad
    lines = set()
    for s, p, o, g in quads:
        graph = graphs.get(g)
        if graph is None:
            graph = graphs[g] = str(to_ox(g)) if with_graphs and g is not None else ""
        lines.add((graph, f"{to_ox(s)} {to_ox(p)} {to_ox(o)}"))
    # joined as bytes line by line: one str of the whole text would take 2-4 bytes a character as soon as
    # one line holds a Chinese label
    if with_graphs:
        text = b"".join((f"{line} {graph} .\n" if graph else f"{line} .\n").encode() for graph, line in sorted(lines))
        parsed = ox.parse(text, format=ox.RdfFormat.N_QUADS)
    else:
        text = b"".join(f"{line} .\n".encode() for _, line in sorted(lines))
        parsed = ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
    del lines
    if format == "rdfxml":
        parsed = (ox.Triple(_xml_safe(t.subject), t.predicate, _xml_safe(t.object)) for t in parsed)
    options = {"prefixes": prefixes} if prefixes and format in ("turtle", "trig", "jsonld", "rdfxml") else {}
    return ox.serialize(parsed, format=rdf_format, **options) or b""


def sorted_ntriples(triples: Iterable[Triple]) -> bytes:
    """Triples as N-Triples, sorted and without duplicates."""
    ox_triples = [ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in triples]
    text = ox.serialize(ox_triples, format=ox.RdfFormat.N_TRIPLES) or b""
    return b"".join(line + b"\n" for line in sorted(set(text.splitlines())))


# --- the published store ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PublishedVersion:
    build_id: str
    path: Path
    reused: bool


def _canonical_store_nquads(store: ox.Store) -> bytes:
    text = store.dump(format=ox.RdfFormat.N_QUADS) or b""
    return b"".join(line + b"\n" for line in sorted(set(text.splitlines())))


def publish(quads: Iterable[Quad], store_dir: Path, *, keep_versions: int,
            attachments: dict[str, bytes] | None = None, texts: Iterable[bytes] = ()) -> PublishedVersion:
    """Load a dataset into a new store version and make it current, atomically (``stage``, then commit).

    On any failure the previous ``current`` store is untouched and the partial version is removed.
    """
    return stage(quads, store_dir, texts=texts).commit(attachments=attachments, keep_versions=keep_versions)


def stage(quads: Iterable[Quad], store_dir: Path, *, texts: Iterable[bytes] = ()) -> StagedVersion:
    """Load a dataset into a new store version beside the published ones, without publishing it
    (``StagedVersion.write``, then ``load``). Call ``commit`` or ``discard`` on the result."""
    staged = StagedVersion.write(quads, store_dir, texts=texts)
    try:
        staged.load()
    except BaseException:
        staged.discard()
        raise
    return staged


def fill_staging(staging: Path | str, snapshot: Path | str, blank: Path | str, fresh: bool = True) -> None:
    """Make the RocksDB store ``staging`` from a version's snapshot files (anything there before is removed),
    or, not ``fresh``, add those files' quads to it."""
    if fresh:
        shutil.rmtree(staging, ignore_errors=True)
    store = ox.Store(str(staging))
    _load_snapshot(store, Path(snapshot), Path(blank), in_memory=False)
    store.flush()
    del store


#: A snapshot part smaller than this loads in the building process: a fresh Python process takes 0.2-0.3 s
#: to start and import kg.store (measured), and loading a part this size takes about as long. The seed
#: graph's parts (4 MB and 0.4 MB) load here; those of a large build, beside it.
SPAWN_FROM_BYTES = 8 << 20


class StagedVersion:
    """A store version being made in ``versions/.staging-<pid>`` with its snapshot, not yet published.

    The dataset is given as ``quads`` and ``texts``: N-Quads documents without blank nodes (see
    ``in_graph``), which go to the snapshot as they are, so a large graph made as text is never turned into
    terms in Python. The version's name is a hash of the dataset: the sum of a hash of each N-Quads line,
    which does not depend on the order the quads come in (the dataset holds no quad twice), so an
    identical rebuild has the same name and reuses it. (Hashing the store's own dump instead took 9 s at
    100k asserted triples.) Its N-Quads snapshot, from which a server copies the version into memory, is
    kept beside it: the quads with a blank node in ``<build-id>.blank.nq``, all others in ``<build-id>.nq``
    (see ``_load_snapshot``). Every step leaves nothing behind when it fails; use it under the write lock.
    """

    def __init__(self, store_dir: Path):
        self.store_dir = store_dir
        self.versions = store_dir / "versions"
        self.staging = self.versions / f".staging-{os.getpid()}"
        self.snapshot = self.versions / f".snapshot.nq.{os.getpid()}"
        self.blank = self.versions / f".snapshot-blank.nq.{os.getpid()}"
        self.added = self.versions / f".snapshot-added.nq.{os.getpid()}"
        self.added_blank = self.versions / f".snapshot-added-blank.nq.{os.getpid()}"
        self.build_id: str | None = None
        self._digest = _DatasetDigest()

    @classmethod
    def write(cls, quads: Iterable[Quad], store_dir: Path, *, texts: Iterable[bytes] = ()) -> StagedVersion:
        """Write the dataset's snapshot and name the version; the store itself is made by ``load``."""
        staged = None
        try:
            staged = cls(store_dir)
            staged.versions.mkdir(parents=True, exist_ok=True)
            _remove_abandoned(staged.versions)
            text, blank_text = _nquads(quads)
            with staged.snapshot.open("wb") as out:
                for piece in itertools.chain([text], texts):
                    staged._digest.add(piece)
                    out.write(piece)
            staged._digest.add(blank_text)
            staged.blank.write_bytes(blank_text)
            staged.build_id = staged._digest.hexdigest()[:16]
            return staged
        except BaseException as exc:
            if staged is not None:
                staged.discard()
            if isinstance(exc, OSError):
                raise _write_failure("publish", store_dir, exc) from exc
            raise

    def load(self) -> None:
        """Fill the version's RocksDB store from its snapshot. A failure leaves the snapshot in place for
        another try, and the cleanup to the caller (``discard``)."""
        self._fill(self.snapshot, self.blank, fresh=True)

    def load_beside(self, spawn_from: int = SPAWN_FROM_BYTES) -> Spawned:
        """``load`` in a fresh Python process, while this one goes on (``result()`` waits for it; if it
        failed, the load is tried again here, which raises the real error). A snapshot under
        ``spawn_from`` bytes loads here at once: starting the process would take longer."""
        return self._fill_beside(self.snapshot, self.blank, fresh=True, spawn_from=spawn_from)

    def _fill(self, snapshot: Path, blank: Path, *, fresh: bool) -> None:
        try:
            fill_staging(self.staging, snapshot, blank, fresh)
        except OSError as exc:
            raise _write_failure("publish", self.store_dir, exc) from exc

    def _fill_beside(self, snapshot: Path, blank: Path, *, fresh: bool, spawn_from: int) -> Spawned:
        code = "import sys\nfrom kg.store import fill_staging\nfill_staging(*sys.argv[1:4], sys.argv[4] == 'fresh')"
        return Spawned(code, [str(self.staging), str(snapshot), str(blank), "fresh" if fresh else "add"],
                       lambda: self._fill(snapshot, blank, fresh=fresh), here=snapshot.stat().st_size < spawn_from)

    def add(self, quads: Iterable[Quad]) -> None:
        """Add ``quads`` to the version: to its name now, to its snapshot on ``commit``, to its store by
        ``load_added_beside`` (once ``load`` is done). A build adds the inferred graph so, after reasoning:
        the rest was written and loaded while it reasoned. Once per version."""
        if self.added.exists():
            raise ValueError("a staged version takes one added part")
        try:
            text, blank_text = _nquads(quads)
            for path, data in ((self.added, text), (self.added_blank, blank_text)):
                self._digest.add(data)
                path.write_bytes(data)
            self.build_id = self._digest.hexdigest()[:16]
        except OSError as exc:
            raise _write_failure("publish", self.store_dir, exc) from exc

    def load_added_beside(self, spawn_from: int = SPAWN_FROM_BYTES) -> Spawned:
        """Load the added part into the store, as ``load_beside`` loads the rest."""
        return self._fill_beside(self.added, self.added_blank, fresh=False, spawn_from=spawn_from)

    def commit(self, *, attachments: dict[str, bytes] | None, keep_versions: int) -> PublishedVersion:
        """Name the version by its hash, write ``attachments`` (the build's validation reports) beside it
        as ``<build-id>.<name>``, and make it current; the previous one stays current on any failure."""
        versions, build_id = self.versions, self.build_id
        try:
            for part, whole in ((self.added, self.snapshot), (self.added_blank, self.blank)):
                if part.exists():
                    with part.open("rb") as source, whole.open("ab") as target:
                        shutil.copyfileobj(source, target, 1 << 24)
            final = versions / build_id
            reused = final.is_dir()
            if not reused:
                os.replace(self.staging, final)
            os.replace(self.blank, versions / f"{build_id}.{SNAPSHOT_BLANK}")
            os.replace(self.snapshot, versions / f"{build_id}.{SNAPSHOT}")
            for name, data in (attachments or {}).items():
                target = versions / f"{build_id}.{name}"
                temporary = versions / f".{build_id}.{name}.{os.getpid()}"
                try:
                    temporary.write_bytes(data)
                    os.replace(temporary, target)
                finally:
                    temporary.unlink(missing_ok=True)  # a write cut short (a full disk) leaves nothing behind
            os.utime(final)  # the prune keeps the most recently published versions
            _point_current(self.store_dir, final)
            _prune(versions, keep=keep_versions, current=final)
        except OSError as exc:
            raise _write_failure("publish", self.store_dir, exc) from exc
        finally:
            self.discard()
        return PublishedVersion(build_id, final, reused)

    def discard(self) -> None:
        """Remove what is left of the staged version (all of it, unless it was committed)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        for path in (self.snapshot, self.blank, self.added, self.added_blank):
            path.unlink(missing_ok=True)


_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")  # how pyoxigraph's Rust I/O errors name theirs
_WRITE_ADVICE = {errno.ENOSPC: "the disk is full: free space there, then run it again",
                 errno.EDQUOT: "the disk quota is used up: free space there, then run it again",
                 errno.EROFS: "the folder is on a read-only file system: point store_dir at a writable one",
                 errno.EACCES: "this user may not write there: fix the folder's permissions or point store_dir elsewhere"}


def _write_failure(action: str, store_dir: Path, exc: OSError) -> StoreError:
    """A StoreError that says what failed, what to do, and that the published version is untouched.

    Python's errors carry the number; pyoxigraph's name it "(os error 28)" or, from RocksDB, only in
    words ("IO error: No space left on device: While appending to file ...").
    """
    number, text = exc.errno, str(exc)
    if number is None:
        match = _OS_ERROR_NUMBER.search(text)
        number = int(match.group(1)) if match else None
    if number is None:
        number = next((n for n in _WRITE_ADVICE if os.strerror(n) in text), None)
    advice = _WRITE_ADVICE.get(number, "see the reason above")
    return StoreError(f"cannot {action} the store in {store_dir}: {exc}; {advice}. "
                      "The published version is unchanged and still served.")


#: The attachments holding a version's quads as N-Quads: those without a blank node, and those with one.
SNAPSHOT, SNAPSHOT_BLANK = "nq", "blank.nq"


def _nquads(quads: Iterable[Quad]) -> tuple[bytes, bytes]:
    """rdflib quads as N-Quads text: those without a blank node, and those with one (see ``_load_snapshot``)."""
    with_blank_nodes: list[ox.Quad] = []
    text = ox.serialize(_set_aside_blank_nodes(_ox_quad_stream(quads), with_blank_nodes),
                        format=ox.RdfFormat.N_QUADS) or b""
    return text, ox.serialize(with_blank_nodes, format=ox.RdfFormat.N_QUADS) or b""


def _has_blank_node(quad: ox.Quad) -> bool:
    # a quoted triple counts too: it may hold one
    return not (isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, (ox.NamedNode, ox.Literal))
                and not isinstance(quad.graph_name, ox.BlankNode))


def _set_aside_blank_nodes(quads: Iterable[ox.Quad], aside: list[ox.Quad]) -> Iterator[ox.Quad]:
    for quad in quads:
        if _has_blank_node(quad):
            aside.append(quad)
        else:
            yield quad


def _load_snapshot(store: ox.Store, snapshot: Path, blank: Path, *, in_memory: bool) -> None:
    """Fill ``store`` from a version's snapshot files, blank-node labels as written.

    pyoxigraph's loaders parse in Rust without holding the GIL, but give blank nodes fresh labels; its
    parser keeps them, but hands every quad through Python. So the quads without blank nodes (nearly all)
    go through the loader, the few with one through the parser, and every copy of a version (on disk, in
    each worker's memory) names its blank nodes alike. Measured at 100k asserted triples, with three busy
    Python threads beside it: 4.3 s by the loader, 14.7 s by the parser (in a loaded server: over a minute).
    The files are ours and already checked, so parsing is lenient.
    """
    if in_memory:
        store.load(path=str(snapshot), format=ox.RdfFormat.N_QUADS, lenient=True)
    else:
        # RocksDB through the parser: as fast here (measured 8.3 s against 8.0 s at 100k), and a store
        # bulk_load wrote was read lazily by a reader that opened it before a newer version pruned it (its
        # table files were gone); a build holds no other thread that wants the GIL
        store.bulk_extend(ox.parse(path=str(snapshot), format=ox.RdfFormat.N_QUADS, lenient=True))
    store.bulk_extend(ox.parse(path=str(blank), format=ox.RdfFormat.N_QUADS, lenient=True))


def line_chunks(text: bytes, size: int = 1 << 24) -> Iterator[bytes]:
    """``text`` in pieces of about ``size`` bytes that end at line ends: what a line-by-line pass holds at
    once stays small (the lines of 1M asserted triples' provenance, as a list, took over a gigabyte)."""
    start = 0
    while start < len(text):
        end = text.find(b"\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


class _DatasetDigest:
    """An order-independent hash of a set of quads: the sum, modulo 2**128, of the XXH3-128 of each quad's
    N-Quads line. It names a version, so it needs to tell datasets apart, not to withstand an adversary."""

    def __init__(self):
        self.total = 0

    def add(self, nquads: bytes) -> None:
        for chunk in line_chunks(nquads):
            # map() over a C function: 0.25 us a line at 1M asserted triples (6.7M lines in 4.4 s), where
            # BLAKE2b through hashlib took 12 s and a Python loop over quads longer still
            self.total += sum(map(xxhash.xxh3_128_intdigest, chunk.splitlines()))

    def hexdigest(self) -> str:
        return f"{self.total % (1 << 128):032x}"


@contextlib.contextmanager
def write_lock(store_dir: Path, wait: float | None = None, busy: Callable[[], Exception] | None = None):
    """Hold the store's write lock (an advisory lock on ``store_dir/.write-lock``) for a read-modify-publish;
    with ``wait``, raise ``busy()`` when it is not had within that many seconds.

    Readers never take it: they see whichever version ``current`` names. The kernel drops the lock when
    the holder dies, so a killed writer never blocks the next one.
    """
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        handle = open(store_dir / ".write-lock", "a+b")
    except OSError as exc:
        raise _write_failure("lock", store_dir, exc) from exc
    with handle:
        deadline = None if wait is None else time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_WRITER_PID = re.compile(r"[-.](\d+)$")


def _remove_abandoned(versions: Path) -> None:
    """Remove what writers that were killed left half-written (their process no longer exists): staging
    folders and attachments in ``versions``, and a ``.current-<pid>`` link beside it."""
    for leftover in [*versions.glob(".*"), *versions.parent.glob(".current-*")]:
        pid = _WRITER_PID.search(leftover.name)  # .staging-<pid>, .<build>.<attachment>.<pid>, .current-<pid>
        if pid and not process_alive(int(pid.group(1))):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _point_current(store_dir: Path, target: Path) -> None:
    link = store_dir / "current"
    temporary = store_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target.relative_to(store_dir))
    os.replace(temporary, link)


def _prune(versions: Path, *, keep: int, current: Path) -> None:
    published = sorted((p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
    # the current version is the newest too (publish touches it), so the others kept are the next ones
    kept = {current} | set([p for p in published if p != current][: keep - 1])
    for path in published:
        if path not in kept:
            shutil.rmtree(path, ignore_errors=True)
            for attachment in versions.glob(f"{path.name}.*"):
                attachment.unlink(missing_ok=True)


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
        self._tail = joined[-(len(self.marker) - 1):] if len(self.marker) > 1 else b""
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


def _within_cap(solutions: ox.QuerySolutions, result_format: str, max_rows: int | None,
                max_bytes: int | None = None) -> bytes | None:
    """The whole result in ``result_format`` when it surely has at most ``max_rows`` rows and
    ``max_bytes`` bytes, else None.

    The usual case, written once by pyoxigraph with no second pass; None costs the caller a second
    evaluation through ``_capped_solutions``, which only results near or past the cap need.
    """
    output = _RowCountingOutput(*_ROW_MARKERS[result_format], max_rows, max_bytes)
    try:
        solutions.serialize(output, format=RESULT_FORMATS[result_format])
    except (_EnoughRows, OSError) as exc:
        if not output.over:  # not ours: a real failure
            raise StoreError(f"the query failed: {exc}") from exc
        return None
    return output.text()


def _capped_solutions(solutions: ox.QuerySolutions, result_format: str, max_rows: int | None,
                      max_bytes: int | None = None) -> Answer:
    """The first ``max_rows`` solutions that fit in ``max_bytes``, serialised by pyoxigraph all the same.

    pyoxigraph serialises only whole result iterators, so the solutions are written as TSV (one row per
    line, terms in N-Triples syntax) into an output that stops the writer, and so the evaluation, once
    a bound is passed; the kept lines are parsed back and written in the asked format. All of it runs in
    Rust (where building the rows as JSON in Python had cost 55% over an uncapped serialisation). The
    asked format may be longer than TSV (JSON, XML): then fewer rows are written again until they fit.
    """
    output = _RowCountingOutput(b"\n", -1, max_rows, max_bytes)
    try:
        solutions.serialize(output, format=ox.QueryResultsFormat.TSV)
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
        body = kept.serialize(format=RESULT_FORMATS[result_format])
        rows = text.count(b"\n", 0, end) - 1
        if max_bytes is None or len(body) <= max_bytes or rows <= 0:
            return Answer(body, truncated=truncated, over_bytes=over_bytes)
        end = _line_end(text, 1 + min(rows - 1, rows * max_bytes // len(body)))
        truncated = over_bytes = True


def _line_end(text: bytes, lines: int) -> int | None:
    """The offset just past the ``lines``-th newline of ``text``, or None when it has fewer."""
    at = -1
    for _ in range(lines):
        at = text.find(b"\n", at + 1)
        if at < 0:
            return None
    return at + 1


def _capped_triples(triples: ox.QueryTriples, result_format: str, max_rows: int | None,
                    max_bytes: int | None = None) -> Answer:
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
                triple = ox.Triple(_xml_safe(triple.subject), triple.predicate, _xml_safe(triple.object))
            kept.append(triple)
            yield triple

    output = _RowCountingOutput(b"\n", 0, None, max_bytes)
    try:
        ox.serialize(taken(), output, format=GRAPH_FORMATS[result_format])
    except _EnoughRows:
        pass
    if not output.over_bytes:
        return Answer(output.text(), truncated=bool(more))
    keep = len(kept) - 1  # the last one taken passed the bound
    while True:
        body = ox.serialize(kept[:keep], format=GRAPH_FORMATS[result_format]) or b""
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
        return Answer(results.serialize(format=RESULT_FORMATS[result_format]))
    if max_rows is None:
        return Answer(results.serialize(format=RESULT_FORMATS[result_format]))
    return _capped_solutions(results, result_format, max_rows)


def reserialize_triples(document: bytes, result_format: str, max_rows: int | None) -> Answer:
    """An N-Triples graph (from a remote store) in ``result_format``, cut at ``max_rows`` triples."""
    try:
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for q in ox.parse(document, format=ox.RdfFormat.N_TRIPLES)]
    except (SyntaxError, ValueError) as exc:
        raise StoreError(f"the remote store sent a graph that is not N-Triples: {exc}") from exc
    return _capped_triples(iter(triples), result_format, max_rows)


def solution_rows(document: bytes) -> list[dict[str, Node]] | bool:
    """SPARQL JSON results as rows of rdflib terms (or the boolean of an ASK)."""
    results = ox.parse_query_results(document, format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        return bool(results)
    return _rows(results)


def ntriples(triples: Iterable[Triple]) -> bytes:
    """Triples as an N-Triples document (for sending to a remote store)."""
    return ox.serialize([ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in triples],
                        format=ox.RdfFormat.N_TRIPLES) or b""


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
        return (self.path.parent / f"{self.build_id}.{SNAPSHOT}", self.path.parent / f"{self.build_id}.{SNAPSHOT_BLANK}")

    def copy_in_memory(self) -> EmbeddedStore:
        """The same version, read from its snapshot into an in-memory store.

        Measured at 100k asserted triples (672k quads): ad hoc queries ran 3-4 times faster in memory
        than on RocksDB, which looks every term of a result up on disk. The copy takes about 1.7 times the
        snapshot's size in memory. StoreError when the version has no snapshot (one published before
        snapshots were kept).
        """
        snapshot, blank = self.snapshot
        if not (snapshot.is_file() and blank.is_file()):
            raise StoreError(f"version {self.build_id} has no snapshot to copy into memory")
        copy = object.__new__(EmbeddedStore)
        copy.path, copy.build_id, copy.in_memory, copy._length = self.path, self.build_id, True, self._length
        copy._store = ox.Store()
        try:
            # queries running meanwhile are not charged with the copy (about 1.7 times the snapshot)
            with GUARD.not_a_query(2 * (snapshot.stat().st_size + blank.stat().st_size)):
                _load_snapshot(copy._store, snapshot, blank, in_memory=True)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"cannot copy version {self.build_id} into memory: {exc}") from exc
        return copy

    def attachment(self, name: str) -> bytes | None:
        """A file published with this version (``report.json``, ``report.ttl``), or None."""
        path = self.path.parent / f"{self.build_id}.{name}"
        return path.read_bytes() if path.is_file() else None

    def __len__(self) -> int:
        # a version never changes, and pyoxigraph counts by scanning: 2-3 s on RocksDB at 6.7M quads,
        # which /health would have paid on every call
        if self._length is None:
            self._length = len(self._store)
        return self._length

    def graphs(self) -> list[URIRef]:
        return sorted(URIRef(g.value) for g in self._store.named_graphs())

    def quads(self, graphs: list[URIRef] | None = None) -> Iterator[Quad]:
        for s, p, o, graph in self.export_quads(graphs if graphs is not None else self.graphs()):
            yield from_ox(s), from_ox(p), from_ox(o), graph

    def export_quads(self, graphs: list[URIRef]) -> Iterator[tuple]:
        """The quads of ``graphs`` with their terms as pyoxigraph keeps them (graph names as given): what an
        export serialises, without making rdflib terms of every quad and back (at 1M asserted triples
        that round trip held 8 GB)."""
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
                    triples += [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object))
                                for q in self._store.quads_for_pattern(to_ox(node), None, None, graph)]
        return triples

    def instances(self, classes: Iterable[URIRef]) -> set[Node]:
        """Subjects typed with any of ``classes`` in any graph (asserted or inferred types alike)."""
        rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        return {from_ox(q.subject) for c in classes
                for q in self._store.quads_for_pattern(None, rdf_type, ox.NamedNode(str(c)), None)}

    def select(self, query: str, *, bindings: dict[str, Node] | None = None,
               union: bool = True) -> list[dict[str, Node]]:
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
        return _rows(solutions)

    def ask(self, query: str, *, union: bool = True) -> bool:
        return bool(self._store.query(query, use_default_graph_as_union=union))

    def canonical_nquads(self) -> bytes:
        return _canonical_store_nquads(self._store)

    def execute(self, query: str, *, result_format: str, default_graphs: list[str] | None = None,
                named_graphs: list[str] | None = None, bindings: dict[str, Node] | None = None,
                max_rows: int | None = None, base_iri: str | None = None, max_bytes: int | None = None) -> Answer:
        """Run a query and serialise its result in ``result_format`` (a key of RESULT_FORMATS or GRAPH_FORMATS).

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
        options: dict = {"base_iri": base_iri} if base_iri else {}
        if default_graphs is not None or named_graphs is not None:
            # a dataset given with the request replaces the query's own entirely (SPARQL 1.1 Protocol 2.1.4)
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs or []]
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or []]
        elif dataset_clause(query) == ([], []):
            options["use_default_graph_as_union"] = True
        try:
            result = self._store.query(query, **options)
            if isinstance(result, ox.QueryTriples):
                return _capped_triples(result, result_format, max_rows, max_bytes)
            if isinstance(result, ox.QuerySolutions) and (max_rows is not None or max_bytes is not None):
                body = _within_cap(result, result_format, max_rows, max_bytes)
                if body is not None:
                    return Answer(body)
                del result  # the first evaluation's memory goes before the second one takes its own
                return _capped_solutions(self._store.query(query, **options), result_format, max_rows, max_bytes)
            return Answer(result.serialize(format=RESULT_FORMATS[result_format]))
        except SyntaxError as exc:
            raise QuerySyntaxError(f"the query does not parse: {exc}") from exc
        except ValueError as exc:  # a NamedNode of a malformed graph IRI
            raise QuerySyntaxError(str(exc)) from exc
        except OSError as exc:
            raise StoreError(f"the query failed: {exc}") from exc
