"""The schema side of the OWL RL reasoner (kg.reasoning.owl_rl): which triples are schema, which OWL
constructs the reasoner does not implement, and the closure of the schema under the scm-* rules, which the
reasoner then compiles into lookup tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib.term import Node

from kg.rdf_terms import OWL, RDF, RDFS

Triple = tuple[Node, Node, Node]

TYPE, SUBCLASS, SUBPROPERTY = RDF.type, RDFS.subClassOf, RDFS.subPropertyOf

PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property)

#: Predicates whose triples make up the schema that the scm-* rules close and the engine compiles.
SCHEMA_PREDICATES = frozenset(
    {
        SUBCLASS,
        SUBPROPERTY,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        RDFS.domain,
        RDFS.range,
        OWL.inverseOf,
        OWL.propertyChainAxiom,
        OWL.unionOf,
        OWL.intersectionOf,
        OWL.disjointWith,
        OWL.members,
        RDF.first,
        RDF.rest,
    }
)
#: Classes whose instances are schema: properties with a characteristic, classes, disjointness axioms.
SCHEMA_CLASSES = frozenset(
    {
        OWL.Class,
        *PROPERTY_TYPES,
        OWL.TransitiveProperty,
        OWL.SymmetricProperty,
        OWL.AllDisjointClasses,
    }
)
#: OWL RL constructs the engine does not implement (equality, restrictions, keys, property axioms that
#: only check consistency); a graph using any of them is reasoned over by owlrl.
UNSUPPORTED_PREDICATES = frozenset(
    {
        OWL.sameAs,
        OWL.differentFrom,
        OWL.someValuesFrom,
        OWL.allValuesFrom,
        OWL.hasValue,
        OWL.maxCardinality,
        OWL.maxQualifiedCardinality,
        OWL.oneOf,
        OWL.hasKey,
        OWL.complementOf,
        OWL.propertyDisjointWith,
        OWL.sourceIndividual,
        OWL.distinctMembers,
    }
)
UNSUPPORTED_CLASSES = frozenset(
    {
        OWL.FunctionalProperty,
        OWL.InverseFunctionalProperty,
        OWL.IrreflexiveProperty,
        OWL.AsymmetricProperty,
        OWL.AllDifferent,
        OWL.AllDisjointProperties,
        OWL.NegativePropertyAssertion,
    }
)


class Unsupported(Exception):
    """The graph needs a rule this engine does not implement; use owlrl."""


def unsupported(triples: Iterable[Triple]) -> list[str]:
    """The constructs in ``triples`` that the engine does not implement (empty: the engine applies)."""
    found = set()
    for _, p, o in triples:
        if p in UNSUPPORTED_PREDICATES:
            found.add(p.n3())
        elif p == TYPE and o in UNSUPPORTED_CLASSES:
            found.add(o.n3())
    return sorted(found)


def is_schema(triple: Triple) -> bool:
    return triple[1] in SCHEMA_PREDICATES or (triple[1] == TYPE and triple[2] in SCHEMA_CLASSES)


LIST_CELLS = frozenset({RDF.first, RDF.rest})
LIST_VALUED = frozenset({OWL.unionOf, OWL.intersectionOf, OWL.propertyChainAxiom, OWL.members})


def schema_of(known: set[Triple]) -> set[Triple]:
    """The schema triples of ``known``, with only the list cells that the schema's own lists are made of.

    The rules read a list only where a union, intersection, chain or disjointness axiom names it, so a
    partner document's long list costs the schema closure nothing.
    """
    schema: set[Triple] = set()
    cells: dict[Node, list[Triple]] = defaultdict(list)
    for triple in known:
        if triple[1] in LIST_CELLS:
            cells[triple[0]].append(triple)
        elif is_schema(triple):
            schema.add(triple)
    pending, reached = [o for _, p, o in schema if p in LIST_VALUED], set()
    while pending:
        node = pending.pop()
        if node in reached:
            continue
        reached.add(node)
        for cell in cells.get(node, ()):
            schema.add(cell)
            if cell[1] == RDF.rest:
                pending.append(cell[2])
    return schema


def list_items(head: Node, first: dict[Node, Node], rest: dict[Node, Node]) -> list[Node]:
    """The members of an rdf:List (bounded by the number of cells, so a cyclic list ends)."""
    members, node = [], head
    for _ in range(len(rest) + 1):
        if node == RDF.nil or node not in first:
            break
        members.append(first[node])
        node = rest.get(node, RDF.nil)
    return members


def close_schema(schema: set[Triple]) -> set[Triple]:
    """The schema with the scm-* rules (and cls-thing, cls-nothing) applied to a fixpoint, as owlrl does."""
    closed = set(schema) | {(OWL.Thing, TYPE, OWL.Class), (OWL.Nothing, TYPE, OWL.Class)}
    while True:
        objects, subjects = defaultdict(set), defaultdict(set)
        first, rest = {}, {}
        for s, p, o in closed:
            objects[s, p].add(o)
            subjects[p, o].add(s)
            if p == RDF.first:
                first[s] = o
            elif p == RDF.rest:
                rest[s] = o
        new: set[Triple] = set()
        for s, p, o in closed:
            if p == TYPE and o == OWL.Class:  # scm-cls
                new.update(
                    {
                        (s, SUBCLASS, s),
                        (s, OWL.equivalentClass, s),
                        (s, SUBCLASS, OWL.Thing),
                        (OWL.Nothing, SUBCLASS, s),
                    }
                )
            elif p == TYPE and o in PROPERTY_TYPES:  # scm-op, scm-dp
                new.update({(s, SUBPROPERTY, s), (s, OWL.equivalentProperty, s)})
            elif p in (SUBCLASS, SUBPROPERTY):  # scm-sco, scm-spo, scm-eqc2, scm-eqp2
                if p == SUBPROPERTY and s == o:
                    continue
                equivalent = OWL.equivalentClass if p == SUBCLASS else OWL.equivalentProperty
                if s != o:
                    new.update((s, p, c) for c in objects[o, p] if c != s)
                if s in objects[o, p]:
                    new.add((s, equivalent, o))
            elif p in (OWL.equivalentClass, OWL.equivalentProperty) and s != o:  # scm-eqc1, scm-eqp1
                sub = SUBCLASS if p == OWL.equivalentClass else SUBPROPERTY
                new.update({(s, sub, o), (o, sub, s)})
            elif p in (RDFS.domain, RDFS.range):  # scm-dom1/2, scm-rng1/2
                new.update((s, p, c) for c in objects[o, SUBCLASS] if c != o)
                new.update((q, p, o) for q in subjects[SUBPROPERTY, s] if q != s)
            elif p == OWL.intersectionOf:  # scm-int
                new.update((s, SUBCLASS, c) for c in list_items(o, first, rest))
            elif p == OWL.unionOf:  # scm-uni
                new.update((c, SUBCLASS, s) for c in list_items(o, first, rest))
        new -= closed
        if not new:
            return closed
        closed |= new
