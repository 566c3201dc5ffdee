"""Property-based fuzzing of what comes in from outside: query texts (no outbound request the checks let
through, never a 500), saved-query parameters, and uploaded RDF (never a 500, a refused write changes
nothing). Hypothesis draws the inputs; no mocks: the real checks, the real pyoxigraph, the real app."""

from __future__ import annotations

import json
import re
from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest
from helpers import GOOD, ROOT, TOKEN, YRD, run_in_pyoxigraph, scratch_store, snapshot
from hypothesis import HealthCheck, example, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rdflib import Graph

from kg.config import load_settings
from kg.errors import KGError
from kg.serving.query_policy import check_query
from kg.serving.saved_queries import load_queries
from kg.web import create_app
from kg.web.negotiation import UPLOAD_TYPES
from kg.web.validation import REPORT_TYPES

FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ERROR_STATUSES = {400, 403, 406, 415, 503}


def assert_json_error(response, allowed: set[int], html: bool = False) -> None:
    """``response`` has an allowed status, and an error one has the JSON error body (or, ``html``: for a
    client that prefers text/html, the error page)."""
    assert response.status_code in allowed, (response.status_code, response.get_data()[:500])
    if response.status_code >= 400 and html:
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html" and f"<h1>{response.status_code}: " in page, page[:500]
        assert re.search(r'<p class="error" role="alert">\S', page), page[:500]
    elif response.status_code >= 400:
        body = json.loads(response.get_data())
        assert body["ok"] is False and isinstance(body["error"], str) and body["error"].strip(), body
        assert body["status"] == response.status_code, body


# --- 1. no query text makes an outbound request the checks let through ---------------------------------


# CANARY and PORT are replaced by the canary's URL and port (the listener's port is known only at run time)
PROLOG = [
    "PREFIX ex: <http://x/>",
    "PREFIX c: <CANARY/>",
    "BASE <CANARY/>",
    "PREFIX c: <http://x/>",
    "PREFIX : <CANARY/>",
    "PREFIXc: <CANARY/>",
]
FORMS = ["SELECT * WHERE {", "SELECT ?e WHERE {", "ASK {", "SELECT * {"]
SERVICES = [
    "SERVICE <CANARY/sparql> { ?a ?b ?c }",
    "service silent <CANARY/sparql> {}",
    "SERVICE c:sparql {}",
    "SERVICE <sparql> {}",
    "SERVICE<CANARY/x>{}",
    "SERVICE ?e {}",
    "VALUES ?e { <CANARY/v> }",
    "BIND(<CANARY/b> AS ?e)",
    "SERVICE <http\\u003A//127.0.0.1:PORT/u> {}",
    # keywords glued to names, numbers and words, as the engine reads them
    "SERVICE:sparql {}",
    "SERVICEc:sparql {}",
    "?s ?p ex:a.b.SERVICE<CANARY/g>{}",
    "?s a1SERVICE c:x {}",
    "?s ?p trueSERVICE c:x {}",
]
# terms a lexer can misread (a quote in an IRI or escaped in a prefixed name, a # or a quote in a string) ...
TRAP_TERMS = ["<http://x/'>", "ex:a\\'", "ex:b\\#", '"a # b"', "'it\\'s'", "'''a ' b'''", '"""a " b"""']
# ... and pieces of text that are no term at all
TRAPS = [
    '<http://x/">',
    "'",
    '"',
    "'''",
    '"""',
    "#",
    "\n",
    "\\",
    "SERVICE",
    "SILENT",
    "<CANARY/i>",
    "FILTER(1<'a>')",
    "FILTER('x'='y')",
    "1<",
    "'a>'",
    "<<",
    ":",
    ".",
    *TRAP_TERMS,
]
PATTERNS = ["?s ?p ?o .", "FILTER(?s != ?o)", "FILTER(?s < ?o)", *SERVICES, *[f"?s ?p {term} ." for term in TRAP_TERMS]]
ORDINARY = [
    *FORMS,
    "}",
    "{",
    "OPTIONAL {",
    "UNION",
    "GRAPH ?g {",
    ".",
    "ex:a",
    "?e",
    "?s ?p ?o .",
    "FILTER(?s != ?o)",
    *PROLOG,
]
FRAGMENTS = ORDINARY + SERVICES + TRAPS
SEPARATORS = [" ", " ", " ", "", "\n", "\t"]


