"""Every SHACL shape, broken on its own: a valid fixture graph conforms with no result at all, and each case
below changes it so that exactly the expected shape reports exactly the expected focus nodes."""

from __future__ import annotations

import pytest
from helpers import ROOT
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from kg.validation.schema_graphs import load_ontology, load_shape_graphs
from kg.validation.shacl_check import validate_build, validate_data

FIXTURE = ROOT / "tests" / "fixtures" / "valid.ttl"
PREFIXES = FIXTURE.read_text(encoding="utf-8").split("\nid:province", 1)[0]
BASE = "https://w3id.org/yrd-kg/"
SHAPES_NS = "https://w3id.org/yrd-kg/shapes#"
ID = "https://w3id.org/yrd-kg/id/"

# shape, focus node(s), Turtle to add, Turtle to remove
CASES = [
    ("EnglishLabel", ["person"], "", 'id:person rdfs:label "Person"@en .'),
    ("ChineseLabel", ["person"], "", 'id:person rdfs:label "某人"@zh .'),
    ("LabelsAreTagged", ["person"], 'id:person rdfs:label "Plain" .', ""),
    ("OneLabelPerLanguage", ["person"], 'id:person rdfs:label "Someone"@en .', ""),
    ("AdminLevel", ["city"], 'id:city yrd:adminLevel "metropolis" .', ""),
    ("AdminLevelStated", ["other-city"], "", 'id:other-city yrd:adminLevel "prefecture-city" .'),
    ("AdminCode", ["other-city"], 'id:other-city skos:notation "32A100" .', ""),
    ("AdminParent", ["county"], "id:county yrd:partOf id:area .", ""),
    (
        "AdminCodeNesting",
        ["county"],
        'id:county skos:notation "330681"^^yrd:AdministrativeDivisionCode .',
        'id:county skos:notation "320681"^^yrd:AdministrativeDivisionCode .',
    ),
    (
        "PartOfWithoutCycles",
        ["area", "area2"],
        'id:area yrd:partOf id:area2 . id:area2 a yrd:InformalRegion ; rdfs:label "Area 2"@en , "二区"@zh ; '
        "yrd:partOf id:area .",
        "",
    ),
    ("Latitude", ["province"], "id:province wgs:lat 95.0 .", ""),
    ("Longitude", ["province"], "", "id:province wgs:long 118.8 ."),
    ("MemberRegion", ["area"], "id:area yrd:hasMemberRegion id:model .", ""),
    ("LocatedInPlace", ["university"], "id:university yrd:locatedIn id:person .", ""),
    ("ZoneLocationStated", ["park"], "", "id:park yrd:locatedIn id:county ."),
    ("ZoneEstablished", ["park"], 'id:park yrd:established "around 2003" .', ""),
    ("ZoneArea", ["park"], "id:park yrd:areaKm2 -1.0 .", ""),
    ("CoBuilder", ["park"], "id:park yrd:coBuiltBy id:model .", ""),
    ("Operator", ["park"], "id:park yrd:operatedBy id:model .", ""),
    ("Manager", ["park"], "id:park yrd:managedBy id:model .", ""),
    ("JointlyBuiltByTwoRegions", ["park"], "", "id:park yrd:coBuiltBy id:other-city ."),
    ("ZonePartOf", ["start-up-area"], "id:start-up-area yrd:partOf id:city .", ""),
    ("StatusValue", ["project"], 'id:project yrd:status "abandoned" .', 'id:project yrd:status "introduced" .'),
    ("AgreementParty", ["agreement"], "id:agreement yrd:party id:model .", ""),
    ("AgreementSigned", ["agreement"], 'id:agreement yrd:signedOn "August 2010" .', ""),
    ("AgreementDateStated", ["agreement"], "", 'id:agreement yrd:signedOn "2010-08"^^xsd:gYearMonth .'),
    ("AgreementPurpose", ["agreement"], 'id:agreement yrd:purpose "untagged" .', ""),
    ("AgreementHasTwoParties", ["agreement"], "", "id:agreement yrd:party id:other-city ."),
    ("IndustryScheme", ["broad-industry"], "", "id:broad-industry skos:inScheme id:scheme ."),
    ("IndustryBroader", ["industry"], "id:industry skos:broader id:model .", ""),
    ("IndustryLinkTarget", ["park"], "id:park yrd:keyIndustry id:model .", ""),
    ("AdoptedModel", ["park"], "id:park yrd:adoptsModel id:industry .", ""),
    ("ParentOrganisation", ["institute"], "id:institute org:subOrganizationOf id:person .", ""),
    ("OrganisationFounded", ["institute"], 'id:institute yrd:foundedOn "2020-13-01" .', ""),
    ("FoundedBy", ["institute"], "id:institute yrd:foundedBy id:model .", ""),
    ("RunByParty", ["institute"], "id:institute yrd:runBy id:model .", ""),
    ("ContributorPerson", ["daily"], "id:daily yrd:contributor id:city .", ""),
    ("PostMember", ["post"], "id:post org:member id:university .", ""),
    ("PostRole", ["post"], "", "id:post org:role id:role ."),
    ("PostDates", ["post"], 'id:post yrd:heldOn "recently" .', ""),
    ("PostPeriodOrder", ["post"], 'id:post yrd:heldFromEarliest "2022-01-01"^^xsd:date .', ""),
    ("PostPlace", ["post"], "", "id:post org:organization id:university ."),
    ("CrossesYangtze", ["bridge"], "id:bridge yrd:crossesYangtze false .", ""),
    ("InfrastructureDates", ["bridge"], 'id:bridge yrd:opened "soon" .', ""),
    ("Connects", ["bridge"], "id:bridge yrd:connects id:person .", ""),
    ("ProjectParty", ["project"], "id:project yrd:introducedBy id:model .", ""),
    ("CooperationParties", ["cooperation"], "", "id:cooperation yrd:cooperationParty id:university ."),
    ("CooperationField", ["cooperation"], 'id:cooperation yrd:field "untagged" .', ""),
    ("CooperationExample", ["cooperation"], "id:cooperation yrd:exemplifiedBy id:person .", ""),
    ("ReferenceTitle", ["gazetteer"], "", 'id:gazetteer dcterms:title "A gazetteer"@en .'),
    ("EventDates", ["event"], 'id:event yrd:endDate "next week" .', ""),
    ("EventOrder", ["event"], 'id:event yrd:endDateLatest "2024-11-01"^^xsd:date .', ""),
    ("Edition", ["event"], "id:event yrd:edition 0 .", "id:event yrd:edition 7 ."),
    ("Participant", ["event"], "id:event yrd:participant id:model .", ""),
    ("EventPartOf", ["event"], "id:event yrd:subEventOf id:park .", ""),
    ("EventOccasion", ["event"], "id:event yrd:heldOnOccasionOf id:model .", ""),
    ("TitleHolder", ["title"], "id:title yrd:titleHolder id:city .", ""),
    ("Rank", ["title"], "id:title yrd:rank 0 .", "id:title yrd:rank 1 ."),
    ("Unique", ["title"], 'id:title yrd:unique "yes" .', "id:title yrd:unique true ."),
    ("TitleConferred", ["title"], 'id:title yrd:conferredOn "2015-1" .', ""),
    ("PlanIssuer", ["plan"], "id:plan yrd:issuedBy id:model .", ""),
    ("PlanDates", ["plan"], 'id:plan yrd:periodEnd "2025/12" .', ""),
    ("PlanPeriodOrder", ["plan"], 'id:plan yrd:periodEndLatest "2020-12-31"^^xsd:date .', ""),
    ("PlanProposes", ["plan"], "id:plan yrd:proposes id:person .", ""),
    ("GoalHolder", ["goal"], "", "id:goal yrd:goalOf id:city ."),
    ("GoalName", ["goal"], 'id:goal rdfs:label "Another name"@en .', ""),
    ("GoalVoicedBy", ["goal"], "id:goal yrd:statedBy id:city .", ""),
    ("StatementSpeaker", ["statement"], "", "id:statement yrd:speaker id:person ."),
    ("StatementAbout", ["statement"], "", "id:statement yrd:about id:agreement ."),
    ("StatementReporter", ["statement"], "id:statement yrd:reportedBy id:university .", ""),
    ("ObservationDataSet", ["observation"], "", "id:observation qb:dataSet id:dataset ."),
    ("ObservationArea", ["observation"], "id:observation yrd:refArea id:city .", ""),
    ("ObservationIndicator", ["observation"], "id:observation yrd:indicator id:model .", ""),
    ("ObservationValue", ["observation"], "", "id:observation yrd:value 11735000000.0 ."),
    ("ObservationUnit", ["observation"], 'id:observation yrd:unit "billion yuan" .', 'id:observation yrd:unit "CNY" .'),
    (
        "ObservationQualifier",
        ["observation"],
        'id:observation yrd:qualifier "roughly" .',
        'id:observation yrd:qualifier "exact" .',
    ),
    (
        "ObservationChangeRate",
        ["observation"],
        'id:observation yrd:changeRate "5.6%" .',
        "id:observation yrd:changeRate 5.6 .",
    ),
    (
        "ObservationChangeBasis",
        ["observation"],
        'id:observation yrd:changeBasis "monthly" .',
        'id:observation yrd:changeBasis "year-on-year" .',
    ),
    ("ObservationPeriod", ["observation"], 'id:observation yrd:refPeriodEnd "Q4" .', ""),
    (
        "ObservationPeriodOrder",
        ["observation"],
        'id:observation yrd:refPeriodEndLatest "2021-12-31"^^xsd:date .',
        'id:observation yrd:refPeriodEndLatest "2022-12-31"^^xsd:date .',
    ),
    ("ObservationPeriodStated", ["share"], "", 'id:share yrd:refPeriod "2024"^^xsd:gYear .'),
    (
        "ObservationKind",
        ["observation"],
        'id:observation yrd:observationKind "forecast" .',
        'id:observation yrd:observationKind "actual" .',
    ),
    ("PercentageInRange", ["share"], "id:share yrd:value 149.6 .", "id:share yrd:value 49.6 ."),
    (
        "AmountNotNegative",
        ["observation"],
        "id:observation yrd:value -5.0 .",
        "id:observation yrd:value 11735000000.0 .",
    ),
    ("NotTooEarly", ["plan"], 'id:plan yrd:periodStartEarliest "1644-01-01"^^xsd:date .', ""),
    ("NotTooLate", ["plan"], 'id:plan yrd:periodEndLatest "2911-12-31"^^xsd:date .', ""),
    ("ArticleFile", ["article"], 'id:article dcterms:identifier "article.txt" .', ""),
    ("ArticleParagraphs", ["article"], "", "id:article yrd:paragraphCount 12 ."),
    ("ArticlePublished", ["article"], 'id:article yrd:publishedOn "2024-11-22"^^xsd:date .', ""),
    ("ArticleDateStated", ["article"], "", 'id:article yrd:publishedOn "2024-11-21"^^xsd:date .'),
    ("ArticleTitle", ["article"], "", 'id:article dcterms:title "An article"@en .'),
    ("SourcePublisher", ["article"], "id:article dcterms:publisher id:person .", ""),
    ("SourceInformant", ["article"], "id:article yrd:informant id:city .", ""),
    (
        "DisplayLabelUnique",
        ["province", "city"],
        'id:city yrd:displayLabel "Province"@en .',
        'id:city yrd:displayLabel "City (Province)"@en .',
    ),
]


