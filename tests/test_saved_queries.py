"""Every saved query, run with its defaults and with another parameter value, against answers worked out
from the articles; parameters are bound as RDF terms and injection attempts go nowhere."""

from __future__ import annotations

import json

import pytest
from helpers import EXPECTED, QUERIES

from kg.serving.saved_queries import QueryParameterError


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