def joined(parts: st.SearchStrategy[str], min_size: int = 0, max_size: int = 6) -> st.SearchStrategy[str]:
    pieces = st.tuples(parts, st.sampled_from(SEPARATORS)).map("".join)
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


def nested(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    block = joined(inner, 1, 4)
    return st.one_of(
        block.map("{{ {} }}".format),
        block.map("OPTIONAL {{ {} }}".format),
        st.tuples(block, block).map(lambda pair: "{{ {} }} UNION {{ {} }}".format(*pair)),
        block.map("GRAPH ?g {{ {} }}".format),
        block.map("MINUS {{ {} }}".format),
    )


def query_shaped(prolog: st.SearchStrategy[str], patterns: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(
        prolog,
        st.sampled_from(FORMS),
        joined(st.recursive(patterns, nested, max_leaves=8), 0, 4),
        st.sampled_from([" }", "}", "\n}\n"]),
    ).map("".join)


# every prefix the patterns use declared, perhaps a base and a prefix declared again
DECLARED = st.tuples(
    st.just("PREFIX ex: <http://x/> PREFIX c: <CANARY/>\n"), joined(st.sampled_from(PROLOG), 0, 2)
).map("".join)
VALID = query_shaped(DECLARED, st.sampled_from(PATTERNS))
# well-formed queries (a prologue, a WHERE clause of nested patterns), which pyoxigraph runs, SERVICE calls
# and all; the same with stray traps in the prologue and among the patterns; fragments in any order
QUERY_TEXTS = st.one_of(
    VALID,
    VALID,
    query_shaped(
        joined(st.sampled_from(PROLOG + TRAPS), 0, 3), st.one_of(st.sampled_from(PATTERNS), st.sampled_from(TRAPS))
    ),
    joined(st.sampled_from(FRAGMENTS), 1, 14),
)


def test_the_canary_hears_a_service_call_the_operator_allows(settings, canary):
    endpoint = canary.url + "/sparql"
    allowing = load_settings({"root": ROOT, "store_dir": settings.path("store_dir"), "allow_service": endpoint}, env={})
    text = f"SELECT * WHERE {{ ?s ?p ?o . SERVICE <{endpoint}> {{ ?a ?b ?c }} }}"
    check_query(text, False, set(), allowing)  # passes
    canary.clear()
    outcome = run_in_pyoxigraph(scratch_store(), text)
    assert canary.connections() >= 1, outcome
    # and without the allow-list entry the same text is refused
    with pytest.raises(KGError, match="SERVICE"):
        check_query(text, False, set(), settings)


def test_no_query_text_makes_an_outbound_request_the_checks_let_through(settings, store, canary):
    assert not settings.service_allow_list
    held = {str(g) for g in store.graphs()}
    scratch = scratch_store()
    totals = {"examples": 0, "connected": 0, "refused": 0}

    @hypothesis_settings(max_examples=300, **FUZZ)
    @given(QUERY_TEXTS)
    def check(template: str) -> None:
        text = template.replace("CANARY", canary.url).replace("PORT", str(canary.port))
        note(f"query text: {text!r}")
        try:
            check_query(text, False, held, settings)
            refused = None
        except KGError as exc:
            refused = f"{type(exc).__name__}: {exc.message}"
        note(f"check: {refused or 'passed'}")
        canary.clear()
        outcome = run_in_pyoxigraph(scratch, text)
        connections = canary.connections()
        note(f"pyoxigraph: {outcome}; connections to the canary: {connections}")
        totals["examples"] += 1
        totals["connected"] += connections > 0
        totals["refused"] += refused is not None
        assert not connections or refused, "an outbound request from a query text the checks let through"

    check()
    # the property is not vacuous: some texts did reach the canary (and were refused), some passed the checks
    assert totals["connected"] > 0 and totals["refused"] < totals["examples"], totals


# --- 2. query text over HTTP --------------------------------------------------------------------------

VALID_QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3",
    "DESCRIBE <https://w3id.org/yrd-kg/id/region/nantong>",
    "PREFIX yrd: <https://w3id.org/yrd-kg/ontology#> SELECT ?p WHERE { ?p a yrd:IndustrialPark }",
]


@st.composite
def mangled_query(draw) -> str:
    """A valid query with arbitrary text put in, or a piece cut out."""
    query = draw(st.sampled_from(VALID_QUERIES))
    start = draw(st.integers(0, len(query)))
    end = draw(st.integers(start, len(query)))
    return query[:start] + draw(st.text(max_size=20)) + query[end if draw(st.booleans()) else start :]


QUERY_PARAMETER = st.one_of(
    st.text(), st.text(alphabet=st.characters(codec="utf-8")), mangled_query(), st.sampled_from(VALID_QUERIES)
)


@hypothesis_settings(max_examples=100, **FUZZ)
@given(query=QUERY_PARAMETER, method=st.sampled_from(["GET", "form", "body"]))
def test_any_query_text_gets_an_answer_or_a_json_error(client, query, method):
    if method == "GET":
        response = client.get("/sparql", query_string={"query": query})
    elif method == "form":
        response = client.post("/sparql", data={"query": query})
    else:
        response = client.post("/sparql", data=query.encode("utf-8"), content_type="application/sparql-query")
    assert_json_error(response, {200} | ERROR_STATUSES)


@hypothesis_settings(max_examples=60, **FUZZ)
@given(
    body=st.one_of(st.binary(), st.sampled_from(VALID_QUERIES).map(str.encode)),
    content_type=st.sampled_from(
        ["application/sparql-query", "application/sparql-query; charset=utf-8", "application/x-www-form-urlencoded"]
    ),
)
def test_any_request_body_gets_an_answer_or_a_json_error(client, body, content_type):
    response = client.post("/sparql", data=body, content_type=content_type)
    assert_json_error(response, {200} | ERROR_STATUSES)
    if content_type.startswith("application/sparql-query"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            assert response.status_code == 400 and "UTF-8" in response.json["error"]


# a raw query string: percent-escapes of arbitrary bytes, and raw bytes as WSGI hands them over (Latin-1)
RAW_QUERY_STRINGS = st.lists(
    st.one_of(
        st.binary(max_size=8).map(lambda b: quote_from_bytes(b, safe="")),
        st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
        st.sampled_from(
            ["query=", "&", "=", "+", "%", "%f", "%C3", "%A9", "%ff", "query=ASK%7B%7D", "format=json", "query=%E2%82"]
        ),
    ),
    max_size=8,
).map("".join)


@hypothesis_settings(max_examples=100, **FUZZ)
@given(raw=RAW_QUERY_STRINGS)
@example(raw="%C3\x80")  # an escape and a raw byte that are UTF-8 only together: werkzeug failed on it (500)
def test_any_raw_query_string_gets_an_answer_or_a_json_error(client, raw):
    response = client.get("/sparql", environ_overrides={"QUERY_STRING": raw})
    assert_json_error(response, {200} | ERROR_STATUSES)
    try:  # WSGI hands the query string over as its bytes read as Latin-1
        unquote_to_bytes(raw.encode("latin-1").replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        assert response.status_code == 400 and "UTF-8" in response.json["error"], response.json


# --- 3. saved-query parameters ------------------------------------------------------------------------

SAVED = load_queries(load_settings({"root": ROOT}, env={}).path("queries_dir"))  # as kg.web.saved does
WITH_PARAMETERS = sorted(query_id for query_id, query in SAVED.items() if query.parameters)
IRIS = [
    "https://w3id.org/yrd-kg/id/region/nantong",
    "https://w3id.org/yrd-kg/id/region/shanghai",
    "https://w3id.org/yrd-kg/id/infra/sutong-bridge",
    "https://w3id.org/yrd-kg/ontology#IndustrialPark",
    "urn:x:y",
    "http://127.0.0.1:9/nothing",
    "https://w3id.org/yrd-kg/id/region/nantong>",
]


def values_of(kind: str) -> st.SearchStrategy[str]:
    """Values for a parameter of ``kind``: ones that fit it, near misses and arbitrary text."""
    typed = {
        "iri": st.one_of(
            st.sampled_from(IRIS), st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,6}:[^\s<>\"{}|\\^`]{0,20}", fullmatch=True)
        ),
        "integer": st.integers().map(str),
        "decimal": st.decimals(allow_nan=False, allow_infinity=False).map(str),
        "date": st.one_of(st.dates().map(lambda d: d.isoformat()), st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True)),
        "gYear": st.from_regex(r"-?\d{4,5}", fullmatch=True),
        "boolean": st.sampled_from(["true", "false", "True", "1", "0"]),
    }.get(kind, st.sampled_from(["Nantong", "南通", "", " "]))
    return st.one_of(typed, st.text(max_size=30))


@hypothesis_settings(max_examples=150, **FUZZ)
@given(query_id=st.sampled_from(WITH_PARAMETERS), data=st.data())
def test_saved_query_parameters_get_an_answer_or_an_actionable_400(client, query_id, data):
    query = SAVED[query_id]
    names = [p.name for p in query.parameters]
    given_values = {}
    for parameter in query.parameters:  # each one left out (its default applies), or given a value
        choices = [st.none(), values_of(parameter.kind)]
        if parameter.enumeration:
            choices.append(st.sampled_from(parameter.enumeration))
        drawn = data.draw(st.one_of(choices), label=parameter.name)
        if drawn is not None:
            given_values[parameter.name] = drawn
    response = client.get(f"/queries/{query_id}.json", query_string=given_values)
    assert_json_error(response, {200, 400})
    if response.status_code == 400:
        error = response.json["error"]
        assert any(repr(name) in error for name in names), f"the error names no parameter of {names}: {error}"
        assert "must be" in error or "needs" in error, f"the error does not say what the parameter takes: {error}"


# --- 4. uploaded RDF ----------------------------------------------------------------------------------

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_XML = f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="{RDFS}" xmlns:yrd="{YRD}">
  <yrd:IndustrialPark rdf:about="https://partner.example/park/x1">
    <rdfs:label xml:lang="en">Partner park X</rdfs:label>
    <yrd:locatedIn rdf:resource="https://w3id.org/yrd-kg/id/region/nantong"/>
  </yrd:IndustrialPark>
</rdf:RDF>
""".encode()
JSON_LD = json.dumps(
    {
        "@context": {"yrd": YRD, "rdfs": RDFS, "locatedIn": {"@id": "yrd:locatedIn", "@type": "@id"}},
        "@id": "https://partner.example/park/j1",
        "@type": "yrd:IndustrialPark",
        "rdfs:label": {"@value": "Partner park J", "@language": "en"},
        "locatedIn": "https://w3id.org/yrd-kg/id/region/nantong",
    },
    indent=1,
).encode()
N_TRIPLES = (
    b"<https://partner.example/park/n1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    b"<https://w3id.org/yrd-kg/ontology#IndustrialPark> .\n"
    b'<https://partner.example/park/n1> <http://www.w3.org/2000/01/rdf-schema#label> "Park N"@en .\n'
)
DOCUMENTS = {
    "text/turtle": GOOD,
    "application/rdf+xml": RDF_XML,
    "application/ld+json": JSON_LD,
    "application/n-triples": N_TRIPLES,
    "application/n-quads": N_TRIPLES,
    "application/trig": GOOD,
}
SPLICES = st.one_of(
    st.binary(max_size=16),
    st.sampled_from(
        [
            b'"',
            b"'",
            b"<",
            b">",
            b"{",
            b"}",
            b"[",
            b"@prefix",
            b"\\",
            b"\xff",
            b"\x00",
            b"\xc3",
            b"#",
            b"\n",
            b".",
            b"<!ENTITY",
            b'"@id"',
            b"_:b",
            b"a",
        ]
    ),
)


@st.composite
def mutated_document(draw) -> tuple[str, bytes]:
    """A valid document (with its media type, most of the time) with a byte range cut, replaced or added to."""
    media_type = draw(st.sampled_from(sorted(DOCUMENTS)))
    document = DOCUMENTS[media_type]
    if draw(st.integers(0, 4)) == 0:
        media_type = draw(st.sampled_from(sorted(UPLOAD_TYPES)))
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(document)))
        end = draw(st.integers(start, min(len(document), start + 40)))
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        if operation == "insert":
            document = document[:start] + draw(SPLICES) + document[start:]
        elif operation == "delete":
            document = document[:start] + document[end:]
        else:
            document = document[:start] + draw(SPLICES) + document[end:]
    return media_type, document


UPLOADS = st.one_of(
    mutated_document(),
    st.tuples(st.sampled_from(sorted(UPLOAD_TYPES)), st.binary(max_size=300)),
    st.sampled_from(sorted(DOCUMENTS.items())),
)


REPORT_MEDIA_TYPES = {fmt: media_type for media_type, fmt in REPORT_TYPES.items()}


@hypothesis_settings(max_examples=40, **FUZZ)
@given(
    upload=UPLOADS,
    report=st.sampled_from([None, *REPORT_MEDIA_TYPES]),
    asked_by=st.sampled_from(["URL", "Accept"]),
    context=st.booleans(),
)
def test_any_upload_to_validate_gets_a_report_or_a_json_error(client, upload, report, asked_by, context):
    media_type, body = upload
    query, headers = {"context": str(context).lower()}, {"Content-Type": media_type}
    if report and asked_by == "URL":
        query["report"] = report
    elif report:
        headers["Accept"] = REPORT_MEDIA_TYPES[report]
    response = client.post("/validate", query_string=query, data=body, headers=headers)
    # who asks for the HTML report by Accept prefers text/html: an error comes as a page too
    assert_json_error(response, {200, 400, 413, 415, 422, 503}, html=headers.get("Accept") == "text/html")
    if response.status_code == 200:  # the report, in the format asked for
        fmt = report or "json"
        assert response.mimetype == REPORT_MEDIA_TYPES[fmt]
        assert response.headers["X-Conforms"] in ("true", "false")
        if fmt == "json":
            assert json.loads(response.get_data())["conforms"] == (response.headers["X-Conforms"] == "true")
        elif fmt == "turtle":
            Graph().parse(data=response.get_data(), format="turtle")
        else:
            assert response.get_data().strip()


def test_a_refused_graph_store_write_changes_nothing(writable):
    app = create_app(writable).test_client()
    state = {"before": snapshot(writable)}

    @hypothesis_settings(max_examples=10, **FUZZ)  # each write that gets past the front is an import process
    @given(upload=UPLOADS)
    def check(upload):
        media_type, body = upload
        response = app.put(
            "/data",
            query_string={"graph": "https://partner.example/graph/fuzz"},
            data=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": media_type},
        )
        assert_json_error(response, {200, 201, 400, 413, 415, 422, 503})
        if response.status_code >= 400:
            assert snapshot(writable) == state["before"], "a refused write changed the store"
        else:  # a new version is published: the store to compare with from now on
            state["before"] = snapshot(writable)

    check()
