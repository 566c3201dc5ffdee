"""The vocabulary's documentation: every class and property of the ontology with its labels in English
and Chinese, definition, place in the hierarchy, domain and range, and the SHACL constraints that apply
to it, read from the ontology and shapes graphs (rdflib) into plain data.

A build writes it beside its version as ``vocabulary.json`` (``/ontology`` shows it as HTML, adding how
many instances the graph holds and an example of each); for a store without it (a remote store) the web
layer makes it from the store's own ontology and shapes graphs. Constraints are said in words
("at least 1", "a Region") with the shape's own message and severity; a class inherits its superclasses'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from kg.namespaces import all_prefixes

#: Raised with the layout of the data, so that a page never reads a document it does not understand.
VOCABULARY_FORMAT = 1
ATTACHMENT = "vocabulary.json"

_PROPERTY_KINDS = {
    OWL.ObjectProperty: "object property",
    OWL.DatatypeProperty: "datatype property",
    OWL.AnnotationProperty: "annotation property",
}
_CHARACTERISTICS = {
    OWL.TransitiveProperty: "transitive",
    OWL.SymmetricProperty: "symmetric",
    OWL.FunctionalProperty: "functional",
    OWL.InverseFunctionalProperty: "inverse functional",
}


class PrefixedNames:
    """Terms as prefixed names, by the project's prefix map."""

    def __init__(self, base_iri: str):
        known = {**all_prefixes(base_iri), "yrds": base_iri + "shapes#"}
        self.prefixes = sorted(known.items(), key=lambda item: -len(item[1]))

    def __call__(self, term) -> str:
        text = str(term)
        for prefix, namespace in self.prefixes:
            if text.startswith(namespace) and text != namespace:
                return f"{prefix}:{text[len(namespace) :]}"
        return f"<{text}>"


def _text(graph: Graph, subject, predicate, lang: str | None) -> str:
    values = sorted(
        str(o)
        for o in graph.objects(subject, predicate)
        if isinstance(o, Literal) and (lang is None or (o.language or "").startswith(lang))
    )
    return values[0] if values else ""


def rdf_list(graph: Graph, head) -> list:
    return list(Collection(graph, head)) if head is not None else []


def rules_in_words(graph: Graph, shape, name: PrefixedNames) -> list[str]:
    """A property or node shape's constraint parameters, in words."""
    rules = []
    one = graph.value
    if (n := one(shape, SH.minCount)) is not None:
        rules.append(f"at least {n}")
    if (n := one(shape, SH.maxCount)) is not None:
        rules.append(f"at most {n}")
    for cls in sorted(graph.objects(shape, SH["class"]), key=str):
        rules.append(f"a {name(cls)}")
    for datatype in sorted(graph.objects(shape, SH.datatype), key=str):
        rules.append(f"of type {name(datatype)}")
    if (kind := one(shape, SH.nodeKind)) is not None:
        rules.append(f"node kind {name(kind)}")
    if (values := one(shape, SH["in"])) is not None:
        rules.append(
            "one of " + ", ".join(str(v) if isinstance(v, Literal) else name(v) for v in rdf_list(graph, values))
        )
    for pattern in graph.objects(shape, SH.pattern):
        rules.append(f"matching /{pattern}/")
    for key, words in ((SH.minInclusive, "at least"), (SH.maxInclusive, "at most")):
        if (n := one(shape, key)) is not None:
            rules.append(f"{words} {n}")
    for other in graph.objects(shape, SH.lessThanOrEquals):
        rules.append(f"not after its {name(other)}")
    if one(shape, SH.uniqueLang) == Literal(True):
        rules.append("one per language")
    if (languages := one(shape, SH.languageIn)) is not None:
        rules.append("in " + ", ".join(str(v) for v in rdf_list(graph, languages)))
    if (qualified := one(shape, SH.qualifiedValueShape)) is not None:
        inner = "; ".join(rules_in_words(graph, qualified, name)) or "a value of a shape"
        low, high = one(shape, SH.qualifiedMinCount), one(shape, SH.qualifiedMaxCount)
        counted = " and ".join(f"{words} {n}" for words, n in (("at least", low), ("at most", high)) if n is not None)
        rules.append(f"{counted} {inner}".strip())
    for node in graph.objects(shape, SH.node):
        rules.append(f"conforms to {name(node)}" if isinstance(node, URIRef) else "conforms to a nested shape")
    for alternatives in graph.objects(shape, SH["or"]):
        parts = ["; ".join(rules_in_words(graph, part, name)) or "a shape" for part in rdf_list(graph, alternatives)]
        rules.append("either " + " or ".join(parts))
    if any(True for _ in graph.objects(shape, SH.sparql)):
        rules.append("a SPARQL rule across entities")
    return rules


