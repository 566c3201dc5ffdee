"""The SHACL engine: a shapes graph compiled into set-at-a-time SPARQL over all focus nodes (``kg.shacl``
says how, and what it supports)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Callable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from kg.namespaces import W3C_PREFIXES
from kg.shacl import literals, report, rewrite
from kg.shacl.errors import ShaclError, UnsupportedShapes
from kg.sparql_text import code_only
from kg.store import from_ox, to_ox

SH = Namespace(W3C_PREFIXES["sh"])
#: The severities that leave data conforming with ``allow_warnings`` (pyshacl's allow_warnings and allow_infos).
_ALLOWED = frozenset({SH.Info, SH.Warning})
_TYPE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
_FN = "urn:x-kg-shacl:fn:"
_MAX_VALUES = 50_000  # SPARQL target nodes written into queries as VALUES; beyond, the target query is inlined


class _Unsupported(Exception):
    pass


# --- the public API ------------------------------------------------------------------------------------

def supported(shapes: Graph) -> list[str]:
    """What in ``shapes`` this engine does not implement (empty: ``validate`` can check these shapes).

    The list names each feature and the shape that uses it; a caller falls back to pyshacl when it is not
    empty. Malformed shapes (which pyshacl rejects too) raise ``ShaclError`` instead."""
    model = _Model(shapes)
    problems = list(model.problems)
    if problems:  # a recursive shapes graph cannot even be compiled
        return sorted(set(problems))
    compiler = _Engine(model, None)
    for shape in model.shapes.values():
        try:
            compiler.dry_run(shape)
        except _Unsupported as exc:
            problems.append(f"{exc} ({_name(shape.node)})")
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
        store.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in data])
    if namespaces is None:
        namespaces = Graph().namespace_manager  # what a fresh rdflib data graph (kg.validate's) binds
    model = _Model(shapes)
    engine = _Engine(model, store, default_graph=default_graph, namespaces=namespaces,
                     allowed=_ALLOWED if allow_warnings else frozenset())
    try:
        conforms = True
        results: list[report.Result] = []
        for shape in model.shapes.values():
            if shape.deactivated or not shape.has_targets():
                continue
            focus = _Focus.targets(shape, engine)
            if focus.empty:
                continue
            found, failed = engine.evaluate(shape, focus)
            results.extend(found)
            conforms = conforms and not failed
        return report.Report(model, engine).graph(conforms, results)
    finally:
        # the engine's SPARQL functions refer back to it, so it waits for Python's cycle collector: let go
        # of the store now, so that a caller dropping it frees it at once (a 6M-triple store at 1M)
        engine.store = None


# --- the shapes graph ----------------------------------------------------------------------------------

_SHAPE_REFS = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)
def _name(node: Node) -> str:
    return str(node) if isinstance(node, URIRef) else f"blank node {node.n3()}"


@dataclass(eq=False)
class _Shape:
    model: "_Model"
    node: Node
    path: Node | None  # None for a node shape

    def __post_init__(self):
        g = self.model.sg
        deactivated = list(g.objects(self.node, SH.deactivated))
        if len(deactivated) > 1:
            raise ShaclError(f"{_name(self.node)}: more than one sh:deactivated")
        if deactivated and not isinstance(deactivated[0], Literal):
            raise ShaclError(f"{_name(self.node)}: sh:deactivated must be a literal")
        self.deactivated = bool(deactivated[0].value) if deactivated else False
        severities = list(g.objects(self.node, SH.severity))
        self.severity = severities[0] if severities else SH.Violation
        self.messages = list(set(g.objects(self.node, SH.message)))

    @property
    def is_property(self) -> bool:
        return self.path is not None

    def objects(self, predicate) -> list:
        return list(self.model.sg.objects(self.node, predicate))

    def has_targets(self) -> bool:
        g = self.model.sg
        return any(True for p in (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
                   for _ in g.objects(self.node, p)) or self.implicit_class()

    def implicit_class(self) -> bool:
        g = self.model.sg
        # pyshacl adds owl:Class rdfs:subClassOf rdfs:Class to every shapes graph
        classes = set(g.subjects(RDFS.subClassOf, RDFS.Class)) | {RDFS.Class, OWL.Class}
        return any(t in classes for t in g.objects(self.node, RDF.type))


class _Model:
    """The shapes of a shapes graph, found as pyshacl finds them, and what this engine cannot run."""

    def __init__(self, sg: Graph):
        self.sg = sg
        self.problems: list[str] = []
        self.shapes: dict[Node, _Shape] = {}
        g = sg
        node_shapes = set(g.subjects(RDF.type, SH.NodeShape))
        prop_shapes = set(g.subjects(RDF.type, SH.PropertyShape))
        for s in node_shapes:
            if any(True for _ in g.objects(s, SH.path)):
                raise ShaclError(f"{_name(s)}: a sh:NodeShape cannot have a sh:path")
        paths = {}
        for s in prop_shapes:
            if s in node_shapes:
                raise ShaclError(f"{_name(s)}: a shape cannot be both a NodeShape and a PropertyShape")
            found = list(g.objects(s, SH.path))
            if len(found) != 1:
                raise ShaclError(f"{_name(s)}: a sh:PropertyShape needs exactly one sh:path")
            paths[s] = found[0]
        implied = {s for p in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf, SH.property,
                               SH.node) for s in g.subjects(p, None)}
        referenced = {o for p in _SHAPE_REFS for o in g.objects(None, p)}
        for p in _SHAPE_LISTS:
            for lst in g.objects(None, p):
                items = list(g.items(lst))
                if not items:
                    raise ShaclError(f"the value of {p.n3()} must be a non-empty RDF list")
                referenced.update(items)
        found_nodes = set(node_shapes)
        for s in itertools.chain(implied, referenced):
            if s in node_shapes or s in prop_shapes or s in found_nodes or s in paths:
                continue
            found = list(g.objects(s, SH.path))
            if len(found) > 1:
                raise ShaclError(f"{_name(s)}: a property shape cannot have two sh:path values")
            if found:
                paths[s] = found[0]
            else:
                found_nodes.add(s)
        for s in found_nodes:
            self.shapes[s] = _Shape(self, s, None)
        for s, path in paths.items():
            self.shapes[s] = _Shape(self, s, path)
        self._check_features()

    def shape(self, node: Node, *, kind: str | None = None) -> _Shape:
        shape = self.shapes.get(node)
        if shape is None:
            raise ShaclError(f"the shape {_name(node)} referenced by a constraint does not exist")
        if kind == "node" and shape.is_property:
            raise ShaclError(f"{_name(node)} is used with sh:node but is a property shape")
        if kind == "property" and not shape.is_property:
            raise ShaclError(f"{_name(node)} is used with sh:property but is not a property shape")
        return shape

    def _check_features(self):
        g = self.sg
        checks = [
            (SH.rule, "SHACL rules (sh:rule)"), (SH.expression, "node expressions (sh:expression)"),
            (SH.js, "SHACL-JS (sh:js)"), (SH.jsFunctionName, "SHACL-JS (sh:jsFunctionName)"),
            (SH.condition, "rule conditions (sh:condition)"), (SH.ask, "SPARQL ASK validators (sh:ask)"),
        ]
        for predicate, feature in checks:
            if any(True for _ in g.subject_objects(predicate)):
                self.problems.append(feature)
        for cls, feature in [(SH.Function, "SHACL functions"), (SH.SPARQLFunction, "SPARQL functions"),
                             (SH.ConstraintComponent, "custom constraint components"),
                             (SH.TargetType, "custom target types"), (SH.SPARQLTargetType, "SPARQL target types"),
                             (SH.JSTarget, "SHACL-JS targets")]:
            members = set(g.subjects(RDF.type, cls)) | {s for sub in g.subjects(RDFS.subClassOf, cls)
                                                         for s in g.subjects(RDF.type, sub)}
            if cls == SH.ConstraintComponent:
                members = {m for m in members if not str(m).startswith(str(SH))}
            if members:
                self.problems.append(feature)
        for shape in self.shapes.values():
            for target in shape.objects(SH.target):
                if not list(g.objects(target, SH.select)) and (target, RDF.type, SH.SPARQLTarget) not in g:
                    self.problems.append(f"sh:target that is not a SPARQL target ({_name(shape.node)})")
            for node in shape.objects(SH.targetNode):
                if isinstance(node, BNode):
                    self.problems.append(f"a blank node as sh:targetNode ({_name(shape.node)})")
        # recursion through shape references
        state: dict[Node, int] = {}

        def visit(node):
            if state.get(node) == 1:
                raise _Unsupported(f"recursive shapes (through {_name(node)})")
            if state.get(node) == 2 or node not in self.shapes:
                return
            state[node] = 1
            for ref in self.references(node):
                visit(ref)
            state[node] = 2
        try:
            for node in list(self.shapes):
                visit(node)
        except _Unsupported as exc:
            self.problems.append(str(exc))

    def references(self, node) -> list:
        g = self.sg
        refs = [o for p in _SHAPE_REFS for o in g.objects(node, p)]
        for p in _SHAPE_LISTS:
            for lst in g.objects(node, p):
                refs.extend(g.items(lst))
        return refs


# --- SPARQL text ---------------------------------------------------------------------------------------

def _term(node) -> str:
    """An rdflib or pyoxigraph term as SPARQL text (escaped N-Triples, written by pyoxigraph)."""
    if isinstance(node, (ox.NamedNode, ox.Literal)):
        return str(node)
    if isinstance(node, (URIRef, Literal)):
        return str(to_ox(node))
    raise _Unsupported(f"a blank node cannot be written into a query ({node!r})")


def _path(sg: Graph, node, depth: int = 0) -> str:
    """A SHACL path as a SPARQL property path."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal) or depth > 12:
        raise ShaclError("a SHACL path cannot be a literal")
    items = list(sg.items(node)) if (node, RDF.first, None) in sg else []
    if items:
        if len(items) < 2:
            raise ShaclError("a sequence path needs at least two members")
        return "(" + " / ".join(_path(sg, i, depth + 1) for i in items) + ")"
    for predicate, template in ((SH.inversePath, "^({})"), (SH.zeroOrMorePath, "({})*"), (SH.oneOrMorePath, "({})+"),
                                (SH.zeroOrOnePath, "({})?")):
        inner = next(sg.objects(node, predicate), None)
        if inner is not None:
            return template.format(_path(sg, inner, depth + 1))
    alternatives = next(sg.objects(node, SH.alternativePath), None)
    if alternatives is not None:
        items = list(sg.items(alternatives))
        if len(items) < 2:
            raise ShaclError("an alternative path needs at least two members")
        return "(" + " | ".join(_path(sg, i, depth + 1) for i in items) + ")"
    raise _Unsupported(f"an unknown kind of path ({node!r})")


