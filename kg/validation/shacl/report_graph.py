"""The validation report as pyshacl writes it: the report graph of the results, pyshacl's generic
messages, and copies of the blank nodes the results mention (from the shapes graph or the data store)."""

from __future__ import annotations

from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, NamespaceManager

from kg.store.terms import from_ox, to_ox
from kg.validation.shacl.results import Result
from kg.validation.shacl.shapes import SH, Model


class DataSource(Protocol):
    """Where the data graph is (the engine): its ``store`` (None once validation has let go of it) and the
    ``default_graph`` its queries use."""

    store: ox.Store | None
    default_graph: object


class Text:
    """pyshacl's default messages for each constraint component (make_generic_messages)."""

    def __init__(self, sg: Graph, engine: DataSource, data_namespaces: NamespaceManager):
        self.sg = sg
        self.engine = engine
        self.shape_ns = sg.namespace_manager
        self.data_ns = data_namespaces
        for ns in (self.shape_ns, self.data_ns):
            ns.bind("sh", str(SH), override=False, replace=False)

    def shape_node(self, node) -> str:
        return _stringify(_GraphAccess(self.sg), node, self.shape_ns)

    def data_node(self, node) -> str:
        return _stringify(_StoreAccess(self.engine), node, self.data_ns)

    def _path(self, shape) -> str:
        return self.shape_node(shape.path)

    def min_count(self, shape, n, focus):
        return [Literal(f"Less than {n} values on {self.data_node(focus)}->{self._path(shape)}")]

    def max_count(self, shape, n, focus):
        return [Literal(f"More than {n} values on {self.data_node(focus)}->{self._path(shape)}")]

    def class_(self, classes):
        if len(classes) < 2:
            return [Literal(f"Value does not have class {self.shape_node(classes[0])}")]
        return [Literal("Value class is not in classes ({})".format(", ".join(self.shape_node(c) for c in classes)))]

    def datatype(self, rule):
        return [Literal(f"Value is not Literal with datatype {self.shape_node(rule)}")]

    def node_kind(self, kind):
        return [Literal(f"Value is not of Node Kind {self.shape_node(kind)}")]

    def range(self, sign, bounds):
        if len(bounds) < 2:
            return [Literal(f"Value is not {sign} {self.shape_node(bounds[0])}")]
        return [Literal("Value is not {} in ({})".format(sign, ", ".join(self.shape_node(b) for b in bounds)))]

    def length(self, longer, n):
        return [Literal(f"String length not {'>=' if longer else '<='} {self.data_node(n)}")]

    def pattern(self, patterns):
        if len(patterns) < 2:
            return [Literal(f"Value does not match pattern '{patterns[0].value}'")]
        return [
            Literal("Value does not match every pattern in ('{}')".format("', '".join(str(p.value) for p in patterns)))
        ]

    def language_in(self, lst):
        return [Literal(f"String language is not in {self.shape_node(lst)}")]

    def unique_lang(self):
        return [Literal("More than one String shares the same Language")]

    def pair(self, shape, predicate, focus, value):
        sign = {SH.equals: "!=", SH.disjoint: "==", SH.lessThan: "<=", SH.lessThanOrEquals: "<"}[predicate]
        others = list(set(shape.objects(predicate)))
        rule = self.shape_node(others[0]) if len(others) < 2 else ", ".join(self.shape_node(p) for p in others)
        return [Literal(f"Value of {self.data_node(focus)}->{rule} {sign} {self.data_node(value)}")]

    def in_(self, members, value):
        listed = [self.shape_node(m) for m in set(members)]
        return [Literal(f"Value {self.data_node(value)} not in list {listed}")]

    def has_value(self, shape, focus):
        values = [self.shape_node(v) for v in set(shape.objects(SH.hasValue))]
        if shape.is_property:
            return [
                Literal(
                    f"Node {self.data_node(focus)}->{self._path(shape)} does not contain a value in the set: {values}"
                )
            ]
        return [Literal(f"Node {self.data_node(focus)} value is not a in the set of values: {values}")]

    def closed(self, focus, value):
        return [Literal(f"Node {self.data_node(focus)} is closed. It cannot have value: {self.data_node(value)}")]

    def node(self, nodes):
        if len(nodes) < 2:
            text = f"Value does not conform to Shape {self.shape_node(nodes[0])}."
        else:
            text = "Value must conform to every Shape in ('{}').".format("', '".join(self.shape_node(n) for n in nodes))
        return [Literal(text + " See details for more information.")]

    def not_(self, nodes, value):
        if len(nodes) == 1:
            return [Literal(f"Node {self.data_node(value)} must not conform to shape {self.shape_node(nodes[0])}")]
        listed = " , ".join(self.shape_node(n) for n in nodes)
        return [Literal(f"Node {self.data_node(value)} must not conform to any shapes in {listed}")]

    def logical(self, predicate, lists, value):
        word = {SH["and"]: "all shapes in", SH["or"]: "one or more shapes in", SH.xone: "exactly one shape in"}
        if len(lists) < 2:
            listed = " , ".join(self.shape_node(m) for m in self.sg.items(lists[0]))
        else:
            listed = " and ".join(
                "({})".format(" , ".join(self.shape_node(m) for m in self.sg.items(lst))) for lst in lists
            )
        return [Literal(f"Node {self.data_node(value)} must conform to {word[predicate]} {listed}")]

    def qualified(self, shape, value_shapes, low, high):
        shapes = ",".join(self.shape_node(s) for s in set(shape.objects(SH.qualifiedValueShape)))  # as pyshacl
        counts = (f" MinCount {low}" if low is not None else "") + (f" MaxCount {high}" if high is not None else "")
        if len(value_shapes) > 1:
            return [Literal(f"Focus node does not conform to shapes{counts}: ({shapes})")]
        return [Literal(f"Focus node does not conform to shape{counts}: {shapes}")]


