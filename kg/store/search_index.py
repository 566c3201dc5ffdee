"""The search index of a store version: every entity's names, in SQLite, made from the version's snapshot.

Names are the labels a version holds in every language (``rdfs:label``, ``skos:prefLabel``,
``skos:altLabel``, the display labels), short forms such as ``Su`` and ``Tong`` included. Each is kept as a
*key*: NFKC, case-folded, with everything but letters and digits removed, so that case, hyphens and spaces
never decide a match. An FTS5 table with the trigram tokenizer (SQLite, in Python's standard library)
finds keys containing a query of three characters or more, Chinese as well as English, with no word
segmenter; keys are also indexed whole (exact and prefix matches), and the one- and two-character starts
of words (every position of a Chinese word) serve shorter queries, such as ``苏`` or ``南通``.

Each entity also keeps what tells it apart: its display label, its Chinese label, its most specific kind
and the provinces or municipalities it lies in. The ontology's and shapes' own terms are not entities.
``kg.store.versions`` writes the index beside each version before the switch, so it is published with it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

#: The attachment a version's index is published as (``versions/<build-id>.search.sqlite``).
INDEX = "search.sqlite"
#: Raised with the layout of the tables, so that a server never reads an index it does not understand.
INDEX_FORMAT = 1

_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: A name's rank: 0 the display label, 1 a label, 2 an alternative name.
ALTERNATIVE = 2
_LABELS = {_RDFS + "label": 1, _SKOS + "prefLabel": 1, _SKOS + "altLabel": ALTERNATIVE}
_TOP_LEVELS = {"province", "municipality"}
#: Graphs whose terms are vocabulary, not entities (their labels still name the kinds).
_SCHEMA_GRAPHS = ("/graph/ontology", "/graph/shapes")
_INFERRED_GRAPH = "/graph/inferred"
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")

# The snapshot's lines a search needs (names, types, the class hierarchy, part-of and levels), found by
# their predicates with bytes.find, which runs at memory speed where a line-anchored regex took most of a
# large build's indexing time. The project's own predicates are matched by local name under any base IRI.
# A match may also be an object (a reified statement's rdf:predicate): the parsed quad's predicate decides.
_WANTED = (
    b"> <http://www.w3.org/2000/01/rdf-schema#label> ",
    b"> <http://www.w3.org/2000/01/rdf-schema#subClassOf> ",
    b"> <http://www.w3.org/2004/02/skos/core#prefLabel> ",
    b"> <http://www.w3.org/2004/02/skos/core#altLabel> ",
    b"> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ",
    b"ontology#displayLabel> ",
    b"ontology#partOf> ",
    b"ontology#locatedIn> ",
    b"ontology#adminLevel> ",
)
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def search_key(text: str) -> str:
    """``text`` as the index compares it: NFKC, case-folded, letters and digits only."""
    return _NOT_ALPHANUMERIC.sub("", unicodedata.normalize("NFKC", text).casefold())


def words(text: str) -> list[str]:
    """The words of ``text`` as keys (split where the key removes something)."""
    return [w for w in _NOT_ALPHANUMERIC.split(unicodedata.normalize("NFKC", text).casefold()) if w]


def short_grams(text: str) -> set[str]:
    """What a one- or two-character query finds: the first one and two characters of each word, and of
    every position of a word in Chinese (which has no spaces between words)."""
    grams = set()
    for word in words(text):
        starts = range(len(word)) if _CJK.search(word) else (0,)
        for i in starts:
            grams.add(word[i : i + 1])
            if i + 2 <= len(word):
                grams.add(word[i : i + 2])
    return grams


class _Entities:
    """What the index keeps of each entity, gathered in one pass over the wanted quads."""

    def __init__(self) -> None:
        self.names: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)  # iri -> (text, lang) -> rank
        self.types: dict[str, set[str]] = defaultdict(set)
        self.stated_types: dict[str, set[str]] = defaultdict(set)  # not inferred: what a table or partner names
        self.parents: dict[str, set[str]] = defaultdict(set)  # partOf / locatedIn
        self.top_level: set[str] = set()
        self.superclasses: dict[str, set[str]] = defaultdict(set)
        self.class_labels: dict[str, str] = {}

    def add(self, quad: ox.Quad) -> None:
        subject, predicate, value = quad.subject, quad.predicate.value, quad.object
        if not isinstance(subject, ox.NamedNode):
            return
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
        schema = graph.endswith(_SCHEMA_GRAPHS)
        if isinstance(value, ox.Literal):
            if predicate == _RDFS + "label" and schema and value.language in ("en", None):
                self.class_labels.setdefault(subject.value, value.value)
            elif schema:
                return
            elif predicate in _LABELS or predicate.endswith("ontology#displayLabel"):
                rank = _LABELS.get(predicate, 0)
                key = (value.value, value.language or "")
                self.names[subject.value][key] = min(rank, self.names[subject.value].get(key, rank))
            elif predicate.endswith("ontology#adminLevel") and value.value in _TOP_LEVELS:
                self.top_level.add(subject.value)
        elif isinstance(value, ox.NamedNode):
            if predicate == _RDF_TYPE and not schema:
                inferred = graph.endswith(_INFERRED_GRAPH)
                (self.types if inferred else self.stated_types)[subject.value].add(value.value)
            elif predicate == _RDFS + "subClassOf":
                self.superclasses[subject.value].add(value.value)
            elif not schema and predicate.endswith(("ontology#partOf", "ontology#locatedIn")):
                self.parents[subject.value].add(value.value)

    def shown(self, iri: str) -> tuple[str, str]:
        """The entity's display label (else an English label, else any) and its Chinese label."""
        names = self.names.get(iri, {})
        ordered = sorted(names, key=lambda n: (names[n], n[1] != "en", n[0]))
        english = [text for text, lang in ordered if lang in ("en", "")]
        chinese = [text for text, lang in ordered if lang.startswith("zh")]
        label = (english or chinese or [iri.rsplit("/", 1)[-1]])[0]
        return label, (chinese[0] if chinese else "")

    def kind(self, iri: str) -> str:
        """The entity's most specific class as named (several joined by "; "): of those stated, else of
        those inferred; by its English label, else by its local name in words."""
        types = self.stated_types.get(iri) or self.types.get(iri, set())
        above: set[str] = set()
        for t in types:
            above |= self._ancestors(t)
        return "; ".join(sorted({self._class_name(t) for t in types - above}))

    def _class_name(self, cls: str) -> str:
        if cls in self.class_labels:
            return self.class_labels[cls]
        local = re.split(r"[#/]", cls)[-1]
        return _CAMEL.sub(" ", local).capitalize() if local else cls

    def place(self, iri: str) -> str:
        """The provinces and municipalities the entity lies in (not itself), by display label."""
        tops = (p for p in self.parents.get(iri, ()) if p in self.top_level and p != iri)
        return ", ".join(sorted(self.shown(p)[0] for p in tops))

    def _ancestors(self, cls: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.superclasses.get(cls, ()))
        while todo:
            parent = todo.pop()
            if parent not in seen and parent != cls:
                seen.add(parent)
                todo.extend(self.superclasses.get(parent, ()))
        return seen


