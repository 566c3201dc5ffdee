"""Rewrites of the shapes' own SPARQL texts that keep the answer and remove Oxigraph's slow spots.

A ``FILTER NOT EXISTS`` of triple patterns sharing an always-bound variable becomes ``MINUS`` (Oxigraph
scanned the pattern once per row); in targets, ``FILTER(?p IN (iri, ...))`` on an always-bound variable
becomes ``VALUES``. A text the rewrite cannot prove equivalent stays as it is.
"""

from __future__ import annotations

import re

from kg.sparql_text import code_only
from kg.validation.shacl.errors import ShaclError

# what makes it unclear whether a variable of the group's triple patterns is bound in every solution (a
# MINUS removes solutions but binds nothing, so it does not count)
_TOP_LEVEL_NOISE = re.compile(r"\b(OPTIONAL|UNION|GRAPH|SERVICE|VALUES|EXISTS|SELECT)\b", re.I)
_NOT_EXISTS = re.compile(r"\bFILTER\s+NOT\s+EXISTS\s*\{", re.I)
_VAR = re.compile(r"[?$]([A-Za-z_]\w*)")


def minus_rewrite(text: str) -> str:
    """``FILTER NOT EXISTS { P }`` directly in the WHERE group becomes ``MINUS { P }`` at its end, where that
    is the same: P is triple patterns only and shares a variable with the group's own triple patterns (bound
    in every solution). Oxigraph evaluates such a NOT EXISTS by scanning P for every solution; MINUS once."""
    found = _where_group(text)
    if found is None:
        return text
    code, start, end, bound = found
    moves = []
    for match in _NOT_EXISTS.finditer(code, start + 1, end):
        brace = match.end() - 1
        if _depth(code, start, match.start()) != 1:
            continue
        close = matching(code, brace)
        inner = code[brace + 1 : close]
        if re.search(r"[{}]|\b(FILTER|BIND|VALUES|OPTIONAL|MINUS|UNION|GRAPH|SERVICE|SELECT|EXISTS)\b", inner, re.I):
            continue
        if not set(_VAR.findall(inner)) & bound:
            continue
        moves.append((match.start(), close + 1, text[brace : close + 1]))
    if not moves:
        return text
    return _blank_and_insert(
        text, [(begin, finish) for begin, finish, _ in moves], end, " ".join(f"MINUS {group}" for _, _, group in moves)
    )


_IN_FILTER = re.compile(r"\bFILTER\s*\(\s*([?$][A-Za-z_]\w*)\s+IN\s*\(([^()]*)\)\s*\)", re.I)
_IRI_ITEM = re.compile(r"\s*(<[^<>\"{}|^`\\\s]*>|[A-Za-z][\w.-]*:[\w.-]*|:[\w.-]*)\s*$")


def values_rewrite(text: str) -> str:
    """``FILTER(?x IN (iri, ...))`` directly in the WHERE group becomes ``VALUES ?x { iri ... }`` at the
    group's start, where that is the same: every item is an IRI (for IRIs ``=`` is term equality) and ?x is
    bound by the group's own triple patterns. Oxigraph then reads only those predicates instead of scanning."""
    found = _where_group(text)
    if found is None:
        return text
    code, start, end, bound = found
    moves = []
    for match in _IN_FILTER.finditer(code, start + 1, end):
        if _depth(code, start, match.start()) != 1 or match.group(1)[1:] not in bound:
            continue
        items_text = text[match.start(2) : match.end(2)]
        items = [i for i in items_text.split(",")]
        if not items or not all(_IRI_ITEM.match(i) for i in items):
            continue
        moves.append((match.start(), match.end(), match.group(1), " ".join(i.strip() for i in items)))
    if not moves:
        return text
    return _blank_and_insert(
        text,
        [(begin, finish) for begin, finish, _, _ in moves],
        start + 1,
        " ".join(f"VALUES {var} {{ {items} }}" for _, _, var, items in moves),
    )


def _blank_and_insert(text: str, spans: list[tuple[int, int]], at: int, inserted: str) -> str:
    """``text`` with each span (in order, not overlapping) blanked to spaces, keeping every offset, and
    ``inserted`` put in at offset ``at``: how the rewrites above move a pattern elsewhere in its group."""
    pieces, last = [], 0
    for begin, finish in spans:
        pieces += [text[last:begin], " " * (finish - begin)]
        last = finish
    pieces.append(text[last:])
    blanked = "".join(pieces)
    return f"{blanked[:at]} {inserted} {blanked[at:]}"


def _where_group(text: str):
    """(code, start, end, bound): the query without strings, IRIs and comments, its WHERE group's braces, and
    the variables bound in every solution of that group; None when there is no group or that is unclear."""
    code = code_only(text)
    start = code.find("{")
    if start < 0:
        return None
    end = matching(code, start)
    bound = _group_bound_variables(code, start, end)
    return None if bound is None else (code, start, end, bound)


def _group_bound_variables(code: str, start: int, end: int) -> set[str] | None:
    """The variables of the triple patterns directly in the group (bound in every solution), or None when
    the group holds something that makes that unclear (OPTIONAL, UNION, VALUES, subqueries, ...)."""
    flat, depth = [], 0
    for ch in code[start + 1 : end]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            flat.append(ch)
    top = re.sub(r"\bFILTER\s+(NOT\s+)?EXISTS\b|\bMINUS\b", " ", "".join(flat), flags=re.I)
    if _TOP_LEVEL_NOISE.search(top):
        return None
    stripped = _strip_calls(top)
    if stripped is None or re.search(r"\b(FILTER|BIND|AS)\b", stripped, re.I):
        return None  # a FILTER written as a bare function call, or an unexpected form: not worth reading
    return set(_VAR.findall(stripped))


def _strip_calls(text: str) -> str | None:
    """``text`` without its FILTER(...) and BIND(...) clauses (None if their parentheses do not balance)."""
    out, i = [], 0
    for match in re.finditer(r"\b(FILTER|BIND)\s*\(", text, re.I):
        if match.start() < i:
            continue
        depth, j = 0, match.end() - 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        if depth:
            return None
        out.append(text[i : match.start()])
        i = j + 1
    out.append(text[i:])
    return " ".join(out)


def _depth(code: str, start: int, at: int) -> int:
    depth = 0
    for ch in code[start:at]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
    return depth


def matching(code: str, open_brace: int) -> int:
    depth = 0
    for i in range(open_brace, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ShaclError("unbalanced braces in a SPARQL query of the shapes")
