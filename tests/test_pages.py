"""The pages for people, in headless Chromium (Debian's chromium, driven by Playwright) against ``kg serve``
on loopback; and Linked Data content negotiation on the minted IRIs.

Screenshots of every page land in test-artifacts/screenshots/. The browser tests skip, saying so, only
where Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers import ROOT, kg_server
from rdflib import Graph, URIRef

from kg.store.rdf_io import parse_rdf

pytestmark = pytest.mark.slow  # kg serve and Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BASE = "https://w3id.org/yrd-kg/"
PARK = "park/jiangyin-jingjiang-industrial-park"


@pytest.fixture(scope="module")
def server(settings, store, tmp_path_factory):
    with kg_server(settings.path("store_dir"), tmp_path_factory.mktemp("pages") / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed on this machine (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # the system browser: nothing is downloaded at run time
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requests, refused = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    # every page works offline: nothing was asked of any host but the server on loopback
    assert all(url.startswith("http://127.0.0.1:") or url.startswith("data:") for url in requests), requests
    # and nothing on it, the query editor included, does what the security policy refuses
    assert refused == [], "\n".join(refused)


@pytest.fixture
def plain_page(browser):
    """A page without JavaScript: what the query page falls back to."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=False)
    yield context.new_page()
    context.close()


def title(page) -> str:
    """The page's English heading, without the Chinese name beside it."""
    return page.locator("h1").evaluate("e => e.childNodes[0].textContent.trim()")


