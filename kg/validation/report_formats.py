"""Validation reports for people and machines: SHACL RDF (Turtle), JSON, plain text and standalone HTML."""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources

from jinja2 import Environment, select_autoescape
from rdflib import Literal, URIRef

from kg.namespaces import all_prefixes
from kg.validation.shacl_check import SEVERITIES, Result, ValidationReport

FORMATS = ("text", "json", "turtle", "html")
MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
    "turtle": "text/turtle",
    "html": "text/html; charset=utf-8",
}


def _short(term, prefixes: dict[str, str]) -> str:
    if term is None:
        return ""
    if isinstance(term, Literal):
        if term.language or term.datatype is None:
            return term.n3()
        return f'"{term}"^^{_short(term.datatype, prefixes)}'
    text = str(term)
    for prefix, namespace in prefixes.items():
        if text.startswith(namespace) and text != namespace:
            return f"{prefix}:{text[len(namespace) :]}"
    return f"<{text}>" if isinstance(term, URIRef) else text


def _prefixes(base_iri: str) -> dict[str, str]:
    return {"yrds": base_iri + "shapes#", **all_prefixes(base_iri)}


def _grouped(report: ValidationReport) -> list[tuple[str, list[tuple[str, list[Result]]]]]:
    groups: dict[str, dict[str, list[Result]]] = {s: defaultdict(list) for s in SEVERITIES}
    for result in report.results:
        groups[result.severity][result.shape].append(result)
    return [(severity, sorted(groups[severity].items())) for severity in SEVERITIES if groups[severity]]


def _summary(report: ValidationReport) -> str:
    counts = report.counts()
    parts = [f"{counts[s]} {s.lower()}{'' if counts[s] == 1 else 's'}" for s in SEVERITIES]
    return ("conforms" if report.conforms else "does not conform") + ": " + ", ".join(parts)


def to_json(report: ValidationReport, *, base_iri: str) -> bytes:
    body = {
        "conforms": report.conforms,
        "counts": report.counts(),
        "results": [
            {
                "severity": r.severity,
                "shape": r.shape,
                "constraint": r.constraint,
                "focus": str(r.focus),
                "focus_label": r.focus_label,
                "path": str(r.path) if r.path is not None else None,
                "value": str(r.value) if r.value is not None else None,
                "message": r.message,
                "citations": [{"source": c.file, "paragraph": c.paragraph} for c in r.citations],
                "location": r.location or None,
            }
            for r in report.results
        ],
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_text(report: ValidationReport, *, base_iri: str) -> bytes:
    prefixes = _prefixes(base_iri)
    lines = [f"Validation {_summary(report)}"]
    for severity, shapes in _grouped(report):
        for shape, results in shapes:
            lines.append("")
            lines.append(f"{severity.upper()}  {_short(URIRef(shape), prefixes)}  ({len(results)})")
            lines.append(f"  {results[0].message}")
            for r in results:
                who = f"{r.focus_label} " if r.focus_label else ""
                detail = "".join(
                    f"  {name}: {_short(v, prefixes)}"
                    for name, v in (("path", r.path), ("value", r.value))
                    if v is not None and v != r.focus
                )
                cited = "; ".join(
                    f"{c.file}" + (f" paragraph {c.paragraph}" if c.paragraph else "") for c in r.citations
                )
                at = f"  at {r.location}" if r.location else ""
                lines.append(f"  - {who}{_short(r.focus, prefixes)}{detail}{at}" + (f"  [{cited}]" if cited else ""))
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_turtle(report: ValidationReport, *, base_iri: str) -> bytes:
    graph = report.graph
    for prefix, namespace in _prefixes(base_iri).items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph.serialize(format="turtle", encoding="utf-8")


def to_html(report: ValidationReport, *, base_iri: str) -> bytes:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = environment.from_string(
        resources.files("kg").joinpath("templates/report.html").read_text(encoding="utf-8")
    )
    prefixes = _prefixes(base_iri)
    page = template.render(
        summary=_summary(report),
        conforms=report.conforms,
        counts=report.counts(),
        groups=_grouped(report),
        short=lambda t: _short(t, prefixes),
    )
    return page.encode("utf-8")


def render(report: ValidationReport, *, format: str, base_iri: str) -> bytes:
    renderers = {"text": to_text, "json": to_json, "turtle": to_turtle, "html": to_html}
    return renderers[format](report, base_iri=base_iri)
