"""``GET /ontology``: the vocabulary documented for people, or the ontology graph for programs.

The ontology's terms are hash IRIs of this document (``…/ontology#Zone``), so a browser following one
lands on the term's section of the page. The page is the build's ``vocabulary.json``
(``kg.validation.vocabulary``: labels in both languages, definitions, hierarchy, domain and range, the
SHACL constraints), with what the graph holds added: how many instances of each class and uses of each
property, and an example of each, read once per store version under the page limits. A store without the
document (a remote store) has it made from its own ontology and shapes graphs. Any other client is sent
(303) to the ontology graph in the Graph Store Protocol, as before.
"""

from __future__ import annotations

import json

from flask import Blueprint, redirect, render_template, request, url_for
from rdflib import Graph, URIRef

from kg.validation.vocabulary import ATTACHMENT, VOCABULARY_FORMAT, describe_vocabulary
from kg.web.browse import labels
from kg.web.errors import prefers_html
from kg.web.page_store import page_store

vocabulary = Blueprint("vocabulary", __name__)

#: build id -> the page's data, for the version served lately
_DOCUMENTS: dict[str, dict] = {}


def _documented(store, base_iri: str) -> dict:
    stored = store.attachment(ATTACHMENT)
    document = json.loads(stored) if stored else None
    if document is None or document.get("format") != VOCABULARY_FORMAT:
        graphs = {}
        for name in ("ontology", "shapes"):
            graph = Graph()
            for s, p, o, _ in store.quads([URIRef(f"{base_iri}graph/{name}")]):
                graph.add((s, p, o))
            graphs[name] = graph
        document = describe_vocabulary(graphs["ontology"], [graphs["shapes"]], base_iri)
    return document


def _uses(store, base_iri: str, document: dict) -> tuple[dict, dict]:
    """Instances per class and triples per property, with the least IRI of each as an example, in the
    graphs of the data (not the schema's or the provenance's)."""
    schema = ", ".join(f"<{base_iri}graph/{name}>" for name in ("ontology", "shapes", "provenance"))
    classes = " ".join(f"<{entry['iri']}>" for entry in document["classes"])
    properties = " ".join(f"<{entry['iri']}>" for entry in document["properties"])
    counted_classes = store.select(
        "SELECT ?term (COUNT(DISTINCT ?x) AS ?n) (MIN(STR(?x)) AS ?example) WHERE { "
        f"VALUES ?term {{ {classes} }} GRAPH ?g {{ ?x a ?term }} FILTER(?g NOT IN ({schema})) }} GROUP BY ?term"
    )
    counted_properties = store.select(
        "SELECT ?term (COUNT(*) AS ?n) (MIN(STR(?x)) AS ?example) WHERE { "
        f"VALUES ?term {{ {properties} }} GRAPH ?g {{ ?x ?term ?value }} FILTER(?g NOT IN ({schema})) }} GROUP BY ?term"
    )

    def table(rows) -> dict:
        return {str(row["term"]): (int(row["n"]), str(row["example"])) for row in rows if row.get("term") is not None}

    return table(counted_classes), table(counted_properties)


def _page_data(settings, store) -> dict:
    data = _DOCUMENTS.get(store.build_id)
    if data is None:
        document = _documented(store, settings.base_iri)
        instances, uses = _uses(store, settings.base_iri, document)
        examples = {example for _, example in [*instances.values(), *uses.values()]}
        names = {str(k): v for k, v in labels(store, [URIRef(e) for e in examples], settings.base_iri).items()}
        for entries, found in ((document["classes"], instances), (document["properties"], uses)):
            for entry in entries:
                entry["count"], entry["example"] = found.get(entry["iri"], (0, ""))
                entry["example_label"] = names.get(entry["example"], "")
        data = document
        _DOCUMENTS.clear()
        _DOCUMENTS[store.build_id] = data
    return data


@vocabulary.get("/ontology")
def ontology():
    settings, store = page_store()
    if not prefers_html(request.accept_mimetypes):
        return redirect(url_for("data.graph_store", graph=f"{settings.base_iri}graph/ontology"), code=303)
    data = _page_data(settings, store)
    if "html" not in data:  # the page is the same for every request to this version: rendered once
        data["html"] = render_template(
            "pages/ontology.html", title="Vocabulary", data=data, build=store.build_id, base=settings.base_iri
        )
    return data["html"], 200, {"Vary": "Accept"}
