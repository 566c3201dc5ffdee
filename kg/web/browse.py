"""What the pages show, read from the store with SPARQL: the overview, one entity's description with the
source of each fact, the regions on a map with the parks and agreements linking them, and a region's
part-of hierarchy. Plain data for the templates; no HTML here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.namespaces import all_prefixes

RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
#: The name a page shows: the build's display label (kg.build.display), which tells apart entities of one name.
DISPLAY_LABEL = "ontology#displayLabel"
#: The graphs whose labels name things on the pages: the build's own. A partner's label never renames a
#: curated entity; it names only what no curated label names, and is shown as the partner's.
CURATED = ("ontology", "asserted", "inferred")
LANGUAGE_RANK = {"en": 0, "zh": 1}


def _prefixes(base_iri: str) -> str:
    return "\n".join(f"PREFIX {p}: <{n}>" for p, n in all_prefixes(base_iri).items()) + "\n"


def short(iri: Node, base_iri: str) -> str:
    """A prefixed name for an IRI when one of the fixed prefixes fits."""
    text = str(iri)
    for prefix, namespace in all_prefixes(base_iri).items():
        if text.startswith(namespace) and text != namespace:
            return f"{prefix}:{text[len(namespace) :]}"
    return text


def curated_graphs(base_iri: str) -> str:
    """The CURATED graphs, as a SPARQL list of IRIs (for IN)."""
    return ", ".join(f"<{base_iri}graph/{name}>" for name in CURATED)


def labels(store, nodes, base_iri: str) -> dict:
    """One label per IRI in ``nodes``: a curated one (the display label, else English, else Chinese, else
    any; the least text of a rank), else a partner's, marked as such. Independent of the order of the
    store's results."""
    iris = sorted({str(n) for n in nodes if isinstance(n, URIRef)})
    if not iris:
        return {}
    curated = {f"{base_iri}graph/{name}" for name in CURATED}
    display = URIRef(base_iri + DISPLAY_LABEL)
    # one branch per property: with the two properties in a VALUES block instead, Oxigraph's plan made the
    # map of a large graph time out (docs/PERFORMANCE.md, design measurements)
    rows = store.select(
        f"""SELECT ?node ?p ?label ?g WHERE {{ VALUES ?node {{ {" ".join(f"<{i}>" for i in iris)} }}
        {{ GRAPH ?g {{ ?node <{RDFS_LABEL}> ?label }} BIND(<{RDFS_LABEL}> AS ?p) }}
        UNION {{ GRAPH ?g {{ ?node <{display}> ?label }} BIND(<{display}> AS ?p) }} }}""",
        union=False,
    )
    ranked: dict = {}
    for row in rows:
        label = row["label"]
        partner = str(row["g"]) not in curated
        rank = (partner, row["p"] != display, LANGUAGE_RANK.get(getattr(label, "language", None) or "", 2), str(label))
        if row["node"] not in ranked or rank < ranked[row["node"]]:
            ranked[row["node"]] = rank
    return {node: f"{text} (partner label)" if partner else text for node, (partner, *_, text) in ranked.items()}


# --- the overview ------------------------------------------------------------------------------------


def overview(store, base_iri: str) -> dict:
    prefixes = _prefixes(base_iri)
    content = f"<{base_iri}graph/asserted>, <{base_iri}graph/inferred>"
    classes = store.select(
        prefixes
        + f"""
        SELECT ?class ?label (COUNT(DISTINCT ?s) AS ?n) WHERE {{
          GRAPH ?g {{ ?s a ?class }} FILTER(?g IN ({content}))
          FILTER(STRSTARTS(STR(?class), "{base_iri}ontology#"))
          OPTIONAL {{ GRAPH <{base_iri}graph/ontology> {{ ?class rdfs:label ?label FILTER(LANG(?label) = "en") }} }}
        }} GROUP BY ?class ?label ORDER BY DESC(?n) ?class""",
        union=False,
    )
    sources = store.select(
        prefixes
        + f"""
        SELECT ?source ?kind ?title ?published ?publisher ?id WHERE {{ GRAPH <{base_iri}graph/asserted> {{
          ?source a ?kind ; dcterms:identifier ?id . FILTER(?kind IN (yrd:Article, yrd:ReferenceSource))
          OPTIONAL {{ ?source dcterms:title ?title }} OPTIONAL {{ ?source yrd:publishedOn ?published }}
          OPTIONAL {{ ?source yrd:publisherName ?publisher }} }}
        }} ORDER BY ?kind ?id""",
        union=False,
    )
    graphs = store.select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g", union=False
    )
    return {
        "classes": [
            {"iri": r["class"], "label": str(r.get("label") or short(r["class"], base_iri)), "count": int(r["n"])}
            for r in classes
        ],
        "sources": [
            {
                "iri": r["source"],
                "article": str(r["kind"]).endswith("Article"),
                "id": str(r["id"]),
                "title": str(r["title"]) if "title" in r else None,
                "published": str(r["published"]) if "published" in r else None,
                "publisher": str(r["publisher"]) if "publisher" in r else None,
            }
            for r in sources
        ],
        "graphs": [{"iri": r["g"], "count": int(r["n"])} for r in graphs],
    }


