"""Seed tables: read the CSVW metadata, read each CSV, check every cell, and type it as an RDF literal.

The metadata (``seeds/tables.csv-metadata.json``, W3C CSV on the Web) is the one definition of the
tables. The subset read here: per column ``name``, ``required`` and a ``datatype`` that is a CSVW
built-in name (string, integer, decimal, boolean) or an object with ``base`` and ``format`` (a regular
expression the cell must match); a datatype whose ``@id`` is ``...#flexibleDate`` is a date at its stated
precision (see ``kg.dates``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pyoxigraph import Literal, NamedNode

from kg.dates import parse_flexible_date
from kg.errors import SeedTableError
from kg.namespaces import XSD

METADATA_FILE = "tables.csv-metadata.json"
FLEXIBLE_DATE = "flexibleDate"
#: Columns that carry the citation of a row rather than a fact.
CITATION_COLUMNS = ("source", "paragraph")
#: Suffixes of the extra variables bound for every date column.
DATE_BOUNDS = ("_earliest", "_latest")


@dataclass(frozen=True)
class Column:
    name: str
    datatype: str  # string | integer | decimal | boolean | date
    required: bool
    pattern: re.Pattern[str] | None
    description: str


@dataclass(frozen=True)
class TableSchema:
    name: str
    file: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def cites_itself(self) -> bool:
        """A register table (the sources) has no citation columns: each row is its own source."""
        return "source" not in self.column_names

    def variables(self) -> list[str]:
        """The SPARQL variables a row binds: the columns, plus the bounds of every date column."""
        names = []
        for column in self.columns:
            names.append(column.name)
            if column.datatype == "date":
                names.extend(column.name + suffix for suffix in DATE_BOUNDS)
        return names


@dataclass(frozen=True)
class Row:
    """One data row: ``line`` is its line in the file (the header is line 1)."""

    table: str
    line: int
    cells: dict[str, Literal]  # pyoxigraph literals: built (and checked) in Rust, far faster than rdflib
    source: str
    paragraph: int | None


def _column(table: str, raw: dict) -> Column:
    datatype = raw.get("datatype", "string")
    pattern = None
    if isinstance(datatype, dict):
        if str(datatype.get("@id", "")).endswith("#" + FLEXIBLE_DATE):
            kind = "date"
        else:
            kind = datatype.get("base", "string")
        if "format" in datatype:
            pattern = re.compile(datatype["format"])
    else:
        kind = datatype
    if kind not in ("string", "integer", "decimal", "boolean", "date"):
        raise SeedTableError(f"{METADATA_FILE}: table {table}, column {raw.get('name')}: unsupported datatype {kind!r}")
    return Column(raw["name"], kind, bool(raw.get("required", False)), pattern, raw.get("dc:description", ""))


def load_schemas(seeds_dir: Path) -> dict[str, TableSchema]:
    """Every table declared in the seeds folder's CSVW metadata, by table name."""
    path = seeds_dir / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SeedTableError(f"{path}: cannot read the table metadata ({exc})") from exc
    schemas = {}
    for table in metadata.get("tables", []):
        file = table["url"]
        name = file.removesuffix(".csv")
        columns = tuple(_column(name, c) for c in table["tableSchema"]["columns"])
        schema = TableSchema(name, file, columns)
        # every fact row cites its source; a register row is its own source, named by its id
        key = "id" if schema.cites_itself else "source"
        if not any(column.name == key and column.required for column in columns):
            raise SeedTableError(f"{METADATA_FILE}: table {name}: column {key} must be declared and required")
        schemas[name] = schema
    return schemas


_INTEGER, _DECIMAL, _BOOLEAN, _DATE = (NamedNode(XSD + name) for name in ("integer", "decimal", "boolean", "date"))


def _typed(column: Column, text: str) -> Literal:
    if column.datatype == "string":
        return Literal(text)
    if column.datatype == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"not an integer: {text!r}")
        return Literal(text, datatype=_INTEGER)
    if column.datatype == "decimal":
        try:
            Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {text!r}") from None
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise ValueError(f"not a plain decimal number: {text!r}")
        return Literal(text, datatype=_DECIMAL)
    if column.datatype == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"not true or false: {text!r}")
        return Literal(text, datatype=_BOOLEAN)
    flexible = parse_flexible_date(text)
    return Literal(flexible.lexical, datatype=NamedNode(flexible.datatype))


def _date_bounds(column: Column, text: str) -> dict[str, Literal]:
    flexible = parse_flexible_date(text)
    if flexible.earliest is None or flexible.latest is None:  # both None, when the year is unknown
        return {}
    return {
        column.name + "_earliest": Literal(flexible.earliest.isoformat(), datatype=_DATE),
        column.name + "_latest": Literal(flexible.latest.isoformat(), datatype=_DATE),
    }


def read_table(schema: TableSchema, seeds_dir: Path) -> list[Row]:
    """All rows of one table, each cell checked and typed; raises SeedTableError naming file, line, column."""
    path = seeds_dir / schema.file
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise SeedTableError(f"{path}: cannot open ({exc.strerror})") from exc
    rows = []
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header != schema.column_names:
                raise SeedTableError(
                    f"{schema.file}, line 1: header must be {','.join(schema.column_names)}; "
                    f"found {','.join(header or [])}"
                )
            for record in reader:
                rows.append(_read_row(schema, reader.line_num, record))
        except csv.Error as exc:
            raise SeedTableError(f"{schema.file}, line {reader.line_num}: malformed CSV ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise SeedTableError(f"{schema.file}: not UTF-8 ({exc})") from exc
    return rows


def _read_row(schema: TableSchema, line: int, record: list[str]) -> Row:
    where = f"{schema.file}, line {line}"
    if len(record) != len(schema.columns):
        raise SeedTableError(f"{where}: {len(record)} cells where the header has {len(schema.columns)}")
    cells: dict[str, Literal] = {}
    for column, raw in zip(schema.columns, record, strict=True):
        text = raw.strip()
        if text != raw:
            raise SeedTableError(f"{where}, column {column.name}: leading or trailing space in {raw!r}")
        if not text:
            if column.required:
                raise SeedTableError(f"{where}, column {column.name}: a value is required")
            continue
        if column.pattern is not None and not column.pattern.fullmatch(text):
            raise SeedTableError(f"{where}, column {column.name}: {text!r} does not match {column.pattern.pattern}")
        try:
            cells[column.name] = _typed(column, text)
            if column.datatype == "date":
                cells.update(_date_bounds(column, text))
        except ValueError as exc:
            raise SeedTableError(f"{where}, column {column.name}: {exc}") from None
    if schema.cites_itself:
        source, paragraph = cells["id"].value, None
    else:
        source = cells["source"].value
        paragraph = int(cells["paragraph"].value) if "paragraph" in cells else None
    return Row(schema.name, line, cells, source, paragraph)