def _zero_length(sg: Graph, node) -> bool:
    return isinstance(node, BNode) and any(True for p in (SH.zeroOrMorePath, SH.zeroOrOnePath)
                                           for _ in sg.objects(node, p))


def _is_true(flag) -> bool:
    """Whether a parameter is the literal true: the specification names only "true"^^xsd:boolean, so
    "1"^^xsd:boolean leaves sh:uniqueLang off (the W3C test uniqueLang-002)."""
    return isinstance(flag, Literal) and flag.datatype == XSD.boolean and str(flag) == "true"


_BOOL = {True: ox.Literal("true", datatype=ox.NamedNode(str(XSD.boolean))),
         False: ox.Literal("false", datatype=ox.NamedNode(str(XSD.boolean)))}


class _Vars:
    def __init__(self):
        self.counter = itertools.count()

    def __call__(self, stem: str = "x") -> str:
        return f"?_{stem}{next(self.counter)}"


# --- focus node sets as SPARQL patterns ----------------------------------------------------------------

class _Focus:
    """A set of focus nodes: ``pattern(var)`` is a group graph pattern binding ``var`` to each node once."""

    def __init__(self, build: Callable[[str], str], prefixes: dict[str, str] | None = None):
        self.build = build
        self.prefixes = prefixes or {}
        self.empty = False  # known to hold no node (then no query needs to run)

    def pattern(self, var: str) -> str:
        return self.build(var)

    @staticmethod
    def targets(shape: _Shape, engine: "_Engine") -> "_Focus":
        g = shape.model.sg
        pieces: list[Callable[[str], str]] = []
        prefixes: dict[str, str] = {}
        classes = shape.objects(SH.targetClass) + ([shape.node] if shape.implicit_class() else [])
        for cls in dict.fromkeys(classes):
            text = _term(cls)
            pieces.append(lambda v, c=text: f"{{ {v} {_TYPE_PATH} {c} }}")
        nodes = shape.objects(SH.targetNode)
        if nodes:
            values = " ".join(_term(n) for n in nodes)
            pieces.append(lambda v: f"{{ VALUES {v} {{ {values} }} }}")
        for p in shape.objects(SH.targetSubjectsOf):
            pieces.append(lambda v, p=_term(p): f"{{ {v} {p} [] }}")
        for p in shape.objects(SH.targetObjectsOf):
            pieces.append(lambda v, p=_term(p): f"{{ [] {p} {v} }}")
        for target in shape.objects(SH.target):
            select = next(g.objects(target, SH.select), None)
            if select is None:
                raise _Unsupported("a SPARQL target without sh:select")
            declared = _collect_prefixes(g, target)
            own, body = _split_prologue(str(select))
            body = rewrite.values_rewrite(rewrite.minus_rewrite(body))
            declared.update(own)
            if engine.store is not None:
                # run the target once: its nodes are usually few (none when the data conforms), and then
                # every constraint query of the shape starts from a short VALUES list
                nodes = {row["this"] for row in engine.select(body, declared) if row["this"] is not None}
                if not nodes:
                    continue
                if len(nodes) <= _MAX_VALUES and not any(isinstance(n, ox.BlankNode) for n in nodes):
                    values = " ".join(_term(n) for n in sorted(nodes, key=str))
                    pieces.append(lambda v, values=values: f"{{ VALUES {v} {{ {values} }} }}")
                    continue
            _merge_prefixes(prefixes, declared)

            def sparql_target(v, body=body):
                inner = f"{{ {body} }}"
                return inner if v == "?this" else f"{{ SELECT ({'?this'} AS {v}) WHERE {{ {inner} }} }}"
            pieces.append(sparql_target)

        def build(var: str) -> str:
            if not pieces:
                return f"{{ VALUES {var} {{ }} }}"
            return f"{{ SELECT DISTINCT {var} WHERE {{ " + " UNION ".join(p(var) for p in pieces) + " } }"
        focus = _Focus(build, prefixes)
        focus.empty = not pieces
        return focus

    def values(self, shape: _Shape, engine: "_Engine", condition: Callable[[str], str] | None = None) -> "_Focus":
        """The value nodes of ``shape`` for these focus nodes (those meeting ``condition``), as focus nodes."""
        if not shape.is_property and condition is None:
            return self

        def build(var: str) -> str:
            f, v = engine.vars("f"), engine.vars("v")
            if not shape.is_property:
                v = f
            body = engine.values(shape, self, f, v)
            if condition is not None:
                body += f" FILTER({condition(v)})"
            return f"{{ SELECT DISTINCT ({v} AS {var}) WHERE {{ {body} }} }}"
        return _Focus(build, self.prefixes)


_PROLOGUE = re.compile(r"\s*(?:PREFIX\s+([A-Za-z][\w.-]*)?:\s*(<[^>]*>)|(BASE)\s*<[^>]*>)", re.IGNORECASE)


def _split_prologue(text: str) -> tuple[dict[str, str], str]:
    """The PREFIX declarations at the start of a query, and the rest."""
    code = code_only(text)
    prefixes, offset = {}, 0
    while True:
        match = _PROLOGUE.match(code, offset)
        if not match:
            break
        if match.group(3):
            raise _Unsupported("BASE in a SPARQL query of the shapes")
        iri_start, iri_end = match.span(2)
        prefixes[match.group(1) or ""] = text[iri_start + 1:iri_end - 1]
        offset = match.end()
    return prefixes, text[offset:]


def _merge_prefixes(into: dict[str, str], more: dict[str, str]) -> None:
    for prefix, namespace in more.items():
        if into.get(prefix, namespace) != namespace:
            raise _Unsupported(f"the prefix {prefix}: means two namespaces in the SPARQL of one shape")
        into[prefix] = namespace


