"""What a query from outside may do, checked on its text before it runs (the endpoint, the pages, the CLI).

- Size: a query too long or too deeply nested is refused (400). pyoxigraph's parser and evaluator recurse
  once per nesting level and per chained operator; on a thread's usual 8 MiB stack deeply nested
  braces crashed the process. Within these limits, the query threads of ``kg.limits.evaluator`` hold any query.
- Read-only: an update is refused (403). pyoxigraph's ``Store.query`` runs no update either, LOAD included.
- No outbound requests: every SERVICE target must be allow-listed (403), since pyoxigraph would make the
  HTTP call; a variable, relative or otherwise unreadable target is refused too. FROM / FROM NAMED must
  name a graph the store holds (403): its author expects a fetch that never happens.

These checks read the text as the engine does, not by the grammar on paper: a keyword glued to a name
(``SERVICE:x``) counts, and where ``<`` may be read two ways both readings are checked
(``kg.sparql_text.lexings``); tests/test_outbound.py runs generated spellings against pyoxigraph with a
listener as canary.
"""

from __future__ import annotations

from kg.config import Settings
from kg.errors import BadRequest, Forbidden
from kg.sparql_text import (
    MAX_AMBIGUOUS,
    TooAmbiguous,
    keyword_uses,
    looks_like_update,
    nesting_depth,
    openers,
    stray_backslash,
)


def check_readable(text: str, settings: Settings) -> None:
    """Refuse a query too long or too deeply nested to run safely, or with a stray backslash."""
    if len(text) > settings.max_query_length:
        raise BadRequest(
            f"the query is {len(text):,} characters long; the limit is {settings.max_query_length:,} "
            "(setting max_query_length)"
        )
    # the raw count bounds the depth: most queries pass without being split into tokens
    depth = _read(nesting_depth, text) if openers(text) > settings.max_query_depth else 0
    if depth > settings.max_query_depth:
        raise BadRequest(
            f"the query nests braces, parentheses or brackets {depth} deep; the limit is "
            f"{settings.max_query_depth} (setting max_query_depth)"
        )
    offset = stray_backslash(text)
    if offset is not None:
        line = text.count("\n", 0, offset) + 1
        raise BadRequest(
            f"the query has a backslash outside a string, IRI or prefixed name (line {line}); SPARQL allows none there"
        )


def _read(reader, *arguments):
    """``reader(*arguments)``, with a text too ambiguous to check refused as a bad request."""
    try:
        return reader(*arguments)
    except TooAmbiguous as exc:
        line = arguments[0].count("\n", 0, exc.args[0]) + 1
        raise BadRequest(
            f"the query has more than {MAX_AMBIGUOUS} places where '<' could compare two values or "
            f"open an IRI (the last on line {line}); put a space after '<' where it compares"
        ) from None


def check_outbound(text: str, settings: Settings) -> None:
    """Refuse a SERVICE call to any endpoint the operator has not allow-listed."""
    for use in _read(keyword_uses, text, "SERVICE", "SILENT"):
        if use.glued:
            raise Forbidden(
                f"SERVICE is glued to a name ({use.glued!r}), which the query engine reads as a SERVICE "
                "call; no outbound request is made unless the operator allow-lists the endpoint (setting "
                "allow_service), and then write it as SERVICE <endpoint>"
            )
        if use.target is None or use.target not in settings.service_allow_list:
            shown = (
                f"<{use.target}>"
                if use.target
                else "with a variable endpoint"
                if use.target is None
                else "with an endpoint that is no absolute IRI"
            )
            raise Forbidden(
                f"SERVICE {shown} is not allowed: no outbound request is made unless the operator "
                "allow-lists the endpoint (setting allow_service)"
            )


def check_query(query: str, protocol_dataset: bool, held: set[str], settings: Settings) -> None:
    """Everything above, for a query to the endpoint.

    A graph parameter naming a graph the store lacks selects an empty graph, as the W3C protocol tests
    expect; a FROM naming one is refused. FROM is not checked when the request gives a dataset, which
    replaces the query's own.
    """
    check_readable(query, settings)
    if looks_like_update(query):
        raise Forbidden("this endpoint is read-only: SPARQL Update is not accepted")
    check_outbound(query, settings)
    if protocol_dataset:
        return
    for use in _read(keyword_uses, query, "FROM", "NAMED"):
        if use.glued:
            raise Forbidden(
                f"FROM is glued to a name ({use.glued!r}); write FROM <graph> or FROM NAMED <graph>, "
                "naming a graph of the service description"
            )
        if use.target not in held:
            shown = f"<{use.target}>" if use.target else "with no IRI"
            raise Forbidden(
                f"FROM {shown} names a graph the store does not hold, and this endpoint never "
                "fetches graphs from the network; choose among the graphs in the service description"
            )
