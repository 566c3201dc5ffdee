"""Partner data in over HTTP: the Graph Store Protocol's writes (PUT, POST, DELETE) through the app, all or
nothing and behind the operator's token, and a write through one of ``kg serve``'s workers seen by every
worker. The same imports through the API and the CLI are in test_import.py."""

from __future__ import annotations

import pytest
from helpers import BAD_PARK, GOOD, MORE, PARTNER_GRAPH, ROOT, TOKEN, snapshot

from kg.config import load_settings


@pytest.fixture
def client(writable):
    from kg.web import create_app

    return create_app(writable).test_client()


def bearer(token=TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}


def test_graph_store_writes_need_the_token(client, writable):
    before = snapshot(writable)
    anonymous = client.put(
        "/data", query_string={"graph": PARTNER_GRAPH}, data=GOOD, headers={"Content-Type": "text/turtle"}
    )
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.put("/data", query_string={"graph": PARTNER_GRAPH}, data=GOOD, headers=bearer("nope"))
    assert wrong.status_code == 403 and TOKEN not in wrong.get_data(as_text=True)
    token_in_url = client.put(
        "/data",
        query_string={"graph": PARTNER_GRAPH, "token": TOKEN},
        data=GOOD,
        headers={"Content-Type": "text/turtle"},
    )
    assert token_in_url.status_code == 401  # only the header counts: URLs end up in logs
    assert client.delete("/data", query_string={"graph": PARTNER_GRAPH}).status_code == 401
    assert snapshot(writable) == before


def test_a_read_only_store_refuses_graph_store_writes(store, tmp_path):
    from kg.web import create_app

    settings = load_settings({"root": ROOT, "store_dir": tmp_path}, env={})
    app = create_app(settings, store=store).test_client()
    response = app.put("/data", query_string={"graph": PARTNER_GRAPH}, data=GOOD, headers=bearer())
    assert response.status_code == 403 and "read-only" in response.json["error"]


def test_graph_store_put_post_get_delete(client, writable):
    created = client.put("/data", query_string={"graph": PARTNER_GRAPH}, data=GOOD, headers=bearer())
    assert (
        created.status_code == 201
        and created.json["triples"] == 3
        and PARTNER_GRAPH.split("/")[-1] in created.headers["Location"]
    )
    replaced = client.put("/data", query_string={"graph": PARTNER_GRAPH}, data=GOOD, headers=bearer())
    assert replaced.status_code == 200
    added = client.post("/data", query_string={"graph": PARTNER_GRAPH}, data=MORE, headers=bearer())
    assert added.status_code == 200 and added.json["triples"] == 6
    got = client.get("/data", query_string={"graph": PARTNER_GRAPH}, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and got.data.count(b"\n") == 6
    assert client.delete("/data", query_string={"graph": PARTNER_GRAPH}, headers=bearer()).status_code == 204
    assert client.get("/data", query_string={"graph": PARTNER_GRAPH}).status_code == 404
    assert client.delete("/data", query_string={"graph": PARTNER_GRAPH}, headers=bearer()).status_code == 404


def test_graph_store_post_without_a_graph_creates_one(client):
    response = client.post("/data", data=GOOD, headers=bearer())
    assert response.status_code == 201
    location = response.headers["Location"]
    assert client.get(location).status_code == 200


@pytest.mark.parametrize(
    "data, content_type, query, status",
    [
        (BAD_PARK, "text/turtle", {"graph": PARTNER_GRAPH}, 422),
        (b"<a> <b> ", "text/turtle", {"graph": PARTNER_GRAPH}, 400),
        (GOOD, "text/plain", {"graph": PARTNER_GRAPH}, 415),
        (GOOD, "text/turtle", {"default": ""}, 400),
        (GOOD, "text/turtle", {"graph": "https://w3id.org/yrd-kg/graph/asserted"}, 403),
    ],
)
def test_graph_store_bad_writes_change_nothing(client, writable, data, content_type, query, status):
    before = snapshot(writable)
    response = client.put(
        "/data",
        query_string=query,
        data=data,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type},
    )
    assert response.status_code == status and response.json["ok"] is False and response.json["error"]
    if status == 422:
        assert {r["focus"] for r in response.json["report"]["results"]} == {"https://partner.example/park/p3"}
    assert snapshot(writable) == before


@pytest.mark.slow
def test_a_write_through_one_worker_is_seen_by_every_worker(writable, tmp_path):
    """Two gunicorn workers: after a PUT, queries (whichever worker answers) see the partner graph."""
    import json
    import urllib.parse
    import urllib.request

    from helpers import kg_server

    with kg_server(writable.path("store_dir"), tmp_path / "server.log", KG_WRITE_TOKEN=TOKEN) as base:
        request = urllib.request.Request(
            base + "/data?" + urllib.parse.urlencode({"graph": PARTNER_GRAPH}),
            data=GOOD,
            headers=bearer(),
            method="PUT",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
        ask = urllib.parse.urlencode({"query": "ASK { <https://partner.example/park/p1> ?p ?o }"})
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/sparql?{ask}", timeout=30) as response:
                assert json.load(response)["boolean"] is True
