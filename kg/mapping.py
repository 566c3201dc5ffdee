"""The mapping engine: one SPARQL CONSTRUCT per seed table, run over the table's rows (TARQL convention).

A mapping's variables are its table's column names. Each row's cells are bound as typed literals (an empty
cell leaves the variable unbound, so the triple patterns using it drop out); a date column ``d`` also binds
``d_earliest`` and ``d_latest``. IRIs are minted relative to the base IRI (``IRI(CONCAT("id/", ?id))``).
Every triple produced is traced to the rows, and so the source paragraphs, that state it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pyoxigraph as ox

from kg.errors import MappingError
from kg.namespaces import XSD
from kg.sparql_text import assigned_variables, code_only, variables, where_brace
from kg.store import Triple, check_query_syntax, select_over_rows, to_rdflib_terms
from kg.tables import CITATION_COLUMNS, Row, TableSchema

_INTEGER = ox.NamedNode(XSD + "integer")
_MARKER = "urn:x-kg-template-variable:"

Citation = tuple[str, int | None]


#: A template position: a constant term, a variable (its name) or a blank node (fresh for every solution).
TemplateTerm = Union[ox.NamedNode, ox.Literal, "Variable", "Fresh"]
ROW_VARIABLE = "__row"  # joined beside the columns, so each solution names the row (and citation) it came from


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Fresh:
    label: str


@dataclass(frozen=True)
class Mapping:
    table: str
    path: Path
    text: str
    where_brace: int  # offset of the '{' that opens the WHERE clause
    select: str  # the same WHERE clause as SELECT *: solutions are instantiated with ``template`` in Python
    select_brace: int
    template: tuple[tuple[TemplateTerm, TemplateTerm, TemplateTerm], ...]


def load_mapping(path: Path, schema: TableSchema, *, base_iri: str) -> Mapping:
    """Read a mapping and check it against its table; raise MappingError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read ({exc.strerror})") from exc
    brace = where_brace(text)
    if not code_only(text).lstrip().upper().startswith(("PREFIX", "BASE", "CONSTRUCT")) or brace is None:
        raise MappingError(f"{path.name}: a mapping is a CONSTRUCT query with a WHERE clause")
    try:
        check_query_syntax(text, base_iri=base_iri)
    except MappingError as exc:
        raise MappingError(f"{path.name}: {exc}") from exc

    used = variables(text)
    assigned = assigned_variables(text)
    bound = set(schema.variables())
    unknown = sorted(used - bound - assigned)
    if unknown:
        raise MappingError(f"{path.name}: variables that are not columns of {schema.file}: "
                           + ", ".join("?" + v for v in unknown))
    unused = [c for c in schema.column_names if c not in used and c not in CITATION_COLUMNS]
    if unused:
        raise MappingError(f"{path.name}: columns of {schema.file} that the mapping ignores: " + ", ".join(unused))
    construct = re.search(r"\bCONSTRUCT\b", code_only(text), re.IGNORECASE)
    head = text[:construct.start()] + "SELECT * WHERE "
    return Mapping(schema.name, path, text, brace, head + text[brace:], len(head), _template(text, brace, base_iri))


def _template(text: str, brace: int, base_iri: str) -> tuple:
    """The CONSTRUCT template, read by pyoxigraph: the query is run once with its WHERE clause replaced by
    one solution that binds every variable to a marker IRI, and the markers in the output are read back."""
    names = sorted(variables(text[:brace]))
    markers = " ".join(f"<{_MARKER}{name}>" for name in names)
    probe = text[:brace] + "{ VALUES (" + " ".join("?" + n for n in names) + ") { (" + markers + ") } }"
    by_marker = {_MARKER + name: Variable(name) for name in names}

    def term(node):
        if isinstance(node, ox.NamedNode) and node.value in by_marker:
            return by_marker[node.value]
        return Fresh(node.value) if isinstance(node, ox.BlankNode) else node

    return tuple((term(t.subject), term(t.predicate), term(t.object))
                 for t in ox.Store().query(probe, base_iri=base_iri))


def run_mapping(mapping: Mapping, schema: TableSchema, rows: list[Row], *,
                base_iri: str) -> dict[Triple, set[Citation]]:
    """Every triple the rows produce, with the citations of the rows that produced it.

    All rows go into one query (a VALUES block with the row's index beside its cells); each solution
    instantiates the template as CONSTRUCT would, skipping triples with an unbound or misplaced term.
    """
    variables = schema.variables() + [ROW_VARIABLE]
    bound = [dict(row.cells, **{ROW_VARIABLE: ox.Literal(str(i), datatype=_INTEGER)}) for i, row in enumerate(rows)]
    try:
        solutions = select_over_rows(mapping.select, variables, bound, base_iri=base_iri,
                                     where_brace=mapping.select_brace)
    except MappingError as exc:
        raise MappingError(f"{mapping.path.name} on {schema.file}: {exc}") from exc
    position = {v.value: i for i, v in enumerate(solutions.variables)}
    template = [tuple(position[t.name] if isinstance(t, Variable) else t for t in triple)
                for triple in mapping.template]
    row_at = position[ROW_VARIABLE]
    found: dict[tuple, set[Citation]] = defaultdict(set)
    for solution in solutions:
        values = tuple(solution)
        row = rows[int(values[row_at].value)]
        citation = (row.source, row.paragraph)
        fresh: dict[str, ox.BlankNode] = {}
        for pattern in template:
            triple = tuple(values[t] if isinstance(t, int) else
                           fresh.setdefault(t.label, ox.BlankNode()) if isinstance(t, Fresh) else t
                           for t in pattern)
            s, p, o = triple
            if s is None or o is None or not isinstance(p, ox.NamedNode) or isinstance(s, ox.Literal):
                continue  # CONSTRUCT leaves out what would not be a valid triple
            found[triple].add(citation)
    # The store keeps literals in Oxigraph's canonical form ("52.0" becomes "52"): take that form here,
    # so provenance and exports agree with the published store.
    term = to_rdflib_terms({t for triple in found for t in triple})
    produced: dict[Triple, set[Citation]] = defaultdict(set)
    for (s, p, o), cited in found.items():
        produced[term[s], term[p], term[o]] |= cited
    return dict(produced)


def map_row(mapping: Mapping, schema: TableSchema, row: Row, *, base_iri: str) -> list[Triple]:
    """The triples one row produces on its own (used to check that every row yields something)."""
    return list(run_mapping(mapping, schema, [row], base_iri=base_iri))
