"""A partner's report in the partner's terms: what each result expects, said in RDF terms, and each bad value
once.

The shapes' messages are written for the project's curators and point at its seed tables ("name_en in the
seed table", "check park_roles.csv"), which a partner never sees. For a partner's data each result says
instead what the constraint it broke expects (a class, a datatype, a count, a pattern, a list of values),
from the shape's own parameters, and what was found; a shape's message is kept after it where it names no
seed table. Results about one value of one property of one node (a literal that is neither a decimal nor
positive breaks two constraints) are merged into one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH

from kg.validation.vocabulary import PrefixedNames, rdf_list, rules_in_words

_SEED_HINT = re.compile(r"\.csv\b|seed table|name_en|part_of|kind (?:pref|alt)Label", re.IGNORECASE)


#: Components with one parameter, and what that parameter expects in words ({} is its value); a term is named
#: with its prefix, a literal as it is written.
_ONE_PARAMETER = {
    "DatatypeConstraintComponent": (SH.datatype, "a literal of type {}"),
    "MinCountConstraintComponent": (SH.minCount, "at least {} value(s)"),
    "MaxCountConstraintComponent": (SH.maxCount, "at most {} value(s)"),
    "PatternConstraintComponent": (SH.pattern, "text matching /{}/"),
    "NodeKindConstraintComponent": (SH.nodeKind, "a node of kind {}"),
    "MinInclusiveConstraintComponent": (SH.minInclusive, "at least {}"),
    "MaxInclusiveConstraintComponent": (SH.maxInclusive, "at most {}"),
    "MinExclusiveConstraintComponent": (SH.minExclusive, "more than {}"),
    "MaxExclusiveConstraintComponent": (SH.maxExclusive, "less than {}"),
}


def _expected(shapes: Graph, shape: URIRef, component: str, name: PrefixedNames) -> str:
    """The constraint of ``shape`` that ``component`` names, in words."""
    one = shapes.value
    if component in _ONE_PARAMETER:
        parameter, words = _ONE_PARAMETER[component]
        value = one(shape, parameter)
        return words.format(name(value) if isinstance(value, URIRef) else value)
    if component == "ClassConstraintComponent":
        return "an instance of " + " and ".join(name(c) for c in sorted(shapes.objects(shape, SH["class"]), key=str))
    if component == "InConstraintComponent":
        values = rdf_list(shapes, one(shape, SH["in"]))
        return "one of " + ", ".join(str(v) if isinstance(v, Literal) else name(v) for v in values)
    if component == "UniqueLangConstraintComponent":
        return "one value per language"
    if component in ("QualifiedMinCountConstraintComponent", "QualifiedMaxCountConstraintComponent"):
        inner = "; ".join(rules_in_words(shapes, one(shape, SH.qualifiedValueShape), name)) or "of a given shape"
        low, high = one(shape, SH.qualifiedMinCount), one(shape, SH.qualifiedMaxCount)
        counted = " and ".join(f"{w} {n}" for w, n in (("at least", low), ("at most", high)) if n is not None)
        return f"{counted} value(s) {inner.replace('in ', 'in language ', 1) if inner.startswith('in ') else inner}"
    rules = rules_in_words(shapes, shape, name)
    return "; ".join(rules) if rules else ""


def _parts(result, shapes: Graph, name: PrefixedNames) -> tuple[str, str]:
    """What ``result``'s constraint expects, in words, and the shape's message where it names no seed table."""
    shape = URIRef(result.shape)
    known = (shape, None, None) in shapes and result.constraint != "SPARQLConstraintComponent"
    expected = _expected(shapes, shape, result.constraint, name) if known else ""
    said = "" if _SEED_HINT.search(result.message) else result.message
    return expected, said or ("" if expected else result.constraint)


def in_partner_terms(results: list, shapes: Graph, base_iri: str) -> list:
    """``results`` with messages in RDF terms, those about the same node, property, value and severity
    merged into one (what each broken constraint expects, joined; the first result's shape kept, every
    component named)."""
    name = PrefixedNames(base_iri)
    groups: dict[tuple, list] = {}
    for result in results:
        groups.setdefault((result.severity, result.focus, result.path, result.value), []).append(result)
    merged = []
    for (_, focus, path, value), group in groups.items():
        parts = [_parts(result, shapes, name) for result in group]
        expected = list(dict.fromkeys(e for e, _ in parts if e))
        said = list(dict.fromkeys(s for _, s in parts if s))
        found = ""
        if value is not None and value != focus:
            found = f"; found {value.n3()}" if isinstance(value, Literal) else f"; found {name(value)}"
        about = f"{name(path)}: " if path is not None else ""
        message = f"{about}expected {' and '.join(expected)}{found}." if expected else f"{about.rstrip(': ')}{found}"
        message = " ".join(m for m in [message if expected or found else "", *said] if m).strip()
        constraint = " ".join(dict.fromkeys(r.constraint for r in group))
        merged.append(replace(group[0], message=message or group[0].message, constraint=constraint))
    return merged
