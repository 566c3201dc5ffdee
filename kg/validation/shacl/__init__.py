"""SHACL validation as set-at-a-time SPARQL on pyoxigraph, giving the report pyshacl 0.40.1 gives.

``validate(data, shapes)`` checks the default graph of a pyoxigraph ``Store`` (or any iterable of rdflib
triples, loaded into a fresh store) against an rdflib shapes graph and returns the validation report as an
rdflib ``Graph``. It reproduces pyshacl's report as kg.validation.shacl_check runs it (``advanced=True``,
``allow_warnings=True``, ``allow_infos=True``, no inference): the same results with the same focus node,
path, value, source shape, constraint component, severity, message(s), ``sh:sourceConstraint`` and
``sh:detail``, and the same ``sh:conforms``.

How it evaluates: a shape's focus nodes are a SPARQL pattern (its targets, or the value nodes of the shape
that refers to it), never a list of nodes. Each constraint becomes one query over all focus nodes at once:
the value-level constraints of a shape share one query, and the counting constraints (minCount, maxCount,
qualified value shapes) of all property shapes of a node shape share one GROUP BY query. Whether a value
conforms to another shape (sh:node, sh:or, sh:and, sh:xone, sh:not, sh:qualifiedValueShape) is compiled
into a SPARQL expression and inlined. Where SPARQL and pyshacl judge a value differently (rdflib's
well-formed literals for sh:datatype, rdflib's literal ordering for the range and property-pair constraints,
Python ``re`` for sh:pattern), a query takes a fast SPARQL path for the values it can decide exactly and
calls a Python function registered with pyoxigraph (``custom_functions``) for the others. A SHACL-AF SPARQL
target is run once per shape; its nodes (usually none) start every query of the shape as a VALUES list.
SPARQL-based constraints (``sh:sparql``) run once with ``$this`` joined to the focus pattern at the start of
the WHERE clause, which equals pyshacl's pre-binding for the queries ``supported`` accepts. In the shapes'
own SPARQL texts, two rewrites keep the answer and remove Oxigraph's slow spots: a ``FILTER NOT EXISTS`` of
triple patterns sharing an always-bound variable becomes ``MINUS`` (Oxigraph scanned the pattern once per
row), and in targets ``FILTER(?p IN (iri, ...))`` on an always-bound variable becomes ``VALUES``.

Supported: targets (``sh:targetClass`` with rdfs:subClassOf* in the data, implicit class targets,
``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, SHACL-AF SPARQL targets with
``sh:select``), every path form, and the constraint components class, datatype, nodeKind, minCount, maxCount,
min/maxExclusive, min/maxInclusive, minLength, maxLength, pattern (with flags), languageIn, uniqueLang, equals,
disjoint, lessThan, lessThanOrEquals, in, hasValue, closed/ignoredProperties, not, and, or, xone, node,
property, qualifiedValueShape (min/max count, disjoint siblings) and sh:sparql SELECT constraints with
sh:prefixes/sh:declare, sh:deactivated, sh:severity and sh:message. ``supported(shapes)`` names whatever a
shapes graph uses beyond that (SHACL rules, functions, JavaScript, expressions, custom constraint
components or target types, recursive shapes, SPARQL texts the rewrite cannot keep equivalent, ...);
``validate`` raises ``UnsupportedShapes`` for such a graph, so a caller can fall back to pyshacl.

One deliberate difference from pyshacl, where it contradicts the SHACL specification: ``sh:inversePath`` of
a sequence path is ``^(a/b)`` = ``^b/^a``; pyshacl walks ``^a/^b``. Term equality (sh:in, sh:hasValue) is
rdflib's, as in pyshacl: "a"^^xsd:string in the shapes does not match the stored "a", nor "01"^^xsd:integer
the stored "1".
Known approximations (none is used by the project's shapes): a zero-length path (``sh:zeroOrMorePath``,
``sh:zeroOrOnePath``) nested inside another path does not start from a node absent from the data graph.
Literals in a data store are in Oxigraph's canonical form ("52.0"^^xsd:decimal is "52"); the report shows
the stored terms, so compare with pyshacl run on the same canonical data.
"""

from kg.validation.shacl.engine import supported, validate
from kg.validation.shacl.errors import ShaclError, UnsupportedShapes

__all__ = ["ShaclError", "UnsupportedShapes", "supported", "validate"]
