"""Reading SPARQL query text without parsing it: its tokens, where the WHERE clause opens, which
variables, SERVICE targets and FROM graphs occur, and how deeply it nests.

The text is split into the SPARQL grammar's terminals (SPARQL 1.1 Query, section 19.8) left to right, as
a lexer does, so a keyword inside a string, an IRI, a comment or a prefixed name never counts, and a
quote inside an IRI (``<http://x/'>``) or an escaped one in a prefixed name (``ex:a\\'``) never opens a
string that would hide the code after it. The endpoint's checks (SERVICE, FROM, updates) read tokens;
a regular expression over the raw text had been fooled by both.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"\\[tbnrf\\\"']"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PN_PREFIX = rf"[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?"
# pyoxigraph's PN_LOCAL (0.5), not the grammar's: after the name, at most one run of dots and what follows
# it, so ``ex:a.b.c`` is the name ``ex:a.b``, then ``.`` and ``c`` (the engine's reading is what counts)
_PN_LOCAL = rf"(?:[{_CHARS_U}:0-9]|{_PLX})(?:[{_CHARS}:]|{_PLX})*(?:\.+(?:[{_CHARS}:]|{_PLX})+)?"
# each match is one token after the white space before it (white space is no token)
_TOKEN_PATTERN = (
    r"\s*(?:"
    + "|".join(
        f"(?P<{name}>{pattern})"
        for name, pattern in (
            ("comment", r"#[^\r\n]*"),
            ("iri", rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>"),
            (
                "string",
                rf"'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''"
                rf"|\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|{_ECHAR}|{_UCHAR}))*\"\"\""
                rf"|'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*'|\"(?:[^\"\\\n\r]|{_ECHAR}|{_UCHAR})*\"",
            ),
            ("variable", rf"[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*"),
            ("pname", rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?"),
            ("blank", rf"_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?"),
            ("langtag", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
            ("word", r"[A-Za-z_][A-Za-z0-9_]*"),
            ("number", r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?"),
            ("other", r"(?s:.)"),
        )
    )
    + ")"
)


@functools.cache
def _token() -> re.Pattern[str]:
    """The token pattern, compiled when first used: compiling it takes tens of milliseconds, which every
    process importing this module (an import's, kg export's) paid whether it read a query or not."""
    return re.compile(_TOKEN_PATTERN)


_BLANKED = frozenset({"comment", "iri", "string"})
_OPENERS, _CLOSERS = frozenset("{(["), frozenset("})]")


class Token(NamedTuple):
    kind: str  # comment, iri, string, variable, pname, blank, langtag, word, number or other
    text: str
    start: int


#: Texts longer than this are split again when read again instead of kept: a cache of whole token tuples
#: of long texts held a lot of memory per worker after a run of refused long queries.
CACHED_TEXT_CHARS = 4096


def _small_text_cache(function):
    """``function`` of a query text, cached for short texts only (so the cache is bounded in bytes)."""
    cached = functools.lru_cache(maxsize=32)(function)

    @functools.wraps(function)
    def read(text: str):
        return cached(text) if len(text) <= CACHED_TEXT_CHARS else function(text)

    read.cache_clear = cached.cache_clear
    return read


@_small_text_cache  # a request reads the same query text several times
def tokens(text: str) -> tuple[Token, ...]:
    """The text's tokens as a lexer reads them left to right, ``<`` opening an IRI wherever one can."""
    # tuple.__new__ skips NamedTuple's Python-level constructor, a large part of a query's splitting time
    new = tuple.__new__
    found = []
    for m in _token().finditer(text):
        kind = m.lastgroup
        assert kind is not None  # every alternative of the pattern is a named group
        found.append(new(Token, (kind, m.group(kind), m.start(kind))))
    return tuple(found)


