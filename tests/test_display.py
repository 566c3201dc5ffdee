"""Display labels (kg.build.display): one English name per entity, told apart where names collide, never a
source's name."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.build.display import display_labels

YRD = "https://w3id.org/yrd-kg/ontology#"
ID = "https://w3id.org/yrd-kg/id/"
PREFIXES = f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix org: <http://www.w3.org/ns/org#> .
@prefix yrd: <{YRD}> . @prefix id: <{ID}> .
"""
ONTOLOGY = (
    PREFIXES
    + """
yrd:Region rdfs:label "Region"@en . yrd:Port rdfs:label "Port"@en . yrd:Enterprise rdfs:label "Enterprise"@en .
yrd:Honour rdfs:label "Honour"@en .
"""
)
ASSERTED = (
    PREFIXES
    + """
id:jiangsu a yrd:Region ; rdfs:label "Jiangsu"@en ; yrd:adminLevel "province" .
id:anhui a yrd:Region ; rdfs:label "Anhui"@en , "安徽省"@zh ; yrd:adminLevel "province" .
id:suzhou-jiangsu a yrd:Region ; rdfs:label "Suzhou"@en ; yrd:partOf id:jiangsu .
id:suzhou-anhui a yrd:Region ; rdfs:label "SUZHOU"@en ; yrd:partOf id:anhui .
id:kunshan a yrd:Region ; rdfs:label "Kunshan"@en ; yrd:partOf id:suzhou-jiangsu .
id:port a yrd:Port ; rdfs:label "Lianyungang Port"@en .
id:port-company a yrd:Enterprise ; rdfs:label "Lianyungang Port"@en .
id:firm-a a yrd:Enterprise ; rdfs:label "Firm A"@en .
id:firm-b a yrd:Enterprise ; rdfs:label "Firm B"@en .
id:title-a a yrd:Honour ; rdfs:label "Pilot"@en ; yrd:titleHolder id:firm-a .
id:title-b a yrd:Honour ; rdfs:label "Pilot"@en ; yrd:titleHolder id:firm-b .
id:post a org:Membership ; rdfs:label "Secretary"@en ; org:member id:person ; yrd:postIn id:suzhou-jiangsu .
id:role a org:Role ; rdfs:label "Secretary"@en .
id:person rdfs:label "Wu"@en .
id:twin-a a yrd:Enterprise ; rdfs:label "Twin"@en .
id:twin-b a yrd:Enterprise ; rdfs:label "Twin"@en .
"""
)
# what reasoning adds: the part-of closure (Kunshan lies in Jiangsu too), the superclasses of the titles
INFERRED = PREFIXES + "id:kunshan yrd:partOf id:jiangsu . id:title-a a yrd:Title . id:title-b a yrd:Title ."


def graph(text: str) -> Graph:
    return Graph().parse(data=text, format="turtle")


def shown() -> dict[str, str]:
    triples = display_labels(graph(ASSERTED), graph(INFERRED), graph(ONTOLOGY))
    assert all(p == URIRef(YRD + "displayLabel") and o.language == "en" for _, p, o in triples)
    return {str(s)[len(ID) :]: str(o) for s, _, o in triples}


def test_a_unique_name_is_shown_as_it_is():
    labels = shown()
    assert labels["kunshan"] == "Kunshan" and labels["jiangsu"] == "Jiangsu" and labels["person"] == "Wu"


def test_regions_of_one_name_are_told_apart_by_province_ignoring_case():
    labels = shown()
    assert (labels["suzhou-jiangsu"], labels["suzhou-anhui"]) == ("Suzhou (Jiangsu)", "SUZHOU (Anhui)")


def test_titles_by_holder_posts_by_holder_and_place_others_by_class():
    labels = shown()
    assert (labels["title-a"], labels["title-b"]) == ("Pilot (Firm A)", "Pilot (Firm B)")
    assert labels["post"] == "Secretary (Wu, Suzhou (Jiangsu))"  # the place by its own display label
    assert labels["role"] == "Secretary (Role)"
    assert (labels["port"], labels["port-company"]) == ("Lianyungang Port (Port)", "Lianyungang Port (Enterprise)")


def test_what_nothing_certain_tells_apart_gets_its_identifier_and_every_label_is_unique():
    labels = shown()
    assert (labels["twin-a"], labels["twin-b"]) == ("Twin (Enterprise) [twin-a]", "Twin (Enterprise) [twin-b]")
    assert len({text.casefold() for text in labels.values()}) == len(labels)


def test_only_english_names_of_the_asserted_graph_count_and_the_names_stay():
    asserted = graph(ASSERTED)
    triples = display_labels(asserted, graph(INFERRED), graph(ONTOLOGY))
    assert {s for s, _, _ in triples} == set(asserted.subjects(RDFS.label, None))
    assert (URIRef(ID + "suzhou-anhui"), RDFS.label, Literal("SUZHOU", lang="en")) in asserted
    assert not [t for t in triples if t[1] in (RDFS.label, RDF.type)]
