"""Saved queries: ``queries/*.rq`` with grlc-compatible ``#+`` YAML headers, and their parameters.

Parameters are named as grlc names them (BASIL's convention), so that a folder of saved queries runs
unchanged in grlc: ``?_name`` is a required plain literal and ``?__name`` an optional one; a suffix types it:
``_iri``, ``_number``, ``_literal``, ``_integer``, an XSD datatype written ``_xsd_date`` (prefix and local
name), or a language tag (``_en``, ``_zh``). kg's earlier spelling with a bare XSD local name (``_date``,
``_gYear``, ``_decimal``) is still read as that datatype, although grlc would read it as a language tag.
Values are checked against the type and bound as RDF terms in a VALUES block, never pasted into the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml
from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.errors import BadRequest, KGError, QuerySyntaxError
from kg.sparql_text import query_form, variables

XSD = "http://www.w3.org/2001/XMLSchema#"
#: grlc's grammar of parameter names (gquery.get_parameters): a name of letters and digits, then a type, a
#: prefixed datatype or a language tag
_PARAMETER = re.compile(
    r"^(?P<required>__?)(?P<name>[A-Za-z0-9]+)"
    r"(?:_(?P<type>iri|number|literal|integer))?"
    r"(?:_(?P<prefix>[A-Za-z0-9]+)_(?P<datatype>[A-Za-z0-9]+))?"
    r"(?:_(?P<lang>[A-Za-z0-9]+))?$"
)


def _is_iri(text: str) -> bool:
    """Whether pyoxigraph, which runs the query, takes ``text`` for an absolute IRI (RFC 3987: a scheme,
    no spaces or control characters, well-formed percent escapes)."""
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


#: lexical forms of the typed parameters: XSD's digits are ASCII ones ([0-9]; Python's \d takes '١٢' too)
_LEXICAL = {
    "integer": r"[+-]?[0-9]+",
    "decimal": r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "gYear": r"[0-9]{4}",
    "boolean": r"true|false",
}
#: a SPARQL numeric literal (grlc pastes a ``_number`` value as it is): integer, decimal or double
_NUMBER = {
    "integer": r"[+-]?[0-9]+",
    "decimal": r"[+-]?[0-9]*\.[0-9]+",
    "double": r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+",
}
#: a language tag as grlc's names can carry one: a primary subtag of 2-3 letters (BCP 47)
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class QueryNotFound(KGError):
    http_status = 404


class QueryParameterError(BadRequest):
    """A parameter that is unknown, missing, or not of its declared type."""


@dataclass(frozen=True)
class Parameter:
    name: str  # the name clients use (region)
    variable: str  # the SPARQL variable (_region_iri)
    kind: str  # iri, string, a language tag, or an XSD datatype local name
    required: bool
    default: str | None = None
    enumeration: tuple[str, ...] = ()

    def bind(self, raw: str) -> Node:
        """The RDF term for ``raw``; QueryParameterError when it does not fit the declared type."""
        if self.enumeration and raw not in self.enumeration:
            raise QueryParameterError(
                f"parameter {self.name!r} must be one of {', '.join(self.enumeration)}; got {raw!r}"
            )
        if self.kind == "iri":
            if _is_iri(raw):
                return URIRef(raw)
        elif self.kind == "string":
            return Literal(raw)
        elif self.kind == "number":
            for datatype, lexical in _NUMBER.items():
                if re.fullmatch(lexical, raw):
                    return Literal(raw, datatype=URIRef(XSD + datatype))
        elif self.kind in _LEXICAL:
            if re.fullmatch(_LEXICAL[self.kind], raw) and (self.kind != "date" or _is_date(raw)):
                return Literal(raw, datatype=URIRef(XSD + self.kind))
        else:
            return Literal(raw, lang=self.kind)
        raise QueryParameterError(f"parameter {self.name!r} must be {self.describe()}; got {raw!r}")

    def describe(self) -> str:
        if self.kind == "iri":
            return "an absolute IRI"
        if self.kind == "string":
            return "a string"
        if self.kind == "number":
            return "a number"
        if self.kind not in _LEXICAL:
            return f"a string in language {self.kind!r}"
        return f"an xsd:{self.kind}"


@dataclass(frozen=True)
class SavedQuery:
    id: str
    path: Path
    text: str
    summary: str
    description: str
    tags: tuple[str, ...]
    form: str
    parameters: tuple[Parameter, ...] = field(default=())

    def bindings(self, values: dict[str, str]) -> dict[str, Node]:
        """RDF terms for the given parameter values (defaults filled in); raises QueryParameterError."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryParameterError(
                f"query {self.id!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters: {', '.join(known) or 'none'}"
            )
        bound = {}
        for parameter in self.parameters:
            raw = values.get(parameter.name, parameter.default)
            if raw is None or raw == "":
                if parameter.required:
                    raise QueryParameterError(
                        f"query {self.id!r} needs parameter {parameter.name!r} ({parameter.describe()})"
                    )
                continue
            bound[parameter.variable] = parameter.bind(raw)
        return bound


