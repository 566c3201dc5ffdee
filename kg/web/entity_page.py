"""An entity's page as people read it, from what ``kg.web.browse.describe_entity`` reads: a summary (kind,
names in both languages, where it lies, key figures), the facts grouped by topic with long groups
collapsed, each fact's sources as numbered notes naming the article's title, publisher and date with the
paragraph, the figures stated about it (with a small chart per indicator that has several dated values),
and the things that link to it, grouped by how.

A source's derived date bounds (``heldOnEarliest``/``Latest``) are shown with the date they bound, not as
facts of their own; inferred and derived facts stay marked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import Literal, URIRef

from kg.web.browse import Entity, Fact, labels, short
from kg.web.projection import fit

#: Topics in the order shown, with the local names of the properties each gathers; anything else is
#: "Other facts". Types are in the summary.
TOPICS = (
    ("names", "Names", "label altLabel prefLabel displayLabel notation identifier title"),
    (
        "place",
        "Place and hierarchy",
        "partOf hasPart locatedIn adminLevel lat long hasDefaultGeometry asWKT covers connects crossesYangtze "
        "memberRegionOf hasMemberRegion hasMember areaKm2 venue",
    ),
    (
        "cooperation",
        "Cooperation",
        "cooperationParty cooperatesWith coBuiltBy coBuilds partyTo party signedOn plansModel adoptsModel adoptedBy "
        "exemplifies exemplifiedBy supportedBy runs runBy manages managedBy operates operatedBy builtBy initiates "
        "initiatedBy contributor contributorTo concerns proposes proposedIn issuedBy field purpose status "
        "established opened startDate hasGoal goalOf periodStart periodEnd",
    ),
    (
        "industries",
        "Industries",
        "industryOf hasIndustry developingIndustry keyIndustry mainIndustry leadingIndustry strengthIndustry "
        "broader narrower broaderTransitive narrowerTransitive inScheme",
    ),
    (
        "figures",
        "Figures",
        "value unit qualifier observationKind indicator refArea refPeriod refPeriodEnd dataSet changeRate "
        "changeBasis dateDerived rank",
    ),
    (
        "people",
        "People and events",
        "titleHolder hasTitle statedBy speaker participatedIn participant organisedBy organised heldOn heldFrom "
        "heldUntil subEventOf hasSubEvent heldOnOccasionOf member role postIn organization foundedBy cofounderOf "
        "conferredOn conferredBy subOrganizationOf about reportedBy reported edition date",
    ),
    (
        "publication",
        "Publication",
        "publisherName publishedOn publishedTime publisher language landingPage informant paragraphCount issued",
    ),
    ("notes", "Notes", "editorialNote definition comment"),
)
_TOPIC_OF = {name: key for key, _, names in TOPICS for name in names.split()}
#: A group longer than this is collapsed, with its count.
COLLAPSE_AFTER = 12
_BOUNDS = ("Earliest", "Latest")
_SOURCE_QUERY = """PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX yrd: <{base}ontology#>
SELECT ?source ?title ?publisher ?published WHERE {{
  GRAPH <{base}graph/asserted> {{
    VALUES ?source {{ {sources} }}
    OPTIONAL {{ ?source dcterms:title ?title }}
    OPTIONAL {{ ?source yrd:publisherName ?publisher }}
    OPTIONAL {{ ?source yrd:publishedOn ?published }} }} }}"""
_FIGURES_QUERY = """PREFIX yrd: <{base}ontology#>
SELECT ?observation ?indicator ?value ?unit ?kind ?period ?earliest ?qualifier WHERE {{
  ?observation yrd:refArea ?entity ; yrd:indicator ?indicator ; yrd:value ?value .
  OPTIONAL {{ ?observation yrd:unit ?unit }} OPTIONAL {{ ?observation yrd:observationKind ?kind }}
  OPTIONAL {{ ?observation yrd:refPeriod ?period }} OPTIONAL {{ ?observation yrd:refPeriodEarliest ?earliest }}
  OPTIONAL {{ ?observation yrd:qualifier ?qualifier }}
}} ORDER BY ?indicator ?earliest ?observation LIMIT 500"""


def local_name(iri) -> str:
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@dataclass
class Row:
    fact: Fact
    notes: list[int]  # numbers of its sources' notes
    bounds: str = ""  # "between A and B" for a date given at less than a day's precision

    @property
    def note_runs(self) -> list[tuple[int, int]]:
        return runs(self.notes)


@dataclass
class Topic:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)

    @property
    def collapsed(self) -> bool:
        return len(self.rows) > COLLAPSE_AFTER


def _notes(store, entity: Entity, base_iri: str) -> tuple[list[dict], dict]:
    """Every source paragraph the page cites, numbered in order of first use, and (source, paragraph) ->
    number."""
    cited = []
    for fact in entity.facts:
        for _, paragraph, source in fact.citations:
            key = (str(source), paragraph)
            if key not in cited:
                cited.append(key)
    sources = sorted({source for source, _ in cited})
    about: dict[str, dict] = {}
    if sources:
        rows = store.select(
            _SOURCE_QUERY.format(base=base_iri, sources=" ".join(f"<{s}>" for s in sources)), union=False
        )
        for row in rows:
            about[str(row["source"])] = {k: str(row[k]) for k in ("title", "publisher", "published") if k in row}
    files = {str(s): f for fact in entity.facts for f, _, s in fact.citations}
    # numbered by source and paragraph, so that one fact's notes run in sequence
    ordered = sorted(cited, key=lambda c: (files.get(c[0], c[0]), c[1] or 0))
    notes = [
        {
            "number": number,
            "iri": source,
            "file": files.get(source, short(URIRef(source), base_iri)),
            "paragraph": paragraph,
            **about.get(source, {}),
        }
        for number, (source, paragraph) in enumerate(ordered, 1)
    ]
    return notes, {(n["iri"], n["paragraph"]): n["number"] for n in notes}


def runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted note numbers as runs of consecutive ones: [1, 2, 3, 5] -> [(1, 3), (5, 5)]."""
    found: list[tuple[int, int]] = []
    for n in numbers:
        if found and n == found[-1][1] + 1:
            found[-1] = (found[-1][0], n)
        else:
            found.append((n, n))
    return found


