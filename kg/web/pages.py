"""Pages for people: home, query editor, saved-query forms, entity pages, the map and the validation report.

Server-rendered HTML (Jinja templates in ``kg/templates/pages``, one stylesheet in ``kg/static``): every
page works without a network and without scripts. Data comes from ``kg.web.browse`` and the query endpoint's
own evaluation path, so a page shows what a SPARQL client would get.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup
from rdflib import Literal, URIRef

from kg.errors import KGError
from kg.exchange.dataset_description import validation_status
from kg.namespaces import all_prefixes
from kg.serving.query_policy import check_query
from kg.serving.saved_queries import find
from kg.sparql_text import query_form
from kg.web.answers import run
from kg.web.browse import (
    DISPLAY_LABEL,
    RDFS_LABEL,
    curated_graphs,
    describe_entity,
    hierarchy,
    labels,
    map_data,
    overview,
    short,
)
from kg.web.entity_page import entity_view, place_map, tree_svg
from kg.web.links import anchor, entity_iri, href
from kg.web.map_page import layout as map_layout
from kg.web.map_page import view as map_view
from kg.web.negotiation import GRAPH, SOLUTIONS
from kg.web.page_store import page_store
from kg.web.saved import saved_queries
from kg.web.state import web_state

pages = Blueprint("pages", __name__)
SAMPLE = """SELECT ?park ?label ?status ?region ?region_label WHERE {
  ?park a yrd:JointlyBuiltPark ; yrd:displayLabel ?label ; yrd:coBuiltBy ?region .
  ?region yrd:displayLabel ?region_label .
  OPTIONAL { ?park yrd:status ?status }
} ORDER BY ?label ?region_label"""


def _kg():
    return page_store()


# IRIs from data become links only to this server's entity pages or as http(s) (kg.web.links)
pages.add_app_template_filter(href, "link")
pages.add_app_template_global(anchor, "anchor")


@pages.app_template_filter("short")
def short_filter(iri) -> str:
    return short(iri, web_state().settings.base_iri)


@pages.app_context_processor
def page_context():
    return {
        "nav": [
            ("pages.home", "Home"),
            ("pages.query", "Query"),
            ("pages.saved_index", "Saved queries"),
            ("pages.regions_map", "Map"),
            ("validation.latest_report", "Validation"),
            ("curation.validate_form", "Check data"),
            ("vocabulary.ontology", "Vocabulary"),
        ]
    }


def term_cell(term: dict, names: dict | None = None) -> Markup:
    """One cell of a results table: IRIs as links, literals with their language or datatype."""
    from markupsafe import escape

    value = term["value"]
    if term["type"] == "uri":
        return anchor(value, (names or {}).get(value) or short(value, web_state().settings.base_iri))
    if term["type"] == "bnode":
        return Markup(f"<code>_:{escape(value)}</code>")
    suffix = f' <span class="tag">@{escape(term["xml:lang"])}</span>' if "xml:lang" in term else ""
    return Markup(f"{escape(value)}{suffix}")


def _table(body: bytes, store, base_iri: str) -> dict:
    """A results table whose IRIs show the entities' display labels (kg.build.display), linked to their pages."""
    data = json.loads(body)
    if "boolean" in data:
        return {"boolean": data["boolean"]}
    variables = data["head"]["vars"]
    rows = data["results"]["bindings"]
    iris = {cell["value"] for row in rows for cell in row.values() if cell["type"] == "uri"}
    names = {str(k): v for k, v in labels(store, [URIRef(i) for i in iris], base_iri).items()}
    return {
        "vars": variables,
        "rows": [[term_cell(row[v], names) if v in row else "" for v in variables] for row in rows],
    }


@pages.get("/")
def home():
    settings, store = _kg()
    status = validation_status(store)
    return render_template(
        "pages/home.html",
        data=overview(store, settings.base_iri),
        status=status,
        build=store.build_id,
        title="YRD knowledge graph",
    )