def _header(text: str) -> dict:
    lines = [line[2:] for line in text.splitlines() if line.startswith("#+")]
    if not lines:
        return {}
    data = yaml.safe_load("\n".join(line[1:] if line.startswith(" ") else line for line in lines)) or {}
    if not isinstance(data, dict):
        raise ValueError("the #+ header is not a YAML mapping")
    return data


def _pairs(entries) -> dict[str, Any]:
    """grlc writes defaults and enumerations as a list of one-key mappings (of YAML values)."""
    result: dict[str, Any] = {}
    for entry in entries or []:
        if isinstance(entry, dict):
            result.update(entry)
    return result


def _kind(path: Path, variable: str, match: re.Match) -> str:
    """The parameter's kind from its name's suffix, as grlc reads it (kg's bare XSD names kept)."""
    suffix, prefix, datatype, lang = match.group("type", "prefix", "datatype", "lang")
    if [suffix, datatype, lang].count(None) < 2:
        raise QuerySyntaxError(f"{path.name}: ?{variable} has more than one type")
    if suffix:
        return "string" if suffix == "literal" else suffix
    if datatype:
        if prefix != "xsd" or datatype not in (*_LEXICAL, "string"):
            raise QuerySyntaxError(
                f"{path.name}: ?{variable}: kg binds the datatypes xsd:{', xsd:'.join(_LEXICAL)} and xsd:string"
            )
        return datatype
    if lang in _LEXICAL or lang == "string":
        return lang  # kg's earlier spelling: an XSD local name
    if lang is not None and not _LANGUAGE_TAG.fullmatch(lang):
        raise QuerySyntaxError(f"{path.name}: ?{variable}: {lang!r} is neither a language tag nor a type")
    return lang or "string"


def load_query(path: Path) -> SavedQuery:
    text = path.read_text(encoding="utf-8")
    try:
        header = _header(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise QuerySyntaxError(f"{path.name}: malformed #+ header ({exc})") from exc
    form = query_form(text)
    if form is None:
        raise QuerySyntaxError(f"{path.name}: not a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    defaults, enumerations = _pairs(header.get("defaults")), _pairs(header.get("enumerate"))
    parameters = []
    for variable in sorted(v for v in variables(text) if v.startswith("_")):
        match = _PARAMETER.match(variable)
        if not match:
            raise QuerySyntaxError(f"{path.name}: ?{variable} is not a parameter name of the form ?_name_type")
        name, kind = match.group("name"), _kind(path, variable, match)
        default = defaults.get(name, defaults.get(variable.lstrip("_")))
        enumeration = tuple(str(v) for v in enumerations.get(name, enumerations.get(variable.lstrip("_"), [])) or [])
        parameters.append(
            Parameter(
                name,
                variable,
                kind,
                match.group("required") == "_",
                None if default is None else str(default),
                enumeration,
            )
        )
    return SavedQuery(
        path.stem,
        path,
        text,
        str(header.get("summary", "")).strip(),
        str(header.get("description", "")).strip(),
        tuple(header.get("tags") or ()),
        form,
        tuple(parameters),
    )


def load_queries(folder: Path) -> dict[str, SavedQuery]:
    return {path.stem: load_query(path) for path in sorted(folder.glob("*.rq"))}


def find(queries: dict[str, SavedQuery], query_id: str) -> SavedQuery:
    if query_id not in queries:
        raise QueryNotFound(f"no saved query {query_id!r}; GET /queries lists them")
    return queries[query_id]
