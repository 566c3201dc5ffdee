"""Where a node is first written in a partner's documents: ``source:line:column``, for a report to point at.

The parsers give positions only for errors, so the text is searched instead, for the forms a document may
write an IRI in: ``<iri>`` (N-Triples, N-Quads, Turtle, TriG), a prefixed name under a prefix the document
declares (Turtle, TriG), a quoted string (JSON-LD's ``"@id"``, RDF/XML's ``rdf:about``). A relative or
otherwise unusual spelling is not found, and the result then has no location.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rdflib import URIRef

_PREFIX = re.compile(rb"(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)


def _forms(iri: str, prefixes: dict[bytes, bytes]) -> list[bytes]:
    text = iri.encode("utf-8")
    forms = [b"<" + text + b">", b'"' + text + b'"']
    for prefix, namespace in prefixes.items():
        if namespace and text.startswith(namespace):
            local = text[len(namespace) :]
            if re.fullmatch(rb"[\w.-]*", local) and not local.endswith(b"."):
                forms.append(prefix + b":" + local)
    return forms


def locate(nodes: Iterable, documents: list[tuple[bytes, str, str]]) -> dict:
    """``node -> "source:line:column"`` for each IRI node found in ``documents`` ((data, format, source)),
    at its first appearance in the first document that writes it."""
    found: dict = {}
    wanted = [n for n in nodes if isinstance(n, URIRef)]
    for data, _, source in documents:
        prefixes = {m.group(1) or b"": m.group(2) for m in _PREFIX.finditer(data)}
        for node in wanted:
            if node in found:
                continue
            best = -1
            for form in _forms(str(node), prefixes):
                at = _first(data, form)
                if at >= 0 and (best < 0 or at < best):
                    best = at
            if best >= 0:
                line = data.count(b"\n", 0, best) + 1
                column = best - (data.rfind(b"\n", 0, best) + 1) + 1
                found[node] = f"{source}:{line}:{column}"
    return found


def _first(data: bytes, form: bytes) -> int:
    """The first offset of ``form`` in ``data`` where it is a whole term (a prefixed name not part of a
    longer name)."""
    start = 0
    while (at := data.find(form, start)) >= 0:
        before = data[at - 1 : at] if at else b" "
        after = data[at + len(form) : at + len(form) + 1]
        if form[:1] in b'<"' or (not re.match(rb"[\w:.-]", before) and not re.match(rb"[\w:-]", after or b" ")):
            return at
        start = at + 1
    return -1
