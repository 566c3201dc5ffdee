"""The mapping engine and every mapping in mappings/, each on a small fixture."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest
from helpers import ROOT
from rdflib import Literal, URIRef

from kg.build.mapping import load_mapping, map_rows, merge_citations, run_mapping
from kg.build.tables import CITATION_COLUMNS, Row, TableSchema, _date_bounds, _typed, load_schemas
from kg.errors import MappingError
from kg.store.terms import from_ox

BASE = "https://example.org/kg/"
SCHEMAS = load_schemas(ROOT / "seeds")


MAPPED_TO_W3C = {
    ("kind", "Organisation"): "http://www.w3.org/ns/org#Organization",
    ("role", "hasMember"): "http://www.w3.org/ns/org#hasMember",
    ("kind", "prefLabel"): "http://www.w3.org/2000/01/rdf-schema#label",
    ("kind", "article"): BASE + "ontology#Article",
}


def sample_cell(schema: TableSchema, column) -> str:
    """A valid value for a column, derived from its declaration (so every column gets exercised)."""
    pattern = column.pattern.pattern if column.pattern else ""
    if column.name == "source" or (schema.cites_itself and column.name == "id"):
        return "000_e6f6fc23eec8e3c6.txt"
    if column.datatype == "date":
        return "2010-08"
    if column.datatype == "integer":
        return "7"
    if column.datatype == "decimal":
        return "5.25"
    if column.datatype == "boolean":
        return "true"
    kinds = re.match(r"\^\(([a-z|\[\]\-+]+)\)/", pattern)
    if kinds:
        kind = kinds.group(1).split("|")[0]
        return f"{'thing' if kind.startswith('[') else kind}/sample-{column.name.replace('_', '-')}"
    enum = re.fullmatch(r"\^\(([A-Za-z0-9|\-]+)\)\$", pattern)
    if enum:
        return enum.group(1).split("|")[0]
    if column.name == "code":
        return "320600"
    if column.name == "published_time":
        return "06:53"
    if column.name == "language":
        return "en"
    if column.name == "url":
        return "https://example.org/page"
    return f"sample {column.name}"


def sample_row(schema: TableSchema) -> Row:
    cells, raw = {}, {}
    for column in schema.columns:
        text = raw[column.name] = sample_cell(schema, column)
        assert not column.pattern or column.pattern.fullmatch(text), (schema.name, column.name, text)
        cells[column.name] = _typed(column, text)
        if column.datatype == "date":
            cells.update(_date_bounds(column, text))
    source = raw["id"] if schema.cites_itself else raw["source"]
    return Row(schema.name, 2, cells, source, None if schema.cites_itself else 7)


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_every_column_of_every_table_reaches_the_graph(table):
    schema = SCHEMAS[table]
    mapping = load_mapping(ROOT / "mappings" / f"{table}.rq", schema, base_iri=BASE)
    row = sample_row(schema)
    produced = run_mapping(mapping, schema, [row], base_iri=BASE)
    assert produced, f"{table}: the sample row produced nothing"
    assert all(cited == {(row.source, row.paragraph)} for cited in produced.values())
    terms = {t for triple in produced for t in triple}
    lexical = {str(t) for t in terms}
    for column in schema.columns:
        if column.name in CITATION_COLUMNS:
            continue
        value = row.cells[column.name].value
        hit = (
            BASE + "id/" + value in lexical
            or value in lexical
            or BASE + "ontology#" + value in lexical
            or any(value in text for text in lexical if len(value) > 3)
            or any(getattr(t, "language", None) == value for t in terms)
        )
        # enumerations that map to a W3C term rather than to a term of our ontology
        hit = hit or MAPPED_TO_W3C.get((column.name, value), "-") in lexical
        assert hit, f"{table}.{column.name} = {value!r} does not appear in the produced triples"
    for date_bound in (n for n in schema.variables() if n.endswith(("_earliest", "_latest"))):
        assert from_ox(row.cells[date_bound]) in terms, f"{table}: {date_bound} is not mapped"
    assert not [t for t in terms if isinstance(t, URIRef) and not str(t).startswith(("http", "https"))]


def test_parks_mapping_on_a_hand_checked_fixture():
    schema = SCHEMAS["parks"]
    mapping = load_mapping(ROOT / "mappings" / "parks.rq", schema, base_iri=BASE)
    cells = {
        "id": ox.Literal("park/p"),
        "name_en": ox.Literal("Park P"),
        "kind": ox.Literal("JointlyBuiltPark"),
        "established": _typed(schema.columns[4], "2003"),
        "source": ox.Literal("s.txt"),
    }
    cells.update(_date_bounds(schema.columns[4], "2003"))
    produced = run_mapping(mapping, schema, [Row("parks", 2, cells, "s.txt", 3)], base_iri=BASE)
    park, yrd, xsd = URIRef(BASE + "id/park/p"), BASE + "ontology#", "http://www.w3.org/2001/XMLSchema#"
    assert set(produced) == {
        (park, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(yrd + "JointlyBuiltPark")),
        (park, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("Park P", lang="en")),
        (park, URIRef(yrd + "established"), Literal("2003", datatype=URIRef(xsd + "gYear"))),
        (park, URIRef(yrd + "establishedEarliest"), Literal("2003-01-01", datatype=URIRef(xsd + "date"))),
        (park, URIRef(yrd + "establishedLatest"), Literal("2003-12-31", datatype=URIRef(xsd + "date"))),
    }


def test_rows_sharing_a_citation_are_traced_to_it_and_facts_dedupe():
    schema = SCHEMAS["people"]
    mapping = load_mapping(ROOT / "mappings" / "people.rq", schema, base_iri=BASE)
    rows = [
        Row(
            "people",
            n,
            {"id": ox.Literal("person/a"), "name_en": ox.Literal("A"), "source": ox.Literal(src)},
            src,
            para,
        )
        for n, (src, para) in enumerate([("s1.txt", 1), ("s2.txt", 4), ("s1.txt", 1)], start=2)
    ]
    produced = run_mapping(mapping, schema, rows, base_iri=BASE)
    assert len(produced) == 2  # type and label, each once
    assert all(cited == {("s1.txt", 1), ("s2.txt", 4)} for cited in produced.values())


def write(tmp_path, text):
    path = tmp_path / "people.rq"
    path.write_text(text)
    return path


GOOD_WHERE = 'WHERE { BIND(IRI(CONCAT("id/", ?id)) AS ?p) BIND(STRLANG(?note, "en") AS ?n) }'


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "PREFIX x: <x#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n ; x:s ?surname } " + GOOD_WHERE,
            "not columns of people.csv: ?surname",
        ),
        ("PREFIX x: <x#> CONSTRUCT { ?p x:n ?n } " + GOOD_WHERE, "ignores: name_en"),
        ("PREFIX x: <x#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n  " + GOOD_WHERE, "people.rq"),
        ("SELECT * WHERE { ?s ?p ?o }", "a mapping is a CONSTRUCT query"),
    ],
)
def test_mapping_errors_name_the_file_and_problem(tmp_path, text, message):
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)


def test_variables_in_strings_iris_and_comments_are_not_counted(tmp_path):
    text = (
        '# ?ghost in a comment\nPREFIX x: <x#?fake>\nCONSTRUCT { ?p x:name ?name_en ; x:n ?n ; x:q "?quoted" } '
        + GOOD_WHERE
    )
    mapping = load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)
    assert mapping.text.index("{", mapping.where_brace) == mapping.where_brace


def test_a_template_blank_node_is_refused_when_the_mapping_loads(tmp_path):
    text = "PREFIX x: <x#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n ; x:address [ x:street ?n ] } " + GOOD_WHERE
    with pytest.raises(MappingError, match=r"people\.rq: the CONSTRUCT template has a blank node"):
        load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)


def test_a_blank_node_made_in_the_where_clause_is_refused_when_the_mapping_runs(tmp_path):
    text = (
        "PREFIX x: <x#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n ; x:address ?address } "
        'WHERE { BIND(IRI(CONCAT("id/", ?id)) AS ?p) BIND(STRLANG(?note, "en") AS ?n) BIND(BNODE() AS ?address) }'
    )
    mapping = load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)
    row = Row(
        "people",
        2,
        {"id": ox.Literal("person/a"), "name_en": ox.Literal("A"), "source": ox.Literal("s.txt")},
        "s.txt",
        1,
    )
    with pytest.raises(MappingError, match=r"people\.rq on people\.csv: it makes a blank node"):
        map_rows(mapping, SCHEMAS["people"], [row], base_iri=BASE)


def test_literals_take_the_stores_canonical_form_and_merge_their_citations(tmp_path):
    """Two rows writing one number two ways state one fact, cited by both."""
    text = (
        "PREFIX x: <x#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n } "
        'WHERE { BIND(IRI(CONCAT("id/", ?id)) AS ?p) BIND(STRDT(?note, xsd:decimal) AS ?n) }'
    )
    mapping = load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)
    rows = [
        Row(
            "people",
            n,
            {
                "id": ox.Literal("person/a"),
                "name_en": ox.Literal("A"),
                "note": ox.Literal(value),
                "source": ox.Literal(src),
            },
            src,
            1,
        )
        for n, (value, src) in enumerate([("52.0", "s1.txt"), ("52", "s2.txt")], start=2)
    ]
    cited = map_rows(mapping, SCHEMAS["people"], rows, base_iri=BASE)
    numbers = {o: c for (s, p, o), c in cited.items() if p.value.endswith("x#n")}
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    assert numbers == {ox.Literal("52", datatype=decimal): {("s1.txt", 1), ("s2.txt", 1)}}


def test_merged_tables_keep_the_citations_of_both():
    a, b, c = (ox.NamedNode(f"http://x/{n}") for n in "abc")
    one = {(a, b, c): frozenset({("s1.txt", 1)}), (a, b, a): frozenset({("s1.txt", 1)})}
    two = {(a, b, c): frozenset({("s2.txt", 2)})}
    assert merge_citations(one, two) == {(a, b, c): {("s1.txt", 1), ("s2.txt", 2)}, (a, b, a): {("s1.txt", 1)}}


def test_a_fact_stated_by_many_rows_keeps_every_citation_and_leaves_the_others_alone(tmp_path):
    """Each row's triples share one set of citations; a triple cited again gets a set of its own, so the
    row's other triples keep theirs (the dataset triples of observations are stated by every row)."""
    text = (
        'PREFIX x: <x#> CONSTRUCT { ?p x:name ?name_en ; x:n ?n . <x#dataset> x:label "shared" } '
        'WHERE { BIND(IRI(CONCAT("id/", ?id)) AS ?p) BIND(STRLANG(?note, "en") AS ?n) }'
    )
    mapping = load_mapping(write(tmp_path, text), SCHEMAS["people"], base_iri=BASE)
    rows = [
        Row(
            "people",
            n + 2,
            {
                "id": ox.Literal(f"person/p{n}"),
                "name_en": ox.Literal(f"P{n}"),
                "note": ox.Literal("n"),
                "source": ox.Literal(f"s{n}.txt"),
            },
            f"s{n}.txt",
            1,
        )
        for n in range(300)
    ]
    cited = map_rows(mapping, SCHEMAS["people"], rows, base_iri=BASE)
    shared = [c for (s, p, o), c in cited.items() if o == ox.Literal("shared")]
    assert shared == [{(f"s{n}.txt", 1) for n in range(300)}]
    own = {s.value.rsplit("/", 1)[1]: c for (s, p, o), c in cited.items() if p.value.endswith("x#name")}
    assert len(own) == 300 and all(c == {(f"s{key[1:]}.txt", 1)} for key, c in own.items())


