"""Entity pages as people read them: the summary, facts by topic, sources as numbered notes, figures and
their charts, and a part-of picture whose lines join each box to its own parent only. What each page should
show is read from the store with SPARQL, not listed here."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from kg.web.entity_page import COLLAPSE_AFTER, runs

BASE = "https://w3id.org/yrd-kg/"
PREFIXES = f"""PREFIX yrd: <{BASE}ontology#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""


def page(client, rest: str) -> str:
    response = client.get(f"/doc/{rest}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def test_the_summary_names_the_entity_in_both_languages_and_says_where_it_lies(client):
    html = page(client, "region/tongzhou-nantong")
    assert re.search(r"<h1>Tongzhou <span lang=\"zh\">通州区</span></h1>", html)
    lies_in = html.split("<dt>Lies in</dt>", 1)[1].split("</dd>", 1)[0]
    assert 'href="/doc/region/nantong"' in lies_in and 'href="/doc/region/jiangsu"' in lies_in


def test_every_cited_paragraph_is_one_numbered_note_naming_its_article(client, store):
    rows = store.select(
        PREFIXES
        + f"""SELECT DISTINCT ?source ?paragraph ?title WHERE {{ GRAPH <{BASE}graph/provenance> {{
              ?st rdf:subject <{BASE}id/region/nantong> ; prov:wasDerivedFrom ?c . ?c yrd:citedSource ?source .
              OPTIONAL {{ ?c yrd:paragraph ?paragraph }} }}
              OPTIONAL {{ ?source dcterms:title ?title }} }}"""
    )
    html = page(client, "region/nantong")
    notes = re.findall(r'<li id="note-(\d+)">(.*?)</li>', section(html, "notes-h"), re.S)
    assert [int(n) for n, _ in notes] == list(range(1, len(rows) + 1))
    for row in rows:
        paragraph = row.get("paragraph")
        said = [text for _, text in notes if (f"paragraph {paragraph} " in text) == (paragraph is not None)]
        if "title" in row:
            title = str(row["title"]).replace("'", "&#39;").replace('"', "&#34;")
            assert any(title in text for text in said), row
    # every note is referred to by some fact, and every reference names a note that exists
    referred = {int(a) for a, _ in re.findall(r'href="#note-(\d+)"[^>]*>\[(\d+)', html)}
    assert referred and referred <= {int(n) for n, _ in notes}


def test_facts_are_grouped_by_topic_and_long_groups_are_collapsed_with_their_count(client):
    html = page(client, "region/nantong")
    for heading in ("topic-names", "topic-place", "topic-cooperation"):
        assert f'id="{heading}"' in html
    for key, count in re.findall(r'<h2 id="topic-(\w+)">[^<]*<span class="count-of">\((\d+)\)</span>', html):
        body = section(html, f"topic-{key}")
        assert body.count("<tr class=") == int(count)
        assert ("<details>" in body) == (int(count) > COLLAPSE_AFTER), key
    assert '<span class="inferred"' in section(html, "topic-place")  # inferred facts stay marked


def test_figures_are_listed_and_charted_where_an_indicator_has_a_series(client, store):
    rows = store.select(
        PREFIXES
        + f"SELECT ?o ?i ?e WHERE {{ ?o yrd:refArea <{BASE}id/region/nantong> ; yrd:indicator ?i ; yrd:value ?v "
        "OPTIONAL { ?o yrd:refPeriodEarliest ?e } }"
    )
    html = page(client, "region/nantong")
    figures = section(html, "figures-h")
    assert figures.count("<tr><td>") == len(rows)
    periods: dict = {}
    for row in rows:
        if "e" in row:  # a series is one indicator in one unit over two periods or more
            periods.setdefault((str(row["i"]), str(row.get("u"))), set()).add(str(row["e"]))
    charted = sum(1 for dates in periods.values() if len(dates) > 1)
    assert figures.count('<figure class="chart">') == charted


class _Boxes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rects: list[tuple[float, float, float, float]] = []
        self.lines: list[tuple[float, float, float, float]] = []
        self.inside = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "tree" in (a.get("class") or ""):
            self.inside = True
        elif self.inside and tag == "rect":
            x, y, w, h = (float(a[k]) for k in ("x", "y", "width", "height"))
            self.rects.append((x, y, x + w, y + h))
        elif self.inside and tag == "line":
            self.lines.append(tuple(float(a[k]) for k in ("x1", "y1", "x2", "y2")))

    def handle_endtag(self, tag):
        if tag == "svg":
            self.inside = False


@pytest.mark.parametrize("rest", ["region/nantong", "region/tongzhou-nantong", "region/jiangsu"])
def test_no_line_of_the_part_of_picture_passes_through_a_box(client, rest):
    boxes = _Boxes()
    boxes.feed(page(client, rest))
    assert boxes.rects and boxes.lines
    for x1, y1, x2, y2 in boxes.lines:
        for left, top, right, bottom in boxes.rects:
            # a segment may touch a box's edge (where it joins it), never cross its inside
            if x1 == x2:
                inside = left < x1 < right and max(top, min(y1, y2)) < min(bottom, max(y1, y2))
            else:
                inside = top < y1 < bottom and max(left, min(x1, x2)) < min(right, max(x1, x2))
            assert not inside, ((x1, y1, x2, y2), (left, top, right, bottom))


def test_note_numbers_are_shown_as_runs():
    assert runs([1, 2, 3, 5, 7, 8]) == [(1, 3), (5, 5), (7, 8)]
    assert runs([]) == []


@pytest.mark.parametrize("query", ["zoom=3", "zoom=x", "lat=north", "lat=91&long=120", "long=-181&lat=30"])
def test_a_map_view_out_of_range_gets_a_clear_400(client, query):
    response = client.get(f"/map?{query}", headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]
