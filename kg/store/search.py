"""Finding entities by name in a version's search index (``kg.store.search_index``), ranked.

A query is compared as a key (case, hyphens and spaces ignored) and, when it ends with a generic word such
as "City", "District" or 市, also without it, so that "Nantong City" finds Nantong. Candidates come from
indexed look-ups only (whole keys, key prefixes, trigram substrings, word starts), each bounded, so a
query costs about the same at any size of graph; then they are ranked: an exact name before a name that
starts with the query, before one with a word that starts with it, before one that merely contains it;
the query as typed before its shortened form; a display or preferred label before an alternative name;
a shorter name first.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError
from kg.store.search_index import ALTERNATIVE, INDEX_FORMAT, search_key, words

#: Candidates read per look-up: enough to rank the best matches of a common word at any size.
CANDIDATES = 400
MAX_QUERY_CHARS = 200
#: Generic trailing words a query is also tried without (English, then Chinese suffixes).
_GENERIC_WORDS = ("city", "district", "county", "province", "municipality", "prefecture", "town", "township")
_GENERIC_SUFFIXES = ("市", "区", "县", "省", "镇")
_SPACES = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    label_zh: str
    kind: str
    place: str
    matched: str  # the alternative name (a short form, a nickname) that matched, if one did
    matched_lang: str  # its language tag ("" when it has none)


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    more: bool  # candidates were cut at the bound: a longer query may find others


def query_variants(text: str) -> list[str]:
    """The keys a query is looked up as: as typed, then without a generic last word or suffix."""
    key = search_key(text)
    variants = [key] if key else []
    spaced = words(text)
    if len(spaced) > 1 and spaced[-1] in _GENERIC_WORDS:
        variants.append("".join(spaced[:-1]))
    elif key.endswith(_GENERIC_SUFFIXES) and len(key) > 1:
        variants.append(key[:-1])
    return list(dict.fromkeys(v for v in variants if v))


class SearchIndex:
    """A version's index, read-only; one SQLite connection per thread (the file never changes)."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._connect()  # fails here, not in a request, when the file is missing or not an index

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            if not self.path.is_file():
                raise FileNotFoundError(self.path)
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version != INDEX_FORMAT:
                db.close()
                raise ValueError(f"{self.path} is a search index of format {version}, not {INDEX_FORMAT}")
            self._local.db = db
        return db

    def search(self, text: str, limit: int = 20) -> Found:
        """The best ``limit`` entities for ``text``; InputError for an empty or overlong query."""
        text = unicodedata.normalize("NFKC", text).strip()
        if len(text) > MAX_QUERY_CHARS:
            raise InputError(f"a search is at most {MAX_QUERY_CHARS} characters long; this one has {len(text)}")
        variants = query_variants(text)
        if not variants:
            raise InputError("say what to search for: a name in English or Chinese, with at least one letter or digit")
        db = self._connect()
        best: dict[int, tuple] = {}
        more = False
        for order, key in enumerate(variants):
            rows = self._candidates(db, key)
            more |= len(rows) >= CANDIDATES
            for name_id, entity, name, rank, name_key, lang in rows:
                score = (_tier(key, name_key, name), order, rank, len(name_key), name, name_id)
                if entity not in best or score < best[entity][0]:
                    best[entity] = (score, name if rank == ALTERNATIVE else "", lang)
        ranked = sorted(best.items(), key=lambda item: item[1][0])[:limit]
        if not ranked:
            return Found([], more)
        placeholders = ",".join("?" * len(ranked))
        details = {
            row[0]: row[1:]
            for row in db.execute(
                f"SELECT id, iri, label, label_zh, kind, place FROM entity WHERE id IN ({placeholders})",
                [entity for entity, _ in ranked],
            )
        }
        hits = []
        for entity, (_, alternative, lang) in ranked:
            iri, label, label_zh, kind, place = details[entity]
            hits.append(Hit(iri, label, label_zh, kind, place, alternative, lang if alternative else ""))
        return Found(hits, more or len(best) > limit)

    @staticmethod
    def _candidates(db: sqlite3.Connection, key: str) -> list[tuple]:
        columns = "name.id, name.entity, name.text, name.rank, name.key, name.lang"
        rows = db.execute(
            f"SELECT {columns} FROM name WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (key, key + "\U0010ffff", CANDIDATES),
        ).fetchall()
        if len(key) >= 3:
            rows += db.execute(
                f"SELECT {columns} FROM name_text JOIN name ON name.id = name_text.rowid "
                "WHERE name_text MATCH ? LIMIT ?",
                ('"' + key.replace('"', '""') + '"', CANDIDATES),
            ).fetchall()
        else:
            rows += db.execute(
                f"SELECT {columns} FROM short JOIN name ON name.id = short.name WHERE short.gram = ? LIMIT ?",
                (key, CANDIDATES),
            ).fetchall()
        return rows


def _tier(key: str, name_key: str, name: str) -> int:
    """0 the whole name, 1 its start, 2 the start of one of its words, 3 anywhere in it."""
    if name_key == key:
        return 0
    if name_key.startswith(key):
        return 1
    spaced = [w for w in _SPACES.split(unicodedata.normalize("NFKC", name).casefold()) if w]
    joined = ["".join(spaced[i:]) for i in range(1, len(spaced))]
    if any(rest.startswith(key) for rest in joined):
        return 2
    return 3
