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
_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F"
         "\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PN_PREFIX = rf"[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?"
_PN_LOCAL = rf"(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
# each match is one token after the white space before it (white space is no token)
_TOKEN = re.compile(r"\s*(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in (
    ("comment", r"#[^\r\n]*"),
    ("iri", rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>"),
    ("string", rf"'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''"
               rf"|\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|{_ECHAR}|{_UCHAR}))*\"\"\""
               rf"|'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*'|\"(?:[^\"\\\n\r]|{_ECHAR}|{_UCHAR})*\""),
    ("variable", rf"[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*"),
    ("pname", rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?"),
    ("blank", rf"_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?"),
    ("langtag", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
    ("word", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("number", r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?"),
    ("other", r"(?s:.)"),
)) + ")")
_BLANKED = frozenset({"comment", "iri", "string"})
_OPENERS, _CLOSERS = frozenset("{(["), frozenset("})]")


class Token(NamedTuple):
    kind: str  # comment, iri, string, variable, pname, blank, langtag, word, number or other
    text: str
    start: int


@functools.lru_cache(maxsize=64)  # a request reads the same query text several times
def tokens(text: str) -> tuple[Token, ...]:
    # tuple.__new__ skips NamedTuple's Python-level constructor: a third of the time on a 1 KB query
    new = tuple.__new__
    return tuple(new(Token, (m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup))) for m in _TOKEN.finditer(text))


@functools.lru_cache(maxsize=64)
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


@functools.lru_cache(maxsize=64)
def code_only(text: str) -> str:
    """The query with strings, IRIs and comments replaced by spaces of the same length."""
    return _blanked(text, _BLANKED)


def without_comments(text: str) -> str:
    """The query with its comments blanked and everything else (strings, IRIs) kept."""
    return _blanked(text, frozenset({"comment"}))


@functools.lru_cache(maxsize=64)
def _words(text: str) -> tuple[str, ...]:
    return tuple(t.text.upper() for t in tokens(text) if t.kind == "word")


def where_brace(text: str) -> int | None:
    """Offset of the ``{`` that opens the first WHERE clause, or None."""
    significant = _significant(text)
    for token, following in zip(significant, significant[1:]):
        if token.kind == "word" and token.text.upper() == "WHERE" and following.text == "{":
            return following.start
    return None


def variables(text: str) -> set[str]:
    return {t.text[1:] for t in tokens(text) if t.kind == "variable"}


def assigned_variables(text: str) -> set[str]:
    """Variables bound by ``... AS ?v`` (BIND, SELECT expressions)."""
    significant = _significant(text)
    return {following.text[1:] for token, following in zip(significant, significant[1:])
            if token.kind == "word" and token.text.upper() == "AS" and following.kind == "variable"}


_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATES = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD"})


@functools.lru_cache(maxsize=64)
def query_form(text: str) -> str | None:
    """select, ask, construct or describe: the form of a query, read from its first keyword; None if none.

    The text is read only up to that keyword (past the prologue), not split whole: most of a query's
    tokens follow it, and splitting them was most of the endpoint's own work on a light query."""
    for match in _TOKEN.finditer(text):
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


@functools.lru_cache(maxsize=64)
def _prefixes(text: str) -> dict[str, str]:
    significant, declared = _significant(text), {}
    for index, token in enumerate(significant[:-2]):
        if token.kind == "word" and token.text.upper() == "PREFIX":
            name, iri = significant[index + 1], significant[index + 2]
            if name.kind == "pname" and name.text.endswith(":") and iri.kind == "iri":
                declared[name.text[:-1]] = _iri_text(iri.text)
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


def service_targets(text: str) -> list[str | None]:
    """The endpoint of every SERVICE clause: None where it is a variable, "" where it is no IRI."""
    if not mentions_word(text, "SERVICE"):
        return []
    significant = _significant(text)
    prefixes = _prefixes(text)
    return [_iri_of(_after(significant, i, "SILENT")[0], prefixes) for i, token in enumerate(significant)
            if token.kind == "word" and token.text.upper() == "SERVICE"]


def dataset_clause(text: str) -> tuple[list[str], list[str]]:
    """The IRIs of the query's FROM and FROM NAMED clauses."""
    if not mentions_word(text, "FROM"):
        return [], []
    significant = _significant(text)
    prefixes = _prefixes(text)
    default, named = [], []
    for index, token in enumerate(significant):
        if token.kind == "word" and token.text.upper() == "FROM":
            target, is_named = _after(significant, index, "NAMED")
            (named if is_named else default).append(_iri_of(target, prefixes) or "")
    return default, named


def openers(text: str) -> int:
    """How many opening brackets, parentheses and braces the raw text holds: a bound of its nesting depth
    that needs no tokens."""
    return sum(map(text.count, _OPENERS))


def nesting_depth(text: str) -> int:
    """How deeply brackets, parentheses and braces nest (outside strings, IRIs and comments)."""
    depth = deepest = 0
    for token in tokens(text):
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