def _constraint(graph: Graph, shape, path, name: PrefixedNames) -> dict:
    severity = graph.value(shape, SH.severity) or SH.Violation
    messages = [shape, *graph.objects(shape, SH.sparql)]  # a SPARQL constraint's message is on the constraint
    message = next((m for m in (_text(graph, node, SH.message, "en") for node in messages) if m), "")
    return {
        "shape": name(shape) if isinstance(shape, URIRef) else "",
        "path": name(path) if isinstance(path, URIRef) else ("" if path is None else "a path"),
        "rules": rules_in_words(graph, shape, name),
        "severity": str(severity).rsplit("#", 1)[-1],
        "message": message or _text(graph, shape, RDFS.comment, "en"),
    }


def _targets(graph: Graph, shape) -> set:
    targets = set(graph.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in graph or (shape, RDF.type, OWL.Class) in graph:
        targets.add(shape)  # an implicit class target
    return targets


def describe_vocabulary(ontology: Graph, shapes: Iterable[Graph], base_iri: str) -> dict:
    """Classes and properties of ``ontology`` (those it declares, sorted by prefixed name), with the
    constraints of ``shapes`` that target them or their values."""
    name = PrefixedNames(base_iri)
    union = Graph()
    for graph in shapes:
        for triple in graph:
            union.add(triple)
    by_class: dict = defaultdict(list)
    by_property: dict = defaultdict(list)
    node_shapes = set(union.subjects(RDF.type, SH.NodeShape)) | set(union.subjects(SH.targetClass, None))
    for node_shape in sorted(node_shapes, key=str):  # in a stable order, whatever the hash seed
        targets = _targets(union, node_shape)
        own = _constraint(union, node_shape, None, name)
        if own["rules"] and targets:
            for cls in targets:
                by_class[cls].append(own)
        for property_shape in sorted(union.objects(node_shape, SH.property), key=str):
            path = union.value(property_shape, SH.path)
            entry = _constraint(union, property_shape, path, name)
            for cls in targets:
                by_class[cls].append(entry)
            if isinstance(path, URIRef):
                by_property[path].append({**entry, "on": sorted(name(c) for c in targets)})
    for property_shape in sorted(set(union.subjects(SH.path, None)), key=str):
        # property shapes with targets of their own (sh:targetSubjectsOf and the like)
        if any(True for _ in union.subjects(SH.property, property_shape)):
            continue
        path = union.value(property_shape, SH.path)
        if isinstance(path, URIRef):
            by_property[path].append({**_constraint(union, property_shape, path, name), "on": []})

    classes = sorted(
        {c for c in ontology.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)},
        key=name,
    )
    parents = {
        c: sorted((p for p in ontology.objects(c, RDFS.subClassOf) if isinstance(p, URIRef)), key=name) for c in classes
    }

    def ancestors(cls) -> list:
        seen, todo = [], list(parents.get(cls, []))
        while todo:
            parent = todo.pop(0)
            if parent not in seen:
                seen.append(parent)
                todo.extend(parents.get(parent, []))
        return seen

    def term(iri) -> dict:
        return {
            "iri": str(iri),
            "name": name(iri),
            "id": str(iri).rsplit("#", 1)[-1] if str(iri).startswith(base_iri + "ontology#") else "",
            "label_en": _text(ontology, iri, RDFS.label, "en"),
            "label_zh": _text(ontology, iri, RDFS.label, "zh"),
            "definition": _text(ontology, iri, SKOS.definition, "en") or _text(ontology, iri, RDFS.comment, "en"),
        }

    class_entries = []
    for cls in classes:
        inherited = [
            {**constraint, "from": name(ancestor)}
            for ancestor in ancestors(cls)
            for constraint in by_class.get(ancestor, [])
        ]
        class_entries.append(
            {
                **term(cls),
                "superclasses": [name(p) for p in parents[cls]],
                "subclasses": sorted(name(c) for c in classes if cls in parents[c]),
                "constraints": [{**c, "from": ""} for c in by_class.get(cls, [])] + inherited,
            }
        )
    kinds: dict = {}
    for kind, words in _PROPERTY_KINDS.items():
        for prop in ontology.subjects(RDF.type, kind):
            if isinstance(prop, URIRef):
                kinds.setdefault(prop, words)
    property_entries = []
    for prop in sorted(kinds, key=name):
        property_entries.append(
            {
                **term(prop),
                "kind": kinds[prop],
                "characteristics": sorted(w for t, w in _CHARACTERISTICS.items() if (prop, RDF.type, t) in ontology),
                "superproperties": sorted(
                    name(p) for p in ontology.objects(prop, RDFS.subPropertyOf) if isinstance(p, URIRef)
                ),
                "inverse": sorted(name(p) for p in ontology.objects(prop, OWL.inverseOf) if isinstance(p, URIRef)),
                "domain": sorted(name(d) for d in ontology.objects(prop, RDFS.domain) if not isinstance(d, BNode)),
                "range": sorted(name(r) for r in ontology.objects(prop, RDFS.range) if not isinstance(r, BNode)),
                "constraints": by_property.get(prop, []),
            }
        )
    return {"format": VOCABULARY_FORMAT, "classes": class_entries, "properties": property_entries}