def _collect_prefixes(sg: Graph, node) -> dict[str, str]:
    """pyshacl's prefixes for a SPARQL constraint or target: rdf, rdfs, owl and its sh:prefixes declarations."""
    prefixes = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
    values = set(sg.objects(node, SH.prefixes))
    if not values:
        return prefixes
    graph_declares = set(sg.objects(sg.identifier, SH.declare)) if sg.identifier else set()
    ontologies = set(sg.subjects(RDF.type, OWL.Ontology))
    everywhere = graph_declares.union(*(set(sg.objects(o, SH.declare)) for o in ontologies))
    for value in values:
        own = set(sg.objects(value, SH.declare))
        declares = own | graph_declares if own and value in ontologies else everywhere | own
        for declare in declares:
            if isinstance(declare, Literal):
                raise ShaclError("sh:declare must be an IRI or a blank node")
            names, namespaces = list(sg.objects(declare, SH.prefix)), list(sg.objects(declare, SH.namespace))
            if len(names) != 1 or len(namespaces) != 1:
                raise ShaclError("sh:declare needs exactly one sh:prefix and one sh:namespace")
            prefixes[str(names[0])] = str(namespaces[0])
    return prefixes


# --- SPARQL-based constraints: the pre-binding rewrite ------------------------------------------------

class _Sparql:
    """One sh:sparql constraint, its query rewritten to run over all focus nodes at once."""

    _MINUS = re.compile(r"^(?:[^#]*|M)(?!#)#?[^\?\$\#]M?INUS[\s\{]", re.M | re.I)
    _VALUES = re.compile(r"^(?!\s*#).*?(?<![\w\-\:])VALUES\b(?:\s*(?:\(|[\?\$]\w+|\{|\w|\s))", re.M | re.I)
    _SERVICE = re.compile(r"^(?:[^#]*|S)(?!#)#?[^\?\$\#]S?ERVICE[\s\<]", re.M | re.I)
    _NESTED = re.compile(r"SELECT[\s\(\)\$\?\a-z]*\{[^\}]*SELECT\s+((?:(?:[\?\$]\w+\s+)|(?:\*\s+))+)", re.M | re.I)
    _AS_VAR = re.compile(r"[^\w]+AS[\s]+[\$\?](\w+)", re.M | re.I)
    _THIS = re.compile(r"[?$]this\b")
    _PATH = re.compile(r"([\s{}()])[\$\?]PATH", re.M)
    _SG = re.compile(r"([\s{}()])[\$\?]shapesGraph", re.M)
    _CS = re.compile(r"([\s{}()])[\$\?]currentShape", re.M)
    _AGGREGATE = re.compile(r"\b(COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT)\s*\(", re.I)

    def __init__(self, shape: _Shape, node):
        sg = shape.model.sg
        self.node = node
        selects = list(sg.objects(node, SH.select))
        if len(selects) != 1 or not isinstance(selects[0], Literal):
            raise ShaclError(f"{_name(shape.node)}: a SPARQL constraint needs exactly one sh:select string")
        messages = list(sg.objects(node, SH.message))
        self.messages = set(messages) or None
        deactivated = next(sg.objects(node, SH.deactivated), None)
        self.deactivated = bool(deactivated.value) if isinstance(deactivated, Literal) else False
        text = str(selects[0])
        self._check(text)
        if self._SG.search(text):
            raise _Unsupported("$shapesGraph in a SPARQL constraint")
        if self._CS.search(text):
            if isinstance(shape.node, BNode):
                raise _Unsupported("$currentShape in a SPARQL constraint of a blank-node shape")
            text = self._CS.sub(lambda m: m.group(1) + _term(shape.node), text)
        if shape.is_property:
            text = self._PATH.sub(lambda m: m.group(1) + _path(sg, shape.path), text)
        elif self._PATH.search(text):
            raise ShaclError("SPARQL constraint text has $PATH in it, but no path is known on this shape")
        self.prefixes = _collect_prefixes(sg, node)
        own, body = _split_prologue(text)
        self.prefixes.update(own)
        self.body = rewrite.minus_rewrite(body)
        self._plan()

    def _check(self, text: str) -> None:
        """pyshacl's own checks of a SPARQL constraint (it refuses these queries)."""
        if self._MINUS.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a MINUS clause.")
        if self._VALUES.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a VALUES clause.")
        if self._SERVICE.search(text):
            raise ShaclError("A SPARQL Constraint must not contain a federated query (SERVICE).")
        nested = self._NESTED.search(text)
        if nested:
            names = [v.lstrip("$?") for v in nested.group(1).split()]
            if names == ["*"] or "this" not in names:
                raise ShaclError("All potentially pre-bound variables must be selected from a nested SELECT query.")
        assigned = self._AS_VAR.search(text)
        if assigned and assigned.group(1) in {"this", "shapesGraph", "currentShape"}:
            raise ShaclError(f"Cannot use AS to re-bind potentially pre-bound variables such as {assigned.group(1)}")

    def _plan(self) -> None:
        """Where to join the focus nodes in, and whether that keeps pyshacl's pre-binding semantics."""
        code = code_only(self.body)
        select = re.match(r"\s*SELECT\b", code, re.I)
        if not select:
            raise _Unsupported("a SPARQL constraint that is not a SELECT query")
        open_brace = code.find("{")
        if open_brace < 0:
            raise ShaclError("a SPARQL constraint without a WHERE clause")
        close_brace = rewrite.matching(code, open_brace)
        clause = code[select.end():open_brace]
        clause = re.sub(r"\bWHERE\s*$", "", clause.rstrip(), flags=re.I)
        modifiers = code[close_brace + 1:]
        if re.search(r"\b(LIMIT|OFFSET)\b", modifiers, re.I):
            raise _Unsupported("LIMIT or OFFSET in a SPARQL constraint")
        star = re.match(r"\s*(DISTINCT|REDUCED)?\s*\*", clause, re.I) is not None
        # the projected variables: plain ?x, and (expression AS ?x)
        depth, names = 0, []
        for match in re.finditer(r"[()]|[?$]\w+|\bAS\s+[?$](\w+)", clause, re.I):
            token = match.group(0)
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
            elif match.group(1):
                names.append(match.group(1))
            elif depth == 0:
                names.append(token[1:])
        self.star = star
        self.projected = set(names)
        self.projects_this = star or "this" in self.projected
        aggregates = self._AGGREGATE.search(clause) or self._AGGREGATE.search(modifiers)
        group = re.search(r"\bGROUP\s+BY\b(.*?)(\bHAVING\b|\bORDER\b|$)", modifiers, re.I | re.S)
        if aggregates and not group:
            raise _Unsupported("aggregates without GROUP BY $this in a SPARQL constraint")
        if group and not self._THIS.search(group.group(1)):
            raise _Unsupported("GROUP BY without $this in a SPARQL constraint")
        self._check_scopes(code, open_brace, close_brace)
        self.open_brace = open_brace
        self.select_end = select.end()

    def _check_scopes(self, code: str, start: int, end: int) -> None:
        """Every $this must sit where joining the focus nodes first equals pre-binding it: directly in the
        WHERE group, anywhere inside (NOT) EXISTS, directly in a top-level OPTIONAL, or in a top-level
        group of triple patterns only (a UNION branch)."""
        stack: list[tuple[str, int]] = []
        i = start + 1
        while i < end:
            ch = code[i]
            if ch == "{":
                before = code[start:i].rstrip()
                after = code[i + 1:].lstrip()
                if re.match(r"SELECT\b", after, re.I):
                    kind = "select"
                elif re.search(r"\bOPTIONAL$", before, re.I):
                    kind = "optional"
                elif re.search(r"\bEXISTS$", before, re.I):
                    kind = "exists"
                elif re.search(r"\bWHERE$", before, re.I):
                    kind = "where"
                elif re.search(r"\bGRAPH\s+\S+$", before, re.I):
                    kind = "graph"
                else:
                    kind = "group"
                stack.append((kind, i))
            elif ch == "}":
                stack.pop()
            elif code.startswith(("?this", "$this"), i) and not re.match(r"\w", code[i + 5:i + 6]):
                kinds = [k for k, _ in stack]
                if not kinds or kinds[0] == "exists":
                    pass
                elif kinds == ["optional"]:
                    pass
                elif kinds == ["group"]:
                    group_start = stack[0][1]
                    group_text = code[group_start + 1:rewrite.matching(code, group_start)]
                    if re.search(r"[{}]|\b(FILTER|BIND|OPTIONAL|MINUS|VALUES|SELECT|EXISTS|SERVICE|GRAPH)\b",
                                 group_text, re.I):
                        raise _Unsupported("$this inside a nested group with filters in a SPARQL constraint")
                else:
                    raise _Unsupported(f"$this inside a nested {kinds[-1]} pattern in a SPARQL constraint")
            i += 1

    def query(self, focus: _Focus) -> tuple[str, dict[str, str]]:
        body = self.body
        prefixes = dict(self.prefixes)
        _merge_prefixes(prefixes, focus.prefixes)
        inner = body[:self.open_brace + 1] + " " + focus.pattern("?this") + " " + body[self.open_brace + 1:]
        if not self.projects_this:
            modifier = re.match(r"\s*(DISTINCT|REDUCED)\b", code_only(inner[self.select_end:]), re.I)
            at = self.select_end + (modifier.end() if modifier else 0)
            inner = inner[:at] + " ?this " + inner[at:]
        return inner, prefixes


