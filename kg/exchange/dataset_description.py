"""The dataset description that travels with every export: VoID and DCAT, in Turtle.

It names the dataset, its licence and version (the build id), the source articles, the triples per
graph, whether the build passed validation, and the payload's size and SHA-256 (the DCAT 3 / SPDX
checksum), so a partner can check what they received. It holds no timestamp: the same export gives
the same description.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS, SH, XSD

from kg.namespaces import all_prefixes
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import RDF_FORMATS
from kg.store.terms import AnyNamedQuad

VOID = Namespace("http://rdfs.org/ns/void#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # DCAT 3; rdflib's DCAT namespace predates it
TITLE = "Yangtze River Delta regional integration knowledge graph"
MEDIA_TYPES = {name: rdf_format.media_type for name, rdf_format in RDF_FORMATS.items()}


@dataclass(frozen=True)
class ValidationStatus:
    """What the build's own report says; ``known`` is False when the store version carries no report."""

    known: bool
    conforms: bool
    violations: int = 0
    warnings: int = 0

    @property
    def passed(self) -> bool:
        return self.known and self.conforms


def validation_status(store: EmbeddedStore) -> ValidationStatus:
    report = store.attachment("report.json")
    if report is None:
        return ValidationStatus(known=False, conforms=False)
    body = json.loads(report)
    counts = body.get("counts", {})
    return ValidationStatus(True, bool(body["conforms"]), counts.get("Violation", 0), counts.get("Warning", 0))


def describe(
    store: EmbeddedStore,
    *,
    payload: bytes,
    format: str,
    quads: Sequence[AnyNamedQuad],
    graphs: list[URIRef],
    status: ValidationStatus,
    base_iri: str,
    license: str,
    profile: URIRef | BNode | None = None,
    download_url: str | None = None,
    endpoint_url: str | None = None,
) -> bytes:
    """The VoID/DCAT description (Turtle) of ``payload``, an export of ``quads`` from ``graphs``."""
    graph = Graph()
    for prefix, namespace in {**all_prefixes(base_iri), "spdx": str(SPDX), "dqv": str(DQV), "sd": str(SD)}.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    dataset = URIRef(f"{base_iri}dataset")
    graph.add((dataset, RDF.type, VOID.Dataset))
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal(TITLE, lang="en")))
    graph.add((dataset, DCTERMS.license, URIRef(license)))
    graph.add((dataset, DCAT_VERSION, Literal(store.build_id)))
    graph.add((dataset, OWL.versionInfo, Literal(store.build_id)))
    graph.add((dataset, VOID.vocabulary, URIRef(f"{base_iri}ontology#")))
    graph.add((dataset, VOID.uriSpace, Literal(f"{base_iri}id/")))
    graph.add((dataset, VOID.triples, Literal(len(quads))))
    if endpoint_url:
        graph.add((dataset, VOID.sparqlEndpoint, URIRef(endpoint_url)))
    for source, title, published in _articles(store, base_iri):
        graph.add((dataset, DCTERMS.source, source))
        if title is not None:
            graph.add((source, DCTERMS.title, title))
        if published is not None:
            graph.add((source, DCTERMS.issued, published))
    counts: dict[URIRef, int] = {g: 0 for g in graphs}
    for *_, g in quads:
        counts[g] = counts.get(g, 0) + 1
    for name, count in sorted(counts.items()):
        subset = URIRef(f"{base_iri}dataset/graph/{name.rsplit('/', 1)[-1]}")
        graph.add((dataset, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        graph.add((subset, SD.name, name))
        graph.add((subset, VOID.triples, Literal(count)))

    report = URIRef(f"{base_iri}dataset/validation")
    graph.add((dataset, DQV.hasQualityAnnotation, report))
    graph.add((report, RDF.type, DQV.QualityAnnotation))
    graph.add((report, RDF.type, SH.ValidationReport))
    if status.known:
        graph.add((report, SH.conforms, Literal(status.conforms)))
        graph.add(
            (
                report,
                RDFS.comment,
                Literal(
                    f"The build {'passed' if status.conforms else 'did NOT pass'} SHACL validation: "
                    f"{status.violations} violations, {status.warnings} warnings.",
                    lang="en",
                ),
            )
        )
    else:
        graph.add(
            (
                report,
                RDFS.comment,
                Literal("This store version carries no validation report: the data was NOT validated.", lang="en"),
            )
        )
    if status.passed:
        graph.add((dataset, DCTERMS.conformsTo, URIRef(f"{base_iri}graph/shapes")))

    distribution = URIRef(
        f"{base_iri}dataset/distribution/{format}" + (f"/{profile.rsplit('/', 1)[-1]}" if profile else "")
    )
    graph.add((dataset, DCAT.distribution, distribution))
    graph.add((distribution, RDF.type, DCAT.Distribution))
    graph.add(
        (distribution, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[format]}"))
    )
    graph.add((distribution, DCAT.byteSize, Literal(len(payload), datatype=XSD.nonNegativeInteger)))
    if download_url:
        graph.add((distribution, DCAT.downloadURL, URIRef(download_url)))
    if profile:
        graph.add((distribution, DCTERMS.conformsTo, profile))
    checksum = BNode("checksum")
    graph.add((distribution, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(hashlib.sha256(payload).hexdigest(), datatype=XSD.hexBinary)))
    return graph.serialize(format="longturtle", encoding="utf-8")


def _articles(store: EmbeddedStore, base_iri: str) -> list[tuple]:
    """The source articles as the build states them (a partner graph can neither add nor retitle one)."""
    rows = store.select(
        f"""
        PREFIX yrd: <{base_iri}ontology#>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?source ?title ?published WHERE {{ GRAPH <{base_iri}graph/asserted> {{
          ?source a yrd:Article .
          OPTIONAL {{ ?source dcterms:title ?title }}
          OPTIONAL {{ ?source yrd:publishedOn ?published }} }}
        }} ORDER BY ?source""",
        union=False,
    )
    return [(r["source"], r.get("title"), r.get("published")) for r in rows]
