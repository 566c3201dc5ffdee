"""The constraint components that look at a focus node's values together: sh:uniqueLang, the property
pairs (sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals), sh:hasValue and sh:closed (with
sh:ignoredProperties). Each runs as one query over all focus nodes, and also compiles into the SPARQL
expressions a shape's conformance inlines (``focus_conditions``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.rdf_terms import RDF, RDFS
from kg.store.terms import from_ox
from kg.validation.shacl.components_values import pair_ok
from kg.validation.shacl.errors import ShaclError, Unsupported
from kg.validation.shacl.focus import Focus, path_pattern, value_pattern
from kg.validation.shacl.results import GenericMessages, Result, result_messages
from kg.validation.shacl.shapes import SH, Shape
from kg.validation.shacl.syntax import is_true, sparql_path, sparql_term, stable_term, zero_length


def focus_constraints(engine, shape: Shape, focus: Focus, results: list[Result], dry: bool) -> int:
    """Run these constraints of ``shape`` for the focus nodes (compile only when ``dry``); adds their results
    to ``results`` and returns how many. ``engine`` runs the queries and words the messages."""
    count = 0
    v = "?v" if shape.is_property else "?f"
    fp = focus.pattern("?f")
    values = value_pattern(shape, focus, "?f", v)  # binds ?f and the value nodes v

    def run(query: str, make: Callable[[Any], Iterator[Result]]) -> None:
        nonlocal count
        if dry:
            return
        for row in engine.select(query, focus.prefixes):
            for result in make(row):
                results.append(result)
                count += 1

    def plain(
        component: URIRef, generic: GenericMessages, value_column: str | None = None
    ) -> Callable[[Any], Iterator[Result]]:
        def make(row: Any) -> Iterator[Result]:  # a row of pyoxigraph's solutions
            f = from_ox(row["f"])
            value = from_ox(row[value_column]) if value_column else None
            yield Result(shape, component, f, value, messages=result_messages(shape, generic, f, value))

        return make

    # sh:uniqueLang
    unique = set(shape.objects(SH.uniqueLang))
    if unique:
        if len(unique) > 1:
            raise ShaclError("at most one sh:uniqueLang")
        if not shape.is_property:
            raise ShaclError("UniqueLangConstraintComponent can only be present on a PropertyShape")
        flag = next(iter(unique))
        if not (isinstance(flag, Literal) and isinstance(flag.value, bool)):
            raise ShaclError("sh:uniqueLang must be a boolean literal")
        if is_true(flag):
            query = (
                f'SELECT ?f ?lang WHERE {{ {values} FILTER(isLiteral(?v) && LANG(?v) != "") }} '
                f"GROUP BY ?f (LCASE(LANG(?v)) AS ?lang) HAVING (COUNT(DISTINCT ?v) > 1)"
            )
            run(query, plain(SH.UniqueLangConstraintComponent, lambda f, x: engine.text.unique_lang()))
    # sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals
    for p in dict.fromkeys(shape.objects(SH.equals)):
        other = sparql_term(p)

        def equals_message(f: Node, x: Node | None) -> list:
            return engine.text.pair(shape, SH.equals, f, x)

        if shape.is_property:
            run(
                f"SELECT DISTINCT ?f ?v WHERE {{ {values} FILTER NOT EXISTS {{ ?f {other} ?v }} }}",
                plain(SH.EqualsConstraintComponent, equals_message, "v"),
            )
            run(
                f"SELECT DISTINCT ?f ?v WHERE {{ {fp} ?f {other} ?v . "
                f"FILTER NOT EXISTS {{ {path_pattern(shape, '?f', '?v')} }} }}",
                plain(SH.EqualsConstraintComponent, equals_message, "v"),
            )
        else:
            run(
                f"SELECT ?f ?v WHERE {{ {fp} BIND(?f AS ?v) FILTER NOT EXISTS {{ ?f {other} ?f }} }}",
                plain(SH.EqualsConstraintComponent, equals_message, "v"),
            )
            run(
                f"SELECT DISTINCT ?f ?v WHERE {{ {fp} ?f {other} ?v . FILTER(!sameTerm(?v, ?f)) }}",
                plain(SH.EqualsConstraintComponent, equals_message, "v"),
            )
    for p in dict.fromkeys(shape.objects(SH.disjoint)):

        def disjoint_message(f: Node, x: Node | None) -> list:
            return engine.text.pair(shape, SH.disjoint, f, x)

        columns = "?f ?v" if shape.is_property else "?f"
        run(
            f"SELECT DISTINCT {columns} WHERE {{ {values} ?f {sparql_term(p)} {v} }}",
            plain(SH.DisjointConstraintComponent, disjoint_message, v[1:]),
        )
    for predicate, component, strict in (
        (SH.lessThan, SH.LessThanConstraintComponent, True),
        (SH.lessThanOrEquals, SH.LessThanOrEqualsConstraintComponent, False),
    ):
        for p in dict.fromkeys(shape.objects(predicate)):
            if not isinstance(p, URIRef):
                raise ShaclError(f"the value of {predicate.n3()} must be an IRI")
            if not shape.is_property:
                raise ShaclError(f"{component.n3()} can only be present on a PropertyShape")
            ok = pair_ok(engine, v, "?c", strict)

            def pair_message(f: Node, x: Node | None, pr: URIRef = predicate) -> list:
                return engine.text.pair(shape, pr, f, x)

            run(
                f"SELECT ?f ?v ?c WHERE {{ {values} ?f {sparql_term(p)} ?c . FILTER(!COALESCE({ok}, false)) }}",
                plain(component, pair_message, "v"),
            )
    # sh:hasValue
    for hv in dict.fromkeys(shape.objects(SH.hasValue)):

        def has_value_message(f: Node, x: Node | None) -> list:
            return engine.text.has_value(shape, f)

        if not stable_term(hv):
            test = "true"
        elif shape.is_property:
            path = sparql_path(shape.model.sg, shape.path)
            test = (
                f"NOT EXISTS {{ ?f {path} {sparql_term(hv)} }}"
                if not zero_length(shape.model.sg, shape.path)
                else f"(!sameTerm(?f, {sparql_term(hv)}) && NOT EXISTS {{ ?f {path} {sparql_term(hv)} }})"
            )
        else:
            test = f"!sameTerm(?f, {sparql_term(hv)})"
        run(f"SELECT ?f WHERE {{ {fp} FILTER({test}) }}", plain(SH.HasValueConstraintComponent, has_value_message))
    # sh:closed
    closed = shape.objects(SH.closed)
    ignored = shape.objects(SH.ignoredProperties)
    if ignored and not closed:
        raise ShaclError("sh:ignoredProperties can only be used on a closed shape (sh:closed)")
    if closed:
        if len(closed) > 1 or not isinstance(closed[0], Literal):
            raise ShaclError("sh:closed must be one boolean literal")
        if closed[0].value:
            allowed = shape.closed_allowed()

            def make(row: Any) -> Iterator[Result]:
                f, o, p = from_ox(row["f"]), from_ox(row["o"]), from_ox(row["p"])
                messages = result_messages(shape, lambda a, b: engine.text.closed(f, o), f, o)
                yield Result(shape, SH.ClosedConstraintComponent, f, o, path=p, messages=messages)

            columns = "?f ?v" if shape.is_property else "?f"
            run(
                f"SELECT DISTINCT {columns} ?p ?o WHERE {{ {values} {v} ?p ?o . "
                f"FILTER({_closed_filter('?p', '?o', allowed)}) }}",
                make,
            )
    return count


def _closed_filter(p: str, o: str, allowed: list) -> str:
    test = f"!({p} = <{RDF.type}> && sameTerm({o}, <{RDFS.Resource}>))"
    if allowed:
        test += f" && !({' || '.join(f'sameTerm({p}, {sparql_term(a)})' for a in allowed)})"
    return test


def focus_conditions(engine, shape: Shape, x: str, values) -> list[str]:
    """Expressions for uniqueLang, equals, disjoint, lessThan(OrEquals), hasValue, closed and sh:sparql."""
    parts = []
    if shape.objects(SH.sparql):
        raise Unsupported("a SPARQL constraint in a shape used by another shape")
    prop = shape.is_property

    def each(y):
        return values(y) if prop else f"BIND({x} AS {y})"

    if prop and any(is_true(u) for u in shape.objects(SH.uniqueLang)):
        a, b = engine.vars("y"), engine.vars("y")
        parts.append(
            f"NOT EXISTS {{ {values(a)} {values(b)} FILTER(!sameTerm({a}, {b}) && isLiteral({a}) && "
            f'isLiteral({b}) && LANG({a}) != "" && LCASE(LANG({a})) = LCASE(LANG({b}))) }}'
        )
    for p in shape.objects(SH.equals):
        y = engine.vars("y")
        parts.append(f"NOT EXISTS {{ {each(y)} FILTER NOT EXISTS {{ {x} {sparql_term(p)} {y} }} }}")
        if prop:
            parts.append(f"NOT EXISTS {{ {x} {sparql_term(p)} {y} . FILTER NOT EXISTS {{ {values(y)} }} }}")
        else:
            parts.append(f"NOT EXISTS {{ {x} {sparql_term(p)} {y} . FILTER(!sameTerm({y}, {x})) }}")
    for p in shape.objects(SH.disjoint):
        y = engine.vars("y")
        parts.append(f"NOT EXISTS {{ {each(y)} {x} {sparql_term(p)} {y} }}")
    for predicate, strict in ((SH.lessThan, True), (SH.lessThanOrEquals, False)):
        for p in shape.objects(predicate):
            y, c = engine.vars("y"), engine.vars("c")
            parts.append(
                f"NOT EXISTS {{ {each(y)} {x} {sparql_term(p)} {c} . "
                f"FILTER(!COALESCE({pair_ok(engine, y, c, strict)}, false)) }}"
            )
    for hv in shape.objects(SH.hasValue):
        if not stable_term(hv):
            parts.append("false")
        elif prop:
            y = engine.vars("y")
            parts.append(f"EXISTS {{ {values(y)} FILTER(sameTerm({y}, {sparql_term(hv)})) }}")
        else:
            parts.append(f"sameTerm({x}, {sparql_term(hv)})")
    closed = shape.objects(SH.closed)
    if closed and isinstance(closed[0], Literal) and closed[0].value:
        allowed = shape.closed_allowed()
        y, p, o = engine.vars("y"), engine.vars("p"), engine.vars("o")
        parts.append(f"NOT EXISTS {{ {each(y)} {y} {p} {o} . FILTER({_closed_filter(p, o, allowed)}) }}")
    return parts
