"""OWL RL reasoning with owlrl. The only module that calls owlrl (it changes rdflib's global state)."""

from __future__ import annotations

import logging

import owlrl
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import InconsistencyError

#: owlrl reports inconsistencies by adding triples in this namespace instead of raising.
OWLRL_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")
_REFLEXIVE = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource}


def _is_trivial(s, p, o, base_iri: str) -> bool:
    if not isinstance(s, URIRef) or isinstance(o, BNode) or isinstance(p, BNode):
        return True  # list cells, restriction nodes and literal subjects are artefacts of the rules
    if not str(s).startswith(base_iri):
        return True  # axioms about the W3C vocabularies themselves
    if p in _REFLEXIVE and s == o:
        return True
    return p == RDF.type and o in _TRIVIAL_TYPES


def infer(ontology: Graph, asserted: Graph, *, base_iri: str) -> Graph:
    """The OWL RL entailments of ontology + asserted that are neither of them, nor trivial.

    Raises InconsistencyError when the closure is inconsistent (an owlrl error message, or an
    individual typed owl:Nothing).
    """
    closure = Graph()
    for triple in ontology:
        closure.add(triple)
    for triple in asserted:
        closure.add(triple)
    # owlrl's converter rejects valid xsd:gMonthDay values ("--09-12") and logs a traceback for each;
    # the literal is kept unchanged, so those messages are noise.
    term_log = logging.getLogger("rdflib.term")
    level = term_log.level
    term_log.setLevel(logging.CRITICAL)
    try:
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False,
                               datatype_axioms=False).expand(closure)
    finally:
        term_log.setLevel(level)

    problems = [str(m) for e in closure.subjects(RDF.type, OWLRL_ERROR) for m in closure.objects(e, None)
                if not isinstance(m, URIRef)]
    problems += [f"{s} is typed owl:Nothing" for s in closure.subjects(RDF.type, OWL.Nothing)]
    if problems:
        raise InconsistencyError("OWL RL reasoning found the graph inconsistent", details=sorted(problems))

    inferred = Graph()
    for s, p, o in closure:
        if (s, p, o) in asserted or (s, p, o) in ontology or _is_trivial(s, p, o, base_iri):
            continue
        inferred.add((s, p, o))
    return inferred