@pages.route("/query", methods=["GET", "POST"])
def query():
    """The query page: a plain form (POSTed, so a long query fits) that runs here and shows the answer; with
    JavaScript, YASGUI over the endpoint (kg/static/query-editor.js)."""
    settings, store = _kg()
    prefixes = all_prefixes(settings.base_iri)
    prologue = "\n".join(f"PREFIX {p}: <{n}>" for p, n in prefixes.items())
    text = request.values.get("query")
    result, error, downloads = None, None, []
    if text:
        form = query_form(text)
        try:
            # the same refusals as the endpoint: updates, SERVICE calls, FROM of graphs not held
            check_query(text, False, {str(g) for g in store.graphs()}, settings)
            if form in ("construct", "describe"):
                answer = run("turtle", store=store, query=text)
                result = {"graph": answer.body.decode("utf-8")}
            else:
                answer = run("json", store=store, query=text)
                result = _table(answer.body, store, settings.base_iri)
            result["truncated"] = answer.truncated
            kinds = GRAPH if form in ("construct", "describe") else SOLUTIONS
            for media, name in kinds.items():
                if name not in [d[0] for d in downloads]:
                    downloads.append((name, url_for("sparql.endpoint", query=text, format=name), media))
        except KGError as exc:
            error = exc.message
    status = 400 if error else 200
    return render_template(
        "pages/query.html",
        text=text or prologue + "\n\n" + SAMPLE,
        result=result,
        error=error,
        downloads=downloads,
        saved=list(saved_queries().values()),
        editor_config={
            "endpoint": url_for("sparql.endpoint"),
            "terms": url_for("editor.terms"),
            "prefixes": prefixes,
            "query": text or prologue + "\n\n" + SAMPLE,
            "run": bool(text),
            "minted": settings.base_iri + "id/",
            "local": url_for("pages.home") + "id/",  # /id/... answers 303 to the page about the thing
        },
        title="Query",
    ), status


def _choices(parameter, store, base_iri: str) -> list[tuple[str, str]]:
    """Values to pick from: the declared enumeration, or the entities minted beside the default value."""
    if parameter.enumeration:
        return [(v, v) for v in parameter.enumeration]
    if parameter.kind != "iri" or not parameter.default or not parameter.default.startswith(base_iri + "id/"):
        return []
    folder = parameter.default.rsplit("/", 1)[0] + "/"
    # the curated entities by their display labels (which tell apart two of one name), else their English
    # names, one option each (a partner's label is no choice of its own)
    curated = curated_graphs(base_iri)
    rows = store.select(
        f"""SELECT ?s (COALESCE(MIN(?shown), MIN(?label)) AS ?name) WHERE {{
        GRAPH ?g {{ ?s <{RDFS_LABEL}> ?label }}
        FILTER(?g IN ({curated}) && STRSTARTS(STR(?s), "{folder}") && LANG(?label) = "en")
        OPTIONAL {{ GRAPH ?h {{ ?s <{base_iri}{DISPLAY_LABEL}> ?shown }} FILTER(?h IN ({curated})) }}
        }} GROUP BY ?s ORDER BY ?name ?s""",
        union=False,
    )
    return [(str(r["s"]), str(r["name"])) for r in rows]


#: How a form asks for a parameter of each kind: the input's type, its attributes, a hint in plain words.
_INPUTS = {
    "date": ("date", {}, "A date."),
    "integer": ("number", {"step": "1"}, "A whole number."),
    "decimal": ("number", {"step": "any"}, "A number, such as 2.5."),
    "number": ("number", {"step": "any"}, "A number, such as 42, 2.5 or 1e9."),
    "gYear": ("text", {"inputmode": "numeric", "pattern": "[0-9]{4}"}, "A year, such as 2024."),
    "boolean": ("text", {"pattern": "true|false"}, "true or false."),
    "string": ("text", {}, "Any text; letters in any case."),
    "iri": ("url", {}, "The web address (IRI) of a thing, such as one from an entity page."),
}
_LANGUAGES = {"en": "English", "zh": "Chinese"}


