"""Content negotiation: one table per result kind, chosen by ``format`` or the Accept header."""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept

from kg.errors import BadRequest, NotAcceptable, UnsupportedFormat

#: media type -> format name, per result kind; the first entry is the default.
SOLUTIONS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
}
GRAPH = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "text/plain": "ntriples",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}
MEDIA_TYPE = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "trig": "application/trig; charset=utf-8",
    "nquads": "application/n-quads",
}

#: Content-Type -> input format of an RDF document sent in a request body: GRAPH's types but text/plain,
#: which names no RDF format when it is sent.
UPLOAD_TYPES = {media: name for media, name in GRAPH.items() if media != "text/plain"}

#: Other spellings of the format parameter that clients send (SPARQLWrapper sends rdf+xml and json-ld,
#: as Fuseki and Virtuoso accept), and media types, per result kind.
ALIASES = {
    "solutions": {"srj": "json", "srx": "xml", **SOLUTIONS},
    "graph": {
        "ttl": "turtle",
        "nt": "ntriples",
        "n-triples": "ntriples",
        "json-ld": "jsonld",
        "rdf+xml": "rdfxml",
        "rdf": "rdfxml",
        "xml": "rdfxml",
        "json": "jsonld",
        "nq": "nquads",
        "n-quads": "nquads",
        **GRAPH,
    },
}


def negotiate(
    types: dict[str, str],
    accept: MIMEAccept,
    named: str | None,
    *,
    aliases: dict[str, str] | None = None,
    unknown: str,
    unacceptable: str,
) -> str:
    """The format name for an answer offered in ``types`` (media type -> name; the first is the default):
    the one ``named`` by a parameter (or one of its ``aliases``), else the best the Accept header takes.

    ``unknown`` and ``unacceptable`` are the errors' messages; ``unknown`` may use {named} and {names}.
    """
    names = list(dict.fromkeys(types.values()))
    if named:
        wanted = named.strip().lower()
        chosen = wanted if wanted in names else (aliases or {}).get(wanted)
        if chosen is None:
            raise BadRequest(unknown.format(named=named, names=", ".join(names)))
        return chosen
    if not accept:
        return names[0]
    best = accept.best_match(list(types))  # None when none fits
    if best is None:
        raise NotAcceptable(unacceptable)
    return types[best]


def choose(kind: str, accept: MIMEAccept, format_parameter: str | None) -> str:
    """The format name for a result of ``kind`` (solutions or graph)."""
    table = SOLUTIONS if kind == "solutions" else GRAPH
    return negotiate(
        table,
        accept,
        format_parameter,
        aliases=ALIASES[kind],
        unknown="format {named!r} is not available for this query; use one of {names}",
        unacceptable=f"none of the accepted media types can carry this result; available: {', '.join(table)}",
    )


def upload_format(mimetype: str) -> str:
    """The input format of a request body whose Content-Type is ``mimetype``; UnsupportedFormat (415) when
    it names none."""
    name = UPLOAD_TYPES.get(mimetype)
    if name is None:
        raise UnsupportedFormat(f"send the data as one of {', '.join(UPLOAD_TYPES)}; got {mimetype or '(none)'!r}")
    return name
