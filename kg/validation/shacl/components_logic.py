"""The logical and shape-based constraint components (sh:node, sh:not, sh:and, sh:or, sh:xone), and the
conformance of a value to a shape compiled into one SPARQL expression that they inline: the shape's value
rules, its cardinality and qualified value shapes as EXISTS tests, its focus-level constraints and its
property shapes, recursively (the shapes model refuses recursive shapes)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from rdflib import URIRef
from rdflib.term import Node

from kg.validation.shacl.components_focus import focus_conditions
from kg.validation.shacl.components_values import Rule, value_rules
from kg.validation.shacl.errors import Unsupported
from kg.validation.shacl.shapes import SH, Shape
from kg.validation.shacl.syntax import sparql_path, zero_length


def all_rules(engine, shape: Shape) -> list[Rule]:
    """The value-level constraints of ``shape``, one rule per result pyshacl can give for a value: the value
    rules, then sh:node, sh:not, sh:and, sh:or and sh:xone."""
    rules = value_rules(engine, shape)
    sg = shape.model.sg
    for node in shape.objects(SH.node):
        target = shape.model.shape(node, kind="node")
        node_shapes = shape.objects(SH.node)

        def node_ok(y: str, t: Shape = target) -> str:
            return condition(engine, t, y, "results")

        def node_message(f: Node, x: Node | None, ns: list[Node] = node_shapes) -> list:
            return engine.text.node(ns)

        rules.append(Rule(SH.NodeConstraintComponent, node_ok, node_message, node_shape=target))
    for node in shape.objects(SH["not"]):
        target = shape.model.shape(node)
        not_shapes = shape.objects(SH["not"])

        def not_ok(y: str, t: Shape = target) -> str:
            return f"!({condition(engine, t, y, 'nc')})"

        def not_message(f: Node, x: Node | None, ns: list[Node] = not_shapes) -> list:
            return engine.text.not_(ns, x)

        rules.append(Rule(SH.NotConstraintComponent, not_ok, not_message))
    for predicate, component in (
        (SH["and"], SH.AndConstraintComponent),
        (SH["or"], SH.OrConstraintComponent),
        (SH.xone, SH.XoneConstraintComponent),
    ):
        lists = shape.objects(predicate)
        for lst in lists:
            members = list(sg.items(lst))
            if predicate != SH.xone:
                members = list(dict.fromkeys(members))
            targets = [shape.model.shape(m) for m in members]

            def logical_ok(y: str, pr: URIRef = predicate, ts: list[Shape] = targets) -> str:
                if pr == SH["and"]:
                    return "(" + " && ".join(condition(engine, t, y, "nc") for t in ts) + ")"
                if pr == SH["or"]:
                    return "(" + " || ".join(condition(engine, t, y, "nc") for t in ts) + ")"
                return "((" + " + ".join(f"IF({condition(engine, t, y, 'nc')}, 1, 0)" for t in ts) + ") = 1)"

            def logical_message(f: Node, x: Node | None, pr: URIRef = predicate, ls: list[Node] = lists) -> list:
                return engine.text.logical(pr, ls, x)

            rules.append(Rule(component, logical_ok, logical_message))
    return rules


def condition(engine, shape: Shape, x: str, mode: str) -> str:
    """A SPARQL expression: ``x`` conforms to ``shape`` — in pyshacl's sense of a shape's conformance
    (``mode`` "nc": Warning and Info shapes always conform) or with no result at all ("results", sh:node)."""
    if shape.deactivated or (mode == "nc" and shape.severity in engine.allowed):
        return "true"
    parts = []
    rules = all_rules(engine, shape)
    values: Callable[[str], str] | None = None  # the pattern of the value nodes of a property shape
    if shape.is_property:
        path = sparql_path(shape.model.sg, shape.path)
        zero = zero_length(shape.model.sg, shape.path)

        def path_values(y: str) -> str:
            return f"{{ {x} {path} {y} }} UNION {{ BIND({x} AS {y}) }}" if zero else f"{x} {path} {y} ."

        values = path_values
        if rules:
            y = engine.vars("y")
            fails = " || ".join(f"!COALESCE({r.ok(y)}, false)" for r in rules)
            parts.append(f"NOT EXISTS {{ {path_values(y)} FILTER({fails}) }}")
        for count_part in _count_conditions(engine, shape, path_values):
            parts.append(count_part)
    else:
        parts.extend(f"COALESCE({r.ok(x)}, false)" for r in rules)
    parts.extend(focus_conditions(engine, shape, x, values))
    for node in shape.objects(SH.property):
        prop = shape.model.shape(node, kind="property")
        if values is not None:  # a property shape
            y = engine.vars("y")
            parts.append(f"NOT EXISTS {{ {values(y)} FILTER(!({condition(engine, prop, y, mode)})) }}")
        else:  # a node shape: its focus node is its value node
            parts.append(condition(engine, prop, x, mode))
    return "(" + " && ".join(parts) + ")" if parts else "true"


def _count_conditions(engine, shape: Shape, values: Callable[[str], str]) -> list[str]:
    """sh:minCount, sh:maxCount and the qualified value shapes of a property shape as EXISTS tests over
    ``values(y)``, its value pattern."""
    parts = []

    def at_least(n: int, cond: Callable[[str], str] | None) -> str:
        if n <= 0:
            return "true"
        if n > 4:
            raise Unsupported("a count above 4 in a shape used by another shape")
        ys = [engine.vars("y") for _ in range(n)]
        body = " ".join(values(y) for y in ys)
        tests = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(ys, 2)]
        if cond:
            tests += [f"COALESCE({cond(y)}, false)" for y in ys]
        return f"EXISTS {{ {body} {'FILTER(' + ' && '.join(tests) + ')' if tests else ''} }}"

    mins, maxs = shape.objects(SH.minCount), shape.objects(SH.maxCount)
    if mins:
        parts.append(at_least(int(mins[0].value), None))
    if maxs:
        parts.append("!" + at_least(int(maxs[0].value) + 1, None))
    qualified = shape.qualified()
    if qualified is not None:
        value_shapes, low, high, siblings = qualified
        for q in value_shapes:

            def cond(y, q=q):
                text = condition(engine, q, y, "nc")
                others = [condition(engine, s, y, "nc") for s in siblings.get(q, [])]
                return f"({text}) && !(" + " || ".join(others) + ")" if others else text

            if high is not None:
                parts.append("!" + at_least(high + 1, cond))
            if low is not None:
                parts.append(at_least(low, cond))
    return parts