def _input(parameter, choices: list) -> dict:
    """The form control for ``parameter``: a list to choose from, or an input of the fitting type."""
    if choices:
        return {"type": "select", "attributes": {}, "hint": "Choose one from the list."}
    kind, attributes, hint = _INPUTS.get(
        parameter.kind, ("text", {}, f"Text in {_LANGUAGES.get(parameter.kind, parameter.kind)}.")
    )
    return {"type": kind, "attributes": attributes, "hint": hint}


@pages.get("/saved/")
def saved_index():
    """The saved queries, each with its summary, tags and parameters."""
    return render_template("pages/saved_index.html", saved=list(saved_queries().values()), title="Saved queries")


@pages.get("/saved/<query_id>")
def saved_query(query_id: str):
    settings, store = _kg()
    saved = find(saved_queries(), query_id)
    fields = []
    for p in saved.parameters:
        choices = _choices(p, store, settings.base_iri)
        value = request.args.get(p.name, p.default or "")
        fields.append({"parameter": p, "choices": choices, "value": value, **_input(p, choices)})
    result, error = None, None
    if request.args.get("run"):
        values = {k: v for k, v in request.args.items() if k != "run" and v != ""}
        try:
            kind = "turtle" if saved.form in ("construct", "describe") else "json"
            answer = run(kind, store=store, query=saved.text, bindings=saved.bindings(values))
            result = (
                {"graph": answer.body.decode()} if kind == "turtle" else _table(answer.body, store, settings.base_iri)
            )
            result["truncated"] = answer.truncated
            result["query_string"] = urlencode(values)
        except KGError as exc:
            error = exc.message
    kinds = (
        ["json", "xml", "csv", "tsv"]
        if saved.form in ("select", "ask")
        else ["ttl", "nt", "jsonld", "rdf", "trig", "nq"]
    )
    return render_template(
        "pages/saved.html", saved=saved, fields=fields, result=result, error=error, kinds=kinds, title=saved.summary
    ), 400 if error else 200


@pages.get("/doc/<path:rest>")
def document(rest: str):
    """An entity's page (HTML), or its description in an RDF format by extension."""
    from kg.web.entities import rdf_document

    settings, store = _kg()
    for extension in ("ttl", "jsonld", "nt", "rdf"):
        if rest.endswith("." + extension):
            return rdf_document(rest[: -len(extension) - 1], extension)
    rest = rest.removesuffix(".html")
    iri = entity_iri(rest)
    entity = describe_entity(store, iri, settings.base_iri)
    if entity is None:
        abort(404, description=f"the graph holds nothing about <{iri}>")
    tree = hierarchy(store, iri, settings.base_iri)
    view = entity_view(store, entity, settings.base_iri)
    return render_template(
        "pages/entity.html",
        entity=entity,
        view=view,
        tree_svg=tree_svg(entity, tree),
        place_svg=place_map(store, entity, view, settings.base_iri),
        rest=rest,
        title=entity.title,
        is_literal=lambda v: isinstance(v, Literal),
    )


@pages.get("/map")
def regions_map():
    settings, store = _kg()
    zoom, lat, long = map_view(request.args)
    data = map_data(store, settings.base_iri)
    if not data["regions"]:
        return render_template("pages/map.html", svg=None, links=[], title="Map")
    return render_template(
        "pages/map.html",
        svg=map_layout(data["regions"], data["links"], zoom, lat, long),
        links=data["links"],
        cut=data["cut"],
        title="Map",
    )


def validation_page(store) -> str:
    """The build's report grouped by severity and shape, its focus nodes linked to their pages."""
    body = store.attachment("report.json")
    report = json.loads(body) if body else None
    groups: dict = {}
    for result in (report or {}).get("results", []):
        groups.setdefault(result["severity"], {}).setdefault(result["shape"], []).append(result)
    order = ["Violation", "Warning", "Info"]
    ordered = [(severity, sorted(groups[severity].items())) for severity in order if severity in groups]
    return render_template(
        "pages/validation.html", report=report, groups=ordered, title="Validation", build=store.build_id
    )
