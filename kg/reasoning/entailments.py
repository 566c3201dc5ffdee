"""OWL RL reasoning: the entailments of the ontology and the asserted facts, kept apart from both.

The fast engine (kg.reasoning.owl_rl) reasons whenever the graph stays inside the fragment it implements; otherwise,
or when asked, owlrl does. This is the only module that runs owlrl's closure (it changes rdflib's global
state while it runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import owlrl
import rdflib.term
from rdflib import BNode, Graph, URIRef

from kg.errors import InconsistencyError
from kg.namespaces import W3C_PREFIXES
from kg.rdf_terms import OWL, RDF, RDFS, SKOS
from kg.reasoning import owl_rl
from kg.reasoning.owl_rl import Triple

#: owlrl reports inconsistencies by adding triples in this namespace instead of raising.
OWLRL_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")
_REFLEXIVE = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource}


_VOCABULARIES = tuple(W3C_PREFIXES.values())
#: Annotations have no OWL RL semantics; leaving them out of the reasoner's input saves much of its time
#: on small graphs, where they are a large part of the input.
_ANNOTATIONS = {
    RDFS.label,
    RDFS.comment,
    RDFS.isDefinedBy,
    RDFS.seeAlso,
    OWL.versionInfo,
    SKOS.prefLabel,
    SKOS.altLabel,
    SKOS.definition,
    SKOS.scopeNote,
    SKOS.editorialNote,
    SKOS.example,
}
_ANNOTATION_NAMESPACES = (W3C_PREFIXES["dcterms"], W3C_PREFIXES["vann"])


def _reasoned(triple) -> bool:
    """Whether a triple can take part in an OWL RL rule (annotations cannot)."""
    return triple[1] not in _ANNOTATIONS and not str(triple[1]).startswith(_ANNOTATION_NAMESPACES)


def _is_trivial(s, p, o) -> bool:
    if not isinstance(s, URIRef) or isinstance(o, BNode) or isinstance(p, BNode):
        return True  # list cells, restriction nodes and literal subjects are artefacts of the rules
    if str(s).startswith(_VOCABULARIES):
        return True  # axioms about the W3C vocabularies themselves
    if p in _REFLEXIVE and s == o:
        return True
    return p == RDF.type and o in _TRIVIAL_TYPES


ENGINES = ("auto", "fast", "owlrl")
log = logging.getLogger(__name__)


def infer(ontology: Graph, asserted: Graph, *, domains_and_ranges: bool = True, engine: str = "auto") -> Graph:
    """The OWL RL entailments of ontology + asserted that are neither of them, nor trivial, as a Graph."""
    inferred = Graph()
    for triple in infer_triples(ontology, asserted, domains_and_ranges=domains_and_ranges, engine=engine):
        inferred.add(triple)
    return inferred


def infer_triples(
    ontology: Iterable[Triple], asserted: Iterable[Triple], *, domains_and_ranges: bool = True, engine: str = "auto"
) -> set[Triple]:
    """The OWL RL entailments of ontology + asserted that are neither of them, nor trivial.

    With ``domains_and_ranges`` False the ontology's rdfs:domain and rdfs:range axioms are left out: that
    closure is what SHACL checks, so that a value of the wrong kind is reported rather than silently typed
    by a range axiom (open-world inference would make every ``sh:class`` constraint pass).
    ``engine`` "fast" insists on kg.reasoning.owl_rl (Unsupported outside its fragment), "owlrl" on owlrl, and "auto"
    takes the fast engine where it applies. Raises InconsistencyError when the closure is inconsistent (an
    owlrl error message, or an individual typed owl:Nothing).
    """
    ontology, asserted = set(ontology), set(asserted)
    return _entailments(_given(ontology, asserted, domains_and_ranges), ontology, asserted, engine)


def infer_closures(
    ontology: Iterable[Triple],
    asserted: Iterable[Triple],
    *,
    engine: str = "auto",
    encode: Callable[[set[Triple]], bytes] | None = None,
) -> tuple[set[Triple], set[Triple] | bytes]:
    """``infer_triples`` with and without the domain and range axioms, as a build needs both.

    The fast engine closes the graph without the domain and range axioms, then extends that closure with
    them (``kg.reasoning.owl_rl.extend``), so the rules common to both run once instead of twice.
    Given ``encode``, the closure without them is returned as ``encode`` makes it.
    """
    ontology, asserted = set(ontology), set(asserted)
    full, checked_given = (_given(ontology, asserted, flag) for flag in (True, False))
    if engine == "owlrl" or (engine == "auto" and owl_rl.unsupported(full)):
        checked = _entailments(checked_given, ontology, asserted, engine)
        return _entailments(full, ontology, asserted, engine), encode(checked) if encode else checked
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}; choose one of {', '.join(ENGINES)}")
    one_time = owl_rl.one_time_triples(checked_given)
    closed, _ = owl_rl.closure(checked_given, one_time=one_time)
    keep = _entailed(ontology, asserted)
    checked = {t for t in closed if keep(t)}
    encoded = encode(checked) if encode else checked
    added, problems = owl_rl.extend(closed, full - checked_given)
    del closed
    # the closure with the axioms holds the one without: its problems are all the problems
    problems = one_time[1] + problems
    if problems:
        raise InconsistencyError("OWL RL reasoning found the graph inconsistent", details=sorted(problems))
    inferred = checked if encode else set(checked)  # the encoded closure no longer needs its set
    inferred.update(t for t in added if keep(t))
    return inferred, encoded


def _given(ontology: set[Triple], asserted: set[Triple], domains_and_ranges: bool) -> set[Triple]:
    given = {t for t in ontology if _reasoned(t) and (domains_and_ranges or t[1] not in (RDFS.domain, RDFS.range))}
    given.update(t for t in asserted if _reasoned(t))
    return given


def _entailments(given: set[Triple], ontology: set[Triple], asserted: set[Triple], engine: str) -> set[Triple]:
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}; choose one of {', '.join(ENGINES)}")
    closure: set[Triple] | None = None
    problems: list[str] = []
    if engine != "owlrl":
        try:
            closure, problems = owl_rl.closure(given)
        except owl_rl.Unsupported as exc:
            if engine == "fast":
                raise
            log.info("reasoning with owlrl: %s", exc)
    if closure is None:
        closure, problems = _owlrl_closure(given)
    if problems:
        raise InconsistencyError("OWL RL reasoning found the graph inconsistent", details=sorted(problems))
    keep = _entailed(ontology, asserted)
    return {t for t in closure if keep(t)}


def _entailed(ontology: set[Triple], asserted: set[Triple]) -> Callable[[Triple], bool]:
    """Whether a triple of a closure is an entailment: the input (annotations included) is not, nor is
    anything trivial."""
    return lambda t: t not in asserted and t not in ontology and not _is_trivial(*t)


def _owlrl_closure(given: set[Triple]) -> tuple[set[Triple], list[str]]:
    # literals are judged as the fast engine judges them (owl_rl.literal_problem): owlrl's own check refuses
    # valid numbers (a zero xsd:double) and raises on some ill-formed ones ("x"^^xsd:decimal)
    literal_problems = owl_rl.literal_problems(given)
    if literal_problems:
        return set(given), literal_problems
    closure = Graph()
    for triple in given:
        closure.add(triple)
    # owlrl swaps rdflib's process-global lexical converters while it runs and restores only those rdflib
    # itself defines, leaving its own (which rejects valid xsd:gMonthDay such as "--09-12" and logs a
    # traceback for each) in place. Snapshot and restore the table exactly; silence the noise meanwhile.
    converters = dict(rdflib.term._toPythonMapping)
    term_log = logging.getLogger("rdflib.term")
    level = term_log.level
    term_log.setLevel(logging.CRITICAL)
    try:
        owlrl.DeductiveClosure(
            owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
        ).expand(closure)
    finally:
        term_log.setLevel(level)
        rdflib.term._toPythonMapping.clear()
        rdflib.term._toPythonMapping.update(converters)

    errors = set(closure.subjects(RDF.type, OWLRL_ERROR))
    problems = [
        str(m)
        for e in errors
        for m in closure.objects(e, None)
        if not isinstance(m, URIRef) and not str(m).startswith(owl_rl.LITERAL_PROBLEM)
    ]
    problems += [f"{s} is typed owl:Nothing" for s in closure.subjects(RDF.type, OWL.Nothing)]
    return {t for t in closure if t[0] not in errors}, problems
