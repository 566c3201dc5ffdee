"""RDF documents in and out: reading files and bytes, and writing N-Triples text and sorted serialisations.

Reading fetches nothing and refuses RDF/XML that declares entities. Writing is deterministic where it
must be: the same quads give the same bytes in any process (exports, diffs, a dataset's canonical form).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import InputError
from kg.store.terms import (
    AnyQuad,
    AnyTerm,
    HasBlankNode,
    Quad,
    Triple,
    from_ox_quad,
    ntriples_formatter,
    ox_quad_stream,
    to_ox,
    to_ox_iri,
    to_ox_resource,
    to_rdflib_terms,
)

#: RDF formats by name, read and written (each format's ``supports_datasets`` says whether it carries graph
#: names), and the file extensions that imply them.
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}
EXTENSIONS: dict[str, str] = {
    "ttl": "turtle",
    "turtle": "turtle",
    "nt": "ntriples",
    "jsonld": "jsonld",
    "json": "jsonld",
    "rdf": "rdfxml",
    "xml": "rdfxml",
    "owl": "rdfxml",
    "trig": "trig",
    "nq": "nquads",
}


def format_for(path: Path, name: str | None = None) -> str:
    """The input format named, or implied by the file's extension; InputError if neither works."""
    if name is not None:
        if name not in RDF_FORMATS:
            raise InputError(f"unknown input format {name!r}; choose one of {', '.join(RDF_FORMATS)}")
        return name
    extension = path.suffix.lower().lstrip(".")
    if extension not in EXTENSIONS:
        raise InputError(
            f"{path.name}: cannot tell the RDF format from the extension {path.suffix or '(none)'!r}; "
            f"use one of .{', .'.join(EXTENSIONS)} or name the format"
        )
    return EXTENSIONS[extension]


def parse_rdf(data: bytes, *, format: str, base_iri: str, source: str) -> list[Quad]:
    """Every quad of an RDF document (triples land in the default graph, as None).

    Raises InputError for an empty document or a syntax error, with the parser's line and column.
    Nothing is fetched: pyoxigraph resolves no remote JSON-LD context and no XML external entity, and
    RDF/XML declaring entities is refused before pyoxigraph reads it (it expands them without bound: a
    tiny "billion laughs" document took all the memory of the process).
    """
    if not data.strip():
        raise InputError(f"{source}: the file is empty")
    if format == "rdfxml":
        _refuse_xml_entities(data, source)
    try:
        quads = list(ox.parse(data, format=RDF_FORMATS[format], base_iri=base_iri))
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        if "LoadDocumentCallback" in str(exc):  # pyoxigraph's words for a remote context it will not load
            raise InputError(
                f"{source}: the JSON-LD names a remote @context, and remote contexts are never "
                "fetched; put the context inline in the document"
            ) from exc
        # pyoxigraph's message already names the line and column
        raise InputError(f"{source}: not valid {format}: {exc}") from exc
    if not quads:
        raise InputError(f"{source}: the file holds no RDF statements")
    try:
        return [from_ox_quad(q) for q in quads]
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
        raise InputError(
            f"{source}: the RDF/XML declares entities ({exc}); entity declarations are refused, "
            "since they can read local files or expand without bound. Write the values out, or "
            "send Turtle"
        ) from exc
    except xml.etree.ElementTree.ParseError as exc:
        raise InputError(f"{source}: not valid rdfxml: {exc}") from exc


def text_triples(text: bytes) -> set[Triple]:
    """The triples of an N-Triples document as rdflib terms, literals as the store keeps them."""
    parsed = list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))
    twins = to_rdflib_terms({t for triple in parsed for t in (triple.subject, triple.predicate, triple.object)})
    return {(twins[t.subject], twins[t.predicate], twins[t.object]) for t in parsed}


def ntriples_text(triples: Iterable[Triple], text: Callable[[AnyTerm], str] | None = None) -> bytes | None:
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


def ntriples(triples: Iterable[Triple]) -> bytes:
    """Triples as an N-Triples document (for sending to a remote store)."""
    return (
        ox.serialize(
            [ox.Triple(to_ox_resource(s), to_ox_iri(p), to_ox(o)) for s, p, o in triples], format=ox.RdfFormat.N_TRIPLES
        )
        or b""
    )


