"""A fast OWL 2 RL forward chainer for the fragment of OWL that the ontology uses, with owlrl as its reference.

owlrl re-reads the whole graph once per cycle and runs every rule on every triple, which is linear per cycle
but slow in Python on large graphs. Here the schema (the scm-* rules, over a few thousand triples) is
closed first, then compiled into lookup tables: superclasses, superproperties, domains, ranges, inverses,
symmetric, transitive and chain properties, intersections and disjointness. The instance triples then pass
once through a work list; a triple is indexed when it is found, so a join of two triples is made when the
later of them is taken from the list.

Outside the fragment (``unsupported`` names the constructs) the caller uses owlrl. Should instance rules
derive schema triples (a range of owl:Class, say), the schema is closed again with them and the instances
pass through the new tables. Datatype handling follows owlrl's OWL RL semantics as configured in
kg.reasoning.entailments (no datatype axioms), using owlrl's own datatype tables, but for which literals
are ill-formed (``literal_problem``). tests/test_rules.py checks the closures are identical.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable

from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.OWLRL import OWLRL_Annotation_properties
from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes
from rdflib import Literal
from rdflib.term import Node

from kg.rdf_terms import OWL, RDF, RDFS, XSD
from kg.reasoning.owl_rl_schema import (
    LIST_CELLS,
    Unsupported,
    close_schema,
    is_schema,
    list_items,
    schema_of,
    unsupported,
)

Triple = tuple[Node, Node, Node]

TYPE, SUBCLASS, SUBPROPERTY = RDF.type, RDFS.subClassOf, RDFS.subPropertyOf


class _Rules:
    """The instance rules compiled from a closed schema: for each predicate or class, what follows."""

    def __init__(self, schema: set[Triple]):
        first = {s: o for s, p, o in schema if p == RDF.first}
        rest = {s: o for s, p, o in schema if p == RDF.rest}
        self.superclasses, self.superproperties = defaultdict(set), defaultdict(set)
        self.domains, self.ranges, self.inverses = defaultdict(set), defaultdict(set), defaultdict(set)
        self.symmetric, self.transitive = set(), set()
        self.chains: list[tuple[Node, list[Node]]] = []
        self.intersections: dict[Node, list[tuple[Node, list[Node]]]] = defaultdict(list)
        self.disjoint: set[tuple[Node, Node]] = set()
        for s, p, o in schema:
            if p == SUBCLASS and s != o:  # cax-sco (cax-eqc1/2 through scm-eqc1)
                self.superclasses[s].add(o)
            elif p == SUBPROPERTY and s != o:  # prp-spo1 (prp-eqp1/2 through scm-eqp1)
                self.superproperties[s].add(o)
            elif p == RDFS.domain:
                self.domains[s].add(o)
            elif p == RDFS.range:
                self.ranges[s].add(o)
            elif p == OWL.inverseOf:
                self.inverses[s].add(o)
                self.inverses[o].add(s)
            elif p == TYPE and o == OWL.SymmetricProperty:
                self.symmetric.add(s)
            elif p == TYPE and o == OWL.TransitiveProperty:
                self.transitive.add(s)
            elif p == OWL.propertyChainAxiom:
                chain = list_items(o, first, rest)
                if chain:
                    self.chains.append((s, chain))
            elif p == OWL.intersectionOf:
                members = list_items(o, first, rest)
                for member in members:
                    self.intersections[member].append((s, members))
            elif p == OWL.disjointWith:
                self.disjoint.add((s, o))
            elif p == OWL.members and (s, TYPE, OWL.AllDisjointClasses) in schema:
                members = list_items(o, first, rest)
                self.disjoint.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
        #: properties whose triples take part in joins, and so are indexed by subject and by object
        self.joined = set(self.transitive) | {p for _, chain in self.chains for p in chain}
        self.chains_through: dict[Node, list[tuple[Node, list[Node], int]]] = defaultdict(list)
        for target, chain in self.chains:
            for position, p in enumerate(chain):
                self.chains_through[p].append((target, chain, position))


#: owlrl's list as a set: a lookup per triple instead of up to 36 comparisons, each a Python call
_RL_DATATYPES = frozenset(OWL_RL_Datatypes)


def _literal_typing(triples: Iterable[Triple], problems: list[str]) -> set[Triple]:
    """owlrl's one-time datatype rules: dt-type2 (with subsumptions), dt-not-type, dt-type1 and the
    disjointness of the datatypes in use."""
    found: set[Triple] = {(dt, TYPE, RDFS.Datatype) for dt in OWL_RL_Datatypes}
    used: set[Node] = set()
    literals: set[Literal] = set()
    typed: defaultdict[Node, set[Node]] = defaultdict(set)
    for s, p, o in triples:
        if isinstance(o, Literal) and o.datatype in _RL_DATATYPES:
            literals.add(o)
        elif p == TYPE and o in _RL_DATATYPES:  # a resource typed with a datatype
            typed[s].add(o)
    for node, datatypes in typed.items():
        used.update(datatypes)
        if node not in literals:
            for datatype in datatypes:
                found.add((datatype, TYPE, RDFS.Datatype))
                for wider in OWL_Datatype_Subsumptions.get(datatype, ()):
                    found.update({(node, TYPE, wider), (wider, TYPE, RDFS.Datatype)})
                    used.add(wider)
    for literal in literals:
        literal_type = literal.datatype
        assert literal_type is not None  # only literals of an OWL RL datatype were collected
        used.add(literal_type)
        found.add((literal, TYPE, literal_type))
        problem = literal_problem(literal)
        if problem is not None:
            problems.append(problem)
        for wider in OWL_Datatype_Subsumptions.get(literal_type, ()):
            found.update({(literal, TYPE, wider), (wider, TYPE, RDFS.Datatype)})
            used.add(wider)
    found.update(t for t in OWLRL_Datatypes_Disjointness if t[0] in used and t[2] in used)
    return found


#: XSD 1.1's lexical spaces of the decimal and floating-point types. owlrl's own check of these refuses a
#: valid zero, INF or NaN of xsd:double and xsd:float (it tests the value against a range that leaves zero
#: out), lets Python's Decimal take "NaN" or "1_000" for an xsd:decimal, and raises on "x"^^xsd:decimal.
_LEXICAL = {
    XSD.decimal: re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
    XSD.double: re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee][+-]?[0-9]+)?|[+-]?INF|NaN"),
}
_LEXICAL[XSD.float] = _LEXICAL[XSD.double]


#: How each of ``literal_problem``'s answers begins (owlrl's words, which its own check uses too).
LITERAL_PROBLEM = "Lexical value of the literal"


def literal_problem(literal: Literal) -> str | None:
    """Why ``literal``'s text is not a value of its OWL RL datatype (rule dt-not-type, in owlrl's words), or
    None: the numbers by XSD's lexical forms, other datatypes by owlrl's converters."""
    datatype = literal.datatype
    pattern = _LEXICAL.get(datatype)  # type: ignore[arg-type]  # None (a plain literal) is simply absent
    if pattern is not None:
        ok = pattern.fullmatch(str(literal)) is not None
    else:
        try:
            AltXSDToPYTHON.get(datatype, str)(str(literal))
            ok = True
        except (ValueError, ArithmeticError, IndexError):  # IndexError: owlrl's on an empty xsd:date
            ok = False
    return None if ok else f"{LITERAL_PROBLEM} '{literal}' does not match its datatype ({datatype})"


def literal_problems(triples: Iterable[Triple]) -> list[str]:
    """``literal_problem`` for each literal of an OWL RL datatype in ``triples``."""
    found = {o for _, _, o in triples if isinstance(o, Literal) and o.datatype in _RL_DATATYPES}
    return sorted(problem for problem in map(literal_problem, found) if problem is not None)


def one_time_triples(triples: Iterable[Triple]) -> tuple[set[Triple], list[str]]:
    """What owlrl's one-time rules add (datatypes, annotation properties), and the problems they find.

    They read only literals, resources typed with a datatype and the annotation properties, so two
    closures of triples alike in those (with and without domain and range axioms) can share them.
    """
    problems: list[str] = []
    found = _literal_typing(triples, problems) | {
        (p, TYPE, OWL.AnnotationProperty) for p in OWLRL_Annotation_properties
    }  # prp-ap
    return found, problems


def closure(
    triples: Iterable[Triple], *, one_time: tuple[set[Triple], list[str]] | None = None
) -> tuple[set[Triple], list[str]]:
    """The OWL RL closure of ``triples`` and the inconsistencies found (owlrl's messages).

    ``one_time`` is ``one_time_triples`` of these triples, when the caller has it already.
    Raises Unsupported when the triples use a construct outside the fragment.
    """
    given = set(triples)
    missing = unsupported(given)
    if missing:
        raise Unsupported("the fast reasoner does not implement " + ", ".join(missing))
    one_time_found, found_problems = one_time if one_time is not None else one_time_triples(given)
    problems = list(found_problems)
    known = given | one_time_found
    schema: set[Triple] | None = None
    while True:  # ends: each round adds schema triples, of which there are finitely many
        found = schema_of(known)
        if schema is not None and found <= schema:
            break
        schema = close_schema(found)
        rules = _Rules(schema)
        known |= schema
        _forward(known, rules)  # instances may make schema (a range of owl:Class): then close again
    problems += _inconsistencies(known, rules)
    return known, problems


#: The axioms ``extend`` adds: they change only the domain and range tables of the compiled rules.
_DOMAIN_AND_RANGE = frozenset({RDFS.domain, RDFS.range})


def extend(closed: set[Triple], axioms: Iterable[Triple]) -> tuple[set[Triple], list[str]]:
    """Close ``closed`` (a result of ``closure``) again with rdfs:domain and rdfs:range ``axioms`` added,
    in place; return the triples this added and the inconsistencies of the new closure.

    Equal to ``closure`` of the input with the axioms, for less work: the other tables compiled from the
    schema stay as they were (scm-dom and scm-rng derive only domain and range axioms), so every rule
    but prp-dom and prp-rng has been applied to ``closed`` already, and only the types those two add,
    and what follows from them, are new.
    """
    axioms = set(axioms)
    if any(p not in _DOMAIN_AND_RANGE for _, p, _ in axioms):
        raise ValueError("extend adds only rdfs:domain and rdfs:range axioms")
    added = axioms - closed
    closed |= added
    schema = close_schema(schema_of(closed))
    rules = _Rules(schema)
    added |= schema - closed
    closed |= added
    typed = _domain_and_range_types(closed, rules)
    closed |= typed
    added |= typed
    found: list[Triple] = []
    _forward(closed, rules, queue=list(added), found=found)
    # instances that made schema (a range of owl:Class, say) are among the new triples: then as ``closure``
    while (
        any(is_schema(t) or t[1] in LIST_CELLS for t in itertools.chain(added, found))
        and not schema_of(closed) <= schema
    ):
        schema = close_schema(schema_of(closed))
        rules = _Rules(schema)
        found.extend(schema - closed)
        closed |= schema
        _forward(closed, rules, found=found)
    added.update(found)
    return added, _inconsistencies(closed, rules)


def _domain_and_range_types(closed: set[Triple], rules: _Rules) -> set[Triple]:
    """What prp-dom and prp-rng add to ``closed``.

    Made of the graph's own term objects: rdflib compares two equal terms in Python, unless they are
    one object, and most of these types are in the graph already.
    """
    same: dict[Node, Node] = {}
    for _, p, _ in closed:
        same.setdefault(p, p)
    type_ = same.get(TYPE, TYPE)
    for _, p, o in closed:
        if p is type_:
            same.setdefault(o, o)
    domains = {same.get(p, p): [same.get(c, c) for c in classes] for p, classes in rules.domains.items()}
    ranges = {same.get(p, p): [same.get(c, c) for c in classes] for p, classes in rules.ranges.items()}
    typed: set[Triple] = set()
    for s, p, o in closed:
        if p in domains:
            typed.update((s, type_, c) for c in domains[p])
        if p in ranges:
            typed.update((o, type_, c) for c in ranges[p])
    return typed - closed


def _forward(
    known: set[Triple], rules: _Rules, queue: list[Triple] | None = None, found: list[Triple] | None = None
) -> None:
    """Apply the compiled instance rules to every triple of ``known`` (or only to ``queue``: the triples
    just added to a closure, whose other triples have had them applied), adding what follows to it (and
    to ``found``), to a fixpoint."""
    by_subject: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    by_object: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    joined = rules.joined
    for s, p, o in known:
        if p in joined:
            by_subject[p][s].add(o)
            by_object[p][o].add(s)
    superclasses, superproperties = rules.superclasses, rules.superproperties
    domains, ranges, inverses = rules.domains, rules.ranges, rules.inverses
    symmetric, transitive, chains_through = rules.symmetric, rules.transitive, rules.chains_through
    intersections = rules.intersections
    queue = list(known) if queue is None else queue
    while queue:
        s, p, o = queue.pop()
        out: list[Triple] = []
        if p == TYPE:
            out.extend((s, TYPE, c) for c in superclasses.get(o, ()))
            for target, members in intersections.get(o, ()):  # cls-int1
                if all((s, TYPE, c) in known for c in members):
                    out.append((s, TYPE, target))
        out.extend((s, TYPE, c) for c in domains.get(p, ()))  # prp-dom
        out.extend((o, TYPE, c) for c in ranges.get(p, ()))  # prp-rng
        out.extend((s, q, o) for q in superproperties.get(p, ()))  # prp-spo1
        out.extend((o, q, s) for q in inverses.get(p, ()))  # prp-inv1/2
        if p in symmetric:  # prp-symp
            out.append((o, p, s))
        if p in transitive:  # prp-trp
            out.extend((s, p, z) for z in by_subject[p].get(o, ()))
            out.extend((w, p, o) for w in by_object[p].get(s, ()))
        for target, chain, position in chains_through.get(p, ()):  # prp-spo2
            out.extend(
                (x, target, z)
                for x in _walk(s, chain[:position][::-1], by_object)
                for z in _walk(o, chain[position + 1 :], by_subject)
            )
        for triple in out:
            if triple not in known:
                known.add(triple)
                queue.append(triple)
                if found is not None:
                    found.append(triple)
                if triple[1] in joined:
                    by_subject[triple[1]][triple[0]].add(triple[2])
                    by_object[triple[1]][triple[2]].add(triple[0])


def _walk(start: Node, properties: list[Node], index) -> set[Node]:
    """The nodes reached from ``start`` along ``properties`` in the direction ``index`` follows."""
    frontier = {start}
    for p in properties:
        frontier = {n for node in frontier for n in index[p].get(node, ())}
        if not frontier:
            break
    return frontier


def _inconsistencies(known: set[Triple], rules: _Rules) -> list[str]:
    """cax-dw, cax-adc and cls-nothing2, in owlrl's words."""
    types: dict[Node, set[Node]] = defaultdict(set)
    for s, p, o in known:
        if p == TYPE:
            types[o].add(s)
    problems = [f"{x} is defined of type 'Nothing'" for x in types.get(OWL.Nothing, ())]
    for a, b in rules.disjoint:
        for x in types.get(a, set()) & types.get(b, set()):
            problems.append(f"Disjoint classes {a} and {b} have a common individual {x}")
    return sorted(problems)