@pytest.fixture(scope="module")
def context(settings):
    return load_ontology(settings), load_shape_graphs(settings)


def graph_of(turtle: str) -> Graph:
    graph = Graph()
    graph.parse(data=PREFIXES + "\n" + turtle, format="turtle")
    return graph


def reported(report) -> set[tuple[str, str]]:
    return {(r.shape[len(SHAPES_NS) :], str(r.focus)[len(ID) :]) for r in report.results}


def test_the_valid_fixture_satisfies_every_shape(context):
    ontology, shapes = context
    report = validate_data(
        graph_of(FIXTURE.read_text(encoding="utf-8").split(PREFIXES, 1)[1]),
        ontology=ontology,
        shapes=shapes,
        base_iri=BASE,
    )
    assert report.conforms and report.results == []


@pytest.mark.parametrize("shape, focus, add, remove", CASES, ids=[c[0] for c in CASES])
def test_breaking_one_constraint_reports_exactly_that_shape(context, shape, focus, add, remove):
    ontology, shapes = context
    data = Graph()
    data.parse(FIXTURE, format="turtle")
    removed = graph_of(remove)
    assert all(t in data for t in removed), "the triples to remove must be in the fixture"
    for triple in removed:
        data.remove(triple)
    for triple in graph_of(add):
        data.add(triple)
    report = validate_data(data, ontology=ontology, shapes=shapes, base_iri=BASE)
    assert reported(report) == {(shape, f) for f in focus}