def shoot(page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def test_home_shows_what_the_graph_holds(server, page, store):
    page.goto(server + "/")
    assert page.locator("h1").inner_text().startswith("Yangtze River Delta")
    assert store.build_id in page.locator("dl.facts").inner_text()
    assert "passed" in page.locator("dl.facts").inner_text()
    classes = page.locator("section[aria-labelledby=classes-h] tbody tr")
    assert classes.count() > 20
    assert page.locator("section[aria-labelledby=sources-h] tbody tr").count() >= 5
    assert "2024-05-14" in page.locator("section[aria-labelledby=sources-h]").inner_text()
    shoot(page, "home")


def test_a_saved_query_runs_through_its_form_and_an_entity_link_is_followed(server, page):
    page.goto(server + "/query")
    page.locator("ul.saved a[href$='/saved/subregions']").click()
    assert page.url.endswith("/saved/subregions")
    select = page.get_by_label("region")
    assert select.evaluate("e => e.tagName") == "SELECT"  # values listed from the graph
    select.select_option(BASE + "id/region/nantong")
    page.get_by_role("button", name="Run").click()
    table = page.locator("table.results")
    assert table.locator("tbody tr").count() == 6  # five districts and county-level cities, and Tangjiazha (000 p19)
    assert "Haimen" in table.inner_text()
    shoot(page, "saved-query")
    page.get_by_role("link", name="Haimen").first.click()
    assert title(page) == "Haimen"
    assert "/doc/region/haimen" in page.url
    assert "Nantong" in page.locator("svg.tree").text_content()  # the part-of hierarchy view
    shoot(page, "entity-region")


def test_without_javascript_the_query_page_is_a_form_that_runs_sparql_and_offers_downloads(server, plain_page):
    page = plain_page
    page.goto(server + "/query")
    editor = page.get_by_label("SPARQL query", exact=False)
    assert "PREFIX yrd:" in editor.input_value()  # the prefixes are filled in
    editor.fill(
        "PREFIX yrd: <https://w3id.org/yrd-kg/ontology#>\n"
        "SELECT ?park WHERE { ?park a yrd:JointlyBuiltPark } ORDER BY ?park"
    )
    page.get_by_role("button", name="Run query").click()
    rows = page.locator("table.results tbody tr")
    assert rows.count() >= 2
    assert page.locator("table.results a").first.get_attribute("href").startswith("/doc/park/")
    downloads = page.locator("p.downloads a")
    assert sorted(downloads.all_inner_texts()) == ["csv", "json", "tsv", "xml"]
    shoot(page, "query")
    editor = page.get_by_label("SPARQL query", exact=False)
    editor.fill("SELECT * WHERE { ?s ?p }")
    page.get_by_role("button", name="Run query").click()
    assert "does not parse" in page.get_by_role("alert").inner_text()


def set_query(page, text: str) -> None:
    page.evaluate("text => document.querySelector('.yasqe .CodeMirror').CodeMirror.setValue(text)", text)


def test_the_query_editor_runs_a_query_by_post_and_sorts_its_answer(server, page):
    posted = []
    page.on("request", lambda r: posted.append(r.method) if r.url.endswith("/sparql") else None)
    page.goto(server + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.locator("form.editor").is_hidden()  # YASGUI took the plain form's place
    set_query(
        page,
        "PREFIX yrd: <https://w3id.org/yrd-kg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?park ?label WHERE { ?park a yrd:JointlyBuiltPark ; rdfs:label ?label FILTER(LANG(?label) = 'en') }"
        " ORDER BY ?label\n# " + "padding " * 1200,  # over 8 KB: a GET would be refused (414)
    )
    page.locator(".yasqe_queryButton").click()
    rows = page.locator(".yasr table.dataTable tbody tr")
    rows.first.wait_for()
    assert posted == ["POST"]
    labels = page.locator(".yasr table.dataTable tbody tr td:nth-child(3)").all_inner_texts()
    assert len(labels) >= 2 and labels == sorted(labels)
    assert "results in" in page.locator(".yasr").inner_text()  # with the time the query took
    head = page.locator(".yasr table.dataTable thead th", has_text="label")
    seen = set()
    for _ in range(2):  # a click on the column's head sorts by it one way, the next click the other way
        before = head.get_attribute("aria-sort")
        head.click()
        page.wait_for_function(
            "([th, before]) => th.getAttribute('aria-sort') && th.getAttribute('aria-sort') !== before",
            arg=[head.element_handle(), before],
        )
        way = head.get_attribute("aria-sort")
        shown = page.locator(".yasr table.dataTable tbody tr td:nth-child(3)").all_inner_texts()
        assert shown == (labels if way == "ascending" else labels[::-1]), way
        seen.add(way)
    assert seen == {"ascending", "descending"}
    shoot(page, "query-editor")
    # a thing of the graph opens on this server's page about it
    page.locator(".yasr table.dataTable tbody a[href*='/id/park/']").first.click()
    page.wait_for_url("**/doc/park/**")


def test_the_query_editor_completes_the_ontology_s_terms_from_the_graph(server, page):
    page.goto(server + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    set_query(page, "")
    page.locator(".yasqe .CodeMirror").click()
    page.keyboard.type("PREFIX yrd: <https://w3id.org/yrd-kg/ontology#>\nSELECT * WHERE { ?x a yrd:Joint")
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".CodeMirror-hints li")
    assert page.locator(".CodeMirror-hints li").all_inner_texts() == ["yrd:JointlyBuiltPark"]
    page.keyboard.press("Escape")
    page.keyboard.type(" ; yrd:coBuil")
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".CodeMirror-hints li")
    assert "yrd:coBuiltBy" in page.locator(".CodeMirror-hints li").all_inner_texts()


def test_a_script_iri_in_the_editor_s_answer_is_text_not_a_link(server, page):
    query = "SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> <JaVaScRiPt:alert(2)> <https://example.org/ok> } }"
    page.goto(server + "/query?query=" + urllib.parse.quote(query))
    page.locator(".yasr table.dataTable tbody tr").first.wait_for()
    links = page.evaluate("() => Array.from(document.querySelectorAll('.yasr tbody a[href]'), a => a.href)")
    assert links == ["https://example.org/ok"]
    assert "javascript:alert(1)" in page.locator(".yasr table.dataTable tbody").inner_text()  # shown, as text


def test_a_saved_query_form_takes_dates_from_date_inputs(server, page):
    page.goto(server + "/saved/")
    page.locator("a[href$='/saved/events_between']").click()
    start, end = page.get_by_label("from"), page.get_by_label("to")
    assert start.get_attribute("type") == end.get_attribute("type") == "date"
    start.fill("2024-11-01")
    end.fill("2024-11-30")
    page.get_by_role("button", name="Run").click()
    assert "from=2024-11-01" in page.url and "to=2024-11-30" in page.url
    assert page.locator("table.results tbody tr").count() >= 1
    shoot(page, "saved-query-dates")


def test_a_saved_query_opens_in_the_editor(server, page):
    page.goto(server + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.locator("ul.saved a[data-query]").first.click()
    text = page.evaluate("() => document.querySelector('.yasqe .CodeMirror').CodeMirror.getValue()")
    assert text.startswith("#+") or "SELECT" in text
    assert page.url.endswith("/query")  # no page load


@pytest.mark.parametrize(
    "query, message",
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
        ("CLEAR ALL", "read-only"),
        ("SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }", "never fetches"),
    ],
)
def test_the_query_page_refuses_what_the_endpoint_refuses(server, query, message):
    import urllib.parse

    status, _, body = fetch(server + "/query?" + urllib.parse.urlencode({"query": query}), "text/html")
    assert status == 400 and message in body.decode()


def test_search_from_the_header_in_english_then_chinese_and_follow_a_hit(server, page):
    page.goto(server + "/map")
    box = page.get_by_role("searchbox", name="Search")
    box.fill("Suzhou")
    box.press("Enter")
    hits = page.locator("ol.hits li")
    texts = hits.all_inner_texts()
    assert any("Suzhou (Jiangsu)" in t and "Jiangsu" in t.split(")", 1)[1] for t in texts), texts
    assert any("Suzhou (Anhui)" in t and "宿州市" in t for t in texts), texts
    shoot(page, "search")
    box = page.get_by_role("searchbox", name="Names in English or Chinese")
    box.fill("南通")
    page.get_by_role("button", name="Search", exact=True).click()
    # Chinese is drawn with a font the stylesheet names that has its glyphs (not empty boxes)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    chinese = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "ol.hits span[lang=zh]"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": chinese})["fonts"]
    stylesheet = (ROOT / "kg" / "static" / "site.css").read_text()
    assert fonts and all(f'"{font["familyName"]}"' in stylesheet and font["glyphCount"] > 0 for font in fonts), fonts
    shoot(page, "search-chinese")
    page.locator("ol.hits li a").first.click()
    assert "/doc/region/nantong" in page.url
    assert page.locator("h1").inner_text().startswith("Nantong")


def test_an_entity_page_shows_labels_facts_inferred_and_sources(server, page):
    page.goto(server + f"/id/{PARK}")  # the identifier itself: 303 to the page
    assert page.url.endswith(f"/doc/{PARK}")
    assert title(page) == "Jiangyin-Jingjiang Industrial Park"
    facts = page.locator("section", has=page.locator("table.facts-table"))
    assert facts.locator("tr.inferred", has_text="inferred").count() > 0  # entailed, and marked so
    # a fact's sources are numbered notes, each naming its article and paragraph
    reference = facts.locator("tr.asserted a.note-ref").first
    target = reference.get_attribute("href")
    reference.click()
    note = page.locator(f"ol.notes li{target}")
    assert "paragraph" in note.inner_text() and "Charity In China" in page.locator("ol.notes").inner_text()
    assert "Linked from" in page.content()
    shoot(page, "entity-park")


def test_entities_of_one_name_are_shown_apart_and_aims_as_goals(server, page):
    page.goto(server + "/doc/region/suzhou-anhui")
    assert title(page) == "Suzhou (Anhui)" and page.locator("h1 span[lang=zh]").inner_text() == "宿州市"
    assert "Suzhou" in page.locator("dl.facts").inner_text()  # the name as the gazetteer gives it
    page.goto(server + "/saved/region_hierarchy")
    options = page.locator("select#p-region option").all_inner_texts()
    assert "Taizhou (Jiangsu)" in options and "Taizhou (Zhejiang)" in options and "Taizhou" not in options
    page.goto(server + "/doc/region/nantong")
    facts = page.locator("section", has=page.locator("table.facts-table")).all_text_contents()  # collapsed too
    summary = page.locator("dl.facts").first.inner_text()
    assert any('Become "North Shanghai"' in text for text in facts) and "North Shanghai" not in summary
    shoot(page, "entity-goals")


OVERLAPPING_LABELS = """() => {
  const boxes = [...document.querySelectorAll('svg.map text')].map(t => t.getBBox());
  const dots = [...document.querySelectorAll('svg.map circle')].map(c => c.getBBox());
  const meet = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const clashes = [];
  boxes.forEach((a, i) => boxes.forEach((b, j) => { if (i < j && meet(a, b)) clashes.push(['label', i, j]); }));
  boxes.forEach((a, i) => dots.forEach((d, j) => { if (meet(a, d)) clashes.push(['dot', i, j]); }));
  return [boxes.length, clashes];
}"""


def test_map_labels_cover_no_label_or_dot_at_any_zoom_and_the_map_zooms_by_links(server, page):
    page.goto(server + "/map")
    count, clashes = page.evaluate(OVERLAPPING_LABELS)
    assert count >= 30 and clashes == []
    page.get_by_role("link", name="Jiangsu", exact=True).click()  # centre on a province, zoomed in
    assert "zoom=2" in page.url
    page.get_by_role("link", name="zoom in").click()
    page.get_by_role("link", name="zoom in").click()
    assert "zoom=8" in page.url
    count, clashes = page.evaluate(OVERLAPPING_LABELS)
    assert count > 0 and clashes == []
    shoot(page, "map-zoomed")
    page.get_by_role("link", name="whole map").click()
    assert page.locator("svg.map circle").count() >= 40


def test_the_map_places_regions_and_draws_links(server, page):
    page.goto(server + "/map")
    svg = page.locator("svg.map")
    assert svg.locator("circle").count() >= 40
    assert svg.locator("line.park").count() >= 1 and svg.locator("line.agreement").count() >= 1
    assert svg.locator("g.outlines[aria-hidden=true] path.province").count() >= 4  # decorative, under the dots
    places = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('svg.map circle')]
        .map(c => [c.querySelector('title').textContent, [+c.getAttribute('cx'), +c.getAttribute('cy')]]))""")
    assert places["Shanghai"][0] > places["Nanjing"][0]  # east is right
    assert places["Hefei"][1] > places["Nanjing"][1] > places["Xuzhou"][1]  # north is up
    shoot(page, "map")


def test_the_validation_page_groups_by_severity_and_links_entities(server, page):
    page.goto(server + "/validation")
    assert page.locator("h2", has_text="Warning").count() == 1
    assert page.locator("details.Warning").count() >= 1
    assert page.locator("details.Warning a").first.get_attribute("href").startswith("/doc/")
    shoot(page, "validation")


def test_a_curator_uploads_a_file_and_reads_the_report_by_entity(server, page, tmp_path):
    partner = tmp_path / "partner.ttl"
    partner.write_text(
        "@prefix yrd: <https://w3id.org/yrd-kg/ontology#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://partner.example/park/p9> a yrd:IndustrialPark ;\n"
        '  rdfs:label "Partner park nine"@en ; yrd:areaKm2 "big" .\n'
    )
    page.goto(server + "/")
    page.get_by_role("link", name="Check data").click()
    page.get_by_label("A file").first.set_input_files(str(partner))
    page.get_by_role("button", name="Check", exact=True).click()
    assert "Report on partner.ttl" in page.locator("h2#report-h").inner_text()
    assert "Does not conform" in page.locator("p.counts").inner_text()
    entity = page.locator("details.entity-report", has_text="Partner park nine")
    assert entity.count() == 1 and "areaKm2" in entity.inner_text()
    shoot(page, "validate-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="JSON", exact=True).click()
    report = json.loads(Path(download.value.path()).read_text())
    assert report["conforms"] is False and any("p9" in r["focus"] for r in report["results"])


def test_the_vocabulary_page_documents_each_term_where_its_iri_points(server, page):
    page.goto(server + "/ontology#JointlyBuiltPark")
    term = page.locator("section#JointlyBuiltPark")
    assert "共建园区" in term.locator("h3").inner_text()
    assert "Instances" in term.inner_text() and "coBuiltBy" in term.inner_text()
    term.get_by_role("link", name="yrd:IndustrialPark").click()
    assert page.url.endswith("#IndustrialPark")
    shoot(page, "vocabulary", full_page=False)  # the term in view: the whole page is many screens long


LOW_CONTRAST = """() => {
  // WCAG 2 contrast of every element's own text against the first opaque background behind it
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
  const low = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(e);
    if (!own || style.visibility === 'hidden' || style.display === 'none' || !e.getClientRects().length) continue;
    if (e.closest('svg')) continue;  // drawings: their text is checked by eye in the screenshots
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push([e.tagName, e.className, e.textContent.trim().slice(0, 30), ratio]);
  }
  return low;
}"""


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/doc/region/nantong",
        "/search?q=Suzhou",
        "/ontology",
        "/validate",
        "/validation",
        "/map",
        "/saved/subregions",
    ],
)
def test_text_has_enough_contrast_and_the_keyboard_reaches_the_content(server, page, path):
    page.goto(server + path)
    assert page.evaluate(LOW_CONTRAST) == []
    page.keyboard.press("Tab")  # the first stop is the link that skips to the content, and it shows
    focused = page.evaluate("[document.activeElement.textContent, document.activeElement.getAttribute('href')]")
    assert focused == ["Skip to content", "#main"]
    assert page.locator("a.skip").bounding_box()["x"] >= 0


def test_pages_fit_a_phone_screen(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    for path in (
        "/",
        "/query",
        f"/doc/{PARK}",
        "/doc/region/nantong",
        "/map",
        "/validate",
        "/ontology",
        "/search?q=Su",
    ):
        page.goto(server + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, (path, overflow)
    shoot(page, "phone-map")
    context.close()


def test_form_fields_have_labels(server, page):
    """Every control has a name a screen reader reads: a label, or (YASGUI's own controls) an aria-label."""
    answered = "/query?query=" + urllib.parse.quote("SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    for path in (answered, "/saved/agreements_signed", "/saved/subregions", "/validate", "/search?q=Nantong"):
        page.goto(server + path)
        if path == answered:
            page.locator(".yasr table.dataTable tbody tr").first.wait_for()  # the answer's controls too
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name || e.className)""")
        assert unlabelled == [], (path, unlabelled)


# --- Linked Data: content negotiation on the minted IRIs --------------------------------------------


def fetch(url: str, accept: str | None = None):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize(
    "accept, extension, fmt",
    [
        ("text/turtle", "ttl", "turtle"),
        ("application/ld+json", "jsonld", "jsonld"),
        ("application/n-triples", "nt", "ntriples"),
        ("application/rdf+xml", "rdf", "rdfxml"),
        ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", None, None),
    ],
)
def test_identifiers_resolve_by_content_negotiation(server, store, accept, extension, fmt):
    status, headers, _ = fetch(f"{server}/id/{PARK}", accept)
    assert status == 303 and "Accept" in headers["Vary"]
    location = headers["Location"]
    assert location.endswith(f"/doc/{PARK}" + (f".{extension}" if extension else ""))
    status, headers, body = fetch(server + location if location.startswith("/") else location)
    assert status == 200
    if fmt is None:
        assert headers["Content-Type"].startswith("text/html") and b"Jiangyin-Jingjiang Industrial Park" in body
        return
    described = {(s, p, o) for s, p, o, _ in parse_rdf(body, format=fmt, base_iri=BASE, source=fmt)}
    iri = URIRef(BASE + "id/" + PARK)
    graphs = [g for g in store.graphs() if not str(g).endswith(("/shapes", "/ontology"))]
    expected = set(store.about([iri], graphs))
    assert expected <= described  # all it says, asserted and inferred
    assert any(o == iri for _, _, o in described)  # and the links to it


@pytest.mark.parametrize("path", ["/id/park/no-such-park", "/doc/park/no-such-park", "/doc/park/no-such-park.ttl"])
def test_an_iri_the_graph_does_not_hold_is_404(server, path):
    status, headers, body = fetch(server + path, "text/turtle")
    assert status == 404


def test_the_ontology_resolves_to_its_graph(server):
    status, headers, _ = fetch(server + "/ontology", "text/turtle")
    assert status == 303
    status, headers, body = fetch(server + headers["Location"], "text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    assert status == 200 and (URIRef(BASE + "ontology#Zone"), None, None) in graph
