"""The cardinality constraint components (sh:minCount, sh:maxCount) and sh:qualifiedValueShape (with
qualified min/max counts and disjoint siblings) of property shapes, as GROUP BY queries over all focus
nodes: the counting constraints of all property shapes of one node shape share one query."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.rdf_terms import XSD
from kg.store.terms import from_ox
from kg.validation.shacl.components_logic import condition
from kg.validation.shacl.errors import ShaclError
from kg.validation.shacl.focus import Focus, path_pattern, value_pattern
from kg.validation.shacl.results import GenericMessages, Result, result_messages
from kg.validation.shacl.shapes import SH, Shape, node_name
from kg.validation.shacl.syntax import zero_length


class _Plan(TypedDict):
    """The counting constraints of one property shape in a GROUP BY query: its value variable, its columns,
    HAVING tests and BINDs, and for each constraint (component, count column, failing test, messages)."""

    v: str
    columns: list[str]
    having: list[str]
    plans: list[tuple[URIRef, str, Callable[[int], bool], GenericMessages]]
    binds: str


def counts(engine, shape: Shape, focus: Focus, results: list[Result], dry: bool) -> int:
    """Run the counting constraints of ``shape`` for the focus nodes (or take what ``batch_counts`` found;
    compile only when ``dry``); adds their results to ``results`` and returns how many."""
    batched = engine.count_cache.pop((id(focus), shape.node), None)
    if batched is not None:
        results.extend(batched)
        return len(batched)
    plan = _count_plan(engine, shape, "")
    if plan is None or dry:
        return 0
    found = _run_counts(engine, focus, [(shape, plan)])[shape.node]
    results.extend(found)
    return len(found)


def batch_counts(engine, focus: Focus, shapes: list[Shape]) -> None:
    """The count constraints of several property shapes of one node shape, in one GROUP BY query (they
    share the focus nodes); their results wait in ``engine.count_cache`` until each shape is evaluated."""
    members: list[tuple[Shape, _Plan]] = []
    for shape in shapes:
        if shape.deactivated or zero_length(shape.model.sg, shape.path):
            continue
        plan = _count_plan(engine, shape, str(len(members)))
        if plan is not None:
            members.append((shape, plan))
    if len(members) < 2:
        return
    for node, found in _run_counts(engine, focus, members).items():
        engine.count_cache[(id(focus), node)] = found


def _count_plan(engine, shape: Shape, k: str) -> _Plan | None:
    """minCount, maxCount and qualified value shapes of ``shape`` as GROUP BY columns and HAVING tests
    over the value variable ?v{k}."""
    mins, maxs = shape.objects(SH.minCount), shape.objects(SH.maxCount)
    for values, name in ((mins, "MinCount"), (maxs, "MaxCount")):
        if not values:
            continue
        if len(values) > 1:
            raise ShaclError(f"{node_name(shape.node)}: at most one sh:{name[0].lower()}{name[1:]}")
        if not shape.is_property:
            raise ShaclError(f"{name}ConstraintComponent can only be present on a PropertyShape")
        bound = values[0]
        if not (isinstance(bound, Literal) and bound.datatype == XSD.integer) or int(bound.value) < 0:
            raise ShaclError(f"sh:{name[0].lower()}{name[1:]} must be a non-negative xsd:integer")
    v = f"?v{k}"
    columns, having, binds = [f"(COUNT(DISTINCT {v}) AS ?n{k})"], [], []
    plans: list[tuple[URIRef, str, Callable[[int], bool], GenericMessages]] = []
    if mins and int(mins[0].value) > 0:
        n = int(mins[0].value)
        having.append(f"COUNT(DISTINCT {v}) < {n}")

        def too_few(c: int, n: int = n) -> bool:
            return c < n

        def min_message(f: Node, x: Node | None, n: int = n) -> list:
            return engine.text.min_count(shape, n, f)

        plans.append((SH.MinCountConstraintComponent, f"n{k}", too_few, min_message))
    if maxs:
        m = int(maxs[0].value)
        having.append(f"COUNT(DISTINCT {v}) > {m}")

        def too_many(c: int, m: int = m) -> bool:
            return c > m

        def max_message(f: Node, x: Node | None, m: int = m) -> list:
            return engine.text.max_count(shape, m, f)

        plans.append((SH.MaxCountConstraintComponent, f"n{k}", too_many, max_message))
    qualified = shape.qualified()
    if qualified is not None:
        value_shapes, low, high, siblings = qualified

        def generic(f: Node, x: Node | None) -> list:
            return engine.text.qualified(shape, value_shapes, low, high)

        for j, q in enumerate(value_shapes):
            cond = condition(engine, q, v, "nc")
            others = [condition(engine, o, v, "nc") for o in siblings.get(q, [])]
            if others:
                cond = f"({cond}) && !(" + " || ".join(others) + ")"
            binds.append(f"BIND(IF(COALESCE({cond}, false), {v}, ?_unbound) AS ?q{k}_{j})")
            columns.append(f"(COUNT(DISTINCT ?q{k}_{j}) AS ?nq{k}_{j})")
            if high is not None:
                having.append(f"COUNT(DISTINCT ?q{k}_{j}) > {high}")

                def above_high(c: int, h: int = high) -> bool:
                    return c > h

                plans.append((SH.QualifiedMaxCountConstraintComponent, f"nq{k}_{j}", above_high, generic))
            if low is not None:
                having.append(f"COUNT(DISTINCT ?q{k}_{j}) < {low}")

                def below_low(c: int, lo: int = low) -> bool:
                    return c < lo

                plans.append((SH.QualifiedMinCountConstraintComponent, f"nq{k}_{j}", below_low, generic))
    if not plans:
        return None
    return {"v": v, "columns": columns, "having": having, "plans": plans, "binds": " ".join(binds)}


def _run_counts(engine, focus: Focus, members: list[tuple[Shape, _Plan]]) -> dict[Node, list[Result]]:
    """One GROUP BY query for the (shape, plan) pairs of ``members``; the results by shape node."""
    if len(members) == 1 and zero_length(members[0][0].model.sg, members[0][0].path):
        shape, plan = members[0]
        body = f"{{ {value_pattern(shape, focus, '?f', plan['v'])} {plan['binds']} }} UNION {focus.pattern('?f')}"
    else:
        branches = " UNION ".join(
            f"{{ {path_pattern(shape, '?f', plan['v'])} {plan['binds']} }}" for shape, plan in members
        )
        body = f"{focus.pattern('?f')} OPTIONAL {{ {branches} }}"
    columns = " ".join(c for _, plan in members for c in plan["columns"])
    having = " || ".join(h for _, plan in members for h in plan["having"])
    query = f"SELECT ?f {columns} WHERE {{ {body} }} GROUP BY ?f HAVING ({having})"
    found: dict[Node, list[Result]] = {shape.node: [] for shape, _ in members}
    for row in engine.select(query, focus.prefixes):
        focus_node = from_ox(row["f"])
        for shape, plan in members:
            for component, column, test, generic in plan["plans"]:
                if test(int(row[column].value)):
                    found[shape.node].append(
                        Result(shape, component, focus_node, messages=result_messages(shape, generic, focus_node, None))
                    )
    return found
