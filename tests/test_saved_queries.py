"""Every saved query, run with its defaults and with another parameter value, against answers worked out
from the articles; parameters are bound as RDF terms and injection attempts go nowhere."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import ROOT

from kg.serving.saved_queries import (
    QueryParameterError,
    load_queries,  # noqa: E402
)

ID = "https://w3id.org/yrd-kg/id/"
QUERIES = load_queries(ROOT / "queries")


def run(store, query_id: str, **params) -> list[dict[str, str]]:
    query = QUERIES[query_id]
    body = store.execute(query.text, result_format="json", bindings=query.bindings(params)).body
    return [{k: v["value"] for k, v in row.items()} for row in json.loads(body)["results"]["bindings"]]


def short(rows, key) -> set[str]:
    return {row[key].removeprefix(ID) for row in rows if key in row}


EXPECTED = {
    # query: [(parameters, check)] - the first with the defaults, the second with another value
    "agreements_of_region": [
        (
            {},
            lambda r: (
                short(r, "agreement")
                == {
                    "agreement/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract",
                    "agreement/nantong-shanghai-sci-tech-innovation-strategic-cooperation-agreements",
                }
            ),
        ),
        (
            {"region": ID + "region/wuxi"},
            lambda r: (
                {(x["agreement"].removeprefix(ID), x.get("signed")) for x in r}
                == {("agreement/jiangyin-jingjiang-industrial-park-construction-and-development-agreement", "--09-12")}
            ),
        ),
    ],
    "agreements_signed": [
        ({}, lambda r: len(short(r, "agreement")) == 3),
        (
            {"since": "2010-01-01"},
            lambda r: (
                short(r, "agreement")
                == {
                    "agreement/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract"
                }
            ),
        ),
    ],
    "changed_since": [
        (
            {},
            lambda r: (
                "event/chongqi-bridge-4th-main-tower-crossbeam-concrete-pour" in short(r, "thing")
                and "infra/sutong-bridge" not in short(r, "thing")
                and min(x["earliest"] for x in r) >= "2024-05-01"
            ),
        ),
        # 000 p24: the 2029 GDP figure is a target, which has not happened
        (
            {"since": "2025-01-01"},
            lambda r: (
                "plan/15th-five-year-plan" in short(r, "thing")
                and "event/7th-china-international-import-expo" not in short(r, "thing")
                and not {"obs/nantong-gdp-target-2029-cny", "obs/nantong-gdp-target-2029-usd"} & short(r, "thing")
            ),
        ),
    ],
    "cooperation_between": [
        # 003 p4: the pilot zone the two cities are to create is no jointly built park yet
        (
            {},
            lambda r: (
                {x["kind"] for x in r} == {"agreement", "cooperation", "jointly built park", "park to be built jointly"}
                and {
                    (x["thing"].removeprefix(ID), x.get("status")) for x in r if x["kind"] == "park to be built jointly"
                }
                == {("park/jiangsu-integrated-development-pilot-zone", "proposed")}
            ),
        ),
        (
            {"first": ID + "region/nantong", "second": ID + "region/shanghai"},
            lambda r: (
                "agreement/nantong-shanghai-sci-tech-innovation-strategic-cooperation-agreements" in short(r, "thing")
                and "park/yangtze-river-estuary-industrial-innovation-collaborative-zone" in short(r, "thing")
            ),
        ),
    ],
    "cooperation_models": [
        (
            {},
            lambda r: (
                len(short(r, "model")) == 5
                and "region/nantong" in short(r, "adopter")
                and {x["stage"] for x in r if x.get("adopter", "").endswith("collaborative-zone")} == {"planned"}
            ),
        ),
        (
            {"adopter": ID + "region/lianyungang"},
            lambda r: short(r, "model") == {"model/regional-complementarity-and-north-south-linkage"},
        ),
    ],
    "cross_river_links": [
        (
            {},
            lambda r: (
                {"infra/sutong-bridge", "infra/chongqi-highway-railway-yangtze-river-bridge"} <= short(r, "link")
                and len(short(r, "link")) == 6
            ),
        ),
        (
            {"place": ID + "region/qidong"},
            lambda r: (
                short(r, "link")
                == {
                    "infra/chongqi-highway-railway-yangtze-river-bridge",
                    "infra/nantong-cross-river-channel-from-qidong",
                }
            ),
        ),
    ],
    "entity_facts": [
        ({}, lambda r: {(x["property"].rsplit("#", 1)[-1], x["value"]) for x in r} >= {("established", "2003")}),
        (
            {"entity": ID + "infra/sutong-bridge"},
            lambda r: ("opened", "2008-06-30") in {(x["property"].rsplit("#", 1)[-1], x["value"]) for x in r},
        ),
    ],
    "events_between": [
        ({}, lambda r: len(r) == 4),
        (
            {"from": "2019-01-01", "to": "2019-12-31"},
            lambda r: short(r, "event") == {"event/2019-yangtze-river-delta-regional-leaders-symposium"},
        ),
    ],
    "indicator_values": [
        (
            {},
            lambda r: (
                sorted(Decimal(x["value"]) for x in r) == [700000000, 700000000, 800000000]
                and {x["kind"] for x in r} == {"planned"}
            ),
        ),
        # achieved figures first: the 2029 target comes after every actual GDP figure
        (
            {"indicator": ID + "indicator/gdp"},
            lambda r: (
                (ID + "park/jiangyin-jingjiang-industrial-park", Decimal("11735000000"))
                in {(x["subject"], Decimal(x["value"])) for x in r}
                and [x["kind"] for x in r] == sorted((x["kind"] for x in r), key=lambda k: k != "actual")
            ),
        ),
    ],
    "industry_tree": [
        ({}, lambda r: len(short(r, "industry")) == 24),
        (
            {"root": ID + "industry/manufacturing"},
            lambda r: (
                short(r, "industry")
                == {
                    "industry/shipbuilding",
                    "industry/high-end-textiles",
                    "industry/high-precision-steel-structures",
                    "industry/intelligent-manufacturing-of-traditional-chinese-medicine",
                    "industry/high-precision-manufacturing",
                    "industry/shipbuilding-and-marine-engineering",
                }
            ),
        ),
    ],
    "organisations_in_region": [
        ({}, lambda r: "org/lianyungang-municipal-development-and-reform-commission" in short(r, "organisation")),
        (
            {"region": ID + "region/nantong"},
            lambda r: (
                {
                    "org/nantong-municipal-party-committee",
                    "org/first-branch-center-of-the-yangtze-river-delta-national-science-and-technology-innovation-center",
                }
                <= short(r, "organisation")
            ),
        ),
    ],
    "parks_in_province": [
        (
            {},
            lambda r: (
                {"park/jiangyin-jingjiang-industrial-park", "park/shanghai-shibei-high-tech-city"} <= short(r, "park")
                and len(short(r, "park")) == 5
            ),
        ),
        (
            {"province": ID + "region/shanghai"},
            lambda r: short(r, "park") == {"park/yangtze-river-estuary-industrial-innovation-collaborative-zone"},
        ),
    ],
    "parks_with_builders": [
        (
            {},
            lambda r: (
                {x["builder"].removeprefix(ID) for x in r if x["park"].endswith("shanghai-shibei-high-tech-city")}
                == {"region/jingan", "region/nantong", "region/chongchuan"}
                and {x.get("status") for x in r if x["park"].endswith("pilot-zone")} == {"proposed"}
            ),
        ),
        (
            {"park": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: short(r, "builder") == {"region/wuxi", "region/taizhou-jiangsu"},
        ),
    ],
    "posts_of_person": [
        (
            {},
            lambda r: (
                ("Secretary", ID + "org/kunshan-municipal-party-committee", "2020")
                in {(x["role"], x.get("where"), x.get("on")) for x in r}
            ),
        ),
        (
            {"person": ID + "person/du-xiaogang"},
            lambda r: {(x["role"], x["where_label"]) for x in r} == {("Secretary", "Wuxi Municipal Party Committee")},
        ),
    ],
    "projects_with_investment": [
        ({}, lambda r: len(r) == 3 and {x["kind"] for x in r} == {"planned"}),
        ({"minimum": "750000000"}, lambda r: short(r, "project") == {"project/junhe-i-valley-project"}),
    ],
    "region_hierarchy": [
        ({}, lambda r: short(r, "ancestor") == {"region/suzhou-jiangsu", "region/jiangsu"}),
        (
            {"region": ID + "region/huangyan"},
            lambda r: short(r, "ancestor") == {"region/taizhou-zhejiang", "region/zhejiang"},
        ),
    ],
    "region_industries": [
        ({}, lambda r: len(short(r, "industry")) == 6 and {x["role"].rsplit("#", 1)[-1] for x in r} == {"keyIndustry"}),
        (
            {"subject": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: short(r, "industry") == {"industry/shipbuilding", "industry/high-precision-steel-structures"},
        ),
    ],
    "region_statistics": [
        (
            {},
            lambda r: (
                ("Cargo throughput", Decimal("259000000"), Decimal("8.13"))
                in {(x["indicator_label"], Decimal(x["value"]), Decimal(x.get("change_rate", "0"))) for x in r}
            ),
        ),
        (
            {"subject": ID + "park/shanghai-shibei-high-tech-city"},
            lambda r: (
                ("Companies", Decimal(300), "nearly")
                in {(x["indicator_label"], Decimal(x["value"]), x.get("qualifier")) for x in r}
                and {x["kind"] for x in r} == {"actual"}
            ),
        ),
    ],
    "search_by_name": [
        (
            {},
            lambda r: (
                {"region/taizhou-jiangsu", "region/taizhou-zhejiang"} <= short(r, "entity")
                and {"Taizhou (Jiangsu)", "Taizhou (Zhejiang)"} <= {x["label"] for x in r}
            ),
        ),
        ({"name": "susu"}, lambda r: short(r, "entity") == {"park/suzhou-suqian-industrial-park"}),
    ],
    "sources": [
        (
            {},
            lambda r: (
                len(r) == 10 and {"000_e6f6fc23eec8e3c6.txt", "004_772401527dc400ad.txt"} <= {x.get("file") for x in r}
            ),
        ),
        (
            {"year": "2024"},
            lambda r: {x["file"] for x in r} == {"000_e6f6fc23eec8e3c6.txt", "001_f5096a39126c624c.txt"},
        ),
    ],
    "subregions": [
        (
            {},
            lambda r: (
                short(r, "part")
                == {
                    "region/qidong",
                    "region/rugao",
                    "region/haimen",
                    "region/tongzhou-nantong",
                    "region/chongchuan",
                    "region/tangjiazha",
                }
            ),
        ),
        (
            {"region": ID + "region/kunshan"},
            lambda r: short(r, "part") == {"region/jinxi", "region/dianshan-lake", "region/zhouzhuang"},
        ),
    ],
    "titles_of": [
        ({}, lambda r: "title/nantong-charming-china-candidate-city" in short(r, "title")),
        (
            {"holder": ID + "park/jiangyin-jingjiang-industrial-park"},
            lambda r: (
                short(r, "title")
                == {"title/jiangyin-jingjiang-industrial-park-first-cross-river-cross-administrative-park"}
            ),
        ),
    ],
    "which_source_states": [
        (
            {},
            lambda r: (
                {(x["file"], x["paragraph"]) for x in r if x["predicate"].endswith("#established")}
                == {("003_300582be3568e295.txt", "3")}
            ),
        ),
        (
            {"entity": ID + "infra/sutong-bridge"},
            lambda r: (
                {(x["file"], x["paragraph"]) for x in r if x["predicate"].endswith("#opened")}
                == {("001_f5096a39126c624c.txt", "10")}
            ),
        ),
    ],
}


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