#: Most places in one query where ``<`` may open an IRI or compare (see ``lexings``); past it the query is
#: refused rather than read in 2**n ways.
MAX_AMBIGUOUS = 8
_OPERAND_ENDS = frozenset({"variable", "iri", "pname", "string", "number", "blank", "langtag", "word"})
_LIST_AFTER = frozenset({"{", "}", ".", ";", ",", ")", "]", "["})
_LIST_AFTER_KINDS = frozenset({"variable", "blank", "string", "number", "langtag"})
# what a would-be IRI must hold for its two readings to differ past it, or in what the checks look for
_TELLING = re.compile(r"['#()\[\]]|service|from|prefix", re.IGNORECASE)


class TooAmbiguous(ValueError):
    """The text has more places where ``<`` may be read two ways than ``MAX_AMBIGUOUS``."""


def _opens_list(stack: list[str], previous: Token | None) -> bool:
    """Whether a ``(`` opens a list (a collection, a VALUES row or variable list, a path group), in
    which the engine reads ``<`` as an IRI only; anything else counts as an expression."""
    if previous is not None and previous.kind == "word" and previous.text.upper() == "VALUES":
        return True
    if not stack or stack[-1] not in "{[" or previous is None:
        return False
    return previous.text in _LIST_AFTER if previous.kind == "other" else previous.kind in _LIST_AFTER_KINDS


@_small_text_cache
def lexings(text: str) -> tuple[tuple[Token, ...], ...]:
    """Every way the engine may split ``text`` into tokens: the checks that guard it read them all.

    pyoxigraph's parser reads ``<`` by context, and a lexer cannot: in an expression after an operand
    (``FILTER(1<'a>')``) it compares, in a collection or a VALUES row (``(1 <http://x/'>)``) it opens an
    IRI, and after another ``<`` it may open a triple term. Where ``<`` may be either, and the would-be
    IRI holds a quote, a ``#``, a bracket or a word the checks look for, both readings are followed: a
    quote read as a string's start by one reader and not by the other would hide the code after it.
    """
    found: list[tuple[Token, ...]] = []

    def lex(start: int, prefix: list[Token], stack: list[str], previous: Token | None, forks: int) -> None:
        out, stack, at, new, token_at = list(prefix), list(stack), start, tuple.__new__, _token().match
        while at < len(text):
            match = token_at(text, at)
            # the pattern matches at any offset before the end ("other" takes any character), in a named group
            assert match is not None and match.lastgroup is not None
            kind = match.lastgroup
            token = new(Token, (kind, match.group(kind), match.start(kind)))
            if (
                kind == "iri"
                and _TELLING.search(token.text)
                and (
                    text[token.start - 1 : token.start] == "<"
                    or (
                        stack
                        and stack[-1] == "(e"
                        and previous is not None
                        and (previous.kind in _OPERAND_ENDS or previous.text in (")", "]"))
                    )
                )
            ):
                if forks >= MAX_AMBIGUOUS:
                    raise TooAmbiguous(token.start)
                less = new(Token, ("other", "<", token.start))
                lex(token.start + 1, out + [less], stack, less, forks + 1)
                forks += 1
            out.append(token)
            at = match.end()
            if kind == "other":
                if token.text == "(":
                    stack.append("(l" if _opens_list(stack, previous) else "(e")
                elif token.text in _OPENERS:
                    stack.append(token.text)
                elif token.text in _CLOSERS and stack:
                    stack.pop()
            if kind != "comment":
                previous = token
        found.append(tuple(out))

    lex(0, [], [], None, 0)
    return tuple(found)


@_small_text_cache
def _significant(text: str) -> tuple[Token, ...]:
    return tuple(t for t in tokens(text) if t.kind != "comment")


def _blanked(text: str, kinds: frozenset[str]) -> str:
    """``text`` with the tokens of ``kinds`` replaced by spaces of the same length."""
    pieces, last = [], 0
    for kind, written, start in tokens(text):
        if kind in kinds:
            pieces += [text[last:start], " " * len(written)]
            last = start + len(written)
    pieces.append(text[last:])
    return "".join(pieces)