class _GraphAccess:
    def __init__(self, graph: Graph):
        self.graph = graph

    def predicates(self, node):
        return list(self.graph.predicates(node, None))

    def objects(self, node, predicate):
        return list(self.graph.objects(node, predicate))

    def items(self, node):
        return list(self.graph.items(node))


class _StoreAccess:
    """The data graph's description of a blank node, read from the store."""

    def __init__(self, engine: DataSource):
        self.engine = engine

    def _quads(self, node, predicate=None):
        store = self.engine.store
        if store is None:
            return []
        graphs = self.engine.default_graph
        graphs = [ox.DefaultGraph()] if graphs is None else (graphs if isinstance(graphs, list) else [graphs])
        found = []
        for graph in graphs:
            found.extend(
                store.quads_for_pattern(to_ox(node), to_ox(predicate) if predicate is not None else None, None, graph)
            )
        return found

    def predicates(self, node):
        return [from_ox(q.predicate) for q in self._quads(node)]

    def objects(self, node, predicate):
        return [from_ox(q.object) for q in self._quads(node, predicate)]

    def items(self, node):
        items, seen = [], set()
        while node is not None and node != RDF.nil and node not in seen:
            seen.add(node)
            first = self.objects(node, RDF.first)
            if first:
                items.append(first[0])
            rest = self.objects(node, RDF.rest)
            node = rest[0] if rest else None
        return items


def _stringify(access, node, ns: NamespaceManager, recursion: int = 0) -> str:
    """pyshacl.rdfutil.stringify_node."""
    if isinstance(node, Literal):
        value = None if node.value is None else str(node.value)
        lexical = str(node)
        if value is not None:
            at = value.find(" object at 0x")
            if at > 0:
                value = value[:at]
        text = f'"{lexical}" = {value}' if value is not None and value != lexical else f'"{lexical}"'
        lang = f", lang={node.language}" if node.language else ""
        datatype = f", datatype={_stringify(access, node.datatype, ns)}" if node.datatype else ""
        return f"Literal({text}{lang}{datatype})"
    if isinstance(node, BNode):
        return _stringify_blank(access, node, ns, recursion + 1)
    if isinstance(node, URIRef):
        try:
            return node.n3(namespace_manager=ns)
        except Exception:
            return str(node)
    return str(node)