def _topics(entity: Entity, numbers: dict) -> list[Topic]:
    bounds: dict = defaultdict(dict)
    for fact in entity.facts:
        name = local_name(fact.predicate)
        for suffix in _BOUNDS:
            if name.endswith(suffix) and isinstance(fact.value, Literal):
                bounds[name[: -len(suffix)]][suffix] = str(fact.value)
    topics = {key: Topic(key, title) for key, title, _ in TOPICS}
    other = Topic("other", "Other facts")
    for fact in entity.facts:
        name = local_name(fact.predicate)
        if name == "type" or (
            name.endswith(_BOUNDS) and name.removesuffix("Earliest").removesuffix("Latest") in bounds
        ):
            continue
        span = bounds.get(name, {})
        between = ""
        if span and span.get("Earliest") != span.get("Latest"):
            between = f"between {span.get('Earliest', '?')} and {span.get('Latest', '?')}"
        row = Row(fact, sorted({numbers[(str(s), p)] for _, p, s in fact.citations}), between)
        topics[_TOPIC_OF[name]].rows.append(row) if name in _TOPIC_OF else other.rows.append(row)
    return [t for t in [*topics.values(), other] if t.rows]


def _figures(store, entity: Entity, base_iri: str) -> dict:
    """The observations about the entity, by indicator, with a chart per indicator and unit whose figures
    are for two or more periods."""
    rows = store.select(_FIGURES_QUERY.format(base=base_iri), bindings={"entity": entity.iri})
    if not rows:
        return {"rows": [], "charts": []}
    names = labels(store, [r["indicator"] for r in rows] + [r["observation"] for r in rows], base_iri)
    shown = []
    for r in rows:
        value = r["value"]
        number = _number(value)
        shown.append(
            {
                "observation": r["observation"],
                "indicator": r["indicator"],
                "indicator_label": names.get(r["indicator"]) or short(r["indicator"], base_iri),
                "value": str(value),
                "number": number,
                "shown": _shown(number) if number is not None else str(value),
                "unit": str(r.get("unit", "")),
                "kind": str(r.get("kind", "actual")),
                "period": str(r.get("period", "")),
                "earliest": str(r.get("earliest", "")),
                "qualifier": str(r.get("qualifier", "")),
            }
        )
    by_indicator: dict = defaultdict(list)
    for figure in shown:
        if figure["number"] is not None and figure["earliest"]:
            by_indicator[(figure["indicator_label"], figure["unit"])].append(figure)
    charts = [
        _chart(label, unit, points)
        for (label, unit), points in sorted(by_indicator.items())
        if len({p["earliest"] for p in points}) > 1  # a series over time, not one period's figures
    ]
    return {"rows": shown, "charts": charts}


