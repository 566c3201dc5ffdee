"""The SHACL engine's orchestration: ``supported`` and ``validate`` (``kg.validation.shacl`` says how it evaluates and
what it supports), and the ``Engine`` that runs a shape's constraint queries over a set of focus nodes,
its property shapes over their value nodes, and the generated SPARQL on the store with the Python
functions it registers. The shapes model, the focus patterns, the constraint components and the report
live in their own modules; this one only puts them together."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.rdf_terms import XSD
from kg.store.terms import from_ox, to_ox
from kg.validation.shacl.components_counts import batch_counts, counts
from kg.validation.shacl.components_focus import focus_constraints
from kg.validation.shacl.components_logic import all_rules, condition
from kg.validation.shacl.components_values import Rule
from kg.validation.shacl.errors import ShaclError, Unsupported, UnsupportedShapes
from kg.validation.shacl.focus import Focus, value_pattern
from kg.validation.shacl.report_graph import Report, Text
from kg.validation.shacl.results import Result, result_messages
from kg.validation.shacl.shapes import SH, Model, Shape, node_name
from kg.validation.shacl.sparql_constraints import sparql_constraints
from kg.validation.shacl.syntax import Vars

#: The severities that leave data conforming with ``allow_warnings`` (pyshacl's allow_warnings and allow_infos).
_ALLOWED = frozenset({SH.Info, SH.Warning})
_FN = "urn:x-kg-shacl:fn:"
_BOOL = {
    True: ox.Literal("true", datatype=ox.NamedNode(str(XSD.boolean))),
    False: ox.Literal("false", datatype=ox.NamedNode(str(XSD.boolean))),
}


#: ``supported``'s answers for the last few shapes graphs, by their triples: it compiles every query of every
#: shape, which took a third of a small validation, and a caller asks before each ``validate``.
_SUPPORTED: dict[frozenset, list[str]] = {}
_SUPPORTED_KEPT = 4
_SUPPORTED_LOCK = threading.Lock()


def supported(shapes: Graph) -> list[str]:
    """What in ``shapes`` this engine does not implement (empty: ``validate`` can check these shapes).

    The list names each feature and the shape that uses it; a caller falls back to pyshacl when it is not
    empty. Malformed shapes (which pyshacl rejects too) raise ``ShaclError`` instead."""
    key = frozenset(shapes)
    known = _SUPPORTED.get(key)
    if known is None:
        known = _unsupported(shapes)
        with _SUPPORTED_LOCK:  # request threads validate partner data side by side
            while len(_SUPPORTED) >= _SUPPORTED_KEPT:
                _SUPPORTED.pop(next(iter(_SUPPORTED)))  # the oldest
            _SUPPORTED[key] = known
    return list(known)


def _unsupported(shapes: Graph) -> list[str]:
    model = Model(shapes)
    problems = list(model.problems)
    if problems:  # a recursive shapes graph cannot even be compiled
        return sorted(set(problems))
    compiler = Engine(model, None)
    for shape in model.shapes.values():
        try:
            compiler.dry_run(shape)
        except Unsupported as exc:
            problems.append(f"{exc} ({node_name(shape.node)})")
    return sorted(set(problems))


def validate(data, shapes: Graph, *, default_graph=None, allow_warnings: bool = False) -> Graph:
    """Validate ``data`` against ``shapes``; the SHACL validation report, as pyshacl would give it.

    ``sh:conforms`` is false when there is any result, as the specification says; with ``allow_warnings``
    (the build's allowance, pyshacl's allow_warnings and allow_infos) results of severity Warning or Info
    leave it true, and a value that only breaks such a shape still conforms to it in sh:node and the like.

    ``data`` is a pyoxigraph ``Store`` whose default graph holds the data (or ``default_graph``: a graph
    name or list of names, passed to every query), or an iterable of rdflib triples. Raises
    ``UnsupportedShapes`` when ``supported(shapes)`` is not empty and ``ShaclError`` where pyshacl fails."""
    problems = supported(shapes)
    if problems:
        raise UnsupportedShapes(problems)
    namespaces = None
    if isinstance(data, ox.Store):
        store = data
    else:
        namespaces = getattr(data, "namespace_manager", None)
        store = ox.Store()
        store.extend([_quad(s, p, o) for s, p, o in data])
    if namespaces is None:
        namespaces = Graph().namespace_manager  # what a fresh rdflib data graph (kg.validation.shacl_check's) binds
    model = Model(shapes)
    engine = Engine(
        model,
        store,
        default_graph=default_graph,
        namespaces=namespaces,
        allowed=_ALLOWED if allow_warnings else frozenset(),
    )
    try:
        conforms = True
        results: list[Result] = []
        for shape in model.shapes.values():
            if shape.deactivated or not shape.has_targets():
                continue
            focus = Focus.targets(shape, engine)
            if focus.empty:
                continue
            found, failed = engine.evaluate(shape, focus)
            results.extend(found)
            conforms = conforms and not failed
        return Report(model, engine).graph(conforms, results)
    finally:
        # the engine's SPARQL functions refer back to it, so it waits for Python's cycle collector: let go
        # of the store now, so that a caller dropping it frees it at once, not at some later collection
        engine.store = None


def _quad(s: Node, p: Node, o: Node) -> ox.Quad:
    """An rdflib triple as a quad of the default graph."""
    subject, predicate = to_ox(s), to_ox(p)
    if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
        raise TypeError(f"not an RDF triple: {(s, p, o)!r}")  # as ox.Quad raises for such a triple
    return ox.Quad(subject, predicate, to_ox(o))


class Engine:
    """Evaluates shapes over focus node sets. The constraint component modules take it as ``engine``: it
    runs their queries (``select``), registers their Python functions (``function``), names fresh
    variables (``vars``), words generic messages (``text``) and keeps their caches."""

    def __init__(
        self,
        model: Model,
        store: ox.Store | None,
        *,
        default_graph=None,
        namespaces=None,
        allowed: frozenset = frozenset(),
    ):
        self.model = model
        self.allowed = allowed  # severities whose results leave the data conforming
        self.store = store
        self.default_graph = default_graph
        self.functions: dict[ox.NamedNode, Callable] = {}
        self.vars = Vars()
        self.errors: list[Exception] = []
        namespaces = namespaces or Graph().namespace_manager
        self.text = Text(model.sg, self, namespaces)
        # rdflib resolves the prefixes a SPARQL text does not declare with the data graph's bindings
        self.default_prefixes = {prefix: str(ns) for prefix, ns in namespaces.namespaces()}
        self.converters: dict[URIRef, bool] = {}
        self.sparql_cache: dict = {}
        self._registered: dict = {}
        self.count_cache: dict = {}

    # -- running queries

    def select(self, query: str, prefixes: dict[str, str] | None = None, *, variables: bool = False):
        """The solutions of a SELECT query (with the projected variable names when ``variables``)."""
        if self.store is None:
            return ([], []) if variables else []
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in (prefixes or {}).items())
        try:
            solutions = self.store.query(
                prologue + query,
                custom_functions=self.functions,
                default_graph=self.default_graph,
                prefixes=self.default_prefixes,
            )
            if not isinstance(solutions, ox.QuerySolutions):  # a SPARQL target of the shapes that is not a SELECT
                raise ShaclError(f"a query of the shapes is not a SELECT query:\n{prologue}{query}")
            names = [v.value for v in solutions.variables]
            rows = list(solutions)
        except SyntaxError as exc:
            raise ShaclError(f"a generated query does not parse ({exc}):\n{prologue}{query}") from exc
        if self.errors:
            error, self.errors = self.errors[0], []
            raise error
        return (names, rows) if variables else rows

    def function(self, check: Callable[..., bool], key) -> str:
        """Register ``check`` (rdflib terms in, bool out) as a SPARQL function once per ``key``; returns its
        IRI as SPARQL text."""
        if key in self._registered:
            return self._registered[key]
        name = ox.NamedNode(f"{_FN}{len(self.functions)}")
        cache: dict = {}

        def call(*terms):
            key = tuple(terms)
            try:
                return cache[key]
            except KeyError:
                pass
            try:
                answer = _BOOL[bool(check(*(from_ox(t) for t in terms)))]
            except ShaclError as exc:
                self.errors.append(exc)
                answer = None
            cache[key] = answer
            return answer

        self.functions[name] = call
        self._registered[key] = f"<{name.value}>"
        return self._registered[key]

    def dry_run(self, shape: Shape) -> None:
        """Compile every query and expression of ``shape`` without running anything."""
        if shape.has_targets():
            Focus.targets(shape, self).pattern("?this")
        dummy = Focus(lambda v: f"{{ VALUES {v} {{ <urn:x> }} }}")
        self._queries(shape, dummy, dry=True)

    # -- evaluation

    def evaluate(self, shape: Shape, focus: Focus) -> tuple[list[Result], bool]:
        """The results of ``shape`` for the focus nodes, and whether pyshacl deems it non-conforming."""
        if shape.deactivated:
            return [], False
        return self._queries(shape, focus, dry=False)

    def _queries(self, shape: Shape, focus: Focus, dry: bool) -> tuple[list[Result], bool]:
        """Each kind of constraint of ``shape`` in its own query, then its property shapes over its values."""
        results: list[Result] = []
        own = 0
        rules = all_rules(self, shape)
        if rules:
            own += self._value_rules(shape, focus, rules, results, dry)
        own += counts(self, shape, focus, results, dry)
        own += focus_constraints(self, shape, focus, results, dry)
        own += sparql_constraints(self, shape, focus, results, dry)
        failed = False
        props = [self.model.shape(node, kind="property") for node in shape.objects(SH.property)]
        if not dry and not shape.is_property:
            batch_counts(self, focus, props)
        for prop in props:
            sub_results, sub_failed = ([], False) if dry else self.evaluate(prop, focus.values(shape, self))
            if dry:
                self._queries(prop, focus.values(shape, self), dry=True)
            if shape.is_property and sub_results:
                sub_results = self._repeat(shape, focus, sub_results)
            results.extend(sub_results)
            failed = failed or sub_failed
        for prop in props:  # nothing left behind for a later focus set that might reuse this one's id
            self.count_cache.pop((id(focus), prop.node), None)
        nonconforming = shape.severity not in self.allowed and (own > 0 or failed)
        return results, nonconforming

    def _repeat(self, shape: Shape, focus: Focus, found: list[Result]) -> list[Result]:
        """pyshacl validates a property shape's sh:property once per (focus, value) pair: results about a
        value shared by several focus nodes appear once per focus node."""
        f, v = self.vars("f"), self.vars("v")
        query = (
            f"SELECT {v} (COUNT(DISTINCT {f}) AS ?n) WHERE {{ {value_pattern(shape, focus, f, v)} }} "
            f"GROUP BY {v} HAVING (COUNT(DISTINCT {f}) > 1)"
        )
        times = {from_ox(row[v[1:]]): int(row["n"].value) for row in self.select(query, focus.prefixes)}
        repeated = []
        for result in found:
            repeated.extend([result] * times.get(result.focus, 1))
        return repeated

    def _value_rules(self, shape: Shape, focus: Focus, rules: list[Rule], results: list[Result], dry: bool) -> int:
        """The value-level rules of ``shape`` in one query; a value breaking several gives a result for each."""
        f, v = "?f", ("?v" if shape.is_property else "?f")
        joins, binds = [], []
        for i, rule in enumerate(rules):
            if rule.join is not None:
                joins.append(rule.join(v, f"?k{i}"))
                binds.append(f"BIND(BOUND(?k{i}) AS ?c{i})")
            else:
                binds.append(f"BIND(COALESCE({rule.ok(v)}, false) AS ?c{i})")
        clauses = " ".join(joins + binds)
        failing = " || ".join(f"!?c{i}" for i in range(len(rules)))
        columns = " ".join(f"?c{i}" for i in range(len(rules)))
        query = (
            f"SELECT DISTINCT ?f {v if v != '?f' else ''} {columns} WHERE {{ "
            f"{value_pattern(shape, focus, f, v)} {clauses} FILTER({failing}) }}"
        )
        if dry:
            return 0
        count = 0
        pending: dict[int, list[Result]] = {}
        for row in self.select(query, focus.prefixes):
            focus_node = from_ox(row["f"])
            value_node = from_ox(row[v[1:]])
            for i, rule in enumerate(rules):
                if row[f"c{i}"].value == "false":
                    result = Result(
                        shape,
                        rule.component,
                        focus_node,
                        value_node,
                        messages=result_messages(shape, rule.message, focus_node, value_node),
                    )
                    results.append(result)
                    count += 1
                    if rule.node_shape is not None:
                        pending.setdefault(i, []).append(result)
        for i, waiting in pending.items():
            target = rules[i].node_shape
            assert target is not None  # pending holds only the results of sh:node rules
            self._details(shape, focus, target, waiting)
        return count

    def _details(self, shape: Shape, focus: Focus, target: Shape, waiting: list[Result]) -> None:
        """The sh:detail of sh:node results: the results of the node shape for each failing value."""
        failing = focus.values(shape, self, lambda v: "!(" + condition(self, target, v, "results") + ")")
        found, _ = self.evaluate(target, failing)
        by_focus: dict[Node, list[Result]] = {}
        for result in found:
            by_focus.setdefault(result.focus, []).append(result)
        for result in waiting:
            result.details = by_focus.get(result.value, []) if result.value is not None else []
