"""The SPARQL 1.1 Service Description of the endpoint: what ``GET /sparql`` without a query answers."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from kg import __version__

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
    "RDF_XML",
    "TriG",
    "N-Quads",
)


def service_description(endpoint: str, settings, store) -> str:
    """The description, in Turtle, of the service at ``endpoint`` (an absolute or relative address)."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS)
    service = URIRef(endpoint)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for name in RESULT_FORMATS:
        graph.add((service, SD.resultFormat, FORMATS[name]))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for number, iri in enumerate(store.graphs()):
        named = BNode(f"graph{number}")
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, SD.name, iri))
    comment = (
        f"YRD knowledge graph {__version__}, build {store.build_id}. Read-only: SPARQL Update is refused. "
        "The default graph is the union of the named graphs. SERVICE is refused unless allow-listed; "
        "FROM selects graphs held in the store and is refused for any other; the graph parameters "
        "replace the query's dataset, and a graph the store lacks is empty. Nothing is ever fetched. "
        f"Request bodies are limited to {settings.max_body_bytes} bytes; a query running longer than "
        f"{settings.query_timeout} s is stopped and answered with 503. Results are cut after "
        f"{settings.max_result_rows} rows (solutions or triples) or {settings.max_result_bytes} bytes; "
        "a cut result carries the header X-SPARQL-MaxRows or X-SPARQL-MaxBytes."
    )
    graph.add((service, RDFS.comment, Literal(comment, lang="en")))
    graph.add((service, DCTERMS.modified, Literal(store.build_id)))
    return graph.serialize(format="turtle")
