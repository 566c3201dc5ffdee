"""Every saved query, run with its defaults and with another parameter value, against answers worked out
from the articles; parameters are bound as RDF terms and injection attempts go nowhere."""

from __future__ import annotations

import json

import pytest
from helpers import EXPECTED, QUERIES
from rdflib import XSD, Literal

from kg.errors import QuerySyntaxError
from kg.serving.saved_queries import QueryParameterError, load_query


def run(store, query_id: str, **params) -> list[dict[str, str]]:
    query = QUERIES[query_id]
    body = store.execute(query.text, result_format="json", bindings=query.bindings(params)).body
    return [{k: v["value"] for k, v in row.items()} for row in json.loads(body)["results"]["bindings"]]


def test_there_are_at_least_twenty_saved_queries_and_each_has_expectations():
    assert len(QUERIES) >= 20
    assert set(EXPECTED) == set(QUERIES)


@pytest.mark.parametrize(
    "query_id, case",
    [(q, n) for q in sorted(EXPECTED) for n in range(2)],
    ids=[f"{q}-{'defaults' if n == 0 else 'other'}" for q in sorted(EXPECTED) for n in range(2)],
)
def test_saved_query_answers(store, query_id, case):
    params, check = EXPECTED[query_id][case]
    rows = run(store, query_id, **params)
    assert rows and check(rows), rows


def test_every_parameter_is_exercised_with_another_value():
    for query_id, query in QUERIES.items():
        other = EXPECTED[query_id][1][0]
        assert other, f"{query_id}: the second case must set a parameter"
        assert set(other) <= {p.name for p in query.parameters}, query_id


def test_injection_through_a_parameter_is_refused_or_harmless(store):
    with pytest.raises(QueryParameterError, match="absolute IRI"):
        QUERIES["region_hierarchy"].bindings({"region": "https://x.org/a> } ?s ?p ?o . { <https://x.org/b"})
    with pytest.raises(QueryParameterError, match="xsd:date"):
        QUERIES["changed_since"].bindings({"since": '2024-01-01"^^xsd:date) || true || ("'})
    # a string parameter is a literal: quotes and braces are characters, not syntax
    assert run(store, "search_by_name", name='Taizhou")) } UNION { ?entity ?p ?matched . FILTER(("') == []


@pytest.mark.parametrize(
    "values, message",
    [
        ({"bogus": "1"}, "no parameter 'bogus'"),
        ({"region": ""}, "needs parameter 'region'"),
        ({"region": "nantong"}, "absolute IRI"),
    ],
)
def test_bad_parameters_name_the_problem(values, message):
    with pytest.raises(QueryParameterError, match=message):
        QUERIES["subregions"].bindings(values)


def _parameters(tmp_path, where: str):
    path = tmp_path / "q.rq"
    path.write_text(f"SELECT * WHERE {{ {where} }}\n")
    return {p.variable: p for p in load_query(path).parameters}


def test_parameter_names_are_read_as_grlc_reads_them(tmp_path):
    found = _parameters(
        tmp_path,
        "?s ?_a_iri ?_b_xsd_date . ?s ?__c_number ?_d_literal . ?s ?_e_integer ?_f_zh . ?s ?_g ?__h_date",
    )
    assert {v: (p.name, p.kind, p.required) for v, p in found.items()} == {
        "_a_iri": ("a", "iri", True),
        "_b_xsd_date": ("b", "date", True),
        "__c_number": ("c", "number", False),
        "_d_literal": ("d", "string", True),
        "_e_integer": ("e", "integer", True),
        "_f_zh": ("f", "zh", True),
        "_g": ("g", "string", True),
        "__h_date": ("h", "date", False),  # kg's earlier spelling, still an xsd:date
    }


@pytest.mark.parametrize(
    "variable, message",
    [
        ("_a_iri_en", "more than one type"),
        ("_a_rdf_langString", "kg binds the datatypes"),
        ("_a_xsd_duration", "kg binds the datatypes"),
        ("_a_english", "neither a language tag nor a type"),
        ("_a_b_c_d_e", "not a parameter name"),
    ],
)
def test_parameter_names_kg_cannot_bind_are_refused_when_the_query_loads(tmp_path, variable, message):
    with pytest.raises(QuerySyntaxError, match=message):
        _parameters(tmp_path, f"?s ?p ?{variable}")


@pytest.mark.parametrize(
    "raw, datatype",
    [
        ("42", "integer"),
        ("-7", "integer"),
        ("2.5", "decimal"),
        (".5", "decimal"),
        ("1e9", "double"),
        ("1.5E-3", "double"),
    ],
)
def test_a_number_parameter_is_bound_as_sparql_would_read_it(tmp_path, raw, datatype):
    term = _parameters(tmp_path, "?s ?p ?_n_number")["_n_number"].bind(raw)
    assert term == Literal(raw, datatype=XSD[datatype])


@pytest.mark.parametrize("raw", ["5.", "1e", "12 ", "0x10", "NaN", "1,000"])
def test_a_number_parameter_refuses_what_is_not_a_sparql_number(tmp_path, raw):
    with pytest.raises(QueryParameterError, match="a number"):
        _parameters(tmp_path, "?s ?p ?_n_number")["_n_number"].bind(raw)