def test_every_shape_with_a_severity_has_a_case(context):
    _, shapes = context
    graph = shapes.content
    named = {str(s)[len(SHAPES_NS) :] for s in graph.subjects(SH.severity, None) if isinstance(s, URIRef)}
    assert named == {case[0] for case in CASES}


# --- the provenance pass -----------------------------------------------------------------------------------

PROVENANCE = (
    PREFIXES
    + """
@prefix prov: <http://www.w3.org/ns/prov#> .
id:source a yrd:Article ; yrd:paragraphCount 5 ; yrd:publishedOn "2023-12-11"^^xsd:date ;
    yrd:publishedOnEarliest "2023-12-11"^^xsd:date ; yrd:publishedOnLatest "2023-12-11"^^xsd:date .
id:cite a yrd:Citation ; yrd:citedSource id:source ; yrd:paragraph 3 .
"""
)


def statement(name: str, s: str, p: str, o: str) -> str:
    return (
        f"id:{name} a rdf:Statement ; rdf:subject {s} ; rdf:predicate {p} ; rdf:object {o} ; "
        "prov:wasDerivedFrom id:cite .\n"
    )


def provenance_case(asserted_ttl: str, provenance_ttl: str, context):
    _, shapes = context
    asserted, provenance = Graph(), Graph()
    asserted.parse(data=PROVENANCE.split("id:cite")[0] + asserted_ttl, format="turtle")
    provenance.parse(data=PROVENANCE + provenance_ttl, format="turtle")
    return reported(
        validate_build(
            asserted=asserted, inferred=Graph(), provenance=provenance, shapes=type(shapes)(Graph(), shapes.provenance)
        )
    )