def _stringify_blank(access, node, ns, recursion) -> str:
    if recursion >= 12:
        return "<http://recursion.too.deep>"
    predicates = access.predicates(node)
    if not predicates:
        return "[ ]"
    if RDF.first in predicates:
        return "( {} )".format(" ".join(_stringify(access, i, ns, recursion + 1) for i in access.items(node)))
    texts = {}
    for p in dict.fromkeys(predicates):
        p_text = p.n3(namespace_manager=ns) if isinstance(p, (Literal, BNode, URIRef)) else str(p)
        objects = access.objects(node, p)
        if not objects:
            continue
        rendered = []
        for o in objects:
            rendered.append("<self>" if p == OWL.sameAs and o is node else _stringify(access, o, ns, recursion + 1))
        texts[p_text] = ", ".join(sorted(rendered)) if len(rendered) > 1 else rendered[0]
    if len(texts) > 1:
        inner = " ; ".join(f"{p} {o}" for p, o in sorted(texts.items()))
    else:
        inner = "{} {}".format(*next(iter(texts.items())))
    return f"[ {inner} ]"


# --- the report graph ----------------------------------------------------------------------------------


class Report:
    def __init__(self, model: Model, engine: DataSource):
        self.sg = model.sg
        self.engine = engine
        self.data = _StoreAccess(engine)

    def graph(self, conforms: bool, results: list[Result]) -> Graph:
        report = Graph(bind_namespaces="core")
        for prefix, namespace in self.sg.namespace_manager.namespaces():
            report.namespace_manager.bind(prefix, namespace)
        root = BNode()
        report.add((root, RDF.type, SH.ValidationReport))
        report.add((root, SH.conforms, Literal(conforms)))
        self.cloned: set = set()
        for result in results:
            node = self._result(report, result)
            report.add((root, SH.result, node))
        return report

    def _result(self, report: Graph, result: Result) -> BNode:
        node = BNode()
        shape = result.shape
        add = report.add
        add((node, RDF.type, SH.ValidationResult))
        add((node, SH.sourceConstraintComponent, result.component))
        add((node, SH.sourceShape, self._clone(report, shape.node, self.sg)))
        add((node, SH.resultSeverity, shape.severity))
        add((node, SH.focusNode, self._clone(report, result.focus, None)))
        if result.value is not None:
            add((node, SH.value, self._clone(report, result.value, None)))
        path = result.path if result.path is not None else shape.path
        if path is not None:
            add((node, SH.resultPath, self._clone(report, path, self.sg if result.path is None else None)))
        if result.source_constraint is not None:
            add((node, SH.sourceConstraint, self._clone(report, result.source_constraint, self.sg)))
        for message in result.messages:
            add((node, SH.resultMessage, message))
        for detail in result.details:
            add((node, SH.detail, self._result(report, detail)))
        return node

    def _clone(self, report: Graph, term, graph: Graph | None, depth: int = 0):
        """A term for the report; a blank node comes with its description (pyshacl's clone_blank_node)."""
        if not isinstance(term, BNode):
            return term
        key = (graph is None, str(term))
        if key in self.cloned or depth > 10:
            return term
        self.cloned.add(key)
        access = _GraphAccess(graph) if graph is not None else self.data
        predicates = list(dict.fromkeys(access.predicates(term)))
        if RDF.first in predicates:
            items = [self._clone(report, i, graph, depth + 1) for i in access.items(term)]
            Collection(report, term, items)
            return term
        for p in predicates:
            for o in access.objects(term, p):
                report.add((term, p, self._clone(report, o, graph, depth + 1)))
        return term