def test_a_source_cell_may_name_two_publishers_and_an_empty_kind_reads_as_actual():
    """sources.csv publisher_id holds one or two ids (001 names Liberation Daily and Shangguan News); an
    observation whose kind cell is empty (tables from before kinds) is an actual figure."""
    schema = SCHEMAS["sources"]
    mapping = load_mapping(ROOT / "mappings" / "sources.rq", schema, base_iri=BASE)
    rows = [
        Row(
            "sources",
            n,
            {
                "id": ox.Literal(f"00{n}_0123456789abcdef.txt"),
                "kind": ox.Literal("article"),
                "publisher_id": ox.Literal(ids),
            },
            f"00{n}_0123456789abcdef.txt",
            None,
        )
        for n, ids in ((2, "org/a org/b"), (3, "org/c"))
    ]
    publisher = "http://purl.org/dc/terms/publisher"
    found = {
        (str(s).rsplit("/", 1)[1], str(o)[len(BASE + "id/") :])
        for s, p, o in run_mapping(mapping, schema, rows, base_iri=BASE)
        if str(p) == publisher
    }
    assert found == {
        ("002_0123456789abcdef", "org/a"),
        ("002_0123456789abcdef", "org/b"),
        ("003_0123456789abcdef", "org/c"),
    }
    schema = SCHEMAS["observations"]
    mapping = load_mapping(ROOT / "mappings" / "observations.rq", schema, base_iri=BASE)
    cells = {
        "id": ox.Literal("obs/o"),
        "subject": ox.Literal("region/r"),
        "indicator": ox.Literal("indicator/i"),
        "value": ox.Literal("5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
        "unit": ox.Literal("count"),
        "source": ox.Literal("s.txt"),
    }
    kinds = {
        str(o)
        for s, p, o in run_mapping(mapping, schema, [Row("observations", 2, cells, "s.txt", 1)], base_iri=BASE)
        if str(p).endswith("#observationKind")
    }
    assert kinds == {"actual"}