def _number(value) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _chart(label: str, unit: str, points: list[dict]) -> dict:
    """A small SVG line chart of ``points`` over time (x by the period's first day), targets hollow."""
    width, height, left, right, top, bottom = 420, 160, 48, 12, 12, 30
    years = [int(p["earliest"][:4]) + (int(p["earliest"][5:7]) - 1) / 12 for p in points]
    values = [p["number"] for p in points]
    low, high = min(0.0, min(values)), max(values) or 1.0
    first, last = min(years), max(years)
    span = (last - first) or 1.0
    x = lambda year: left + (year - first) / span * (width - left - right)  # noqa: E731
    y = lambda value: top + (high - value) / ((high - low) or 1.0) * (height - top - bottom)  # noqa: E731
    marks = [
        {**p, "x": round(x(year), 1), "y": round(y(p["number"]), 1), "actual": p["kind"] == "actual"}
        for year, p in zip(years, points, strict=True)
    ]
    actual = [m for m in marks if m["actual"]]
    return {
        "title": f"{label}{f' ({unit})' if unit else ''}",
        "width": width,
        "height": height,
        "marks": marks,
        "line": " ".join(f"{m['x']},{m['y']}" for m in actual),
        "axis": {"x1": left, "x2": width - right, "y": height - bottom, "top": top},
        "ticks": [
            {"x": round(x(first), 1), "text": points[years.index(first)]["earliest"][:4]},
            {"x": round(x(last), 1), "text": points[years.index(last)]["earliest"][:4]},
        ],
        "range": {"low": _shown(low), "high": _shown(high), "y_low": round(y(low), 1), "y_high": round(y(high), 1)},
    }


def _shown(number: float) -> str:
    """A figure as people read it: thousands separated, at most the decimals it has (up to two)."""
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0")


def _summary(store, entity: Entity, base_iri: str, figures: dict) -> dict:
    place_names = {"partOf", "locatedIn"}
    # the summary says what the curated graphs say; a partner's claims are in the tables, marked as theirs
    direct = [f.value for f in entity.facts if local_name(f.predicate) in place_names and f.graph == "asserted"]
    wider = [f.value for f in entity.facts if local_name(f.predicate) in place_names and f.graph == "inferred"]
    alternatives = sorted(
        {
            (str(f.value), f.value.language or "")
            for f in entity.facts
            if local_name(f.predicate) == "altLabel" and isinstance(f.value, Literal) and f.graph == "asserted"
        }
    )
    latest: dict = {}
    for figure in figures["rows"]:
        if figure["kind"] == "actual":
            latest[figure["indicator"]] = figure  # rows come by indicator and date: the last is the latest
    return {
        "kinds": sorted({f.value for f in entity.facts if local_name(f.predicate) == "type" and f.graph != "inferred"})
        or entity.types,
        "alternatives": alternatives,
        "direct": direct,
        "wider": [w for w in wider if w not in direct],
        "figures": list(latest.values())[:4],
    }