@_small_text_cache
def code_only(text: str) -> str:
    """The query with strings, IRIs and comments replaced by spaces of the same length."""
    return _blanked(text, _BLANKED)


def without_comments(text: str) -> str:
    """The query with its comments blanked and everything else (strings, IRIs) kept."""
    return _blanked(text, frozenset({"comment"}))


@_small_text_cache
def _words(text: str) -> tuple[str, ...]:
    return tuple(t.text.upper() for t in tokens(text) if t.kind == "word")


def where_brace(text: str) -> int | None:
    """Offset of the ``{`` that opens the first WHERE clause, or None."""
    significant = _significant(text)
    for token, following in zip(significant, significant[1:], strict=False):
        if token.kind == "word" and token.text.upper() == "WHERE" and following.text == "{":
            return following.start
    return None


def variables(text: str) -> set[str]:
    return {t.text[1:] for t in tokens(text) if t.kind == "variable"}


def assigned_variables(text: str) -> set[str]:
    """Variables bound by ``... AS ?v`` (BIND, SELECT expressions)."""
    significant = _significant(text)
    return {
        following.text[1:]
        for token, following in zip(significant, significant[1:], strict=False)
        if token.kind == "word" and token.text.upper() == "AS" and following.kind == "variable"
    }


_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATES = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD"})


@_small_text_cache
def query_form(text: str) -> str | None:
    """select, ask, construct or describe: the form of a query, read from its first keyword; None if none.

    The text is read only up to that keyword (past the prologue), not split whole: most of a query's
    tokens follow it, and splitting them was most of the endpoint's own work on a light query."""
    for match in _token().finditer(text):
        if match.lastgroup == "word":
            word = match.group("word").upper()
            if word in _FORMS:
                return word.lower()
    return None


def looks_like_update(text: str) -> bool:
    return query_form(text) is None and any(word in _UPDATES for word in _words(text))


def mentions_word(text: str, word: str) -> bool:
    """False when ``text`` surely has no keyword token ``word`` (ASCII letters, any case): a check of the
    raw text that spares splitting it into tokens. True means it may have one."""
    return word.upper() in text.upper()


_UCHAR_ESCAPE = re.compile(_UCHAR)
_LOCAL_ESCAPE = re.compile(r"\\(.)")


def _prefixes(significant: tuple[Token, ...]) -> dict[str, str]:
    """The prefixes a token sequence declares, the last declaration of a name winning as in the engine
    (which also reads ``PREFIXe: <...>`` as a declaration of ``e:``)."""
    declared: dict[str, str] = {}
    for index, token in enumerate(significant[:-1]):
        name: str | None = None
        iri = significant[index + 1]
        if token.kind == "word" and token.text.upper() == "PREFIX" and index + 2 < len(significant):
            written, iri = significant[index + 1], significant[index + 2]
            name = written.text if written.kind == "pname" and written.text.endswith(":") else None
        elif token.kind == "pname" and token.text.upper().startswith("PREFIX") and token.text.endswith(":"):
            name = token.text[len("PREFIX") :]
        if name is not None and iri.kind == "iri":
            declared[name[:-1]] = _iri_text(iri.text)
    return declared


def _iri_text(written: str) -> str:
    return _UCHAR_ESCAPE.sub(lambda m: chr(int(m.group()[2:], 16)), written[1:-1])


def _iri_of(token: Token | None, prefixes: dict[str, str]) -> str | None:
    """The IRI a token writes (``<...>`` or a prefixed name), None for a variable, "" for anything else."""
    if token is None:
        return ""
    if token.kind == "variable":
        return None
    if token.kind == "iri":
        return _iri_text(token.text)
    if token.kind == "pname":
        prefix, local = token.text.split(":", 1)
        return prefixes.get(prefix, "") + _LOCAL_ESCAPE.sub(r"\1", local) if prefix in prefixes else ""
    return ""