# --- the engine ----------------------------------------------------------------------------------------

@dataclass
class _Rule:
    """A constraint that judges each value node on its own: ``ok(var)`` is a SPARQL boolean expression.

    ``join(var, flag)``, when given, is a faster form for a query's own value variable: an OPTIONAL that
    binds ``flag`` exactly where ``ok`` holds (Oxigraph evaluates EXISTS with a path once per row, slowly)."""
    component: URIRef
    ok: Callable[[str], str]
    message: Callable[[Node, Node], list]
    node_shape: _Shape | None = None  # sh:node: its results become sh:detail
    join: Callable[[str, str], str] | None = None


class _Engine:
    def __init__(self, model: _Model, store: ox.Store | None, *, default_graph=None, namespaces=None,
                 allowed: frozenset = frozenset()):
        self.model = model
        self.allowed = allowed  # severities whose results leave the data conforming
        self.sg = model.sg
        self.store = store
        self.default_graph = default_graph
        self.functions: dict[ox.NamedNode, Callable] = {}
        self.vars = _Vars()
        self.errors: list[Exception] = []
        namespaces = namespaces or Graph().namespace_manager
        self.text = report.Text(model.sg, self, namespaces)
        # rdflib resolves the prefixes a SPARQL text does not declare with the data graph's bindings
        self.default_prefixes = {prefix: str(ns) for prefix, ns in namespaces.namespaces()}
        self._converters: dict[URIRef, bool] = {}
        self._sparql: dict = {}
        self._registered: dict = {}
        self._count_cache: dict = {}

    # -- running queries

    def select(self, query: str, prefixes: dict[str, str] | None = None, *, variables: bool = False):
        """The solutions of a SELECT query (with the projected variable names when ``variables``)."""
        if self.store is None:
            return ([], []) if variables else []
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in (prefixes or {}).items())
        try:
            solutions = self.store.query(prologue + query, custom_functions=self.functions,
                                         default_graph=self.default_graph, prefixes=self.default_prefixes)
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

    def dry_run(self, shape: _Shape) -> None:
        """Compile every query and expression of ``shape`` without running anything."""
        if shape.has_targets():
            _Focus.targets(shape, self).pattern("?this")
        dummy = _Focus(lambda v: f"{{ VALUES {v} {{ <urn:x> }} }}")
        self._queries(shape, dummy, dry=True)

    # -- patterns

    def values(self, shape: _Shape, focus: _Focus, f: str, v: str) -> str:
        """Binds ``f`` to each focus node and ``v`` to each of its value nodes (for a node shape v is f)."""
        if not shape.is_property:
            return focus.pattern(f)
        path = _path(self.sg, shape.path)
        if _zero_length(self.sg, shape.path):  # Oxigraph starts zero-length paths only from nodes in the data
            return (f"{{ {focus.pattern(f)} {f} {path} {v} }} UNION "
                    f"{{ {focus.pattern(f)} BIND({f} AS {v}) }}")
        return f"{focus.pattern(f)} {f} {path} {v} ."

    def path_pattern(self, shape: _Shape, x: str, y: str) -> str:
        """Binds ``y`` to the value nodes of ``x``, where ``x`` is bound already (inside EXISTS)."""
        path = _path(self.sg, shape.path)
        if _zero_length(self.sg, shape.path):
            return f"{{ {x} {path} {y} }} UNION {{ BIND({x} AS {y}) }}"
        return f"{x} {path} {y} ."

    # -- evaluation

    def evaluate(self, shape: _Shape, focus: _Focus) -> tuple[list[report.Result], bool]:
        """The results of ``shape`` for the focus nodes, and whether pyshacl deems it non-conforming."""
        if shape.deactivated:
            return [], False
        return self._queries(shape, focus, dry=False)

    def _queries(self, shape: _Shape, focus: _Focus, dry: bool) -> tuple[list[report.Result], bool]:
        results: list[report.Result] = []
        own = 0
        rules = self.rules(shape)
        if rules:
            own += self._value_rules(shape, focus, rules, results, dry)
        own += self._counts(shape, focus, results, dry)
        own += self._focus_constraints(shape, focus, results, dry)
        failed = False
        props = [self.model.shape(node, kind="property") for node in shape.objects(SH.property)]
        if not dry and not shape.is_property:
            self._batch_counts(focus, props)
        for prop in props:
            sub_results, sub_failed = ([], False) if dry else self.evaluate(prop, focus.values(shape, self))
            if dry:
                self._queries(prop, focus.values(shape, self), dry=True)
            if shape.is_property and sub_results:
                sub_results = self._repeat(shape, focus, sub_results)
            results.extend(sub_results)
            failed = failed or sub_failed
        for prop in props:  # nothing left behind for a later focus set that might reuse this one's id
            self._count_cache.pop((id(focus), prop.node), None)
        nonconforming = shape.severity not in self.allowed and (own > 0 or failed)
        return results, nonconforming

    def _repeat(self, shape: _Shape, focus: _Focus, found: list[report.Result]) -> list[report.Result]:
        """pyshacl validates a property shape's sh:property once per (focus, value) pair: results about a
        value shared by several focus nodes appear once per focus node."""
        f, v = self.vars("f"), self.vars("v")
        query = (f"SELECT {v} (COUNT(DISTINCT {f}) AS ?n) WHERE {{ {self.values(shape, focus, f, v)} }} "
                 f"GROUP BY {v} HAVING (COUNT(DISTINCT {f}) > 1)")
        times = {from_ox(row[v[1:]]): int(row["n"].value) for row in self.select(query, focus.prefixes)}
        repeated = []
        for result in found:
            repeated.extend([result] * times.get(result.focus, 1))
        return repeated

    def _value_rules(self, shape, focus, rules, results, dry) -> int:
        f, v = "?f", ("?v" if shape.is_property else "?f")
        joins, binds = [], []
        for i, rule in enumerate(rules):
            if rule.join is not None:
                joins.append(rule.join(v, f"?k{i}"))
                binds.append(f"BIND(BOUND(?k{i}) AS ?c{i})")
            else:
                binds.append(f"BIND(COALESCE({rule.ok(v)}, false) AS ?c{i})")
        binds = " ".join(joins + binds)
        failing = " || ".join(f"!?c{i}" for i in range(len(rules)))
        columns = " ".join(f"?c{i}" for i in range(len(rules)))
        query = (f"SELECT DISTINCT ?f {v if v != '?f' else ''} {columns} WHERE {{ "
                 f"{self.values(shape, focus, f, v)} {binds} FILTER({failing}) }}")
        if dry:
            return 0
        count = 0
        pending: dict[int, list[report.Result]] = {}
        for row in self.select(query, focus.prefixes):
            focus_node = from_ox(row["f"])
            value_node = from_ox(row[v[1:]])
            for i, rule in enumerate(rules):
                if row[f"c{i}"].value == "false":
                    result = report.Result(shape, rule.component, focus_node, value_node,
                                     messages=self.messages(shape, rule.message, focus_node, value_node))
                    results.append(result)
                    count += 1
                    if rule.node_shape is not None:
                        pending.setdefault(i, []).append(result)
        for i, waiting in pending.items():
            self._details(shape, focus, rules[i].node_shape, waiting)
        return count

    def _details(self, shape: _Shape, focus: _Focus, target: _Shape, waiting: list[report.Result]) -> None:
        """The sh:detail of sh:node results: the results of the node shape for each failing value."""
        failing = focus.values(shape, self, lambda v: "!(" + self.condition(target, v, "results") + ")")
        found, _ = self.evaluate(target, failing)
        by_focus: dict[Node, list[report.Result]] = {}
        for result in found:
            by_focus.setdefault(result.focus, []).append(result)
        for result in waiting:
            result.details = by_focus.get(result.value, [])

    def messages(self, shape: _Shape, generic: Callable[[Node, Node], list], focus: Node, value: Node | None,
                 bound: dict | None = None, extra: set | None = None) -> list:
        """pyshacl's resultMessage values (ConstraintComponent.make_v_result)."""
        messages = list(shape.messages)
        out = []
        if extra:
            for m in extra:
                if m in messages:
                    continue
                if isinstance(m, Literal) and bound is not None:
                    m = Literal(_format(str(m.value), bound))
                out.append(m)
        elif not messages:
            messages = generic(focus, value) or messages
        for m in messages:
            if isinstance(m, Literal) and bound is not None:
                m = Literal(_format(str(m.value), bound))
            out.append(m)
        return out

    # -- counting constraints of a property shape (minCount, maxCount, qualified value shapes)

    def _counts(self, shape: _Shape, focus: _Focus, results: list[report.Result], dry: bool) -> int:
        batched = self._count_cache.pop((id(focus), shape.node), None)
        if batched is not None:
            results.extend(batched)
            return len(batched)
        plan = self._count_plan(shape, "")
        if plan is None or dry:
            return 0
        found = self._run_counts(focus, [(shape, plan)])[shape.node]
        results.extend(found)
        return len(found)

    def _batch_counts(self, focus: _Focus, shapes: list[_Shape]) -> None:
        """The count constraints of several property shapes of one node shape, in one GROUP BY query (they
        share the focus nodes); their results wait in ``_count_cache`` until each shape is evaluated."""
        members = []
        for shape in shapes:
            if shape.deactivated or _zero_length(self.sg, shape.path):
                continue
            plan = self._count_plan(shape, str(len(members)))
            if plan is not None:
                members.append((shape, plan))
        if len(members) < 2:
            return
        for node, found in self._run_counts(focus, members).items():
            self._count_cache[(id(focus), node)] = found

    def _count_plan(self, shape: _Shape, k: str) -> dict | None:
        """minCount, maxCount and qualified value shapes of ``shape`` as GROUP BY columns and HAVING tests
        over the value variable ?v{k}."""
        mins, maxs = shape.objects(SH.minCount), shape.objects(SH.maxCount)
        for values, name in ((mins, "MinCount"), (maxs, "MaxCount")):
            if not values:
                continue
            if len(values) > 1:
                raise ShaclError(f"{_name(shape.node)}: at most one sh:{name[0].lower()}{name[1:]}")
            if not shape.is_property:
                raise ShaclError(f"{name}ConstraintComponent can only be present on a PropertyShape")
            bound = values[0]
            if not (isinstance(bound, Literal) and bound.datatype == XSD.integer) or int(bound.value) < 0:
                raise ShaclError(f"sh:{name[0].lower()}{name[1:]} must be a non-negative xsd:integer")
        v = f"?v{k}"
        columns, having, plans, binds = [f"(COUNT(DISTINCT {v}) AS ?n{k})"], [], [], []
        if mins and int(mins[0].value) > 0:
            n = int(mins[0].value)
            having.append(f"COUNT(DISTINCT {v}) < {n}")
            plans.append((SH.MinCountConstraintComponent, f"n{k}", lambda c, n=n: c < n,
                          lambda f, x, n=n: self.text.min_count(shape, n, f)))
        if maxs:
            m = int(maxs[0].value)
            having.append(f"COUNT(DISTINCT {v}) > {m}")
            plans.append((SH.MaxCountConstraintComponent, f"n{k}", lambda c, m=m: c > m,
                          lambda f, x, m=m: self.text.max_count(shape, m, f)))
        qualified = self._qualified(shape)
        if qualified is not None:
            value_shapes, low, high, siblings = qualified
            generic = lambda f, x: self.text.qualified(shape, value_shapes, low, high)  # noqa: E731
            for j, q in enumerate(value_shapes):
                cond = self.condition(q, v, "nc")
                others = [self.condition(o, v, "nc") for o in siblings.get(q, [])]
                if others:
                    cond = f"({cond}) && !(" + " || ".join(others) + ")"
                binds.append(f"BIND(IF(COALESCE({cond}, false), {v}, ?_unbound) AS ?q{k}_{j})")
                columns.append(f"(COUNT(DISTINCT ?q{k}_{j}) AS ?nq{k}_{j})")
                if high is not None:
                    having.append(f"COUNT(DISTINCT ?q{k}_{j}) > {high}")
                    plans.append((SH.QualifiedMaxCountConstraintComponent, f"nq{k}_{j}", lambda c, h=high: c > h,
                                  generic))
                if low is not None:
                    having.append(f"COUNT(DISTINCT ?q{k}_{j}) < {low}")
                    plans.append((SH.QualifiedMinCountConstraintComponent, f"nq{k}_{j}", lambda c, lo=low: c < lo,
                                  generic))
        if not plans:
            return None
        return {"v": v, "columns": columns, "having": having, "plans": plans, "binds": " ".join(binds)}

    def _run_counts(self, focus: _Focus, members: list) -> dict[Node, list[report.Result]]:
        if len(members) == 1 and _zero_length(self.sg, members[0][0].path):
            shape, plan = members[0]
            body = (f"{{ {self.values(shape, focus, '?f', plan['v'])} {plan['binds']} }} "
                    f"UNION {focus.pattern('?f')}")
        else:
            branches = " UNION ".join(f"{{ {self.path_pattern(shape, '?f', plan['v'])} {plan['binds']} }}"
                                      for shape, plan in members)
            body = f"{focus.pattern('?f')} OPTIONAL {{ {branches} }}"
        columns = " ".join(c for _, plan in members for c in plan["columns"])
        having = " || ".join(h for _, plan in members for h in plan["having"])
        query = f"SELECT ?f {columns} WHERE {{ {body} }} GROUP BY ?f HAVING ({having})"
        found: dict[Node, list[report.Result]] = {shape.node: [] for shape, _ in members}
        for row in self.select(query, focus.prefixes):
            focus_node = from_ox(row["f"])
            for shape, plan in members:
                for component, column, test, generic in plan["plans"]:
                    if test(int(row[column].value)):
                        found[shape.node].append(report.Result(shape, component, focus_node,
                                                         messages=self.messages(shape, generic, focus_node, None)))
        return found

    def _qualified(self, shape: _Shape):
        if not any(shape.objects(p) for p in (SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount,
                                              SH.qualifiedValueShapesDisjoint)):
            return None
        if not shape.is_property:
            return None  # pyshacl only warns and skips the constraint on a node shape
        value_shapes = [self.model.shape(s) for s in dict.fromkeys(shape.objects(SH.qualifiedValueShape))]
        if not value_shapes:
            raise ShaclError("QualifiedValueShapeConstraintComponent must have a sh:qualifiedValueShape")
        bounds = []
        for p in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
            values = set(shape.objects(p))
            if len(values) > 1:
                raise ShaclError(f"at most one {p.n3()}")
            value = next(iter(values), None)
            if value is not None and not (isinstance(value, Literal) and isinstance(value.value, int)):
                raise ShaclError(f"{p.n3()} must be an integer literal")
            bounds.append(value.value if value is not None else None)
        low, high = bounds
        if low is None and high is None:
            raise ShaclError("QualifiedValueShapeConstraintComponent needs sh:qualifiedMinCount or MaxCount")
        disjoint = any(isinstance(d, Literal) and isinstance(d.value, bool) and d.value
                       for d in shape.objects(SH.qualifiedValueShapesDisjoint))
        siblings: dict[_Shape, list[_Shape]] = {}
        if disjoint:
            for q in value_shapes:
                found = set()
                for parent in self.sg.subjects(SH.property, shape.node):
                    for sibling_property in self.sg.objects(parent, SH.property):
                        for sibling in self.sg.objects(sibling_property, SH.qualifiedValueShape):
                            if sibling != q.node and sibling in self.model.shapes:
                                found.add(sibling)
                siblings[q] = [self.model.shapes[s] for s in found]
        return value_shapes, low, high, siblings

    # -- the constraints that look at a focus node's values together

    def _focus_constraints(self, shape: _Shape, focus: _Focus, results: list[report.Result], dry: bool) -> int:
        count = 0
        v = "?v" if shape.is_property else "?f"
        fp = focus.pattern("?f")
        values = self.values(shape, focus, "?f", v)  # binds ?f and the value nodes v

        def run(query, make):
            nonlocal count
            if dry:
                return
            for row in self.select(query, focus.prefixes):
                for result in make(row):
                    results.append(result)
                    count += 1

        def plain(component, generic, value_column=None):
            def make(row):
                f = from_ox(row["f"])
                value = from_ox(row[value_column]) if value_column else None
                yield report.Result(shape, component, f, value, messages=self.messages(shape, generic, f, value))
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
            if _is_true(flag):
                query = (f"SELECT ?f ?lang WHERE {{ {values} FILTER(isLiteral(?v) && LANG(?v) != \"\") }} "
                         f"GROUP BY ?f (LCASE(LANG(?v)) AS ?lang) HAVING (COUNT(DISTINCT ?v) > 1)")
                run(query, plain(SH.UniqueLangConstraintComponent, lambda f, x: self.text.unique_lang()))
        # sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals
        for p in dict.fromkeys(shape.objects(SH.equals)):
            other = _term(p)
            generic = lambda f, x, p=p: self.text.pair(shape, SH.equals, f, x)  # noqa: E731
            if shape.is_property:
                run(f"SELECT DISTINCT ?f ?v WHERE {{ {values} FILTER NOT EXISTS {{ ?f {other} ?v }} }}",
                    plain(SH.EqualsConstraintComponent, generic, "v"))
                run(f"SELECT DISTINCT ?f ?v WHERE {{ {fp} ?f {other} ?v . "
                    f"FILTER NOT EXISTS {{ {self.path_pattern(shape, '?f', '?v')} }} }}",
                    plain(SH.EqualsConstraintComponent, generic, "v"))
            else:
                run(f"SELECT ?f ?v WHERE {{ {fp} BIND(?f AS ?v) FILTER NOT EXISTS {{ ?f {other} ?f }} }}",
                    plain(SH.EqualsConstraintComponent, generic, "v"))
                run(f"SELECT DISTINCT ?f ?v WHERE {{ {fp} ?f {other} ?v . FILTER(!sameTerm(?v, ?f)) }}",
                    plain(SH.EqualsConstraintComponent, generic, "v"))
        for p in dict.fromkeys(shape.objects(SH.disjoint)):
            generic = lambda f, x: self.text.pair(shape, SH.disjoint, f, x)  # noqa: E731
            columns = "?f ?v" if shape.is_property else "?f"
            run(f"SELECT DISTINCT {columns} WHERE {{ {values} ?f {_term(p)} {v} }}",
                plain(SH.DisjointConstraintComponent, generic, v[1:]))
        for predicate, component, strict in ((SH.lessThan, SH.LessThanConstraintComponent, True),
                                             (SH.lessThanOrEquals, SH.LessThanOrEqualsConstraintComponent, False)):
            for p in dict.fromkeys(shape.objects(predicate)):
                if not isinstance(p, URIRef):
                    raise ShaclError(f"the value of {predicate.n3()} must be an IRI")
                if not shape.is_property:
                    raise ShaclError(f"{component.n3()} can only be present on a PropertyShape")
                ok = self.pair_ok(v, "?c", strict)
                generic = lambda f, x, pr=predicate: self.text.pair(shape, pr, f, x)  # noqa: E731
                run(f"SELECT ?f ?v ?c WHERE {{ {values} ?f {_term(p)} ?c . FILTER(!COALESCE({ok}, false)) }}",
                    plain(component, generic, "v"))
        # sh:hasValue
        for hv in dict.fromkeys(shape.objects(SH.hasValue)):
            generic = lambda f, x, hv=hv: self.text.has_value(shape, f)  # noqa: E731
            if not _stable_term(hv):
                test = "true"
            elif shape.is_property:
                path = _path(self.sg, shape.path)
                test = (f"NOT EXISTS {{ ?f {path} {_term(hv)} }}" if not _zero_length(self.sg, shape.path)
                        else f"(!sameTerm(?f, {_term(hv)}) && NOT EXISTS {{ ?f {path} {_term(hv)} }})")
            else:
                test = f"!sameTerm(?f, {_term(hv)})"
            run(f"SELECT ?f WHERE {{ {fp} FILTER({test}) }}", plain(SH.HasValueConstraintComponent, generic))
        # sh:closed
        closed = shape.objects(SH.closed)
        ignored = shape.objects(SH.ignoredProperties)
        if ignored and not closed:
            raise ShaclError("sh:ignoredProperties can only be used on a closed shape (sh:closed)")
        if closed:
            if len(closed) > 1 or not isinstance(closed[0], Literal):
                raise ShaclError("sh:closed must be one boolean literal")
            if closed[0].value:
                allowed = self._closed_allowed(shape)

                def make(row):
                    f, o, p = from_ox(row["f"]), from_ox(row["o"]), from_ox(row["p"])
                    messages = self.messages(shape, lambda a, b: self.text.closed(f, o), f, o)
                    yield report.Result(shape, SH.ClosedConstraintComponent, f, o, path=p, messages=messages)
                columns = "?f ?v" if shape.is_property else "?f"
                run(f"SELECT DISTINCT {columns} ?p ?o WHERE {{ {values} {v} ?p ?o . "
                    f"FILTER({self._closed_filter('?p', '?o', allowed)}) }}", make)
        # sh:sparql
        for node in shape.objects(SH.sparql):
            constraint = self._sparql_constraint(shape, node)
            if constraint.deactivated:
                continue
            query, prefixes = constraint.query(focus)
            if dry:
                continue
            count += self._sparql_results(shape, constraint, query, prefixes, results)
        return count

    def _closed_allowed(self, shape: _Shape) -> list:
        allowed = []
        for node in shape.objects(SH.property):
            prop = self.model.shape(node, kind="property")
            if isinstance(prop.path, URIRef):
                allowed.append(prop.path)
        for lst in shape.objects(SH.ignoredProperties):
            allowed.extend(self.sg.items(lst))
        return [a for a in allowed if not isinstance(a, BNode)]

    def _closed_filter(self, p: str, o: str, allowed: list) -> str:
        test = f"!({p} = <{RDF.type}> && sameTerm({o}, <{RDFS.Resource}>))"
        if allowed:
            test += f" && !({' || '.join(f'sameTerm({p}, {_term(a)})' for a in allowed)})"
        return test

    def _sparql_constraint(self, shape: _Shape, node) -> _Sparql:
        key = (shape.node, node)
        if key not in self._sparql:
            self._sparql[key] = _Sparql(shape, node)
        return self._sparql[key]

    def _sparql_results(self, shape, constraint: _Sparql, query, prefixes, results) -> int:
        """pyshacl's SPARQLBasedConstraint results, from the rows of all focus nodes at once."""
        names, rows = self.select(query, prefixes, variables=True)
        per_focus: dict[Node, list] = {}
        for row in rows:
            focus_node = from_ox(row["this"])
            bound = {}
            for name in names:
                if name == "this" and not constraint.projects_this:
                    continue  # joined in by the rewrite; pyshacl's row does not hold it
                term = row[name]
                if term is not None:
                    bound[name] = from_ox(term)
            per_focus.setdefault(focus_node, []).append(bound)
        count = 0
        node_shape = not shape.is_property
        for focus_node, bindings in per_focus.items():
            violations, failure_seen = [], False
            for bound in bindings:
                bound = dict(bound)
                if bound.pop("failure", None) is not None:
                    if not failure_seen:
                        violations.append((True, bound))
                        failure_seen = True
                    continue
                p, v, t = bound.pop("path", None), bound.pop("value", None), bound.pop("this", None)
                if p is None and v is None and t is None:
                    continue  # pyshacl ignores a row that binds none of this, path and value
                entry = (t, p, v, bound)
                if entry not in violations:
                    violations.append(entry)
            for violation in violations:
                if violation[0] is True:
                    fdict = violation[1]
                    result = report.Result(shape, SH.SPARQLConstraintComponent, focus_node,
                                     focus_node if node_shape else None, source_constraint=constraint.node)
                else:
                    t, p, v, bound = violation
                    if v is None and node_shape:
                        v = focus_node
                    fdict = dict(bound)
                    for key, val in (("this", t), ("path", p), ("value", v)):
                        if val is not None:
                            fdict[key] = val
                    result = report.Result(shape, SH.SPARQLConstraintComponent, t or focus_node, v, path=p,
                                     source_constraint=constraint.node)
                result.messages = self.messages(shape, lambda a, b: [], result.focus, result.value,
                                                bound=fdict, extra=constraint.messages)
                results.append(result)
                count += 1
        return count

    # -- value-level rules and conformance expressions

    def rules(self, shape: _Shape) -> list[_Rule]:
        """The value-level constraints of ``shape``, one rule per result pyshacl can give for a value."""
        rules: list[_Rule] = []
        sg = self.sg
        for cls in shape.objects(SH["class"]):
            term = _term(cls) if not isinstance(cls, BNode) else None
            classes = shape.objects(SH["class"])
            rules.append(_Rule(SH.ClassConstraintComponent,
                               (lambda y, t=term: f"(!isLiteral({y}) && EXISTS {{ {y} {_TYPE_PATH} {t} }})")
                               if term else (lambda y: "false"),
                               lambda f, x, c=classes: self.text.class_(c),
                               join=(lambda y, flag, t=term: f"OPTIONAL {{ {{ SELECT DISTINCT {y} (true AS {flag}) "
                                                             f"WHERE {{ {y} {_TYPE_PATH} {t} }} }} }}")
                               if term else None))
        datatypes = shape.objects(SH.datatype)
        if len(datatypes) > 1:
            raise ShaclError("DatatypeConstraintComponent must have at most one sh:datatype predicate.")
        if datatypes:
            rule = datatypes[0]
            rules.append(_Rule(SH.DatatypeConstraintComponent, lambda y, r=rule: self.datatype_ok(y, r),
                               lambda f, x, r=rule: self.text.datatype(r)))
        kinds = shape.objects(SH.nodeKind)
        if len(kinds) > 1:
            raise ShaclError("NodeKindConstraintComponent must have at most one sh:nodeKind predicate.")
        if kinds:
            kind = kinds[0]
            tests = {SH.BlankNode: "isBlank({0})", SH.IRI: "isIRI({0})", SH.Literal: "isLiteral({0})",
                     SH.BlankNodeOrIRI: "(isBlank({0}) || isIRI({0}))",
                     SH.BlankNodeOrLiteral: "(isBlank({0}) || isLiteral({0}))",
                     SH.IRIOrLiteral: "(isIRI({0}) || isLiteral({0}))"}
            template = tests.get(kind, "false")
            rules.append(_Rule(SH.NodeKindConstraintComponent, lambda y, t=template: t.format(y),
                               lambda f, x, k=kind: self.text.node_kind(k)))
        for predicate, component, test, sign in (
                (SH.minExclusive, SH.MinExclusiveConstraintComponent, lambda c: c > 0, ">"),
                (SH.minInclusive, SH.MinInclusiveConstraintComponent, lambda c: c >= 0, ">="),
                (SH.maxExclusive, SH.MaxExclusiveConstraintComponent, lambda c: c < 0, "<"),
                (SH.maxInclusive, SH.MaxInclusiveConstraintComponent, lambda c: c <= 0, "<=")):
            bounds = shape.objects(predicate)
            for bound in bounds:
                if not isinstance(bound, Literal):
                    raise ShaclError(f"the value of {predicate.n3()} must be a literal")
                rules.append(_Rule(component, lambda y, b=bound, t=test, s=sign: self.range_ok(y, b, t, s),
                                   lambda f, x, bs=bounds, s=sign: self.text.range(s, bs)))
        for predicate, component, longer in ((SH.minLength, SH.MinLengthConstraintComponent, True),
                                             (SH.maxLength, SH.MaxLengthConstraintComponent, False)):
            lengths = shape.objects(predicate)
            if len(lengths) > 1:
                raise ShaclError(f"at most one {predicate.n3()}")
            if lengths:
                n = lengths[0]
                if not isinstance(n, Literal) or not isinstance(n.value, int) or n.value < 0:
                    raise ShaclError(f"{predicate.n3()} must be a non-negative integer literal")
                if longer:
                    ok = (lambda y: "true") if n.value == 0 else \
                        (lambda y, n=n.value: f"(!isBlank({y}) && STRLEN(STR({y})) >= {n})")
                else:
                    ok = lambda y, n=n.value: f"(!isBlank({y}) && STRLEN(STR({y})) <= {n})"  # noqa: E731
                rules.append(_Rule(component, ok, lambda f, x, n=n, lo=longer: self.text.length(lo, n)))
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
                rules.append(_Rule(SH.PatternConstraintComponent,
                                   lambda y, m=matcher: f"{self.pattern_function(m)}({y})",
                                   lambda f, x, ps=patterns: self.text.pattern(ps)))
        languages = shape.objects(SH.languageIn)
        if len(languages) > 1:
            raise ShaclError("LanguageInConstraintComponent must have at most one sh:languageIn predicate.")
        if languages:
            wanted = set()
            for item in sg.items(languages[0]):
                if not isinstance(item, Literal) or not isinstance(item.value, str):
                    raise ShaclError("All languages in sh:languageIn must be a Literal with type xsd:string")
                wanted.add(str(item.value).lower())
            rules.append(_Rule(SH.LanguageInConstraintComponent, lambda y, w=wanted: _language_ok(y, w),
                               lambda f, x, lst=languages[0]: self.text.language_in(lst)))
        ins = shape.objects(SH["in"])
        if len(ins) > 1:
            raise ShaclError("InConstraintComponent must have at most one sh:in predicate.")
        if ins:
            members = list(dict.fromkeys(sg.items(ins[0])))
            matchable = [m for m in members if not isinstance(m, BNode) and _stable_term(m)]
            rules.append(_Rule(SH.InConstraintComponent,
                               lambda y, ms=matchable: "(" + (" || ".join(f"sameTerm({y}, {_term(m)})" for m in ms)
                                                              or "false") + ")",
                               lambda f, x, ms=members: self.text.in_(ms, x)))
        for node in shape.objects(SH.node):
            target = self.model.shape(node, kind="node")
            rules.append(_Rule(SH.NodeConstraintComponent,
                               lambda y, t=target: self.condition(t, y, "results"),
                               lambda f, x, ns=shape.objects(SH.node): self.text.node(ns), node_shape=target))
        for node in shape.objects(SH["not"]):
            target = self.model.shape(node)
            rules.append(_Rule(SH.NotConstraintComponent, lambda y, t=target: f"!({self.condition(t, y, 'nc')})",
                               lambda f, x, ns=shape.objects(SH["not"]): self.text.not_(ns, x)))
        for predicate, component in ((SH["and"], SH.AndConstraintComponent), (SH["or"], SH.OrConstraintComponent),
                                     (SH.xone, SH.XoneConstraintComponent)):
            lists = shape.objects(predicate)
            for lst in lists:
                members = list(sg.items(lst))
                if predicate != SH.xone:
                    members = list(dict.fromkeys(members))
                targets = [self.model.shape(m) for m in members]
                if predicate == SH["and"]:
                    ok = lambda y, ts=targets: "(" + " && ".join(self.condition(t, y, "nc") for t in ts) + ")"  # noqa
                elif predicate == SH["or"]:
                    ok = lambda y, ts=targets: "(" + " || ".join(self.condition(t, y, "nc") for t in ts) + ")"  # noqa
                else:
                    ok = lambda y, ts=targets: "((" + " + ".join(  # noqa: E731
                        f"IF({self.condition(t, y, 'nc')}, 1, 0)" for t in ts) + ") = 1)"
                rules.append(_Rule(component, ok,
                                   lambda f, x, pr=predicate, ls=lists: self.text.logical(pr, ls, x)))
        return rules

    def condition(self, shape: _Shape, x: str, mode: str) -> str:
        """A SPARQL expression: ``x`` conforms to ``shape`` — in pyshacl's sense of a shape's conformance
        (``mode`` "nc": Warning and Info shapes always conform) or with no result at all ("results", sh:node)."""
        if shape.deactivated or (mode == "nc" and shape.severity in self.allowed):
            return "true"
        parts = []
        rules = self.rules(shape)
        if shape.is_property:
            path = _path(self.sg, shape.path)
            zero = _zero_length(self.sg, shape.path)

            def values(y):
                return f"{{ {x} {path} {y} }} UNION {{ BIND({x} AS {y}) }}" if zero else f"{x} {path} {y} ."
            if rules:
                y = self.vars("y")
                fails = " || ".join(f"!COALESCE({r.ok(y)}, false)" for r in rules)
                parts.append(f"NOT EXISTS {{ {values(y)} FILTER({fails}) }}")
            for count_part in self._count_conditions(shape, values):
                parts.append(count_part)
            v = None
        else:
            parts.extend(f"COALESCE({r.ok(x)}, false)" for r in rules)
            values = None
            v = x
        parts.extend(self._focus_conditions(shape, x, values))
        for node in shape.objects(SH.property):
            prop = self.model.shape(node, kind="property")
            if shape.is_property:
                y = self.vars("y")
                parts.append(f"NOT EXISTS {{ {values(y)} FILTER(!({self.condition(prop, y, mode)})) }}")
            else:
                parts.append(self.condition(prop, v, mode))
        return "(" + " && ".join(parts) + ")" if parts else "true"

    def _count_conditions(self, shape: _Shape, values) -> list[str]:
        parts = []

        def at_least(n: int, cond: Callable[[str], str] | None) -> str:
            if n <= 0:
                return "true"
            if n > 4:
                raise _Unsupported("a count above 4 in a shape used by another shape")
            ys = [self.vars("y") for _ in range(n)]
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
        qualified = self._qualified(shape)
        if qualified is not None:
            value_shapes, low, high, siblings = qualified
            for q in value_shapes:
                def cond(y, q=q):
                    text = self.condition(q, y, "nc")
                    others = [self.condition(s, y, "nc") for s in siblings.get(q, [])]
                    return f"({text}) && !(" + " || ".join(others) + ")" if others else text
                if high is not None:
                    parts.append("!" + at_least(high + 1, cond))
                if low is not None:
                    parts.append(at_least(low, cond))
        return parts

    def _focus_conditions(self, shape: _Shape, x: str, values) -> list[str]:
        """Expressions for uniqueLang, equals, disjoint, lessThan(OrEquals), hasValue, closed and sh:sparql."""
        parts = []
        if shape.objects(SH.sparql):
            raise _Unsupported("a SPARQL constraint in a shape used by another shape")
        prop = shape.is_property

        def each(y):
            return values(y) if prop else f"BIND({x} AS {y})"
        if prop and any(_is_true(u) for u in shape.objects(SH.uniqueLang)):
            a, b = self.vars("y"), self.vars("y")
            parts.append(f"NOT EXISTS {{ {values(a)} {values(b)} FILTER(!sameTerm({a}, {b}) && isLiteral({a}) && "
                         f"isLiteral({b}) && LANG({a}) != \"\" && LCASE(LANG({a})) = LCASE(LANG({b}))) }}")
        for p in shape.objects(SH.equals):
            y = self.vars("y")
            parts.append(f"NOT EXISTS {{ {each(y)} FILTER NOT EXISTS {{ {x} {_term(p)} {y} }} }}")
            if prop:
                parts.append(f"NOT EXISTS {{ {x} {_term(p)} {y} . FILTER NOT EXISTS {{ {values(y)} }} }}")
            else:
                parts.append(f"NOT EXISTS {{ {x} {_term(p)} {y} . FILTER(!sameTerm({y}, {x})) }}")
        for p in shape.objects(SH.disjoint):
            y = self.vars("y")
            parts.append(f"NOT EXISTS {{ {each(y)} {x} {_term(p)} {y} }}")
        for predicate, strict in ((SH.lessThan, True), (SH.lessThanOrEquals, False)):
            for p in shape.objects(predicate):
                y, c = self.vars("y"), self.vars("c")
                parts.append(f"NOT EXISTS {{ {each(y)} {x} {_term(p)} {c} . "
                             f"FILTER(!COALESCE({self.pair_ok(y, c, strict)}, false)) }}")
        for hv in shape.objects(SH.hasValue):
            if not _stable_term(hv):
                parts.append("false")
            elif prop:
                y = self.vars("y")
                parts.append(f"EXISTS {{ {values(y)} FILTER(sameTerm({y}, {_term(hv)})) }}")
            else:
                parts.append(f"sameTerm({x}, {_term(hv)})")
        closed = shape.objects(SH.closed)
        if closed and isinstance(closed[0], Literal) and closed[0].value:
            allowed = self._closed_allowed(shape)
            y, p, o = self.vars("y"), self.vars("p"), self.vars("o")
            parts.append(f"NOT EXISTS {{ {each(y)} {y} {p} {o} . FILTER({self._closed_filter(p, o, allowed)}) }}")
        return parts

    # -- SPARQL expressions with pyshacl's literal semantics

    def datatype_ok(self, y: str, rule) -> str:
        if rule == RDFS.Literal:
            return f"isLiteral({y})"
        if rule == RDF.langString:
            return f"(isLiteral({y}) && LANG({y}) != \"\")"
        if rule == XSD.string:
            return f"(isLiteral({y}) && datatype({y}) = <{XSD.string}>)"
        if rule == RDFS.Datatype:
            return f"(isLiteral({y}) && datatype({y}) != <{XSD.string}> && LANG({y}) = \"\")"
        if not isinstance(rule, URIRef):
            return "false"
        same = f"COALESCE(isLiteral({y}) && datatype({y}) = <{rule}>, false)"
        if rule not in self._converters:
            self._converters[rule] = literals.has_converter(rule)
        if not self._converters[rule]:
            return same
        check = self.function(lambda value, r=rule: literals.datatype_ok(value, r), ("datatype", rule))
        safe = literals.SAFE.get(rule)
        if safe is None:
            return f"IF({same}, COALESCE({check}({y}), false), false)"
        fast = f"REGEX(STR({y}), \"{safe}\")"
        if rule == XSD.date:
            fast += f" && DAY({y}) > 0"
        return f"IF({same}, IF(COALESCE({fast}, false), true, COALESCE({check}({y}), false)), false)"

    def range_ok(self, y: str, bound: Literal, test: Callable[[int], bool], sign: str) -> str:
        check = self.function(lambda value, b=bound, t=test: literals.range_ok(value, b, t),
                              ("range", str(bound), bound.datatype, bound.language, sign))
        datatype = bound.datatype or (XSD.string if bound.language is None else None)
        compatible = literals.ORDERED.get(datatype)
        if not compatible or (bound.datatype in (XSD.date, XSD.dateTime) and re.search(literals.NO_TZ, str(bound))):
            return f"COALESCE({check}({y}), false)"
        types = ", ".join(f"<{t}>" for t in compatible)
        # Oxigraph compares valid literals of these datatypes as rdflib does (an ill-typed one is an error,
        # so it goes to Python); dates only without a timezone and with a four-digit year Python can hold
        fast = f"isLiteral({y}) && datatype({y}) IN ({types}) && {y} {sign} {_term(bound)}"
        if datatype in (XSD.date, XSD.dateTime):
            fast = f"REGEX(STR({y}), \"^[1-9][0-9]{{3}}-\") && !REGEX(STR({y}), \"{literals.NO_TZ}\") && " + fast
        return f"IF(COALESCE({fast}, false), true, COALESCE({check}({y}), false))"

    def pair_ok(self, y: str, c: str, strict: bool) -> str:
        check = self.function(lambda a, b, s=strict: literals.pair_ok(a, b, s), ("pair", strict))
        ordered = ", ".join(f"<{t}>" for t in (XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.date,
                                                 XSD.dateTime, XSD.string))
        sign = "<" if strict else "<="
        fast = (f"isLiteral({y}) && isLiteral({c}) && datatype({y}) = datatype({c}) && datatype({y}) IN ({ordered}) "
                f"&& (datatype({y}) NOT IN (<{XSD.date}>, <{XSD.dateTime}>) || (REGEX(STR({y}), \"^[1-9][0-9]{{3}}-\") "
                f"&& REGEX(STR({c}), \"^[1-9][0-9]{{3}}-\") && !REGEX(STR({y}), \"{literals.NO_TZ}\") "
                f"&& !REGEX(STR({c}), \"{literals.NO_TZ}\"))) && {y} {sign} {c}")
        return f"IF(COALESCE({fast}, false), true, COALESCE({check}({y}, {c}), false))"

    def pattern_function(self, matcher: re.Pattern) -> str:
        def check(value, m=matcher):
            if isinstance(value, BNode):
                return False
            text = str(value.value) if isinstance(value, Literal) and value.value is not None and \
                value.datatype in (None, RDF.langString, XSD.string) else str(value)
            return bool(m.match(text) or m.search(text))
        return self.function(check, ("pattern", matcher.pattern, matcher.flags))


def _language_ok(y: str, wanted: set[str]) -> str:
    base = f"isLiteral({y}) && LANG({y}) != \"\""
    if "*" in wanted:
        return f"({base})"
    listed = ", ".join(f'"{w}"' for w in sorted(wanted) if re.fullmatch(r"[\w-]*", w))
    if not listed:
        return "false"
    return (f"({base} && (LCASE(LANG({y})) IN ({listed}) || "
            f"LCASE(STRBEFORE(CONCAT(LANG({y}), \"-\"), \"-\")) IN ({listed})))")


def _stable_term(node) -> bool:
    if isinstance(node, Literal):
        return literals.stable(node)
    return isinstance(node, URIRef)


def _format(message: str, bound: dict) -> str:
    """pyshacl's substitution of {$var} and {?var} in a SPARQL constraint's message."""
    for var, val in bound.items():
        pattern = "{{[?$]{}}}".format(var)
        try:
            message = re.sub(pattern, str(val), message)
        except re.error:
            message = re.sub(pattern, lambda _: str(val), message)
    return message
