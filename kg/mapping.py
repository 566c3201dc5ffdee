"""The mapping engine: one SPARQL CONSTRUCT per seed table, run over the table's rows (TARQL convention).

A mapping's variables are its table's column names. Each row's cells are bound as typed literals (an empty
cell leaves the variable unbound, so the triple patterns using it drop out); a date column ``d`` also binds
``d_earliest`` and ``d_latest``. IRIs are minted relative to the base IRI (``IRI(CONCAT("id/", ?id))``).
Rows are run in groups that share a citation, so every triple produced is traced to the source paragraphs
that state it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kg.errors import MappingError
from kg.sparql_text import assigned_variables, code_only, variables, where_brace
from kg.store import Triple, check_query_syntax, construct_over_rows
from kg.tables import CITATION_COLUMNS, Row, TableSchema

Citation = tuple[str, int | None]


@dataclass(frozen=True)
class Mapping:
    table: str
    path: Path
    text: str
    where_brace: int  # offset of the '{' that opens the WHERE clause


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
    return Mapping(schema.name, path, text, brace)


def run_mapping(mapping: Mapping, schema: TableSchema, rows: list[Row], *,
                base_iri: str) -> dict[Triple, set[Citation]]:
    """Every triple the rows produce, with the citations of the rows that produced it."""
    groups: dict[Citation, list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.source, row.paragraph)].append(row)
    produced: dict[Triple, set[Citation]] = defaultdict(set)
    variables = schema.variables()
    for citation in sorted(groups, key=lambda c: (c[0], c[1] or 0)):
        group = groups[citation]
        try:
            triples = construct_over_rows(mapping.text, variables, [r.cells for r in group],
                                          base_iri=base_iri, where_brace=mapping.where_brace)
        except MappingError as exc:
            lines = ", ".join(str(r.line) for r in group)
            raise MappingError(f"{mapping.path.name} on {schema.file} lines {lines}: {exc}") from exc
        for triple in triples:
            produced[triple].add(citation)
    return dict(produced)


def map_row(mapping: Mapping, schema: TableSchema, row: Row, *, base_iri: str) -> list[Triple]:
    """The triples one row produces on its own (used to check that every row yields something)."""
    return list(run_mapping(mapping, schema, [row], base_iri=base_iri))
