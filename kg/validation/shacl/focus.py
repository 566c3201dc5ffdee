"""Focus nodes and value nodes as SPARQL patterns: a shape's targets (a SHACL-AF SPARQL target run once
when a store is at hand), the value nodes along a property shape's path, and those values as the focus
nodes of the shapes they must conform to. A set of nodes is always a pattern, never a list in Python."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox

from kg.validation.shacl import rewrite
from kg.validation.shacl.errors import Unsupported
from kg.validation.shacl.shapes import SH, Shape
from kg.validation.shacl.syntax import (
    TYPE_PATH,
    collect_prefixes,
    merge_prefixes,
    sparql_path,
    sparql_term,
    split_prologue,
    zero_length,
)

_MAX_VALUES = 50_000  # SPARQL target nodes written into queries as VALUES; beyond, the target query is inlined


class Focus:
    """A set of focus nodes: ``pattern(var)`` is a group graph pattern binding ``var`` to each node once."""

    def __init__(self, build: Callable[[str], str], prefixes: dict[str, str] | None = None):
        self.build = build
        self.prefixes = prefixes or {}
        self.empty = False  # known to hold no node (then no query needs to run)

    def pattern(self, var: str) -> str:
        return self.build(var)

    @staticmethod
    def targets(shape: Shape, engine) -> Focus:
        """The target nodes of ``shape``; ``engine`` runs a SPARQL target (``select``) if it has a ``store``."""
        g = shape.model.sg
        pieces: list[Callable[[str], str]] = []
        prefixes: dict[str, str] = {}
        classes = shape.objects(SH.targetClass) + ([shape.node] if shape.implicit_class() else [])
        for cls in dict.fromkeys(classes):
            text = sparql_term(cls)

            def class_target(v: str, c: str = text) -> str:
                return f"{{ {v} {TYPE_PATH} {c} }}"

            pieces.append(class_target)
        nodes = shape.objects(SH.targetNode)
        if nodes:
            listed = " ".join(sparql_term(n) for n in nodes)

            def node_target(v: str, values: str = listed) -> str:
                return f"{{ VALUES {v} {{ {values} }} }}"

            pieces.append(node_target)
        for predicate in shape.objects(SH.targetSubjectsOf):
            text = sparql_term(predicate)

            def subjects_target(v: str, p: str = text) -> str:
                return f"{{ {v} {p} [] }}"

            pieces.append(subjects_target)
        for predicate in shape.objects(SH.targetObjectsOf):
            text = sparql_term(predicate)

            def objects_target(v: str, p: str = text) -> str:
                return f"{{ [] {p} {v} }}"

            pieces.append(objects_target)
        for target in shape.objects(SH.target):
            select = next(g.objects(target, SH.select), None)
            if select is None:
                raise Unsupported("a SPARQL target without sh:select")
            declared = collect_prefixes(g, target)
            own, body = split_prologue(str(select))
            body = rewrite.values_rewrite(rewrite.minus_rewrite(body))
            declared.update(own)
            if engine.store is not None:
                # run the target once: its nodes are usually few (none when the data conforms), and then
                # every constraint query of the shape starts from a short VALUES list
                found = {row["this"] for row in engine.select(body, declared) if row["this"] is not None}
                if not found:
                    continue
                if len(found) <= _MAX_VALUES and not any(isinstance(n, ox.BlankNode) for n in found):
                    values = " ".join(sparql_term(n) for n in sorted(found, key=str))

                    def found_target(v: str, values: str = values) -> str:
                        return f"{{ VALUES {v} {{ {values} }} }}"

                    pieces.append(found_target)
                    continue
            merge_prefixes(prefixes, declared)

            def sparql_target(v: str, body: str = body) -> str:
                inner = f"{{ {body} }}"
                return inner if v == "?this" else f"{{ SELECT ({'?this'} AS {v}) WHERE {{ {inner} }} }}"

            pieces.append(sparql_target)

        def build(var: str) -> str:
            if not pieces:
                return f"{{ VALUES {var} {{ }} }}"
            return f"{{ SELECT DISTINCT {var} WHERE {{ " + " UNION ".join(p(var) for p in pieces) + " } }"

        focus = Focus(build, prefixes)
        focus.empty = not pieces
        return focus

    def values(self, shape: Shape, engine, condition: Callable[[str], str] | None = None) -> Focus:
        """The value nodes of ``shape`` for these focus nodes (those meeting ``condition``), as focus nodes."""
        if not shape.is_property and condition is None:
            return self

        def build(var: str) -> str:
            f, v = engine.vars("f"), engine.vars("v")
            if not shape.is_property:
                v = f
            body = value_pattern(shape, self, f, v)
            if condition is not None:
                body += f" FILTER({condition(v)})"
            return f"{{ SELECT DISTINCT ({v} AS {var}) WHERE {{ {body} }} }}"

        return Focus(build, self.prefixes)


def value_pattern(shape: Shape, focus: Focus, f: str, v: str) -> str:
    """Binds ``f`` to each focus node and ``v`` to each of its value nodes (for a node shape v is f)."""
    if not shape.is_property:
        return focus.pattern(f)
    path = sparql_path(shape.model.sg, shape.path)
    if zero_length(shape.model.sg, shape.path):  # Oxigraph starts zero-length paths only from nodes in the data
        return f"{{ {focus.pattern(f)} {f} {path} {v} }} UNION {{ {focus.pattern(f)} BIND({f} AS {v}) }}"
    return f"{focus.pattern(f)} {f} {path} {v} ."


def path_pattern(shape: Shape, x: str, y: str) -> str:
    """Binds ``y`` to the value nodes of ``x``, where ``x`` is bound already (inside EXISTS)."""
    path = sparql_path(shape.model.sg, shape.path)
    if zero_length(shape.model.sg, shape.path):
        return f"{{ {x} {path} {y} }} UNION {{ BIND({x} AS {y}) }}"
    return f"{x} {path} {y} ."