GOOD_FACTS = (
    'id:zone a yrd:Zone ; yrd:established "2003"^^xsd:gYear ; yrd:establishedEarliest "2003-01-01"^^xsd:date .\n'
)
GOOD_STATEMENTS = (
    statement("st1", "id:zone", "rdf:type", "yrd:Zone")
    + statement("st2", "id:zone", "yrd:established", '"2003"^^xsd:gYear')
    + statement("st3", "id:zone", "yrd:establishedEarliest", '"2003-01-01"^^xsd:date')
    + "".join(
        statement(f"src{i}", "id:source", p, o)
        for i, (p, o) in enumerate(
            [
                ("rdf:type", "yrd:Article"),
                ("yrd:paragraphCount", "5"),
                ("yrd:publishedOn", '"2023-12-11"^^xsd:date'),
                ("yrd:publishedOnEarliest", '"2023-12-11"^^xsd:date'),
                ("yrd:publishedOnLatest", '"2023-12-11"^^xsd:date'),
            ]
        )
    )
)


def test_provenance_shapes_accept_traced_facts(context):
    assert provenance_case(GOOD_FACTS, GOOD_STATEMENTS, context) == set()


def test_an_asserted_fact_without_provenance_is_a_violation(context):
    found = provenance_case(GOOD_FACTS + "id:zone yrd:areaKm2 5.2 .\n", GOOD_STATEMENTS, context)
    assert found == {("AssertedFactHasProvenance", "zone")}


def test_a_date_after_its_source_was_published_is_a_violation(context):
    facts = GOOD_FACTS.replace("2003", "2025")
    statements = GOOD_STATEMENTS.replace("2003", "2025")
    assert provenance_case(facts, statements, context) == {("DateNotAfterPublication", "zone")}


def test_a_paragraph_beyond_the_source_is_a_violation(context):
    statements = GOOD_STATEMENTS.replace("yrd:paragraph 3", "yrd:paragraph 9")
    provenance = PROVENANCE.replace("yrd:paragraph 3", "yrd:paragraph 9")
    _, shapes = context
    asserted, graph = Graph(), Graph()
    asserted.parse(data=PROVENANCE.split("id:cite")[0] + GOOD_FACTS, format="turtle")
    graph.parse(data=provenance + statements, format="turtle")
    report = validate_build(
        asserted=asserted, inferred=Graph(), provenance=graph, shapes=type(shapes)(Graph(), shapes.provenance)
    )
    assert reported(report) == {("CitationInRange", "cite")}


def test_a_figure_stated_as_reached_cannot_be_for_a_later_period_but_a_target_can(context):
    # 000 p24: doubling output "within another five years" is a target for 2029, not a figure of 2029
    def case(kind: str):
        facts = (
            f'id:figure a qb:Observation ; yrd:observationKind "{kind}" ; yrd:refPeriod "2029"^^xsd:gYear ;'
            ' yrd:refPeriodEarliest "2029-01-01"^^xsd:date .\n'
        )
        traced = "".join(
            statement(f"f{i}", "id:figure", p, o)
            for i, (p, o) in enumerate(
                [
                    ("rdf:type", "qb:Observation"),
                    ("yrd:observationKind", f'"{kind}"'),
                    ("yrd:refPeriod", '"2029"^^xsd:gYear'),
                    ("yrd:refPeriodEarliest", '"2029-01-01"^^xsd:date'),
                ]
            )
        )
        return provenance_case(GOOD_FACTS + facts, GOOD_STATEMENTS + traced, context)

    assert case("actual") == {("DateNotAfterPublication", "figure")}
    assert case("target") == set()