# --- one entity ------------------------------------------------------------------------------------------


@dataclass
class Fact:
    predicate: URIRef
    value: Node
    graph: str  # asserted, inferred, provenance, imports, or "partner"
    citations: list[tuple[str, int | None, URIRef]] = field(default_factory=list)  # (file, paragraph, source)
    graph_iri: str = ""  # the graph that states it (shown for a partner's)


@dataclass
class Entity:
    iri: URIRef
    labels: dict[str, list[str]]  # language -> labels
    types: list[URIRef]
    facts: list[Fact]
    incoming: list[Fact]  # ``value`` is the subject pointing here
    names: dict  # a label for every IRI shown (its display label where it has one)

    @property
    def title(self) -> str:
        if self.names.get(self.iri):
            return self.names[self.iri]
        for lang in ("en", "zh", ""):
            if self.labels.get(lang):
                return self.labels[lang][0]
        return str(self.iri)


def _graph_kind(graph: Node, base_iri: str) -> str:
    name = str(graph)
    if name.startswith(f"{base_iri}graph/entailed/"):
        return "inferred"  # entailed by a partner's import (kg.exchange.imports), marked as any inference
    if name.startswith(f"{base_iri}graph/") and "/" not in name[len(f"{base_iri}graph/") :]:
        return name.rsplit("/", 1)[-1]
    return "partner"


def describe_entity(store, iri: URIRef, base_iri: str) -> Entity | None:
    """Everything the store says about ``iri`` (outgoing and incoming, by graph), or None if nothing."""
    hidden = f"<{base_iri}graph/shapes>, <{base_iri}graph/ontology>"
    out = store.select(
        f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ ?entity ?p ?o }} FILTER(?g NOT IN ({hidden})) }}",
        bindings={"entity": iri},
        union=False,
    )
    if not out:
        return None
    provenance = f"<{base_iri}graph/provenance>"
    incoming = store.select(
        f"""SELECT ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p ?entity }}
                                 FILTER(?g NOT IN ({hidden}, {provenance})) }} LIMIT 500""",
        bindings={"entity": iri},
        union=False,
    )
    cited = store.select(
        _prefixes(base_iri)
        + f"""
        SELECT ?p ?o ?file ?paragraph ?source WHERE {{ GRAPH {provenance} {{
          ?statement rdf:subject ?entity ; rdf:predicate ?p ; rdf:object ?o ; prov:wasDerivedFrom ?citation .
          ?citation yrd:citedSource ?source . OPTIONAL {{ ?citation yrd:paragraph ?paragraph }} }}
          OPTIONAL {{ GRAPH <{base_iri}graph/asserted> {{ ?source dcterms:identifier ?file }} }} }}""",
        bindings={"entity": iri},
        union=False,
    )
    citations = defaultdict(list)
    for row in cited:
        paragraph = int(row["paragraph"]) if "paragraph" in row else None
        citations[(row["p"], row["o"])].append((str(row.get("file", row["source"])), paragraph, row["source"]))
    names = labels(
        store,
        [iri] + [row[k] for row in out for k in ("p", "o")] + [row[k] for row in incoming for k in ("p", "s")],
        base_iri,
    )
    own: dict[str, list[str]] = defaultdict(list)
    facts = []
    for row in sorted(out, key=lambda r: (str(r["p"]), str(r["o"]))):
        kind = _graph_kind(row["g"], base_iri)
        if row["p"] == RDFS_LABEL and isinstance(row["o"], Literal) and kind == "asserted":
            own[row["o"].language or ""].append(str(row["o"]))
        facts.append(
            Fact(
                row["p"],
                row["o"],
                kind,
                sorted(citations.get((row["p"], row["o"]), []), key=lambda c: (c[0], c[1] or 0)),
                str(row["g"]),
            )
        )
    types = sorted({f.value for f in facts if str(f.predicate).endswith("#type") and isinstance(f.value, URIRef)})
    back = [
        Fact(row["p"], row["s"], _graph_kind(row["g"], base_iri), graph_iri=str(row["g"]))
        for row in sorted(incoming, key=lambda r: (str(r["p"]), str(r["s"]), str(r["g"])))
    ]
    return Entity(iri, dict(own), types, facts, back, names)


