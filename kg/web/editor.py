"""What the query editor (YASGUI, served from kg/static/vendor/yasgui) learns from the graph itself.

``GET /query/terms.json`` lists the classes and properties the editor completes: the ontology's, and any
other class or property the graph uses (rdfs:label, skos:prefLabel, a partner's own). The editor asks
this server only; YASGUI's default completion service (Linked Open Vocabularies) is never called. The
list is made once per store version, under the endpoint's limits like any page's query.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from kg.namespaces import all_prefixes
from kg.web.page_store import page_store

editor = Blueprint("editor", __name__)

_CLASS_TYPES = "owl:Class rdfs:Class"
_PROPERTY_TYPES = "owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property"
_PROLOGUE = """PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
#: build id -> the answer, for the versions seen lately (a worker serves one version at a time)
_TERMS: dict[str, dict] = {}


def editor_terms(store) -> dict:
    """Sorted IRIs of classes and properties: declared in the ontology or used in the graph."""
    classes = store.select(
        _PROLOGUE
        + f"SELECT DISTINCT ?term WHERE {{ {{ ?term a ?kind VALUES ?kind {{ {_CLASS_TYPES} }} }}"
        + " UNION { ?thing a ?term } FILTER(isIRI(?term)) }"
    )
    properties = store.select(
        _PROLOGUE
        + f"SELECT DISTINCT ?term WHERE {{ {{ ?term a ?kind VALUES ?kind {{ {_PROPERTY_TYPES} }} }}"
        + " UNION { ?s ?term ?o } FILTER(isIRI(?term)) }"
    )
    return {
        "classes": sorted({str(row["term"]) for row in classes}),
        "properties": sorted({str(row["term"]) for row in properties}),
    }


@editor.get("/query/terms.json")
def terms():
    settings, store = page_store()
    answer = _TERMS.get(store.build_id)
    if answer is None:
        answer = {**editor_terms(store), "prefixes": all_prefixes(settings.base_iri)}
        _TERMS.clear()
        _TERMS[store.build_id] = answer
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-cache"  # revalidated: the version may change
    response.set_etag(f"terms-{store.build_id}")
    return response.make_conditional(request)
