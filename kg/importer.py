"""Partner data into the store: each partner file becomes its own named graph, validated with the graph
it joins, recorded with who imported it, when and from which file, and published atomically.

Writes need the operator's token (setting ``write_token``); without one configured the store is
read-only. One write at a time: a lock file in the store folder serialises imports, removals and
builds across processes. A write builds a complete new store version and swaps it in (see
``kg.store.publish``), so a crash at any moment leaves the previous version current and whole.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from kg.config import Settings
from kg.errors import Forbidden, InputError, NotFound, Unauthorized, ValidationFailed
from kg.pipeline import GRAPH_NAMES, graph_iri, load_ontology, load_shape_graphs, neighbourhood
from kg.store import EmbeddedStore, Quad, parse_rdf, publish, write_lock
from kg.validate import ValidationReport, validate_data

SPDX_CHECKSUM = URIRef("http://spdx.org/rdf/terms#checksumValue")


def imports_graph(settings: Settings) -> URIRef:
    """The graph recording every import (the partner graphs' provenance)."""
    return graph_iri(settings, "imports")


def authorize(settings: Settings, presented: str | None) -> None:
    """Allow a write only with the configured token; compared in constant time, never echoed."""
    if not settings.write_token:
        raise Forbidden("this store is read-only: writes are enabled by the operator setting write_token")
    if not presented:
        raise Unauthorized("a write needs the operator's token (HTTP: Authorization: Bearer <token>; "
                           "CLI: --token or KG_TOKEN)")
    if not hmac.compare_digest(presented.encode("utf-8"), settings.write_token.encode("utf-8")):
        raise Forbidden("the token does not match")


def _partner_graph(settings: Settings, graph: str) -> URIRef:
    if "://" not in graph and not graph.startswith("urn:"):
        raise InputError(f"the graph name must be an absolute IRI, not {graph!r}")
    iri = URIRef(graph)
    if iri in {graph_iri(settings, name) for name in GRAPH_NAMES} | {imports_graph(settings)}:
        raise Forbidden(f"<{iri}> is made by the build; partner data goes into a graph of its own")
    return iri


@dataclass(frozen=True)
class ImportResult:
    graph: URIRef
    triples: int  # in the partner graph after the import
    build_id: str
    report: ValidationReport


def import_data(settings: Settings, data: bytes, *, format: str, graph: str, agent: str, source_name: str,
                token: str | None, append: bool = False) -> ImportResult:
    """Put (or with ``append``, add) the RDF document ``data`` into the partner graph ``graph``.

    Triples of every graph in the document go into ``graph``. Nothing is written when the data does not
    parse (InputError) or, checked beside the published graph, has SHACL violations (ValidationFailed
    with the report).
    """
    authorize(settings, token)
    target = _partner_graph(settings, graph)
    triples = {(s, p, o) for s, p, o, _ in parse_rdf(data, format=format, base_iri=settings.base_iri,
                                                    source=source_name)}
    store_dir = settings.path("store_dir")
    with write_lock(store_dir):
        store = EmbeddedStore(store_dir)
        held = set(store.graphs())
        if append and target in held:
            triples |= {(s, p, o) for s, p, o, _ in store.quads([target])}
        report = _check(settings, store, triples)
        if not report.conforms:
            raise ValidationFailed(f"the data has {report.counts()['Violation']} SHACL violations; nothing was "
                                   "written", report=report)
        record = _import_record(settings, target, data, agent, source_name, len(triples))
        quads = _replace_graph(settings, store, target, triples, record)
        version = publish(quads, store_dir, keep_versions=settings.keep_versions, attachments=_carried(store))
    return ImportResult(target, len(triples), version.build_id, report)


def drop_graph(settings: Settings, graph: str, *, token: str | None) -> str:
    """Remove a partner graph and its import record; NotFound if the store does not hold it."""
    authorize(settings, token)
    target = _partner_graph(settings, graph)
    store_dir = settings.path("store_dir")
    with write_lock(store_dir):
        store = EmbeddedStore(store_dir)
        if target not in store.graphs():
            raise NotFound(f"the store holds no graph <{target}>")
        quads = _replace_graph(settings, store, target, set(), [])
        return publish(quads, store_dir, keep_versions=settings.keep_versions, attachments=_carried(store)).build_id


def _check(settings: Settings, store: EmbeddedStore, triples: set) -> ValidationReport:
    data = Graph()
    for triple in triples:
        data.add(triple)
    return validate_data(data, ontology=load_ontology(settings), shapes=load_shape_graphs(settings),
                         context=neighbourhood(store, settings, data))


def _import_record(settings: Settings, target: URIRef, data: bytes, agent: str, source_name: str,
                   count: int) -> list[tuple]:
    """PROV-O: the partner graph was generated by an import activity, associated with an agent, that used
    the file (named, with its SHA-256)."""
    when = datetime.now(timezone.utc).replace(microsecond=0)
    digest = hashlib.sha256(data).hexdigest()
    activity = URIRef(f"{settings.base_iri}import/{hashlib.sha256(f'{target} {when} {digest}'.encode()).hexdigest()[:16]}")
    file = URIRef(f"{activity}/file")
    person = URIRef(f"{settings.base_iri}agent/{quote(agent, safe='')}")
    return [
        (target, RDF.type, PROV.Entity), (target, PROV.wasGeneratedBy, activity),
        (target, URIRef("http://rdfs.org/ns/void#triples"), Literal(count)),
        (activity, RDF.type, PROV.Activity), (activity, PROV.wasAssociatedWith, person),
        (activity, PROV.endedAtTime, Literal(when.isoformat(), datatype=XSD.dateTime)),
        (activity, PROV.used, file),
        (person, RDF.type, PROV.Agent), (person, RDFS.label, Literal(agent)),
        (file, RDF.type, PROV.Entity), (file, DCTERMS.title, Literal(source_name)),
        (file, SPDX_CHECKSUM, Literal(digest, datatype=XSD.hexBinary)),
    ]


def _replace_graph(settings: Settings, store: EmbeddedStore, target: URIRef, triples: set,
                   record: list[tuple]) -> list[Quad]:
    """Every quad of the store, with ``target`` holding ``triples`` and its import record replaced."""
    records = imports_graph(settings)
    kept = [q for q in store.quads() if q[3] not in (target, records)]
    old_records = [q for q in store.quads([records])] if records in store.graphs() else []
    # the previous record of this graph goes: its activity hangs off the graph's wasGeneratedBy
    stale = {o for s, p, o, _ in old_records if s == target and p == PROV.wasGeneratedBy}
    stale |= {URIRef(f"{a}/file") for a in stale} | {target}
    remaining = [q for q in old_records if q[0] not in stale]
    # an agent stays only while an import it made stays
    acting = {o for s, p, o, _ in remaining if p == PROV.wasAssociatedWith}
    agents = {s for s, p, o, _ in remaining if p == RDF.type and o == PROV.Agent}
    kept += [q for q in remaining if q[0] not in agents - acting]
    return kept + [(s, p, o, target) for s, p, o in triples] + [(s, p, o, records) for s, p, o in record]


def _carried(store: EmbeddedStore) -> dict[str, bytes]:
    """The build's validation reports, which stay true of the build's graphs after an import."""
    return {name: body for name in ("report.json", "report.turtle", "report.text", "report.html")
            if (body := store.attachment(name)) is not None}
