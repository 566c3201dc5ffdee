"""The shapes model: the node and property shapes of a shapes graph, found as pyshacl finds them, with the
parameters several constraints read (severity, messages, deactivation, targets, qualified value shapes, the
properties a closed shape allows), and the features of the graph this engine does not implement."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.rdf_terms import OWL, RDF, RDFS, SH
from kg.validation.shacl.errors import ShaclError, Unsupported

_SHAPE_REFS = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)


def node_name(node: Node) -> str:
    """A shape's node as error messages name it."""
    return str(node) if isinstance(node, URIRef) else f"blank node {node.n3()}"


@dataclass(eq=False)
class Shape:
    """A node shape (``path`` None) or a property shape, with its severity, messages and deactivation."""

    model: Model
    node: Node
    path: Node | None  # None for a node shape

    def __post_init__(self):
        g = self.model.sg
        deactivated = list(g.objects(self.node, SH.deactivated))
        if len(deactivated) > 1:
            raise ShaclError(f"{node_name(self.node)}: more than one sh:deactivated")
        if deactivated and not isinstance(deactivated[0], Literal):
            raise ShaclError(f"{node_name(self.node)}: sh:deactivated must be a literal")
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
        return (
            any(
                True
                for p in (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
                for _ in g.objects(self.node, p)
            )
            or self.implicit_class()
        )

    def implicit_class(self) -> bool:
        g = self.model.sg
        # pyshacl adds owl:Class rdfs:subClassOf rdfs:Class to every shapes graph
        classes = set(g.subjects(RDFS.subClassOf, RDFS.Class)) | {RDFS.Class, OWL.Class}
        return any(t in classes for t in g.objects(self.node, RDF.type))

    def qualified(self) -> tuple[list[Shape], int | None, int | None, dict[Shape, list[Shape]]] | None:
        """The qualified value shapes, sh:qualifiedMinCount, sh:qualifiedMaxCount and, for each value shape,
        its disjoint siblings (with sh:qualifiedValueShapesDisjoint); None without them."""
        if not any(
            self.objects(p)
            for p in (
                SH.qualifiedValueShape,
                SH.qualifiedMinCount,
                SH.qualifiedMaxCount,
                SH.qualifiedValueShapesDisjoint,
            )
        ):
            return None
        if not self.is_property:
            return None  # pyshacl only warns and skips the constraint on a node shape
        model, sg = self.model, self.model.sg
        value_shapes = [model.shape(s) for s in dict.fromkeys(self.objects(SH.qualifiedValueShape))]
        if not value_shapes:
            raise ShaclError("QualifiedValueShapeConstraintComponent must have a sh:qualifiedValueShape")
        bounds = []
        for p in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
            values = set(self.objects(p))
            if len(values) > 1:
                raise ShaclError(f"at most one {p.n3()}")
            value = next(iter(values), None)
            if value is not None and not (isinstance(value, Literal) and isinstance(value.value, int)):
                raise ShaclError(f"{p.n3()} must be an integer literal")
            bounds.append(value.value if value is not None else None)
        low, high = bounds
        if low is None and high is None:
            raise ShaclError("QualifiedValueShapeConstraintComponent needs sh:qualifiedMinCount or MaxCount")
        disjoint = any(
            isinstance(d, Literal) and isinstance(d.value, bool) and d.value
            for d in self.objects(SH.qualifiedValueShapesDisjoint)
        )
        siblings: dict[Shape, list[Shape]] = {}
        if disjoint:
            for q in value_shapes:
                found = set()
                for parent in sg.subjects(SH.property, self.node):
                    for sibling_property in sg.objects(parent, SH.property):
                        for sibling in sg.objects(sibling_property, SH.qualifiedValueShape):
                            if sibling != q.node and sibling in model.shapes:
                                found.add(sibling)
                siblings[q] = [model.shapes[s] for s in found]
        return value_shapes, low, high, siblings

    def closed_allowed(self) -> list:
        """The properties a closed shape allows: the IRI paths of its property shapes and sh:ignoredProperties."""
        allowed: list[Node] = []
        for node in self.objects(SH.property):
            prop = self.model.shape(node, kind="property")
            if isinstance(prop.path, URIRef):
                allowed.append(prop.path)
        for lst in self.objects(SH.ignoredProperties):
            allowed.extend(self.model.sg.items(lst))
        return [a for a in allowed if not isinstance(a, BNode)]


class Model:
    """The shapes of a shapes graph, found as pyshacl finds them, and what this engine cannot run."""

    def __init__(self, sg: Graph):
        self.sg = sg
        self.problems: list[str] = []
        self.shapes: dict[Node, Shape] = {}
        g = sg
        node_shapes = set(g.subjects(RDF.type, SH.NodeShape))
        prop_shapes = set(g.subjects(RDF.type, SH.PropertyShape))
        for s in node_shapes:
            if any(True for _ in g.objects(s, SH.path)):
                raise ShaclError(f"{node_name(s)}: a sh:NodeShape cannot have a sh:path")
        paths = {}
        for s in prop_shapes:
            if s in node_shapes:
                raise ShaclError(f"{node_name(s)}: a shape cannot be both a NodeShape and a PropertyShape")
            found = list(g.objects(s, SH.path))
            if len(found) != 1:
                raise ShaclError(f"{node_name(s)}: a sh:PropertyShape needs exactly one sh:path")
            paths[s] = found[0]
        implied = {
            s
            for p in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf, SH.property, SH.node)
            for s in g.subjects(p, None)
        }
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
                raise ShaclError(f"{node_name(s)}: a property shape cannot have two sh:path values")
            if found:
                paths[s] = found[0]
            else:
                found_nodes.add(s)
        for s in found_nodes:
            self.shapes[s] = Shape(self, s, None)
        for s, path in paths.items():
            self.shapes[s] = Shape(self, s, path)
        self._check_features()

    def shape(self, node: Node, *, kind: str | None = None) -> Shape:
        shape = self.shapes.get(node)
        if shape is None:
            raise ShaclError(f"the shape {node_name(node)} referenced by a constraint does not exist")
        if kind == "node" and shape.is_property:
            raise ShaclError(f"{node_name(node)} is used with sh:node but is a property shape")
        if kind == "property" and not shape.is_property:
            raise ShaclError(f"{node_name(node)} is used with sh:property but is not a property shape")
        return shape

    def _check_features(self) -> None:
        g = self.sg
        checks = [
            (SH.rule, "SHACL rules (sh:rule)"),
            (SH.expression, "node expressions (sh:expression)"),
            (SH.js, "SHACL-JS (sh:js)"),
            (SH.jsFunctionName, "SHACL-JS (sh:jsFunctionName)"),
            (SH.condition, "rule conditions (sh:condition)"),
            (SH.ask, "SPARQL ASK validators (sh:ask)"),
        ]
        for predicate, feature in checks:
            if any(True for _ in g.subject_objects(predicate)):
                self.problems.append(feature)
        for cls, feature in [
            (SH.Function, "SHACL functions"),
            (SH.SPARQLFunction, "SPARQL functions"),
            (SH.ConstraintComponent, "custom constraint components"),
            (SH.TargetType, "custom target types"),
            (SH.SPARQLTargetType, "SPARQL target types"),
            (SH.JSTarget, "SHACL-JS targets"),
        ]:
            members = set(g.subjects(RDF.type, cls)) | {
                s for sub in g.subjects(RDFS.subClassOf, cls) for s in g.subjects(RDF.type, sub)
            }
            if cls == SH.ConstraintComponent:
                members = {m for m in members if not str(m).startswith(str(SH))}
            if members:
                self.problems.append(feature)
        for shape in self.shapes.values():
            for target in shape.objects(SH.target):
                if not list(g.objects(target, SH.select)) and (target, RDF.type, SH.SPARQLTarget) not in g:
                    self.problems.append(f"sh:target that is not a SPARQL target ({node_name(shape.node)})")
            for node in shape.objects(SH.targetNode):
                if isinstance(node, BNode):
                    self.problems.append(f"a blank node as sh:targetNode ({node_name(shape.node)})")
        # recursion through shape references
        state: dict[Node, int] = {}

        def visit(node):
            if state.get(node) == 1:
                raise Unsupported(f"recursive shapes (through {node_name(node)})")
            if state.get(node) == 2 or node not in self.shapes:
                return
            state[node] = 1
            for ref in self.references(node):
                visit(ref)
            state[node] = 2

        try:
            for node in list(self.shapes):
                visit(node)
        except Unsupported as exc:
            self.problems.append(str(exc))

    def references(self, node) -> list:
        g = self.sg
        refs = [o for p in _SHAPE_REFS for o in g.objects(node, p)]
        for p in _SHAPE_LISTS:
            for lst in g.objects(node, p):
                refs.extend(g.items(lst))
        return refs
