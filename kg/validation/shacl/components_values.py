"""The constraint components that judge each value node on its own, one rule per component: value type
(class, datatype, nodeKind), value range, string-based (minLength, maxLength, pattern, languageIn) and
sh:in; and the SPARQL expressions with pyshacl's literal semantics they and the property pairs use: a
fast SPARQL test for the values SPARQL decides exactly, a Python function (``literals``) for the others."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.rdf_terms import RDF, RDFS, XSD
from kg.validation.shacl import literals
from kg.validation.shacl.errors import ShaclError
from kg.validation.shacl.results import GenericMessages
from kg.validation.shacl.shapes import SH, Shape
from kg.validation.shacl.syntax import TYPE_PATH, sparql_term, stable_term


@dataclass
class Rule:
    """A constraint that judges each value node on its own: ``ok(var)`` is a SPARQL boolean expression.

    ``join(var, flag)``, when given, is a faster form for a query's own value variable: an OPTIONAL that
    binds ``flag`` exactly where ``ok`` holds (Oxigraph evaluates EXISTS with a path once per row, slowly)."""

    component: URIRef
    ok: Callable[[str], str]
    message: GenericMessages
    node_shape: Shape | None = None  # sh:node: its results become sh:detail
    join: Callable[[str, str], str] | None = None


def value_rules(engine, shape: Shape) -> list[Rule]:
    """The rules of ``shape``'s value type, value range, string-based and sh:in parameters, in pyshacl's
    order; ``engine`` registers the Python functions (``function``) and words the messages (``text``)."""
    rules: list[Rule] = []
    sg = shape.model.sg
    for cls in shape.objects(SH["class"]):
        term = sparql_term(cls) if not isinstance(cls, BNode) else None
        classes = shape.objects(SH["class"])

        def class_ok(y: str, t: str | None = term) -> str:
            return f"(!isLiteral({y}) && EXISTS {{ {y} {TYPE_PATH} {t} }})" if t else "false"

        def class_message(f: Node, x: Node | None, c: list[Node] = classes) -> list:
            return engine.text.class_(c)

        def class_join(y: str, flag: str, t: str | None = term) -> str:
            return f"OPTIONAL {{ {{ SELECT DISTINCT {y} (true AS {flag}) WHERE {{ {y} {TYPE_PATH} {t} }} }} }}"

        rules.append(Rule(SH.ClassConstraintComponent, class_ok, class_message, join=class_join if term else None))
    datatypes = shape.objects(SH.datatype)
    if len(datatypes) > 1:
        raise ShaclError("DatatypeConstraintComponent must have at most one sh:datatype predicate.")
    if datatypes:
        rule = datatypes[0]

        def datatype_ok(y: str, r: Node = rule) -> str:
            return _datatype_ok(engine, y, r)

        def datatype_message(f: Node, x: Node | None, r: Node = rule) -> list:
            return engine.text.datatype(r)

        rules.append(Rule(SH.DatatypeConstraintComponent, datatype_ok, datatype_message))
    kinds = shape.objects(SH.nodeKind)
    if len(kinds) > 1:
        raise ShaclError("NodeKindConstraintComponent must have at most one sh:nodeKind predicate.")
    if kinds:
        kind = kinds[0]
        tests = {
            SH.BlankNode: "isBlank({0})",
            SH.IRI: "isIRI({0})",
            SH.Literal: "isLiteral({0})",
            SH.BlankNodeOrIRI: "(isBlank({0}) || isIRI({0}))",
            SH.BlankNodeOrLiteral: "(isBlank({0}) || isLiteral({0}))",
            SH.IRIOrLiteral: "(isIRI({0}) || isLiteral({0}))",
        }
        template = tests.get(kind, "false")

        def node_kind_ok(y: str, t: str = template) -> str:
            return t.format(y)

        def node_kind_message(f: Node, x: Node | None, k: Node = kind) -> list:
            return engine.text.node_kind(k)

        rules.append(Rule(SH.NodeKindConstraintComponent, node_kind_ok, node_kind_message))
    for predicate, component, test, sign in (
        (SH.minExclusive, SH.MinExclusiveConstraintComponent, lambda c: c > 0, ">"),
        (SH.minInclusive, SH.MinInclusiveConstraintComponent, lambda c: c >= 0, ">="),
        (SH.maxExclusive, SH.MaxExclusiveConstraintComponent, lambda c: c < 0, "<"),
        (SH.maxInclusive, SH.MaxInclusiveConstraintComponent, lambda c: c <= 0, "<="),
    ):
        bounds = shape.objects(predicate)
        for bound in bounds:
            if not isinstance(bound, Literal):
                raise ShaclError(f"the value of {predicate.n3()} must be a literal")

            def range_ok(y: str, b: Literal = bound, t: Callable[[int], bool] = test, s: str = sign) -> str:
                return _range_ok(engine, y, b, t, s)

            def range_message(f: Node, x: Node | None, bs: list[Node] = bounds, s: str = sign) -> list:
                return engine.text.range(s, bs)

            rules.append(Rule(component, range_ok, range_message))
    for predicate, component, longer in (
        (SH.minLength, SH.MinLengthConstraintComponent, True),
        (SH.maxLength, SH.MaxLengthConstraintComponent, False),
    ):
        lengths = shape.objects(predicate)
        if len(lengths) > 1:
            raise ShaclError(f"at most one {predicate.n3()}")
        if lengths:
            n = lengths[0]
            if not isinstance(n, Literal) or not isinstance(n.value, int) or n.value < 0:
                raise ShaclError(f"{predicate.n3()} must be a non-negative integer literal")

            def length_ok(y: str, limit: int = n.value, lo: bool = longer) -> str:
                if not lo:
                    return f"(!isBlank({y}) && STRLEN(STR({y})) <= {limit})"
                return "true" if limit == 0 else f"(!isBlank({y}) && STRLEN(STR({y})) >= {limit})"

            def length_message(f: Node, x: Node | None, limit: Literal = n, lo: bool = longer) -> list:
                return engine.text.length(lo, limit)

            rules.append(Rule(component, length_ok, length_message))
    patterns = shape.objects(SH.pattern)
    if patterns:
        flags = next(iter(set(shape.objects(SH.flags))), None)
        re_flags = 0
        if flags:
            text = str(flags.value).lower()
            re_flags = (re.I if "i" in text else 0) | (re.M if "m" in text else 0)
        for p in patterns:
            if not isinstance(p, Literal):
                raise ShaclError("sh:pattern must be a literal")
            source = str(p.value) if p.value is not None and len(p.value) > 1 else str(p)
            matcher = re.compile(source, re_flags)

            def pattern_ok(y: str, m: re.Pattern[str] = matcher) -> str:
                return f"{_pattern_function(engine, m)}({y})"

            def pattern_message(f: Node, x: Node | None, ps: list[Node] = patterns) -> list:
                return engine.text.pattern(ps)

            rules.append(Rule(SH.PatternConstraintComponent, pattern_ok, pattern_message))
    languages = shape.objects(SH.languageIn)
    if len(languages) > 1:
        raise ShaclError("LanguageInConstraintComponent must have at most one sh:languageIn predicate.")
    if languages:
        wanted = set()
        for item in sg.items(languages[0]):
            if not isinstance(item, Literal) or not isinstance(item.value, str):
                raise ShaclError("All languages in sh:languageIn must be a Literal with type xsd:string")
            wanted.add(str(item.value).lower())

        def language_ok(y: str, w: set[str] = wanted) -> str:
            return _language_ok(y, w)

        def language_message(f: Node, x: Node | None, lst: Node = languages[0]) -> list:
            return engine.text.language_in(lst)

        rules.append(Rule(SH.LanguageInConstraintComponent, language_ok, language_message))
    ins = shape.objects(SH["in"])
    if len(ins) > 1:
        raise ShaclError("InConstraintComponent must have at most one sh:in predicate.")
    if ins:
        members = list(dict.fromkeys(sg.items(ins[0])))
        matchable = [m for m in members if not isinstance(m, BNode) and stable_term(m)]

        def in_ok(y: str, ms: list[Node] = matchable) -> str:
            return "(" + (" || ".join(f"sameTerm({y}, {sparql_term(m)})" for m in ms) or "false") + ")"

        def in_message(f: Node, x: Node | None, ms: list[Node] = members) -> list:
            return engine.text.in_(ms, x)

        rules.append(Rule(SH.InConstraintComponent, in_ok, in_message))
    return rules


def _datatype_ok(engine, y: str, rule) -> str:
    """``y`` is a well-formed literal of the datatype ``rule``, as rdflib judges it (sh:datatype)."""
    if rule == RDFS.Literal:
        return f"isLiteral({y})"
    if rule == RDF.langString:
        return f'(isLiteral({y}) && LANG({y}) != "")'
    if rule == XSD.string:
        return f"(isLiteral({y}) && datatype({y}) = <{XSD.string}>)"
    if rule == RDFS.Datatype:
        return f'(isLiteral({y}) && datatype({y}) != <{XSD.string}> && LANG({y}) = "")'
    if not isinstance(rule, URIRef):
        return "false"
    same = f"COALESCE(isLiteral({y}) && datatype({y}) = <{rule}>, false)"
    if rule not in engine.converters:
        engine.converters[rule] = literals.has_converter(rule)
    if not engine.converters[rule]:
        return same
    check = engine.function(lambda value, r=rule: literals.datatype_ok(value, r), ("datatype", rule))
    safe = literals.SAFE.get(rule)
    if safe is None:
        return f"IF({same}, COALESCE({check}({y}), false), false)"
    fast = f'REGEX(STR({y}), "{safe}")'
    if rule == XSD.date:
        fast += f" && DAY({y}) > 0"
    return f"IF({same}, IF(COALESCE({fast}, false), true, COALESCE({check}({y}), false)), false)"


def _range_ok(engine, y: str, bound: Literal, test: Callable[[int], bool], sign: str) -> str:
    """``y`` compares with ``bound`` as ``sign`` says, in rdflib's literal ordering (the value range)."""
    check = engine.function(
        lambda value, b=bound, t=test: literals.range_ok(value, b, t),
        ("range", str(bound), bound.datatype, bound.language, sign),
    )
    datatype = bound.datatype or (XSD.string if bound.language is None else None)
    compatible = literals.ORDERED.get(datatype) if datatype is not None else None
    if not compatible or (bound.datatype in (XSD.date, XSD.dateTime) and re.search(literals.NO_TZ, str(bound))):
        return f"COALESCE({check}({y}), false)"
    types = ", ".join(f"<{t}>" for t in compatible)
    # Oxigraph compares valid literals of these datatypes as rdflib does (an ill-typed one is an error,
    # so it goes to Python); dates only without a timezone and with a four-digit year Python can hold
    fast = f"isLiteral({y}) && datatype({y}) IN ({types}) && {y} {sign} {sparql_term(bound)}"
    if datatype in (XSD.date, XSD.dateTime):
        fast = f'REGEX(STR({y}), "^[1-9][0-9]{{3}}-") && !REGEX(STR({y}), "{literals.NO_TZ}") && ' + fast
    return f"IF(COALESCE({fast}, false), true, COALESCE({check}({y}), false))"