def entity_view(store, entity: Entity, base_iri: str) -> dict:
    """What the page template shows about ``entity``."""
    notes, numbers = _notes(store, entity, base_iri)
    figures = _figures(store, entity, base_iri)
    incoming: dict = defaultdict(list)
    for fact in entity.incoming:
        incoming[fact.predicate].append(fact)
    return {
        "summary": _summary(store, entity, base_iri, figures),
        "topics": _topics(entity, numbers),
        "notes": notes,
        "figures": figures,
        "incoming": sorted(incoming.items(), key=lambda item: (-len(item[1]), str(item[0]))),
        "collapse_after": COLLAPSE_AFTER,
    }


#: The most parts the part-of picture draws; the rest are counted.
TREE_PARTS = 24


def tree_svg(entity: Entity, tree: dict | None) -> dict | None:
    """The part-of picture as an indented tree: the ancestors down to the entity, then its parts, each
    joined to its own parent by an elbow, so no line passes through another box."""
    if tree is None:
        return None
    box_w, box_h, gap, indent = 220, 30, 12, 28
    chain = [*tree["ancestors"], {"iri": entity.iri, "label": entity.title, "self": True}]
    parts = tree["parts"][:TREE_PARTS]
    nodes, lines = [], []
    for depth, node in enumerate(chain):
        nodes.append({**node, "x": 10 + depth * indent, "y": 10 + depth * (box_h + gap)})
    for index, part in enumerate(parts):
        nodes.append({**part, "x": 10 + len(chain) * indent, "y": 10 + (len(chain) + index) * (box_h + gap)})
    parent_of = {i: i - 1 for i in range(1, len(chain))}
    parent_of.update({len(chain) + i: len(chain) - 1 for i in range(len(parts))})
    for child, parent in parent_of.items():
        p, c = nodes[parent], nodes[child]
        trunk = p["x"] + indent / 2
        lines.append((trunk, p["y"] + box_h, trunk, c["y"] + box_h / 2))
        lines.append((trunk, c["y"] + box_h / 2, c["x"], c["y"] + box_h / 2))
    height = 10 + len(nodes) * (box_h + gap)
    width = 10 + len(chain) * indent + box_w + 10
    more = len(tree["parts"]) - len(parts)
    return {
        "width": width,
        "height": height,
        "box_w": box_w,
        "box_h": box_h,
        "nodes": nodes,
        "lines": lines,
        "more": more,
    }


_PLACES = """PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?place (MIN(?lat_) AS ?lat) (MIN(?long_) AS ?long) WHERE {
  ?place wgs:lat ?lat_ ; wgs:long ?long_ . FILTER EXISTS { ?place rdfs:label ?any }
} GROUP BY ?place ORDER BY ?place LIMIT 5000"""


#: build id -> the places with coordinates, for the version served lately: every entity page draws them
_PLACES_SEEN: dict[str, dict] = {}


def _places_of(store) -> dict:
    points = _PLACES_SEEN.get(store.build_id)
    if points is None:
        points = {row["place"]: (float(row["long"]), float(row["lat"])) for row in store.select(_PLACES)}
        _PLACES_SEEN.clear()
        _PLACES_SEEN[store.build_id] = points
    return points


def place_map(store, entity: Entity, view: dict, base_iri: str) -> dict | None:
    """A small map of every place with coordinates, the entity (or, without its own, the place it lies
    in) marked; None when neither has coordinates."""
    points = _places_of(store)
    candidates = [entity.iri, *view["summary"]["direct"], *view["summary"]["wider"]]
    marked = next((c for c in candidates if c in points), None)
    if marked is None or len(points) < 2:
        return None
    width, height = 300, 260
    project = fit(list(points.values()), width, height, 16)
    dots = [{"x": round(x, 1), "y": round(y, 1)} for x, y in (project(*p) for p in points.values())]
    x, y = project(*points[marked])
    name = (
        entity.title
        if marked == entity.iri
        else (labels(store, [marked], base_iri).get(marked) or short(marked, base_iri))
    )
    return {
        "width": width,
        "height": height,
        "dots": dots,
        "x": round(x, 1),
        "y": round(y, 1),
        "label": name,
        "own": marked == entity.iri,
    }
