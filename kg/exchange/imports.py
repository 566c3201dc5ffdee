"""Partner data into the store: each partner file becomes its own named graph, validated with the graph
it joins, recorded with who imported it, when and from which file, and published atomically.

Writes need the operator's token (setting ``write_token``); without one configured the store is
read-only. One write at a time: a lock file in the store folder serialises imports, removals and
builds across processes; an import checks its data before it takes the lock, in a process of its own and
within ``import_timeout`` (``kg.exchange.import_worker``), and no writer waits for the lock more than a few
seconds. A write builds a complete new store version and swaps it in (see ``kg.store.versions.publish``),
so a crash at any moment leaves the previous version current and whole.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from kg.config import Settings
from kg.errors import Forbidden, InconsistencyError, InputError, NotFound, StoreError, Unauthorized, ValidationFailed
from kg.namespaces import GRAPH_NAMES, graph_iri
from kg.reasoning.entailments import infer_closures, infer_triples
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import parse_rdf
from kg.store.remote import build_graph
from kg.store.terms import AnyQuad
from kg.store.versions import publish
from kg.validation.partner_check import neighbourhood, with_locations
from kg.validation.schema_graphs import load_ontology, load_shape_graphs
from kg.validation.shacl_check import ValidationReport, validate_data
from kg.validation.vocabulary import ATTACHMENT as VOCABULARY

SPDX_CHECKSUM = URIRef("http://spdx.org/rdf/terms#checksumValue")


def imports_graph(settings: Settings) -> URIRef:
    """The graph recording every import (the partner graphs' provenance)."""
    return graph_iri(settings, "imports")


def authorize(settings: Settings, presented: str | None) -> None:
    """Allow a write only with the configured token; compared in constant time, never echoed."""
    if not settings.write_token:
        raise Forbidden("this store is read-only: writes are enabled by the operator setting write_token")
    if not presented:
        raise Unauthorized(
            "a write needs the operator's token (HTTP: Authorization: Bearer <token>; CLI: --token or KG_TOKEN)"
        )
    if not hmac.compare_digest(presented.encode("utf-8"), settings.write_token.encode("utf-8")):
        raise Forbidden("the token does not match")


def reserved_graphs(settings: Settings) -> set[URIRef]:
    """Every graph the project writes itself: the build's, the import records, and what ``kg push`` adds."""
    return {graph_iri(settings, name) for name in GRAPH_NAMES} | {
        imports_graph(settings),
        build_graph(settings.base_iri),
    }


def entailed_prefix(settings: Settings) -> str:
    """Where the graphs of imports' entailments live: the project writes them, partners may not."""
    return f"{settings.base_iri}graph/entailed/"


def entailed_graph(settings: Settings, target: URIRef) -> URIRef:
    """The graph holding what OWL RL entails from the partner graph ``target`` (and is not published
    already): written with it, replaced with it and dropped with it; its import record names the pair."""
    return URIRef(entailed_prefix(settings) + hashlib.sha256(str(target).encode()).hexdigest()[:16])


def _partner_graph(settings: Settings, graph: str) -> URIRef:
    """The partner graph named ``graph``: InputError (400, exit 2) unless an absolute IRI pyoxigraph takes,
    Forbidden (403, exit 2) for a graph the project writes, or one in its namespace for its own graphs."""
    if "://" not in graph and not graph.startswith("urn:"):
        raise InputError(f"the graph name must be an absolute IRI, not {graph!r}")
    try:
        ox.NamedNode(graph)
    except ValueError as exc:
        raise InputError(f"the graph name is not a well-formed IRI ({exc}): {graph!r}") from None
    iri = URIRef(graph)
    own = f"{settings.base_iri}graph/"
    ours = iri in reserved_graphs(settings) or graph.startswith(entailed_prefix(settings))
    if ours or (graph.startswith(own) and "/" not in graph[len(own) :]):
        raise Forbidden(
            f"<{iri}> is a graph the project writes itself (build, imports, kg push); partner data "
            f"goes into a graph of its own, e.g. {own}partner/NAME or one of the partner's IRIs"
        )
    return iri


@dataclass(frozen=True)
class ImportResult:
    graph: URIRef
    triples: int  # in the partner graph after the import
    build_id: str
    report: ValidationReport
    created: bool = False  # the graph did not exist before (decided under the write lock)


def import_data(
    settings: Settings,
    data: bytes,
    *,
    format: str,
    graph: str,
    agent: str,
    source_name: str,
    token: str | None,
    append: bool = False,
) -> ImportResult:
    """Put (or with ``append``, add) the RDF document ``data`` into the partner graph ``graph``.

    Triples of every graph in the document go into ``graph``. Nothing is written when the data does not
    parse (InputError), has SHACL violations beside the published graph (ValidationFailed with the report),
    takes longer than ``import_timeout`` to check (ImportTimeout), or finds the store's write lock held for
    long (WriterBusy). The work runs in a process of its own (``kg.exchange.import_worker``).
    """
    from kg.exchange.import_worker import run_import

    authorize(settings, token)
    target = _partner_graph(settings, graph)
    return run_import(
        settings, data=data, format=format, target=target, agent=agent, source_name=source_name, append=append
    )


#: How many times an import checks its data again when another write published meanwhile.
CHECK_ROUNDS = 3


def import_checked(
    settings: Settings,
    data: bytes,
    *,
    format: str,
    target: URIRef,
    agent: str,
    source_name: str,
    append: bool,
    deadline: float | None = None,
    announce=lambda: None,
) -> ImportResult:
    """The import, as ``kg.exchange.import_worker``'s child runs it: parse, and check beside the published version
    without the write lock; then, under the lock, publish if that version is still current (else check
    again). ``announce`` is called once the lock is held and publishing begins; ``deadline`` (monotonic)
    bounds the wait for the lock."""
    from kg.exchange.import_worker import WRITE_WAIT, WriterBusy, write_lock_within

    parsed = {
        (s, p, o) for s, p, o, _ in parse_rdf(data, format=format, base_iri=settings.base_iri, source=source_name)
    }
    store_dir = settings.path("store_dir")
    for _ in range(CHECK_ROUNDS):
        version = _current(store_dir)
        try:
            store = _in_memory_if_it_fits(EmbeddedStore(store_dir, version=version), settings)
            triples = parsed | (
                {(s, p, o) for s, p, o, _ in store.quads([target])} if append and target in store.graphs() else set()
            )
            report, entailed = _check(settings, store, triples)
        except (StoreError, OSError):
            if _current(store_dir) != version:
                continue  # two other writes published and pruned the version while it was read
            raise
        if not report.conforms:
            report = with_locations(report, [(data, format, source_name)])
            raise ValidationFailed(
                f"the data has {report.counts()['Violation']} SHACL violations; nothing was written", report=report
            )
        memory_copy = store if store.in_memory else None
        del store  # RocksDB is not held open while waiting for the lock
        wait = WRITE_WAIT if deadline is None else min(WRITE_WAIT, deadline - time.monotonic() - 0.2)
        with write_lock_within(store_dir, wait):
            if _current(store_dir) != version:
                continue  # another write published meanwhile: check against what it published
            announce()
            store = memory_copy or EmbeddedStore(store_dir, version=version)
            created = target not in set(store.graphs())
            record = _import_record(settings, target, data, agent, source_name, len(triples))
            quads = _replace_graph(settings, store, target, triples, record, entailed)
            published = publish(quads, store_dir, keep_versions=settings.keep_versions, attachments=_carried(store))
            return ImportResult(target, len(triples), published.build_id, report, created)
    raise WriterBusy(
        f"other writes published {CHECK_ROUNDS} times while this data was being checked; nothing was "
        "written: try again in a moment"
    )


def _in_memory_if_it_fits(store: EmbeddedStore, settings: Settings) -> EmbeddedStore:
    """``store`` copied into memory from its snapshot when the snapshot is within ``memory_copy_limit_mib``
    (the bound a server worker's copy keeps to), else ``store`` itself. A write reads every quad of the
    version to write the next one, and RocksDB hands them over several times as slowly as memory."""
    size = store.snapshot_bytes()
    return store.copy_in_memory() if size is not None and size <= settings.memory_copy_limit_mib << 20 else store


def _current(store_dir: Path) -> Path:
    """The published version's folder (StoreError when there is none)."""
    link = store_dir / "current"
    if not link.exists():
        raise StoreError(f"no published store in {store_dir}: run 'kg build' first")
    return link.resolve()


def drop_graph(settings: Settings, graph: str, *, token: str | None) -> str:
    """Remove a partner graph and its import record; NotFound if the store does not hold it."""
    authorize(settings, token)
    target = _partner_graph(settings, graph)
    from kg.exchange.import_worker import write_lock_within

    store_dir = settings.path("store_dir")
    with write_lock_within(store_dir):
        store = _in_memory_if_it_fits(EmbeddedStore(store_dir), settings)
        if target not in store.graphs():
            raise NotFound(f"the store holds no graph <{target}>")
        quads = _replace_graph(settings, store, target, set(), [], set())
        return publish(quads, store_dir, keep_versions=settings.keep_versions, attachments=_carried(store)).build_id


def _check(settings: Settings, store: EmbeddedStore, triples: set) -> tuple[ValidationReport, set]:
    """The report on ``triples`` beside the published version, and what they entail with the ontology and
    that version (OWL RL, domains and ranges included) that the version does not hold already."""
    data = Graph()
    for triple in triples:
        data.add(triple)
    ontology, context = load_ontology(settings), neighbourhood(store, settings, data)
    combined = set(data) | set(context)
    full: set | None
    checked: set | None
    try:  # both closures at once, the second extending the first
        full, closed = infer_closures(ontology, combined)
        checked = closed if isinstance(closed, set) else None  # a set: nothing asked to encode it
    except InconsistencyError:  # say it as the two checks one after the other would
        full, checked = None, None
    report = validate_data(
        data,
        ontology=ontology,
        shapes=load_shape_graphs(settings),
        context=context,
        base_iri=settings.base_iri,
        entailed=checked,
    )
    if not report.conforms:
        return report, set()
    entailed = (full if full is not None else infer_triples(ontology, combined)) - set(context)
    # the neighbourhood is a part of the published graph: what it did not bring may be there all the same
    curated = [graph_iri(settings, "asserted"), graph_iri(settings, "inferred")]
    published = set(store.about({s for s, _, _ in entailed}, curated))
    return report, entailed - published - set(data)


def _import_record(
    settings: Settings, target: URIRef, data: bytes, agent: str, source_name: str, count: int
) -> list[tuple]:
    """PROV-O: the partner graph was generated by an import activity, associated with an agent, that used
    the file (named, with its SHA-256)."""
    when = datetime.now(UTC).replace(microsecond=0)
    digest = hashlib.sha256(data).hexdigest()
    activity = URIRef(
        f"{settings.base_iri}import/{hashlib.sha256(f'{target} {when} {digest}'.encode()).hexdigest()[:16]}"
    )
    file = URIRef(f"{activity}/file")
    person = URIRef(f"{settings.base_iri}agent/{quote(agent, safe='')}")
    return [
        (target, RDF.type, PROV.Entity),
        (target, PROV.wasGeneratedBy, activity),
        (target, URIRef("http://rdfs.org/ns/void#triples"), Literal(count)),
        (activity, RDF.type, PROV.Activity),
        (activity, PROV.wasAssociatedWith, person),
        (activity, PROV.endedAtTime, Literal(when.isoformat(), datatype=XSD.dateTime)),
        (activity, PROV.used, file),
        (person, RDF.type, PROV.Agent),
        (person, RDFS.label, Literal(agent)),
        (file, RDF.type, PROV.Entity),
        (file, DCTERMS.title, Literal(source_name)),
        (file, SPDX_CHECKSUM, Literal(digest, datatype=XSD.hexBinary)),
    ]


def _replace_graph(
    settings: Settings, store: EmbeddedStore, target: URIRef, triples: set, record: list[tuple], entailed: set
) -> list[AnyQuad]:
    """Every quad of the store, with ``target`` holding ``triples``, its entailed graph ``entailed``, and its
    import record replaced.

    The quads kept stay pyoxigraph terms, as the store gives them: made into rdflib terms and back, they
    were half of a small import's time."""
    records, derived = imports_graph(settings), entailed_graph(settings, target)
    kept: list[AnyQuad] = list(store.export_quads([g for g in store.graphs() if g not in (target, records, derived)]))
    old_records = [q for q in store.quads([records])] if records in store.graphs() else []
    # the previous record of this graph goes: its activity hangs off the graph's wasGeneratedBy
    stale = {o for s, p, o, _ in old_records if s == target and p == PROV.wasGeneratedBy}
    stale |= {URIRef(f"{a}/file") for a in stale} | {target, derived}
    remaining = [q for q in old_records if q[0] not in stale]
    # an agent stays only while an import it made stays
    acting = {o for s, p, o, _ in remaining if p == PROV.wasAssociatedWith}
    agents = {s for s, p, o, _ in remaining if p == RDF.type and o == PROV.Agent}
    kept += [q for q in remaining if q[0] not in agents - acting]
    if entailed:
        record = [*record, (derived, RDF.type, PROV.Entity), (derived, PROV.wasDerivedFrom, target)]
    added = [(s, p, o, target) for s, p, o in triples] + [(s, p, o, derived) for s, p, o in entailed]
    return kept + added + [(s, p, o, records) for s, p, o in record]


def _carried(store: EmbeddedStore) -> dict[str, bytes]:
    """The build's validation reports, which stay true of the build's graphs after an import, and the
    vocabulary's documentation."""
    return {
        name: body
        for name in ("report.json", "report.turtle", "report.text", "report.html", VOCABULARY)
        if (body := store.attachment(name)) is not None
    }