def canonical_blank_nodes(quads: Iterable[Quad]) -> list[Quad]:
    """The quads with blank nodes relabelled by RDFC-1.0, so that isomorphic inputs become equal.

    Labels depend on the whole input: relabel small independent pieces (one blank-node structure at a
    time) when comparing datasets that differ elsewhere. A ``None`` graph is the default graph.
    """
    dataset = ox.Dataset(
        [
            ox.Quad(to_ox_resource(s), to_ox_iri(p), to_ox(o), ox.DefaultGraph() if g is None else to_ox_resource(g))
            for s, p, o, g in quads
        ]
    )
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return [from_ox_quad(q) for q in dataset]


def sorted_nquads(quads: Iterable[Quad]) -> bytes:
    """Quads as N-Quads, one per line, sorted: the canonical form of a dataset (no blank nodes)."""
    text = ox.serialize(list(ox_quad_stream(quads)), format=ox.RdfFormat.N_QUADS) or b""
    lines = sorted(set(text.splitlines()))
    return b"".join(line + b"\n" for line in lines)


def sorted_ntriples(triples: Iterable[Triple]) -> bytes:
    """Triples as N-Triples, sorted and without duplicates."""
    ox_triples = [ox.Triple(to_ox_resource(s), to_ox_iri(p), to_ox(o)) for s, p, o in triples]
    text = ox.serialize(ox_triples, format=ox.RdfFormat.N_TRIPLES) or b""
    return b"".join(line + b"\n" for line in sorted(set(text.splitlines())))


def xml_safe(term: Any) -> Any:
    """pyoxigraph writes blank-node labels as rdf:nodeID unchanged, and its own parser (rightly) rejects a
    nodeID that is not an XML name, such as our hex labels starting with a digit: prefix them."""
    return ox.BlankNode("b" + term.value) if isinstance(term, ox.BlankNode) else term


def serialize_sorted(quads: Iterable[AnyQuad], format: str, *, prefixes: dict[str, str] | None = None) -> bytes:
    """Quads written in ``format`` in one fixed order (graph, subject, predicate, object), duplicates removed.

    The same quads give the same bytes in any process. Formats without graph names merge the graphs. The
    terms may be rdflib's or pyoxigraph's (``EmbeddedStore.export_quads``). The order is that of the terms'
    N-Triples text, graph first: sorting on a triple's line is the same as sorting on its terms in turn,
    since a term's text never continues with a character below the space that follows it in the line.
    Only the lines are kept and sorted; pyoxigraph parses them back (blank-node labels kept) as it writes.
    """
    rdf_format = RDF_FORMATS[format]
    with_graphs = rdf_format.supports_datasets
    graphs: dict[Any, str] = {}  # graph name -> its N-Triples text: names repeat on every quad
    lines: set[tuple[str, str]] = set()
    for s, p, o, g in quads:
        graph = graphs.get(g)
        if graph is None:
            graph = graphs[g] = str(to_ox(g)) if with_graphs and g is not None else ""
        lines.add((graph, f"{to_ox(s)} {to_ox(p)} {to_ox(o)}"))
    # joined as bytes line by line: one str of the whole text would take 2-4 bytes a character as soon as
    # one line holds a Chinese label
    parsed: Iterable[ox.Quad] | Iterable[ox.Triple]
    if with_graphs:
        text = b"".join((f"{line} {graph} .\n" if graph else f"{line} .\n").encode() for graph, line in sorted(lines))
        parsed = ox.parse(text, format=ox.RdfFormat.N_QUADS)
    else:
        text = b"".join(f"{line} .\n".encode() for _, line in sorted(lines))
        parsed = ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
    del lines
    if format == "rdfxml":
        parsed = (ox.Triple(xml_safe(t.subject), t.predicate, xml_safe(t.object)) for t in parsed)
    if not (prefixes and format in ("turtle", "trig", "jsonld", "rdfxml")):
        prefixes = None  # as if not given
    return ox.serialize(parsed, format=rdf_format, prefixes=prefixes) or b""
