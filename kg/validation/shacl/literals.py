"""Literal semantics as pyshacl (rdflib) has them, where SPARQL on Oxigraph judges differently: rdflib's
well-formed literals for sh:datatype, and its literal ordering for the range and property-pair constraints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
import rdflib.term
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier, Node

from kg.rdf_terms import RDF, RDFS, XSD
from kg.store.terms import from_ox, to_ox
from kg.validation.shacl.errors import ShaclError

_FORCE_VALUE = (datetime, time)


def _compare_literal(l1: Literal, l2: Literal) -> int:
    """pyshacl.rdfutil.compare.compare_literal."""
    if l1.eq(l2):
        return 0
    if l1.value.__class__ in _FORCE_VALUE:
        if l1.value == l2.value:
            return 0
        if l1.value > l2.value:
            return 1
    elif l1 > l2:
        return 1
    return -1


def range_ok(value: Node, bound: Literal, test: Callable[[int], bool]) -> bool:
    """pyshacl's min/max exclusive/inclusive check of one value node."""
    if not isinstance(value, Literal):
        return False
    value_is_string, bound_is_string = isinstance(value.value, str), isinstance(bound.value, str)
    if value_is_string != bound_is_string:
        return False
    try:
        return test(_compare_literal(value, bound))
    except (TypeError, NotImplementedError):
        return False


def pair_ok(value: Node, other: Node, strict: bool) -> bool:
    """pyshacl's sh:lessThan / sh:lessThanOrEquals check of one pair of values."""
    if isinstance(value, BNode) or isinstance(other, BNode):
        raise ShaclError("Cannot use sh:lessThan or sh:lessThanOrEquals to compare a blank node.")
    a, a_string = _comparable(value)
    b, b_string = _comparable(other)
    if a_string != b_string:
        return False
    return bool(a < b) if strict else bool(a <= b)


def _comparable(node: Node) -> tuple[Identifier | str, bool]:
    """What pyshacl compares for a value of sh:lessThan(OrEquals), and whether it compares as a string: an
    IRI's text, a string literal's value, else the literal itself (in rdflib's literal ordering)."""
    if isinstance(node, URIRef):
        return str(node), True
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value, True
    assert isinstance(node, Identifier)  # a literal: the values come from from_ox, and blank nodes are refused
    return node, False


def datatype_ok(value: Node, rule: URIRef) -> bool:
    """pyshacl's sh:datatype check of one value node (rdflib decides which literals are well-formed)."""
    if not isinstance(value, Literal):
        return False
    datatype, lang = value.datatype, value.language
    if datatype == rule:
        if getattr(value, "ill_typed", None) is True:
            return False
        return _actual_datatype(value, rule)
    if rule == RDFS.Literal:
        return True
    if rule == RDFS.Datatype and datatype:
        return True
    if datatype is None and lang is None and rule == XSD.string:
        return _actual_datatype(value, rule)
    if rule == RDF.langString and lang:
        return _actual_datatype(value, rule)
    return False


def _actual_datatype(value: Literal, rule: URIRef) -> bool:
    python = value.value
    if rule in (XSD.string, RDF.langString):
        return isinstance(python, (str, bytes))
    if rule == XSD.boolean:  # rdflib reads any other text as false, with a warning
        return str(value) in ("true", "false", "1", "0")
    checks = {
        XSD.integer: int,
        XSD.float: float,
        XSD.decimal: Decimal,
        XSD.boolean: bool,
        XSD.date: date,
        XSD.time: time,
        XSD.dateTime: datetime,
    }
    return isinstance(python, checks[rule]) if rule in checks else True


def has_converter(datatype: URIRef) -> bool:
    """Whether rdflib parses literals of ``datatype`` (only then can one be ill-typed for pyshacl)."""
    mapping = getattr(rdflib.term, "_toPythonMapping", None)
    if mapping is None:
        return True
    return mapping.get(datatype) is not None or datatype in getattr(rdflib.term, "_check_well_formed_types", {})


# Lexical forms that rdflib always parses as their datatype (a fast path that never needs Python).
SAFE = {
    XSD.integer: r"^[+-]?[0-9]+$",
    XSD.decimal: r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$",
    XSD.double: r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$",
    XSD.float: r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$",
    XSD.boolean: r"^(true|false)$",
    XSD.date: r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
}
ORDERED = {
    XSD.integer: (XSD.integer, XSD.decimal),
    XSD.decimal: (XSD.integer, XSD.decimal),
    XSD.double: (XSD.double,),
    XSD.float: (XSD.float,),
    XSD.string: (XSD.string,),
    XSD.boolean: (XSD.boolean,),
    XSD.date: (XSD.date,),
    XSD.dateTime: (XSD.dateTime,),
}
NO_TZ = r"(Z|[+-][0-9]{2}:[0-9]{2})$"


@functools.lru_cache(maxsize=4096)
def stable(literal: Literal) -> bool:
    """Whether Oxigraph keeps this literal as written (otherwise it canonicalises it, in the data as in a
    query, and rdflib's term equality would not match the canonical form)."""
    scratch = ox.Store()
    node = ox.NamedNode("urn:x")
    scratch.add(ox.Quad(node, node, to_ox(literal)))
    stored = next(iter(scratch)).object
    return from_ox(stored) == literal and str(from_ox(stored)) == str(literal)
