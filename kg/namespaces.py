"""The one prefix map (used for export, query prefixes and ontology checks), and the names of the
named graphs a build writes."""

from __future__ import annotations

from rdflib import URIRef

W3C_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "qb": "http://purl.org/linked-data/cube#",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "sf": "http://www.opengis.net/ont/sf#",
    "wgs": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sh": "http://www.w3.org/ns/shacl#",
    "vann": "http://purl.org/vocab/vann/",
}

XSD = W3C_PREFIXES["xsd"]
RDF = W3C_PREFIXES["rdf"]
PROV = W3C_PREFIXES["prov"]


def project_prefixes(base_iri: str) -> dict[str, str]:
    """Prefixes of the project's own namespaces under ``base_iri``."""
    return {
        "yrd": base_iri + "ontology#",
        "id": base_iri + "id/",
        "graph": base_iri + "graph/",
    }


def all_prefixes(base_iri: str) -> dict[str, str]:
    """The project's namespaces followed by the W3C ones, in a stable order."""
    return {**project_prefixes(base_iri), **W3C_PREFIXES}


#: The named graphs of a build, in the order they are reported.
GRAPH_NAMES = ("ontology", "asserted", "inferred", "provenance", "shapes")


def graph_iri(settings, name: str) -> URIRef:
    """The IRI of the named graph ``name`` under the settings' base IRI."""
    return URIRef(f"{settings.base_iri}graph/{name}")
