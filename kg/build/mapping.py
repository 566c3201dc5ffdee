"""The mapping engine: one SPARQL CONSTRUCT per seed table, run over the table's rows (TARQL convention).

A mapping's variables are its table's column names. Each row's cells are bound as typed literals (an empty
cell leaves the variable unbound, so the triple patterns using it drop out); a date column ``d`` also binds
``d_earliest`` and ``d_latest``. IRIs are minted relative to the base IRI (``IRI(CONCAT("id/", ?id))``).
Every triple produced is traced to the rows, and so the source paragraphs, that state it.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Union

import pyoxigraph as ox

from kg.build.tables import CITATION_COLUMNS, Row, TableSchema
from kg.errors import MappingError
from kg.namespaces import XSD
from kg.sparql_text import assigned_variables, code_only, variables, where_brace
from kg.store.in_memory import check_query_syntax, select_over_rows
from kg.store.terms import Triple, canonical_literals, from_ox

_INTEGER = ox.NamedNode(XSD + "integer")
_MARKER = "urn:x-kg-template-variable:"

Citation = tuple[str, int | None]


#: A template position: a constant term or a variable (its name).
TemplateTerm = Union[ox.NamedNode, ox.Literal, "Variable"]
#: What a mapping states: each triple, as pyoxigraph terms, with the citations of the rows stating it
#: (a frozenset shared by the triples of one row, or a set of the triple's own; see ``_cite``).
Cited = dict[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal], AbstractSet[Citation]]
_OBJECT_TYPES = (ox.NamedNode, ox.Literal)
ROW_VARIABLE = "__row"  # joined beside the columns, so each solution names the row (and citation) it came from


@dataclass(frozen=True)
class Variable:
    name: str


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
        raise MappingError(
            f"{path.name}: variables that are not columns of {schema.file}: " + ", ".join("?" + v for v in unknown)
        )
    unused = [c for c in schema.column_names if c not in used and c not in CITATION_COLUMNS]
    if unused:
        raise MappingError(f"{path.name}: columns of {schema.file} that the mapping ignores: " + ", ".join(unused))
    construct = re.search(r"\bCONSTRUCT\b", code_only(text), re.IGNORECASE)
    if construct is None:  # a SELECT, ASK or DESCRIBE after its prologue
        raise MappingError(f"{path.name}: a mapping is a CONSTRUCT query with a WHERE clause")
    head = text[: construct.start()] + "SELECT * WHERE "
    try:
        template = _template(text, brace, base_iri)
    except MappingError as exc:
        raise MappingError(f"{path.name}: {exc}") from exc
    if any(isinstance(t, ox.BlankNode) for triple in template for t in triple):
        raise MappingError(
            f"{path.name}: the CONSTRUCT template has a blank node; a mapping mints an IRI for "
            "everything it states, so that each fact keeps one identity and one provenance record"
        )
    return Mapping(schema.name, path, text, brace, head + text[brace:], len(head), template)


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
        return node

    triples = ox.Store().query(probe, base_iri=base_iri)
    if not isinstance(triples, ox.QueryTriples):  # "CONSTRUCT" was a name in some other query
        raise MappingError("a mapping is a CONSTRUCT query with a WHERE clause")
    return tuple((term(t.subject), term(t.predicate), term(t.object)) for t in triples)


def map_rows(mapping: Mapping, schema: TableSchema, rows: list[Row], *, base_iri: str) -> Cited:
    """Every triple the rows produce, as pyoxigraph terms, with the citations of the rows that produced it.

    All rows go into one query (a VALUES block with the row's index beside its cells); each solution
    instantiates the template as CONSTRUCT would, skipping triples with an unbound or misplaced term.
    Literals are in the canonical form the store keeps ("52.0" becomes "52"), so provenance and exports
    agree with the published store.
    """
    variables = schema.variables() + [ROW_VARIABLE]
    bound = [dict(row.cells, **{ROW_VARIABLE: ox.Literal(str(i), datatype=_INTEGER)}) for i, row in enumerate(rows)]
    try:
        solutions = select_over_rows(
            mapping.select, variables, bound, base_iri=base_iri, where_brace=mapping.select_brace
        )
    except MappingError as exc:
        raise MappingError(f"{mapping.path.name} on {schema.file}: {exc}") from exc
    position = {v.value: i for i, v in enumerate(solutions.variables)}
    constants = tuple(t for triple in mapping.template for t in triple if not isinstance(t, Variable))
    place = dict(zip(constants, range(len(position), len(position) + len(constants)), strict=True))
    # each pattern picks its triple out of (solution values + constants) in C: per triple, the Python loop
    # it replaced was most of the mapping's time on large tables
    patterns = [
        (
            itemgetter(*(position[t.name] if isinstance(t, Variable) else place[t] for t in triple)),
            isinstance(triple[0], Variable),
            isinstance(triple[1], Variable),
            isinstance(triple[2], Variable),
        )
        for triple in mapping.template
    ]
    row_at = position[ROW_VARIABLE]
    shared: dict[Citation, frozenset[Citation]] = {}
    citations = [
        shared.setdefault((row.source, row.paragraph), frozenset({(row.source, row.paragraph)})) for row in rows
    ]  # one set per citation, shared by every triple it alone states
    found: Cited = {}
    for solution in solutions:
        values = tuple(solution) + constants
        cited = citations[int(values[row_at].value)]
        for pick, variable_subject, variable_predicate, variable_object in patterns:
            triple = pick(values)
            s, p, o = triple
            if (
                (variable_object and o is None)
                or (variable_subject and (s is None or type(s) is ox.Literal))
                or (variable_predicate and type(p) is not ox.NamedNode)
            ):
                continue  # CONSTRUCT leaves out what would not be a valid triple
            _cite(triple, cited, found)
    _refuse_blank_nodes(found, mapping, schema)
    canonical = canonical_literals({o for _, _, o in found if type(o) is ox.Literal})
    if not canonical:
        return found
    recast: Cited = {}
    for (s, p, o), known in found.items():
        _cite((s, p, canonical.get(o, o) if type(o) is ox.Literal else o), known, recast)
    return recast


def _cite(triple: tuple, cited: AbstractSet[Citation], found: Cited) -> None:
    """Add ``cited`` to the citations of ``triple``: a frozenset may be shared and is replaced, a set is
    the triple's own and grows in place (a triple that every row states, such as a dataset's type, would
    otherwise copy its growing set once per row)."""
    known = found.get(triple)
    if known is None:
        found[triple] = cited
    elif type(known) is set:
        known |= cited
    elif not cited <= known:
        found[triple] = set(known) | cited


def _refuse_blank_nodes(found: Cited, mapping: Mapping, schema: TableSchema) -> None:
    odd = next((t for t in found if type(t[0]) is not ox.NamedNode or type(t[2]) not in _OBJECT_TYPES), None)
    if odd is not None:
        raise MappingError(
            f"{mapping.path.name} on {schema.file}: it makes a blank node ({' '.join(map(str, odd))}); "
            "a mapping mints an IRI for everything it states, so that each fact keeps one identity "
            "and one provenance record across builds"
        )


def merge_citations(into: Cited, more: Cited) -> Cited:
    """The triples of both, each with the citations of either; changes and returns the larger of the two."""
    if len(more) > len(into):
        into, more = more, into
    for triple, cited in more.items():
        _cite(triple, cited, into)
    return into


def cited_ntriples(cited: Cited) -> bytes:
    """The triples of ``cited`` as an N-Triples document (pyoxigraph writes each term: escaped)."""
    # bytes line by line: one str of the whole text would widen to 4 bytes a character with one Chinese label
    return b"".join([f"{s} {p} {o} .\n".encode() for s, p, o in cited])


def rdflib_cited(cited: Cited) -> dict[Triple, AbstractSet[Citation]]:
    """``cited`` with its triples as rdflib terms (for rdflib tools, and the reasoner)."""
    twins = {term: from_ox(term) for term in {t for triple in cited for t in triple}}
    return {(twins[s], twins[p], twins[o]): citations for (s, p, o), citations in cited.items()}


def run_mapping(
    mapping: Mapping, schema: TableSchema, rows: list[Row], *, base_iri: str
) -> dict[Triple, AbstractSet[Citation]]:
    """``map_rows`` with the triples as rdflib terms."""
    return rdflib_cited(map_rows(mapping, schema, rows, base_iri=base_iri))


def map_row(mapping: Mapping, schema: TableSchema, row: Row, *, base_iri: str) -> list[Triple]:
    """The triples one row produces on its own (used to check that every row yields something)."""
    return list(run_mapping(mapping, schema, [row], base_iri=base_iri))