def _wanted_lines(lines: bytes) -> bytes:
    """The lines of ``lines`` (whole N-Quads lines) that hold one of the wanted predicates, each once."""
    starts: dict[int, int] = {}
    for pattern in _WANTED:
        found = lines.find(pattern)
        while found >= 0:
            start = lines.rfind(b"\n", 0, found) + 1
            if start not in starts:
                end = lines.find(b"\n", found)
                starts[start] = len(lines) if end < 0 else end + 1
            found = lines.find(pattern, starts[start])
    return b"".join(lines[start : starts[start]] for start in sorted(starts))


def _wanted_quads(snapshot: Path) -> _Entities:
    entities = _Entities()
    with snapshot.open("rb") as handle:
        rest = b""
        while chunk := handle.read(1 << 24):
            chunk = rest + chunk
            end = chunk.rfind(b"\n") + 1
            lines, rest = chunk[:end], chunk[end:]
            wanted = _wanted_lines(lines)
            if wanted:
                for quad in ox.parse(wanted, format=ox.RdfFormat.N_QUADS, lenient=True):
                    entities.add(quad)
    return entities


_SCHEMA = f"""
PRAGMA user_version = {INDEX_FORMAT};
CREATE TABLE entity(id INTEGER PRIMARY KEY, iri TEXT NOT NULL, label TEXT NOT NULL, label_zh TEXT NOT NULL,
                    kind TEXT NOT NULL, place TEXT NOT NULL);
CREATE TABLE name(id INTEGER PRIMARY KEY, entity INTEGER NOT NULL, text TEXT NOT NULL, lang TEXT NOT NULL,
                  rank INTEGER NOT NULL, key TEXT NOT NULL);
CREATE TABLE short(gram TEXT NOT NULL, name INTEGER NOT NULL, PRIMARY KEY (gram, name)) WITHOUT ROWID;
CREATE VIRTUAL TABLE name_text USING fts5(key, content='name', content_rowid='id', tokenize='trigram');
"""


def write_index(snapshot: Path, target: Path) -> None:
    """Write the search index of the version whose N-Quads snapshot is ``snapshot`` to ``target``, whole or
    not at all (a temporary file beside it, renamed)."""
    entities = _wanted_quads(snapshot)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        with sqlite3.connect(temporary) as db:
            db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
            entity_rows: list[tuple] = []
            name_rows: list[tuple] = []
            gram_rows: list[tuple[str, int]] = []
            for number, iri in enumerate(sorted(entities.names), 1):
                label, label_zh = entities.shown(iri)
                entity_rows.append((number, iri, label, label_zh, entities.kind(iri), entities.place(iri)))
                for (text, lang), rank in sorted(entities.names[iri].items()):
                    key = search_key(text)
                    if key:
                        name_rows.append((len(name_rows) + 1, number, text, lang, rank, key))
                        gram_rows.extend((gram, len(name_rows)) for gram in short_grams(text))
            db.executemany("INSERT INTO entity VALUES (?, ?, ?, ?, ?, ?)", entity_rows)
            db.executemany("INSERT INTO name VALUES (?, ?, ?, ?, ?, ?)", name_rows)
            db.executemany("INSERT OR IGNORE INTO short VALUES (?, ?)", gram_rows)
            db.executescript(
                "INSERT INTO name_text(name_text) VALUES ('rebuild');"
                "CREATE INDEX name_key ON name(key);"
                "INSERT INTO name_text(name_text) VALUES ('optimize');"
            )
        db.close()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
