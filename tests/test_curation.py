"""Curators in the browser: the validate page's form (upload or paste), its report grouped by entity and
downloadable in every format, and the import form for holders of the write token (Flask's test client;
the upload in Chromium is in test_pages.py)."""

from __future__ import annotations

import io
import json

from helpers import GOOD, TOKEN, YRD

from kg.store.embedded import EmbeddedStore

BAD = f"""@prefix yrd: <{YRD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://partner.example/park/p2> a yrd:IndustrialPark ; rdfs:label "Partner park two"@en ;
    yrd:areaKm2 "large" .
""".encode()


def test_the_validate_page_is_a_form_for_a_file_or_pasted_rdf(client):
    page = client.get("/validate", headers={"Accept": "text/html"}).get_data(as_text=True)
    for field in ('type="file" name="file"', 'name="data"', 'name="format"', 'name="token"', 'name="graph"'):
        assert field in page


def test_a_pasted_document_gets_its_report_grouped_by_entity(client):
    response = client.post("/validate", data={"data": BAD.decode(), "format": "auto", "context": "on"})
    assert response.status_code == 200 and response.headers["X-Conforms"] == "false"
    page = response.get_data(as_text=True)
    program = client.post("/validate", data=BAD, headers={"Content-Type": "text/turtle"}).get_json()
    focus = {r["focus"] for r in program["results"]}
    assert "https://partner.example/park/p2" in focus
    assert page.count('<details class="entity-report"') == len(focus)
    for result in program["results"]:
        assert result["message"].replace('"', "&#34;").replace("'", "&#39;") in page


def test_an_uploaded_file_is_read_by_its_ending_and_the_report_downloads_in_every_format(client):
    upload = {"file": (io.BytesIO(GOOD.replace(b"@prefix", b"@prefix", 1)), "parks.ttl"), "context": "on"}
    response = client.post("/validate", data=upload, content_type="multipart/form-data")
    assert response.status_code == 200 and response.headers["X-Conforms"] == "true"
    assert "Report on parks.ttl" in response.get_data(as_text=True)
    for report, media in (
        ("json", "application/json"),
        ("turtle", "text/turtle"),
        ("text", "text/plain"),
        ("html", "text/html"),
    ):
        download = client.post(
            "/validate",
            data={"data": BAD.decode(), "format": "turtle", "context": "on", "download": "1", "report": report},
        )
        assert download.status_code == 200 and download.mimetype == media
        assert download.headers["Content-Disposition"].startswith("attachment")
    body = client.post(
        "/validate", data={"data": BAD.decode(), "format": "turtle", "context": "on", "download": "1", "report": "json"}
    ).get_json()
    program = client.post("/validate", data=BAD, headers={"Content-Type": "text/turtle"}).get_json()

    def unplaced(report: dict) -> dict:  # the same report, but for the name each gives the document
        return {**report, "results": [{**r, "location": None} for r in report["results"]]}

    assert unplaced(body) == unplaced(program)
    assert {r["location"] for r in body["results"]} == {"the pasted text:3:1"}
    assert {r["location"] for r in program["results"]} == {"the request body:3:1"}


def test_a_form_without_data_or_with_broken_rdf_gets_a_clear_400(client):
    empty = client.post("/validate", data={"data": "  ", "format": "auto"}, headers={"Accept": "application/json"})
    assert empty.status_code == 400 and "paste" in empty.get_json()["error"]
    broken = client.post(
        "/validate", data={"data": "<a> <b> .", "format": "turtle"}, headers={"Accept": "application/json"}
    )
    assert broken.status_code == 400 and "line" in broken.get_json()["error"]


def test_the_import_form_needs_the_token_and_writes_only_conforming_data(writable):
    from kg.web import create_app

    client = create_app(writable).test_client()
    store_dir = writable.path("store_dir")
    before = EmbeddedStore(store_dir).build_id
    form = {"data": GOOD.decode(), "format": "turtle", "graph": "https://partner.example/graph/form", "mode": "replace"}
    refused = client.post("/import", data={**form, "token": "wrong"}, headers={"Accept": "application/json"})
    assert refused.status_code in (401, 403) and EmbeddedStore(store_dir).build_id == before
    failed = client.post("/import", data={**form, "data": BAD.decode(), "token": TOKEN})
    assert failed.status_code == 422 and "Nothing was written" in failed.get_data(as_text=True)
    assert EmbeddedStore(store_dir).build_id == before
    done = client.post("/import", data={**form, "token": TOKEN})
    assert done.status_code == 201, done.get_data(as_text=True)[-2000:]
    after = EmbeddedStore(store_dir)
    assert after.build_id != before
    held = after.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://partner.example/graph/form> { ?s ?p ?o } }")
    assert int(held[0]["n"]) > 0
    assert "https://partner.example/graph/form" in json.dumps(done.get_data(as_text=True))
