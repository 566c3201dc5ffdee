"""Competency questions an analyst asks, answered by SPARQL over the built store.

Each expected answer was worked out by hand from the articles (the citation is in the comment); the
queries run against the union of the named graphs, so inferred facts (the transitive part-of hierarchy,
locations through it) count.
"""

from __future__ import annotations

from decimal import Decimal

from rdflib import Literal, URIRef

PREFIXES = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX yrd: <https://w3id.org/yrd-kg/ontology#>
PREFIX id: <https://w3id.org/yrd-kg/id/>
"""
ID = "https://w3id.org/yrd-kg/id/"


def select(store, query, **bindings):
    return store.select(PREFIXES + query, bindings={k: URIRef(ID + v) for k, v in bindings.items()} or None)


def ids(rows, variable):
    return {str(row[variable])[len(ID) :] for row in rows if variable in row}


def one(rows, variable):
    values = {row[variable] for row in rows}
    assert len(values) == 1, values
    return values.pop()


def test_q01_who_co_built_shibei_high_tech_city(store):
    # 000 p17: the governments of Jing'an District and Nantong; 001 p17: Jing'an and Chongchuan districts.
    rows = select(store, "SELECT ?who WHERE { id:park\\/shanghai-shibei-high-tech-city yrd:coBuiltBy ?who }")
    assert ids(rows, "who") == {"region/jingan", "region/nantong", "region/chongchuan"}


def test_q02_when_was_the_shibei_contract_signed_and_at_what_precision(store):
    # 000 p17: August 2010, month precision.
    rows = select(
        store,
        """SELECT ?date WHERE { ?a a yrd:ConstructionAgreement ; yrd:concerns ?park ; yrd:signedOn ?date .
                             ?park yrd:coBuiltBy ?x . ?x rdfs:label "Jing'an"@en }""",
    )
    date = one(rows, "date")
    assert str(date) == "2010-08" and str(date.datatype).endswith("#gYearMonth")


def test_q03_jiangyin_jingjiang_park_established_where_and_in_which_provinces(store):
    # 003 p3: established 2003, located in Jingjiang; Jingjiang is in Taizhou (Jiangsu) -> multi-hop.
    rows = select(
        store,
        "SELECT ?year ?place WHERE { ?p yrd:established ?year ; yrd:locatedIn ?place }",
        p="park/jiangyin-jingjiang-industrial-park",
    )
    assert {str(r["year"]) for r in rows} == {"2003"}
    assert {"region/jingjiang", "region/taizhou-jiangsu", "region/jiangsu"} <= ids(rows, "place")
    assert "region/taizhou-zhejiang" not in ids(rows, "place")


def test_q04_who_operates_and_who_manages_the_jiangyin_jingjiang_park(store):
    # 003 p3: Jingjiang handles social management, Jiangyin handles operations.
    rows = select(
        store,
        "SELECT ?op ?mgr WHERE { ?p yrd:operatedBy ?op ; yrd:managedBy ?mgr }",
        p="park/jiangyin-jingjiang-industrial-park",
    )
    assert ids(rows, "op") == {"region/jiangyin"} and ids(rows, "mgr") == {"region/jingjiang"}


def test_q05_parties_and_date_of_the_wuxi_taizhou_agreement(store):
    # 003 p2: signed on September 12 (year not stated) by Wuxi and Taizhou.
    rows = select(
        store,
        """SELECT ?party ?date WHERE { ?a yrd:concerns id:park\\/jiangyin-jingjiang-industrial-park ;
                             yrd:party ?party ; yrd:signedOn ?date }""",
    )
    assert ids(rows, "party") == {"region/wuxi", "region/taizhou-jiangsu"}
    date = one(rows, "date")
    assert str(date) == "--09-12" and str(date.datatype).endswith("#gMonthDay")


def test_q06_parks_in_jiangsu_through_the_region_hierarchy(store):
    rows = select(store, "SELECT DISTINCT ?park WHERE { ?park a yrd:Zone ; yrd:locatedIn id:region\\/jiangsu }")
    found = ids(rows, "park")
    assert {
        "park/jiangyin-jingjiang-industrial-park",
        "park/shanghai-shibei-high-tech-city",
        "park/fenhu-high-tech-industrial-development-zone",
        "park/lianyungang-municipal-development-zone",
    } <= found
    assert "park/yangtze-river-delta-ecological-green-integrated-development-demonstration-zone" not in found


def test_q07_when_did_the_sutong_bridge_open(store):
    # 001 p10: opened to traffic on June 30, 2008; Nantong's first cross-river bridge.
    rows = select(store, "SELECT ?d ?x WHERE { id:infra\\/sutong-bridge yrd:opened ?d ; yrd:crossesYangtze ?x }")
    assert {(str(r["d"]), str(r["x"])) for r in rows} == {("2008-06-30", "true")}


def test_q08_infrastructure_crossing_the_yangtze(store):
    rows = select(store, "SELECT ?i WHERE { ?i a yrd:Infrastructure ; yrd:crossesYangtze true }")
    assert {"infra/sutong-bridge", "infra/chongqi-highway-railway-yangtze-river-bridge"} <= ids(rows, "i")


def test_q09_lianyungang_port_cargo_throughput_first_ten_months_of_2023(store):
    # 004 p5: 259 million tons, +8.13 % year on year, January to October 2023 (year from the article date).
    rows = select(
        store,
        """SELECT ?v ?rate ?start ?end WHERE { ?o yrd:refArea id:infra\\/lianyungang-port ;
        yrd:indicator id:indicator\\/cargo-throughput ; yrd:value ?v ; yrd:changeRate ?rate ;
        yrd:refPeriod ?start ; yrd:refPeriodEnd ?end }""",
    )
    (row,) = rows
    assert Decimal(str(row["v"])) == Decimal("259000000") and Decimal(str(row["rate"])) == Decimal("8.13")
    assert (str(row["start"]), str(row["end"])) == ("2023-01", "2023-10")


def test_q10_nantong_rd_share_of_gdp_in_2024(store):
    # 002 p7: 2.96 percent.
    rows = select(
        store,
        """SELECT ?v WHERE { ?o yrd:refArea id:region\\/nantong ; yrd:value ?v ; yrd:unit "percent" ;
        yrd:indicator/rdfs:label ?l ; yrd:refPeriod "2024"^^xsd:gYear FILTER(CONTAINS(LCASE(?l), "r&d")) }""",
    )
    assert Decimal(str(one(rows, "v"))) == Decimal("2.96")


def test_q11_high_tech_enterprises_in_nantong(store):
    # 002 p7: total 4,324 after a net increase of 2,146 from 2021 to 2025.
    rows = select(
        store,
        """SELECT ?v WHERE { ?o yrd:refArea id:region\\/nantong ;
        yrd:indicator id:indicator\\/high-tech-enterprise-count ; yrd:value ?v }""",
    )
    assert Decimal(str(one(rows, "v"))) == 4324


def test_q12_which_source_states_the_sutong_bridge_opening(store):
    rows = select(
        store,
        """SELECT ?file ?paragraph WHERE {
        ?st rdf:subject id:infra\\/sutong-bridge ; rdf:predicate yrd:opened ; prov:wasDerivedFrom ?c .
        ?c yrd:citedSource/dcterms:identifier ?file ; yrd:paragraph ?paragraph }""",
    )
    assert {(str(r["file"]), int(r["paragraph"])) for r in rows} == {("001_f5096a39126c624c.txt", 10)}


def test_q13_saved_query_which_source_states_a_fact(store, settings):
    text = (settings.path("queries_dir") / "which_source_states.rq").read_text(encoding="utf-8")
    rows = store.select(text, bindings={"_entity_iri": URIRef(ID + "park/jiangyin-jingjiang-industrial-park")})
    established = {(str(r["file"]), int(r["paragraph"])) for r in rows if str(r["predicate"]).endswith("#established")}
    assert established == {("003_300582be3568e295.txt", 3)}


def test_q14_posts_held_by_wu_xinming(store):
    # 001 p1/p5: Secretary of the Nantong Municipal Party Committee; p11: Kunshan secretary in 2020.
    rows = select(
        store,
        """SELECT ?org ?role WHERE { ?m org:member id:person\\/wu-xinming ; org:organization ?org ;
        org:role/rdfs:label ?role }""",
    )
    assert {
        ("org/nantong-municipal-party-committee", "Secretary"),
        ("org/kunshan-municipal-party-committee", "Secretary"),
    } <= {(str(r["org"])[len(ID) :], str(r["role"])) for r in rows}


def test_q15_number_of_parks_nantong_built_jointly(store):
    # 001 p17: 19 cooperation parks with Shanghai and southern Jiangsu.
    rows = select(
        store,
        """SELECT ?v WHERE { ?o yrd:refArea id:region\\/nantong ;
        yrd:indicator id:indicator\\/jointly-built-park-count ; yrd:value ?v }""",
    )
    assert Decimal(str(one(rows, "v"))) == 19


def test_q16_shibei_companies_keep_their_uncertainty(store):
    # 001 p17: nearly 300 companies, a quarter high-tech, 5.2 square kilometres.
    rows = select(
        store,
        """SELECT ?v ?q WHERE { ?o yrd:refArea id:park\\/shanghai-shibei-high-tech-city ;
        yrd:indicator id:indicator\\/company-count ; yrd:value ?v ; yrd:qualifier ?q }""",
    )
    assert {(Decimal(str(r["v"])), str(r["q"])) for r in rows} == {(Decimal(300), "nearly")}
    area = select(store, "SELECT ?a WHERE { id:park\\/shanghai-shibei-high-tech-city yrd:areaKm2 ?a }")
    assert Decimal(str(one(area, "a"))) == Decimal("5.2")


def test_q17_places_that_share_an_english_name_are_distinct(store):
    rows = select(
        store,
        """SELECT ?r ?code ?province WHERE { ?r rdfs:label "Taizhou"@en ; skos:notation ?code ;
        yrd:partOf ?province . ?province yrd:adminLevel "province" }""",
    )
    assert {(str(r["r"])[len(ID) :], str(r["code"]), str(r["province"])[len(ID) :]) for r in rows} == {
        ("region/taizhou-jiangsu", "321200", "region/jiangsu"),
        ("region/taizhou-zhejiang", "331000", "region/zhejiang"),
    }


def test_q18_huangyan_lies_in_taizhou_zhejiang(store):
    # 001 p23: Huangyan is one of the main urban areas of Taizhou (Zhejiang).
    rows = select(store, "SELECT ?up WHERE { id:region\\/huangyan yrd:partOf ?up }")
    assert {"region/taizhou-zhejiang", "region/zhejiang"} <= ids(rows, "up")
    assert "region/taizhou-jiangsu" not in ids(rows, "up")


def test_q19_agreements_signed_since_2010_by_date_bounds(store):
    # Only agreements whose year is known can be placed; the --09-12 one has no bounds.
    rows = select(
        store,
        """SELECT ?a WHERE { ?a a yrd:Agreement ; yrd:signedOnEarliest ?d
        FILTER(?d >= "2010-01-01"^^xsd:date) }""",
    )
    assert ids(rows, "a") == {
        "agreement/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract"
    }


def test_q20_events_in_november_2024(store):
    # 000 p4, p7, p8: the 7th CIIE (early November), matchmaking on the 6th, negotiation on the 7th, concrete
    # pour on the 8th.
    rows = select(
        store,
        """SELECT ?e WHERE { ?e a yrd:Event ; yrd:startDateEarliest ?from ; yrd:startDateLatest ?to
        FILTER(?from >= "2024-11-01"^^xsd:date && ?to <= "2024-11-30"^^xsd:date) }""",
    )
    assert ids(rows, "e") == {
        "event/7th-china-international-import-expo",
        "event/nantong-multinational-conglomerate-headquarters-matchmaking",
        "event/tongzhou-district-investment-cooperation-shanghai-negotiation",
        "event/chongqi-bridge-4th-main-tower-crossbeam-concrete-pour",
    }


def test_q21_nantong_has_six_key_industries(store):
    # 000 p13.
    rows = select(store, "SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE { id:region\\/nantong yrd:keyIndustry ?i }")
    assert int(one(rows, "n")) == 6
    labels = select(store, "SELECT ?l WHERE { id:region\\/nantong yrd:keyIndustry/rdfs:label ?l }")
    assert "Shipbuilding and marine engineering" in {str(r["l"]) for r in labels}


def test_q22_jiangyin_jingjiang_park_gdp_2022(store):
    # 003 p3: 11.735 billion yuan, +5.6 %.
    rows = select(
        store,
        """SELECT ?v ?rate WHERE { ?o yrd:refArea id:park\\/jiangyin-jingjiang-industrial-park ;
        yrd:indicator id:indicator\\/gdp ; yrd:refPeriod "2022"^^xsd:gYear ; yrd:value ?v ; yrd:changeRate ?rate }""",
    )
    (row,) = rows
    assert Decimal(str(row["v"])) == Decimal("11735000000") and Decimal(str(row["rate"])) == Decimal("5.6")


def test_q23_which_province_is_kunshan_in(store):
    rows = select(store, """SELECT ?p WHERE { id:region\\/kunshan yrd:partOf ?p . ?p yrd:adminLevel "province" }""")
    assert ids(rows, "p") == {"region/jiangsu"}


def test_q24_sources_published_in_2024(store):
    rows = select(
        store,
        """SELECT ?file WHERE { ?s a yrd:Article ; dcterms:identifier ?file ;
        yrd:publishedOnEarliest ?d FILTER(YEAR(?d) = 2024) }""",
    )
    assert {str(r["file"]) for r in rows} == {"000_e6f6fc23eec8e3c6.txt", "001_f5096a39126c624c.txt"}


def test_q25_lianyungang_container_throughput(store):
    # 004 p5: 4.9549 million TEU, +11.51 %.
    rows = select(
        store,
        """SELECT ?v ?rate WHERE { ?o yrd:refArea id:infra\\/lianyungang-port ;
        yrd:indicator id:indicator\\/container-throughput ; yrd:value ?v ; yrd:changeRate ?rate }""",
    )
    (row,) = rows
    assert Decimal(str(row["v"])) == Decimal("4954900") and Decimal(str(row["rate"])) == Decimal("11.51")


def test_q26_jiangyin_jingjiang_leading_industries(store):
    # 003 p3: "5+1" leading industries such as shipbuilding and high-precision steel structures.
    rows = select(store, "SELECT ?i WHERE { id:park\\/jiangyin-jingjiang-industrial-park yrd:leadingIndustry ?i }")
    assert ids(rows, "i") == {"industry/shipbuilding", "industry/high-precision-steel-structures"}


def test_q27_cities_nantong_cooperates_with(store):
    rows = select(store, "SELECT DISTINCT ?partner WHERE { id:region\\/nantong yrd:cooperatesWith ?partner }")
    assert {"region/shanghai", "region/southern-jiangsu", "region/suzhou-jiangsu"} <= ids(rows, "partner")
    # symmetric: Shanghai cooperates with Nantong too (inferred where only one direction was stated)
    assert store.ask(PREFIXES + "ASK { id:region\\/suzhou-jiangsu yrd:cooperatesWith id:region\\/nantong }")


def test_q28_a_fact_stated_by_two_articles_is_stored_once_with_two_citations(store):
    # Shibei's co-builder Jing'an: 000 p17 and 001 p17.
    rows = select(
        store,
        """SELECT ?file WHERE { ?st rdf:subject id:park\\/shanghai-shibei-high-tech-city ;
        rdf:predicate yrd:coBuiltBy ; rdf:object id:region\\/jingan ;
        prov:wasDerivedFrom/yrd:citedSource/dcterms:identifier ?file }""",
    )
    assert {str(r["file"]) for r in rows} == {"000_e6f6fc23eec8e3c6.txt", "001_f5096a39126c624c.txt"}
    count = select(
        store,
        """SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g {
        id:park\\/shanghai-shibei-high-tech-city yrd:coBuiltBy id:region\\/jingan } }""",
    )
    assert int(one(count, "n")) == 1


def test_q29_industry_hierarchy_broader_and_narrower(store):
    # Nantong's key industries (000 p13) placed in the 2010 list of strategic emerging industries.
    rows = select(store, "SELECT ?n WHERE { id:industry\\/strategic-emerging-industries skos:narrower ?n }")
    assert {
        "industry/new-energy",
        "industry/new-materials",
        "industry/new-generation-information-technology",
        "industry/high-end-equipment",
        "industry/new-energy-vehicles",
    } == ids(rows, "n")
    rows = select(
        store,
        """SELECT DISTINCT ?region WHERE { ?region yrd:hasIndustry ?i .
        ?i skos:broaderTransitive id:industry\\/manufacturing }""",
    )
    assert {"region/nantong", "park/jiangyin-jingjiang-industrial-park"} <= ids(rows, "region")


def test_q30_members_of_the_yangtze_river_delta(store):
    rows = select(store, "SELECT ?m WHERE { id:region\\/yangtze-river-delta yrd:hasMemberRegion ?m }")
    assert {"region/shanghai", "region/jiangsu", "region/zhejiang", "region/anhui"} <= ids(rows, "m")


def test_q31_the_nearly_40_percent_share_belongs_to_the_three_cities_not_to_all_of_southern_jiangsu(store):
    # 001 p9: the combined output of Suzhou, Wuxi and Changzhou is nearly 40% of Jiangsu's.
    rows = select(
        store,
        """SELECT ?area ?v ?q WHERE { ?o yrd:indicator id:indicator\\/share-of-provincial-economic-output ;
        yrd:refArea ?area ; yrd:value ?v ; yrd:qualifier ?q }""",
    )
    (row,) = rows
    assert ids(rows, "area") == {"region/suzhou-wuxi-changzhou"}
    assert Decimal(str(row["v"])) == Decimal("40") and str(row["q"]) == "nearly"
    members = select(store, "SELECT ?m WHERE { id:region\\/suzhou-wuxi-changzhou yrd:hasMemberRegion ?m }")
    assert ids(members, "m") == {"region/suzhou-jiangsu", "region/wuxi", "region/changzhou"}


def test_q32_the_demonstration_zone_plan_takes_in_three_kunshan_towns(store):
    # 001 p11: the State Council's plan of February 2023 includes Jinxi, Dianshan Lake and Zhouzhuang.
    rows = select(
        store,
        """SELECT ?place WHERE { id:plan\\/overall-land-and-space-plan-of-the-demonstration-zone
        yrd:covers ?place ; yrd:issuedBy id:org\\/state-council }""",
    )
    assert {"region/jinxi", "region/dianshan-lake", "region/zhouzhuang"} <= ids(rows, "place")


def test_q33_the_shibei_contract_was_signed_by_the_two_governments(store):
    # 000 p17: the governments of Jing'an District and Nantong signed it.
    rows = select(
        store,
        """SELECT ?party WHERE {
        id:agreement\\/shanghai-shibei-high-tech-nantong-science-and-technology-city-joint-construction-contract
        yrd:party ?party }""",
    )
    assert {"org/jingan-district-government", "org/nantong-government"} <= ids(rows, "party")


def test_q34_one_cooperation_stated_by_two_articles_has_one_identity(store):
    # Nantong manufacturers with Shanghai universities and institutes: 001 p16 and 002 p9, one entity.
    rows = select(
        store,
        """SELECT DISTINCT ?coop WHERE { ?coop a yrd:Cooperation ; rdfs:label ?l
        FILTER(CONTAINS(STR(?coop), "universit")) }""",
    )
    assert ids(rows, "coop") >= {"coop/nantong-manufacturers-shanghai-universities-institutes"}
    assert "coop/nantong-shanghai-industry-university-research" not in ids(rows, "coop")


# --- What is aimed at is not what is (issue 24) ------------------------------------------------------------------


def test_q35_north_shanghai_is_an_aim_of_nantong_not_one_of_its_names(store, settings):
    # 001 p6: Wu Xinming reported that building "North Shanghai" and "New Southern Jiangsu" has promising prospects.
    names = select(
        store,
        """SELECT ?name WHERE { id:region\\/nantong rdfs:label|skos:altLabel ?name
        FILTER(CONTAINS(LCASE(STR(?name)), "north shanghai")
               || CONTAINS(LCASE(STR(?name)), "new southern jiangsu")) }""",
    )
    assert names == []
    goals = select(
        store,
        """SELECT ?goal ?name ?by WHERE { id:region\\/nantong yrd:hasGoal ?goal .
        ?goal a yrd:Aspiration ; rdfs:label ?name ; yrd:statedBy ?by }""",
    )
    named = {str(r["name"]) for r in goals}
    assert 'Become "North Shanghai"' in named and 'Become "New Southern Jiangsu"' in named
    assert "person/wu-xinming" in ids(goals, "by")
    # the saved search finds the goal, shown as Nantong's, and not Nantong itself
    text = (settings.path("queries_dir") / "search_by_name.rq").read_text(encoding="utf-8")
    found = store.select(text, bindings={"_name": Literal("North Shanghai")})
    assert {(str(r["entity"])[len(ID) :], str(r.get("goal_of"))) for r in found} == {
        ("goal/nantong-north-shanghai", "Nantong")
    }


def test_q36_the_2029_gdp_figure_is_a_target_kept_apart_from_achieved_figures(store):
    # 000 p24: Nantong proposes to double its output to about 2 trillion yuan within another five years (2029);
    # 001 p13: its economic volume has reached the trillion level.
    rows = select(
        store,
        """SELECT ?kind ?period ?v WHERE { ?o yrd:refArea id:region\\/nantong ; yrd:indicator id:indicator\\/gdp ;
        yrd:unit "CNY" ; yrd:value ?v ; yrd:observationKind ?kind OPTIONAL { ?o yrd:refPeriod ?period } }""",
    )
    by_kind = {(str(r["kind"]), str(r.get("period", "")), Decimal(str(r["v"]))) for r in rows}
    assert ("target", "2029", Decimal("2000000000000")) in by_kind
    assert {period for kind, period, _ in by_kind if kind == "actual"} == {""}  # no achieved figure for a future year
    # the goal the figure measures, held by Nantong
    assert store.ask(
        PREFIXES
        + """ASK { id:region\\/nantong yrd:hasGoal ?g . ?g a yrd:Target ;
        yrd:about id:obs\\/nantong-gdp-target-2029-cny }"""
    )


def test_q37_zones_to_be_created_are_told_from_parks_that_exist(store):
    # 003 p4: Du Xiaogang looks forward to both cities creating the Jiangsu Integrated Development Pilot Zone (an aim);
    # 001 p12, p14: the collaborative zone is advocated and being planned; 004 p6: the Xilian park's construction is
    # to be promoted; 001 p17: Shibei High-tech City is in operation.
    rows = select(
        store, "SELECT ?park ?status WHERE { ?park a yrd:Zone ; yrd:coBuiltBy ?builder ; yrd:status ?status }"
    )
    status = {(str(r["park"])[len(ID) :], str(r["status"])) for r in rows}
    assert {
        ("park/jiangsu-integrated-development-pilot-zone", "proposed"),
        ("park/yangtze-river-estuary-industrial-innovation-collaborative-zone", "planned"),
        ("park/xilian-north-and-south-joint-construction-park", "planned"),
        ("park/shanghai-shibei-high-tech-city", "in-operation"),
    } <= status
    # 001 p10: the North Yanjiang railway is not yet open, the Sutong Bridge is
    infra = select(store, "SELECT ?i ?status WHERE { ?i a yrd:Infrastructure ; yrd:status ?status }")
    assert {("infra/north-yanjiang-high-speed-railway", "planned"), ("infra/sutong-bridge", "in-operation")} <= {
        (str(r["i"])[len(ID) :], str(r["status"])) for r in infra
    }


# --- Relations that were notes (issue 24) ---------------------------------------------------------------------------


def test_q38_which_newspapers_reported_remarks_on_the_jiangyin_jingjiang_agreement(store):
    # 003 p4: according to the Wuxi Daily, Du Xiaogang spoke on the signing; 003 p5: according to the Taizhou Daily,
    # Zhu Lifan did.
    rows = select(
        store,
        """SELECT ?speaker ?paper WHERE { ?s a yrd:Statement ; yrd:speaker ?speaker ; yrd:reportedBy ?paper ;
        yrd:about id:agreement\\/jiangyin-jingjiang-industrial-park-construction-and-development-agreement }""",
    )
    assert {(str(r["speaker"])[len(ID) :], str(r["paper"])[len(ID) :]) for r in rows} == {
        ("person/du-xiaogang", "org/wuxi-daily"),
        ("person/zhu-lifan", "org/taizhou-daily-jiangsu"),
    }


def test_q39_the_provincial_work_report_proposes_the_collaborative_zone(store):
    # 001 p14: this year's Jiangsu Provincial Government Work Report proposed planning and building the zone.
    rows = select(
        store,
        """SELECT ?plan ?issuer WHERE { ?plan a yrd:WorkReport ; yrd:issuedBy ?issuer ;
        yrd:proposes id:park\\/yangtze-river-estuary-industrial-innovation-collaborative-zone }""",
    )
    assert {(str(r["plan"])[len(ID) :], str(r["issuer"])[len(ID) :]) for r in rows} == {
        ("plan/jiangsu-provincial-government-work-report-2024", "org/jiangsu-provincial-government")
    }


def test_q40_where_the_port_companies_and_investment_centres_are_and_who_runs_the_centres(store):
    # 004 p6: three of Lianyungang's seven investment promotion centres are in Shanghai, Nanjing and Wuxi;
    # 004 p5: "the two ports", Lianyungang Port and Shanghai Port Group.
    centres = select(
        store,
        """SELECT ?c ?place WHERE { ?c a yrd:InvestmentPromotionCentre ;
        yrd:runBy id:region\\/lianyungang ; yrd:locatedIn ?place }""",
    )
    assert {"region/shanghai", "region/nanjing", "region/wuxi"} <= ids(centres, "place") and len(ids(centres, "c")) == 3
    assert store.ask(
        PREFIXES + "ASK { id:region\\/lianyungang yrd:runs id:org\\/lianyungang-investment-promotion-centre-wuxi }"
    )
    ports = select(
        store,
        """SELECT ?org ?place WHERE { VALUES ?org { id:org\\/shanghai-port-group id:org\\/lianyungang-port }
        ?org yrd:locatedIn ?place }""",
    )
    assert {(str(r["org"])[len(ID) :], str(r["place"])[len(ID) :]) for r in ports} >= {
        ("org/shanghai-port-group", "region/shanghai"),
        ("org/lianyungang-port", "region/lianyungang"),
    }


def test_q41_the_su_tong_crossings_connect_suzhou_and_nantong(store):
    # 001 p10: the Sutong Bridge and the Su-Tong second passage; "Su" is Suzhou (p9), "Tong" is Nantong (p17).
    for crossing in ("sutong-bridge", "su-tong-second-passage"):
        rows = select(store, "SELECT ?place WHERE { ?c yrd:connects ?place }", c=f"infra/{crossing}")
        assert ids(rows, "place") == {"region/suzhou-jiangsu", "region/nantong"}, crossing


# --- Names that collide (issue 24) ----------------------------------------------------------------------------------


def test_q42_places_of_one_name_are_shown_apart_and_keep_their_names(store):
    # Gazetteer: Suzhou in Jiangsu (320500) and in Anhui (341300); Taizhou in Jiangsu (321200) and Zhejiang (331000).
    rows = select(
        store,
        """SELECT ?r ?name ?shown WHERE { ?r rdfs:label ?name ; yrd:displayLabel ?shown
        FILTER(LANG(?name) = "en" && ?name IN ("Suzhou"@en, "Taizhou"@en)) }""",
    )
    assert {(str(r["r"])[len(ID) :], str(r["name"]), str(r["shown"])) for r in rows} == {
        ("region/suzhou-jiangsu", "Suzhou", "Suzhou (Jiangsu)"),
        ("region/suzhou-anhui", "Suzhou", "Suzhou (Anhui)"),
        ("region/taizhou-jiangsu", "Taizhou", "Taizhou (Jiangsu)"),
        ("region/taizhou-zhejiang", "Taizhou", "Taizhou (Zhejiang)"),
    }
    # an entity whose name is unique is shown under it; no two entities are shown alike
    assert str(one(select(store, "SELECT ?s WHERE { id:region\\/nantong yrd:displayLabel ?s }"), "s")) == "Nantong"
    assert (
        select(
            store,
            """SELECT ?a WHERE { ?a yrd:displayLabel ?l . ?b yrd:displayLabel ?m
        FILTER(?a != ?b && LCASE(STR(?l)) = LCASE(STR(?m))) } LIMIT 1""",
        )
        == []
    )