def _after(significant: tuple[Token, ...], index: int, skip: str) -> tuple[Token | None, bool]:
    """The token after ``index``, passing over one optional keyword ``skip``; and whether it was there."""
    following = significant[index + 1] if index + 1 < len(significant) else None
    if following is not None and following.kind == "word" and following.text.upper() == skip:
        return (significant[index + 2] if index + 2 < len(significant) else None), True
    return following, False


class KeywordUse(NamedTuple):
    """One place where the engine may read ``keyword``, and what follows it."""

    target: str | None  # the IRI after it; None for a variable; "" for anything else, or when glued
    second: bool  # the optional second keyword (SILENT, NAMED) was there
    glued: str  # "" or the name the keyword is glued to (``SERVICEe:x``, ``a1SERVICE``, ``FROM:g``)


def _glued(token: Token, keyword: str) -> bool:
    """Whether the engine may read ``keyword`` at the start of, or inside, ``token``.

    The engine matches keywords by their letters alone, so ``SERVICE:x`` is SERVICE and ``:x``, and
    ``SERVICEe:x`` is SERVICE and ``e:x``; a word such as ``a1SERVICE`` or ``trueSERVICE`` may end in one
    after ``a 1`` or ``true``. Only a prefixed name's local part (after its colon) is safe.
    """
    if token.kind == "word":
        return keyword in token.text.upper() and token.text.upper() != keyword
    return token.kind == "pname" and keyword in token.text.split(":", 1)[0].upper()


def keyword_uses(text: str, keyword: str, second: str = "") -> list[KeywordUse]:
    """Every place, in any of the engine's readings of ``text`` (``lexings``), where it may read the
    keyword, with its target; the same place read alike in two readings is listed once."""
    if not mentions_word(text, keyword):
        return []
    uses: dict[KeywordUse, None] = {}
    for lexing in lexings(text):
        significant = tuple(t for t in lexing if t.kind != "comment")
        prefixes = _prefixes(significant)
        for index, token in enumerate(significant):
            if token.kind == "word" and token.text.upper() == keyword:
                target, had_second = _after(significant, index, second)
                uses[KeywordUse(_iri_of(target, prefixes), had_second, "")] = None
            elif _glued(token, keyword):
                uses[KeywordUse("", False, token.text)] = None
    return list(uses)


def service_targets(text: str) -> list[str | None]:
    """The endpoint of every SERVICE clause: None where it is a variable, "" where it is no IRI."""
    return [use.target for use in keyword_uses(text, "SERVICE", "SILENT")]


def dataset_clause(text: str) -> tuple[list[str], list[str]]:
    """The IRIs of the query's FROM and FROM NAMED clauses ("" where one is no IRI)."""
    default: list[str] = []
    named: list[str] = []
    for use in keyword_uses(text, "FROM", "NAMED"):
        (named if use.second else default).append(use.target or "")
    return default, named


def openers(text: str) -> int:
    """How many opening brackets, parentheses and braces the raw text holds: a bound of its nesting depth
    that needs no tokens."""
    return sum(map(text.count, _OPENERS))


def nesting_depth(text: str) -> int:
    """How deeply brackets, parentheses and braces nest (outside strings, IRIs and comments), in the
    deepest of the engine's readings of ``text``."""
    deepest = 0
    for lexing in lexings(text):
        depth = 0
        for token in lexing:
            if token.kind == "other":
                if token.text in _OPENERS:
                    depth += 1
                    deepest = max(deepest, depth)
                elif token.text in _CLOSERS:
                    depth -= 1
    return deepest


def stray_backslash(text: str) -> int | None:
    """Offset of a backslash outside strings, IRIs and prefixed names, or None.

    SPARQL has none there; a lexer that misread one could take the quote after it for a string.
    """
    if "\\" not in text:
        return None
    return next((t.start for t in tokens(text) if t.kind == "other" and t.text == "\\"), None)