def pair_ok(engine, y: str, c: str, strict: bool) -> str:
    """``y`` is less than (or equal to, unless ``strict``) ``c`` in rdflib's ordering (sh:lessThan...)."""
    check = engine.function(lambda a, b, s=strict: literals.pair_ok(a, b, s), ("pair", strict))
    ordered = ", ".join(
        f"<{t}>" for t in (XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.date, XSD.dateTime, XSD.string)
    )
    sign = "<" if strict else "<="
    fast = (
        f"isLiteral({y}) && isLiteral({c}) && datatype({y}) = datatype({c}) && datatype({y}) IN ({ordered}) "
        f'&& (datatype({y}) NOT IN (<{XSD.date}>, <{XSD.dateTime}>) || (REGEX(STR({y}), "^[1-9][0-9]{{3}}-") '
        f'&& REGEX(STR({c}), "^[1-9][0-9]{{3}}-") && !REGEX(STR({y}), "{literals.NO_TZ}") '
        f'&& !REGEX(STR({c}), "{literals.NO_TZ}"))) && {y} {sign} {c}'
    )
    return f"IF(COALESCE({fast}, false), true, COALESCE({check}({y}, {c}), false))"


def _pattern_function(engine, matcher: re.Pattern) -> str:
    """A SPARQL function: a value matches ``matcher`` as Python's ``re`` (and pyshacl) match it."""

    def check(value, m=matcher):
        if isinstance(value, BNode):
            return False
        text = (
            str(value.value)
            if isinstance(value, Literal)
            and value.value is not None
            and value.datatype in (None, RDF.langString, XSD.string)
            else str(value)
        )
        return bool(m.match(text) or m.search(text))

    return engine.function(check, ("pattern", matcher.pattern, matcher.flags))


def _language_ok(y: str, wanted: set[str]) -> str:
    """``y`` has a language tag in ``wanted`` or a subtag of one (sh:languageIn)."""
    base = f'isLiteral({y}) && LANG({y}) != ""'
    if "*" in wanted:
        return f"({base})"
    listed = ", ".join(f'"{w}"' for w in sorted(wanted) if re.fullmatch(r"[\w-]*", w))
    if not listed:
        return "false"
    return (
        f'({base} && (LCASE(LANG({y})) IN ({listed}) || LCASE(STRBEFORE(CONCAT(LANG({y}), "-"), "-")) IN ({listed})))'
    )
