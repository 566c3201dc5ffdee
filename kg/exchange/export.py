"""What partners pull: the store's graphs (or a profile of them), serialised deterministically.

The same graphs give the same bytes: quads are sorted and written with one fixed prefix map, and the
store's blank-node labels are content-derived. A profile (``profiles/*.ttl``) narrows the export to
the instances of some classes and some of their properties.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SH

from kg.config import Settings
from kg.errors import InputError, NotValidated, UnsupportedFormat
from kg.exchange.dataset_description import MEDIA_TYPES, ValidationStatus, describe, validation_status
from kg.namespaces import all_prefixes
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import RDF_FORMATS, serialize_sorted
from kg.store.terms import AnyNamedQuad, AnyQuad, NamedQuad, iri_of
from kg.validation.schema_graphs import rebase

FORMATS = tuple(RDF_FORMATS)
#: Graph names a user may give instead of IRIs; "all" selects every named graph.
GRAPH_NAMES = ("ontology", "asserted", "inferred", "provenance", "shapes")
PROF = Namespace("http://www.w3.org/ns/dx/prof/")


@dataclass(frozen=True)
class Profile:
    """Instances of ``classes`` (asserted or inferred types), with only ``properties`` (all when empty)."""

    id: str
    iri: URIRef | BNode
    label: str
    classes: frozenset[URIRef]
    properties: frozenset[URIRef]

    def select(self, quads: list[NamedQuad], members: set) -> list[NamedQuad]:
        """The quads about ``members`` (the instances of the classes) with the profile's properties."""
        keep = self.properties | {RDF.type}
        return [q for q in quads if q[0] in members and (not self.properties or q[1] in keep)]


def load_profiles(folder: Path, base_iri: str) -> dict[str, Profile]:
    """The export profiles: SHACL node shapes typed prof:Profile, one sh:targetClass per class kept and one
    sh:property per property kept; the id is their dcterms:identifier. Written with the default base IRI,
    they are moved under ``base_iri`` as the ontology is."""
    written = Graph()
    for path in sorted(folder.glob("*.ttl")):
        try:
            written.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
            raise InputError(f"{path.name}: not valid Turtle ({exc})") from exc
    graph = rebase(written, base_iri)
    profiles = {}
    # a Turtle subject is an IRI or a blank node
    named = (node for node in graph.subjects(RDF.type, PROF.Profile) if isinstance(node, (URIRef, BNode)))
    for node in sorted(named):
        identifier = graph.value(node, DCTERMS.identifier)
        targets = frozenset(graph.objects(node, SH.targetClass))
        if identifier is None or not targets:
            raise InputError(f"profile {node} needs a dcterms:identifier and at least one sh:targetClass")
        classes = frozenset(c for c in targets if isinstance(c, URIRef))
        if len(classes) < len(targets):
            raise InputError(f"profile {identifier}: sh:targetClass must be a class IRI")
        properties: set[URIRef] = set()
        for shape in graph.objects(node, SH.property):
            property_path = graph.value(shape, SH.path)
            if not isinstance(property_path, URIRef):
                raise InputError(f"profile {identifier}: sh:path must be a single property IRI")
            properties.add(property_path)
        label = graph.value(node, RDFS.label) or identifier
        profiles[str(identifier)] = Profile(str(identifier), node, str(label), classes, frozenset(properties))
    return profiles


def resolve_graphs(store: EmbeddedStore, names: list[str], base_iri: str) -> list[URIRef]:
    """Graph IRIs for the names or IRIs given (``all`` or nothing: every named graph); InputError if unknown."""
    held = store.graphs()
    if not names or "all" in names:
        return held
    selected = []
    for name in names:
        iri = URIRef(f"{base_iri}graph/{name}") if name in GRAPH_NAMES else URIRef(name)
        if iri not in held:
            raise InputError(
                f"the store holds no graph {name!r}; choose among all, {', '.join(GRAPH_NAMES)} or a graph IRI"
            )
        selected.append(iri)
    return selected


