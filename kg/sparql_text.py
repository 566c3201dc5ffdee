"""Reading SPARQL query text without parsing it: where the WHERE clause opens and which variables occur.

Strings, IRIs and comments are blanked out first (keeping offsets), so a ``?name`` inside a literal, an
IRI or a comment is never taken for a variable.
"""

from __future__ import annotations

import functools
import re

_COMMENT = re.compile(r"#[^\n]*")
_STRING = re.compile(r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_IRI_REF = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGNED = re.compile(r"\bAS\s+[?$]([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


@functools.lru_cache(maxsize=64)  # a request reads the same query text several times
def code_only(text: str) -> str:
    """The query with strings, IRIs and comments replaced by spaces of the same length."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    text = _STRING.sub(blank, text)
    text = _IRI_REF.sub(blank, text)
    return _COMMENT.sub(blank, text)


def without_comments(text: str) -> str:
    """The query with its comments blanked and everything else (strings, IRIs) kept."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    masked = _IRI_REF.sub(blank, _STRING.sub(blank, text))
    for match in reversed(list(_COMMENT.finditer(masked))):
        text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end():]
    return text


def where_brace(text: str) -> int | None:
    """Offset of the ``{`` that opens the first WHERE clause, or None."""
    match = _WHERE.search(code_only(text))
    return match.end() - 1 if match else None


def variables(text: str) -> set[str]:
    return set(_VARIABLE.findall(code_only(text)))


def assigned_variables(text: str) -> set[str]:
    """Variables bound by ``... AS ?v`` (BIND, SELECT expressions)."""
    return set(_ASSIGNED.findall(code_only(text)))


_VARIABLE_TOKEN = re.compile(r"[?$][A-Za-z_][A-Za-z0-9_]*")
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_UPDATE = re.compile(r"\b(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD)\b", re.IGNORECASE)
_SERVICE = re.compile(r"\bSERVICE\s+(?:SILENT\s+)?", re.IGNORECASE)
_FROM = re.compile(r"\bFROM\s+(NAMED\s+)?", re.IGNORECASE)
_PREFIX = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_PREFIXED = re.compile(r"([A-Za-z][\w.-]*)?:([^\s{}()<>,;]*)")


@functools.lru_cache(maxsize=64)
def _keywords_only(text: str) -> str:
    """code_only, with variables blanked too (a variable may be called ?service or ?from)."""
    return _VARIABLE_TOKEN.sub(lambda m: " " * len(m.group(0)), code_only(text))


def query_form(text: str) -> str | None:
    """select, ask, construct or describe: the form of a query, read from its first keyword; None if none."""
    match = _FORM.search(_keywords_only(text))
    return match.group(1).lower() if match else None


def looks_like_update(text: str) -> bool:
    return query_form(text) is None and _UPDATE.search(_keywords_only(text)) is not None


def _iri_at(text: str, offset: int, prefixes: dict[str, str]) -> str | None:
    """The IRI written at ``offset`` (``<...>`` or a prefixed name), or None for a variable."""
    rest = text[offset:]
    if rest.startswith("<"):
        return rest[1:rest.index(">")] if ">" in rest else rest[1:]
    match = _PREFIXED.match(rest)
    if match and match.group(1) is not None or (match and rest.startswith(":")):
        return prefixes.get(match.group(1) or "", "") + match.group(2)
    return None


def _prefixes(text: str) -> dict[str, str]:
    return {(m.group(1) or ""): m.group(2) for m in _PREFIX.finditer(text)}


def service_targets(text: str) -> list[str | None]:
    """The endpoint of every SERVICE clause (None where it is a variable)."""
    prefixes, keywords = _prefixes(text), _keywords_only(text)
    # match again in the original text: in ``keywords`` the IRI after the keyword is blanked to spaces
    return [_iri_at(text, _SERVICE.match(text, m.start()).end(), prefixes) for m in _SERVICE.finditer(keywords)]


def dataset_clause(text: str) -> tuple[list[str], list[str]]:
    """The IRIs of the query's FROM and FROM NAMED clauses."""
    prefixes, keywords = _prefixes(text), _keywords_only(text)
    default, named = [], []
    for match in _FROM.finditer(keywords):
        iri = _iri_at(text, _FROM.match(text, match.start()).end(), prefixes)
        (named if match.group(1) else default).append(iri or "")
    return default, named
