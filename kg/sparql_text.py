"""Reading SPARQL query text without parsing it: where the WHERE clause opens and which variables occur.

Strings, IRIs and comments are blanked out first (keeping offsets), so a ``?name`` inside a literal, an
IRI or a comment is never taken for a variable.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"#[^\n]*")
_STRING = re.compile(r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_IRI_REF = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGNED = re.compile(r"\bAS\s+[?$]([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def code_only(text: str) -> str:
    """The query with strings, IRIs and comments replaced by spaces of the same length."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    text = _STRING.sub(blank, text)
    text = _IRI_REF.sub(blank, text)
    return _COMMENT.sub(blank, text)


def where_brace(text: str) -> int | None:
    """Offset of the ``{`` that opens the first WHERE clause, or None."""
    match = _WHERE.search(code_only(text))
    return match.end() - 1 if match else None


def variables(text: str) -> set[str]:
    return set(_VARIABLE.findall(code_only(text)))


def assigned_variables(text: str) -> set[str]:
    """Variables bound by ``... AS ?v`` (BIND, SELECT expressions)."""
    return set(_ASSIGNED.findall(code_only(text)))