def export_quads(store: EmbeddedStore, graphs: list[URIRef], profile: Profile | None = None) -> Sequence[AnyNamedQuad]:
    """The quads to export; their terms are pyoxigraph's where the store can give them (the embedded store,
    without a profile), rdflib's otherwise. ``serialize`` takes either."""
    if profile is None:
        return list(store.export_quads(graphs) if hasattr(store, "export_quads") else store.quads(graphs))
    # membership counts inferred types too, whichever graphs are exported
    return profile.select(list(store.quads(graphs)), store.instances(profile.classes))


def serialize(quads: Sequence[AnyQuad], *, format: str, base_iri: str) -> bytes:
    """``quads`` in ``format``, deterministically; formats without graph names merge the graphs."""
    if format not in FORMATS:
        raise UnsupportedFormat(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    return serialize_sorted(quads, format, prefixes=export_prefixes(quads, base_iri))


def export_prefixes(quads: Sequence[AnyQuad], base_iri: str) -> dict[str, str]:
    """The fixed prefix map, with one prefix per folder of minted identifiers in the data (``park:`` for
    ``id/park/``, ``geometry-region:`` for ``id/geometry/region/``) in place of ``id:``, whose local
    names would need escaped slashes."""
    prefixes = all_prefixes(base_iri)
    ids = prefixes.pop("id")
    iris = {iri for quad in quads for term in quad[:3] if (iri := iri_of(term)) is not None}
    folders = {iri[len(ids) :].rsplit("/", 1)[0] for iri in iris if iri.startswith(ids) and "/" in iri[len(ids) :]}
    for folder in sorted(folders):
        name = folder.replace("/", "-")
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_]", name) and name not in prefixes:
            prefixes[name] = f"{ids}{folder}/"
    return prefixes


def export(
    store: EmbeddedStore, *, format: str, graphs: list[URIRef] | None, base_iri: str, profile: Profile | None = None
) -> bytes:
    """Serialise ``graphs`` (default: every named graph), narrowed to ``profile`` if given."""
    return serialize(
        export_quads(store, graphs if graphs is not None else store.graphs(), profile), format=format, base_iri=base_iri
    )


@dataclass(frozen=True)
class Dump:
    payload: bytes
    description: bytes  # VoID/DCAT Turtle describing ``payload``
    status: ValidationStatus
    media_type: str


def dump(
    settings: Settings,
    *,
    format: str,
    graphs: list[str] | None = None,
    profile_id: str | None = None,
    force: bool = False,
    store: EmbeddedStore | None = None,
    download_url: str | None = None,
    endpoint_url: str | None = None,
) -> Dump:
    """An export of the published store with its description; NotValidated unless it passed or ``force``."""
    store = store or EmbeddedStore(settings.path("store_dir"))
    status = validation_status(store)
    if not status.passed and not force:
        why = (
            f"did not pass validation ({status.violations} violations)"
            if status.known
            else "carries no validation report"
        )
        raise NotValidated(f"build {store.build_id} {why}; it is not exported unless forced (--force)")
    profile = None
    if profile_id:
        profiles = load_profiles(settings.path("profiles_dir"), settings.base_iri)
        if profile_id not in profiles:
            raise InputError(f"no export profile {profile_id!r}; choose one of {', '.join(profiles)}")
        profile = profiles[profile_id]
    selected = resolve_graphs(store, graphs or [], settings.base_iri)
    quads = export_quads(store, selected, profile)
    payload = serialize(quads, format=format, base_iri=settings.base_iri)
    description = describe(
        store,
        payload=payload,
        format=format,
        quads=quads,
        graphs=selected,
        status=status,
        base_iri=settings.base_iri,
        license=settings.dataset_license,
        profile=profile.iri if profile else None,
        download_url=download_url,
        endpoint_url=endpoint_url,
    )
    return Dump(payload, description, status, MEDIA_TYPES[format])
