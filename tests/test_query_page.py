"""The query page's server side: the plain form by POST (a long query fits), and the terms the editor
completes, from the graph itself."""

from __future__ import annotations

import json
import re

OWL = "http://www.w3.org/2002/07/owl#"
YRD = "https://w3id.org/yrd-kg/ontology#"
QUERY = "SELECT ?type WHERE { ?thing a ?type } GROUP BY ?type ORDER BY ?type LIMIT 3"


def test_a_long_query_posted_by_the_plain_form_is_answered(client):
    long = QUERY + "\n# " + "padding " * 2000  # 16 KB: too long for a URL
    response = client.post("/query", data={"query": long})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="results"' in page and page.count("<tr>") >= 3


def test_the_page_carries_the_editor_s_settings(client, settings):
    page = client.get("/query").get_data(as_text=True)
    config = json.loads(re.search(r'<script type="application/json" id="editor-config">(.*?)</script>', page, re.S)[1])
    assert config["endpoint"] == "/sparql" and config["terms"] == "/query/terms.json"
    assert config["prefixes"]["yrd"] == settings.base_iri + "ontology#" and config["run"] is False
    assert "/static/vendor/yasgui/yasgui.min.js" in page and "/static/query-editor.js" in page
    given = client.get("/query", query_string={"query": QUERY}).get_data(as_text=True)
    assert '"run": true' in given  # a query given in the address is run in the editor too


def test_the_editor_completes_the_ontology_s_terms_and_those_the_graph_uses(client, store):
    response = client.get("/query/terms.json")
    assert response.status_code == 200 and response.headers["ETag"]
    terms = response.get_json()
    declared = {str(row["c"]) for row in store.select(f"SELECT ?c WHERE {{ ?c a <{OWL}Class> FILTER(isIRI(?c)) }}")}
    assert len(declared) > 20 and declared <= set(terms["classes"])
    assert YRD + "JointlyBuiltPark" in terms["classes"] and YRD + "coBuiltBy" in terms["properties"]
    assert "http://www.w3.org/2000/01/rdf-schema#label" in terms["properties"]  # used, not declared here
    assert all(t.startswith(("http://", "https://", "urn:")) for t in terms["classes"] + terms["properties"])
    again = client.get("/query/terms.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_saved_queries_have_an_index_page(client):
    assert client.get("/saved").status_code in (301, 308)  # to /saved/
    page = client.get("/saved/").get_data(as_text=True)
    listed = set(re.findall(r'href="/saved/([a-z_]+)"', page))
    catalogue = {q["id"] for q in client.get("/queries").get_json()["queries"]}
    assert listed == catalogue and len(listed) > 20


def test_saved_query_forms_ask_in_plain_words_with_fitting_inputs(client):
    page = client.get("/saved/events_between").get_data(as_text=True)
    assert re.search(r'<input id="p-from" name="from" type="date" value="2024-11-01"', page)
    assert "xsd:" not in page.split("<details>")[0] and "absolute IRI" not in page
    page = client.get("/saved/projects_with_investment").get_data(as_text=True)
    assert re.search(r'name="minimum" type="number" value="" step="any"', page)
    page = client.get("/saved/subregions").get_data(as_text=True)
    assert "Choose one from the list." in page and "<select" in page


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_error_pages_where_a_client_gets_json(client):
    page = client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<h1>404: Not Found</h1>" in page.get_data(as_text=True)
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        assert client.get("/no-such-page", headers=accept).get_json()["status"] == 404
    bad = client.get("/sparql", query_string={"query": "SELECT * WHERE { <x> }"}, headers=BROWSER)
    assert bad.status_code == 400 and bad.mimetype == "text/html" and 'role="alert"' in bad.get_data(as_text=True)
    from kg.web.errors import error_page

    evil = error_page(400, "<script>alert(1)</script>", ["<b>x</b>"]).decode()
    assert "<script>" not in evil and "&lt;script&gt;" in evil and "&lt;b&gt;" in evil  # messages are text
    assert client.post("/sparql", data={"query": "SELECT"}, headers=BROWSER).mimetype == "application/json"


def test_a_browser_at_the_endpoint_without_a_query_is_sent_to_the_editor(client):
    response = client.get("/sparql", headers=BROWSER)
    assert response.status_code == 303 and response.headers["Location"].endswith("/query")
    for accept in ({}, {"Accept": "text/turtle"}, {"Accept": "*/*"}):
        assert client.get("/sparql", headers=accept).mimetype == "text/turtle"  # the service description


def test_a_broken_or_refused_query_posted_by_the_plain_form_gets_its_message(client):
    broken = client.post("/query", data={"query": "SELECT * WHERE { ?s ?p }"})
    assert broken.status_code == 400 and "does not parse" in broken.get_data(as_text=True)
    refused = client.post("/query", data={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert refused.status_code == 400 and "SERVICE" in refused.get_data(as_text=True)
    assert 'role="alert"' in refused.get_data(as_text=True)