def entity_triples(store, iri: URIRef, base_iri: str) -> list:
    """The entity's description as quads for RDF formats: its own triples and the links to it, in the
    graphs that hold them (shapes and the ontology left out)."""
    hidden = f"<{base_iri}graph/shapes>, <{base_iri}graph/ontology>"
    rows = store.select(
        f"""SELECT ?s ?p ?o ?g WHERE {{
        {{ GRAPH ?g {{ ?entity ?p ?o }} BIND(?entity AS ?s) }} UNION
        {{ GRAPH ?g {{ ?s ?p ?entity }} BIND(?entity AS ?o) FILTER(?g != <{base_iri}graph/provenance>) }}
        FILTER(?g NOT IN ({hidden})) }}""",
        bindings={"entity": iri},
        union=False,
    )
    return [(r["s"], r["p"], r["o"], r["g"]) for r in rows]


# --- pictures ------------------------------------------------------------------------------------------

#: The most links the map draws: partner data can add a pair for every two co-builders of a thing.
MAP_LINKS = 2000


def map_data(store, base_iri: str) -> dict:
    """Regions with coordinates, and the jointly built parks and agreements between them."""
    prefixes = _prefixes(base_iri)
    # one row per region whatever other graphs add (a second label or coordinate); labels come after
    places = store.select(
        prefixes
        + """
        SELECT ?region (MIN(?lat_) AS ?lat) (MIN(?long_) AS ?long) (MIN(?level_) AS ?level) WHERE {
          ?region wgs:lat ?lat_ ; wgs:long ?long_ . FILTER EXISTS { ?region rdfs:label ?any FILTER(LANG(?any) = "en") }
          OPTIONAL { ?region yrd:adminLevel ?level_ }
        } GROUP BY ?region ORDER BY ?region"""
    )
    links = store.select(
        prefixes
        + f"""
        SELECT DISTINCT ?thing ?kind ?a ?b WHERE {{
          {{ ?thing yrd:coBuiltBy ?a , ?b . BIND("park" AS ?kind) }}
          UNION {{ ?thing a yrd:Agreement ; yrd:party ?a , ?b . BIND("agreement" AS ?kind) }}
          FILTER(STR(?a) < STR(?b))
        }} ORDER BY ?kind ?thing ?a ?b LIMIT {MAP_LINKS + 1}"""
    )
    cut = len(links) > MAP_LINKS
    links = links[:MAP_LINKS]
    names = labels(store, [r["region"] for r in places] + [r[k] for r in links for k in ("thing", "a", "b")], base_iri)
    name = lambda node: names.get(node) or short(node, base_iri)  # noqa: E731
    regions = {
        r["region"]: {
            "iri": r["region"],
            "label": name(r["region"]),
            "lat": float(r["lat"]),
            "long": float(r["long"]),
            "level": str(r.get("level", "")),
        }
        for r in places
    }
    return {
        "regions": list(regions.values()),
        "cut": MAP_LINKS if cut else 0,
        "links": [
            {
                "iri": r["thing"],
                "label": name(r["thing"]),
                "kind": str(r["kind"]),
                "a": regions.get(r["a"]),
                "b": regions.get(r["b"]),
                "a_iri": r["a"],
                "b_iri": r["b"],
                "a_label": name(r["a"]),
                "b_label": name(r["b"]),
            }
            for r in links
        ],
    }


def hierarchy(store, iri: URIRef, base_iri: str) -> dict | None:
    """A region's ancestors (nearest last) and its direct parts, from the asserted part-of links."""
    prefixes = _prefixes(base_iri)
    asserted = f"<{base_iri}graph/asserted>"
    up = store.select(
        prefixes
        + f"""
        SELECT ?node (COUNT(?mid) AS ?depth) WHERE {{
          GRAPH {asserted} {{ ?entity yrd:partOf+ ?node . ?node yrd:partOf* ?mid }}
        }} GROUP BY ?node ORDER BY ?depth""",
        bindings={"entity": iri},
        union=False,
    )
    down = store.select(
        prefixes
        + f"""
        SELECT ?node WHERE {{ GRAPH {asserted} {{ ?node yrd:partOf ?entity }} }}""",
        bindings={"entity": iri},
        union=False,
    )
    if not up and not down:
        return None
    names = labels(store, [r["node"] for r in up + down], base_iri)
    box = lambda node: {"iri": node, "label": names.get(node) or short(node, base_iri)}  # noqa: E731
    return {
        "ancestors": [box(r["node"]) for r in up],
        "parts": sorted((box(r["node"]) for r in down), key=lambda b: b["label"]),
    }
