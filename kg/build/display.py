"""Display labels: the one English name each entity is shown under, told apart where names collide.

Two Suzhous and two Taizhous share their English names, and so do a title and the organisation it names,
or a post and its role. Sources give the names; a build derives from them one ``yrd:displayLabel`` per
entity with an English label, published in the inferred graph (derived, never asserted): the label itself
where no other entity's label is the same (ignoring case), else the label with a qualifier the graph states
for certain: a region's province or municipality (``Suzhou (Anhui)``), a title's holder, a post's holder
and organisation or place, and otherwise the entity's class. What is still ambiguous gets its identifier.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.validation.schema_graphs import DEFAULT_BASE

ORG = "http://www.w3.org/ns/org#"
TOP_LEVELS = ("province", "municipality")


def _names(triples: Iterable[tuple]) -> dict:
    """Each subject's English rdfs:label (the least, where a source gives two)."""
    english = defaultdict(set)
    for s, p, o in triples:
        if p == RDFS.label and isinstance(o, Literal) and o.language == "en":
            english[s].add(str(o))
    return {node: min(labels) for node, labels in english.items()}


def _by_name(shown: dict) -> list[list]:
    """The groups of entities whose shown texts are the same ignoring case (two or more)."""
    groups = defaultdict(list)
    for node, text in shown.items():
        groups[text.casefold()].append(node)
    return [nodes for nodes in groups.values() if len(nodes) > 1]


class _Qualifiers:
    """What tells colliding entities apart, read in one pass over the triples about them only (a large
    graph has few collisions, so the pass keeps little)."""

    def __init__(
        self, colliding: set, shown: dict, triples: Iterable[tuple[tuple, bool]], ontology: Iterable[tuple], yrd: str
    ):
        self.shown, self.yrd = shown, yrd
        self.types: dict = defaultdict(set)
        self.asserted_types: dict = defaultdict(set)  # the classes a table names, the most specific
        self.objects: dict = defaultdict(set)  # (subject, predicate) -> objects
        self.tops: set = set()  # provinces and municipalities
        wanted = {
            URIRef(yrd + "partOf"),
            URIRef(yrd + "titleHolder"),
            URIRef(yrd + "postIn"),
            URIRef(ORG + "member"),
            URIRef(ORG + "organization"),
        }
        level = URIRef(yrd + "adminLevel")
        for (s, p, o), stated in triples:
            if p == level and str(o) in TOP_LEVELS:
                self.tops.add(s)
            elif s not in colliding:
                continue
            elif p == RDF.type:
                self.types[s].add(o)
                if stated:
                    self.asserted_types[s].add(o)
            elif p in wanted:
                self.objects[s, p].add(o)
        self.class_labels = _names(ontology)

    def related(self, node, local: str, namespace: str | None = None) -> list[str]:
        found = self.objects.get((node, URIRef((namespace or self.yrd) + local)), ())
        return [self.shown[n] for n in sorted(found, key=str) if n in self.shown]

    def of(self, node) -> str:
        """The first certain fact of the entity's kind that tells it apart; its class where none is stated."""
        kinds, name = self.types.get(node, set()), self.shown[node].casefold()
        if URIRef(self.yrd + "Region") in kinds:
            found = self.objects.get((node, URIRef(self.yrd + "partOf")), ())
            tops = sorted(self.shown[up] for up in found if up in self.tops and up in self.shown)
            if tops:
                return tops[0]
        if URIRef(self.yrd + "Title") in kinds:
            holders = [text for text in self.related(node, "titleHolder") if text.casefold() != name]
            if holders:
                return holders[0]
        if URIRef(ORG + "Membership") in kinds:
            where = self.related(node, "organization", ORG) + self.related(node, "postIn")
            parts = self.related(node, "member", ORG)[:1] + where[:1]
            if parts:
                return ", ".join(parts)
        classes = sorted(
            self.class_labels.get(c) or str(c).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            for c in self.asserted_types.get(node) or kinds
        )
        return classes[0] if classes else "entity"


def display_labels(
    asserted: Iterable[tuple], inferred: Iterable[tuple], ontology: Iterable[tuple], base_iri: str = DEFAULT_BASE
) -> set[tuple]:
    """One ``yrd:displayLabel`` triple (an English literal) per entity with an English rdfs:label in
    ``asserted``. ``asserted`` and ``inferred`` are read twice (sets or graphs)."""
    yrd = base_iri + "ontology#"
    shown = _names(asserted)
    colliding = {node for group in _by_name(shown) for node in group}
    stated = itertools.chain(((t, True) for t in asserted), ((t, False) for t in inferred))
    qualifiers = _Qualifiers(colliding, shown, stated, ontology, yrd)
    region = URIRef(yrd + "Region")
    # regions first, so that a post in Suzhou is qualified by "Suzhou (Jiangsu)"
    for regions in (True, False):
        shown.update(
            {
                node: f"{shown[node]} ({qualifiers.of(node)})"
                for node in sorted(colliding, key=str)
                if (region in qualifiers.types.get(node, ())) == regions
            }
        )
    # whatever a qualifier left the same (or made equal to another name) is told apart by its identifier
    for group in _by_name(shown):
        for node in group:
            shown[node] += f" [{str(node).removeprefix(base_iri + 'id/')}]"
    predicate = URIRef(yrd + "displayLabel")
    return {(node, predicate, Literal(text, lang="en")) for node, text in shown.items()}
