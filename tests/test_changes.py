"""GET /changes: the versions kept, and what changed since one of them, as kg diff writes it; applying the
SPARQL Update to the old version gives the current one."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from helpers import GOOD, TOKEN

from kg.exchange.imports import import_data
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import canonical_blank_nodes, parse_rdf


@pytest.fixture
def two_versions(writable):
    from kg.web import create_app

    store_dir = writable.path("store_dir")
    old = EmbeddedStore(store_dir).build_id
    import_data(
        writable, GOOD, format="turtle", graph="https://partner.example/graph/parks", agent="a",
        source_name="one.ttl", token=TOKEN,
    )  # fmt: skip
    return create_app(writable).test_client(), old, EmbeddedStore(store_dir)


def test_the_versions_kept_are_listed_newest_first(two_versions):
    client, old, new = two_versions
    listed = client.get("/changes").get_json()
    assert listed["current"] == new.build_id
    assert [v["build"] for v in listed["versions"]] == [new.build_id, old]
    assert [v["current"] for v in listed["versions"]] == [True, False]
    assert all(v["published"].endswith("+00:00") for v in listed["versions"])


def test_the_update_since_an_old_version_turns_it_into_the_current_one(two_versions):
    client, old, new = two_versions
    response = client.get(f"/changes?since={old}")
    assert response.status_code == 200 and response.mimetype == "application/sparql-update"
    assert response.headers["X-Changes-From"] == old and response.headers["X-Changes-To"] == new.build_id
    replay = ox.Store()
    old_store = EmbeddedStore(new.path.parent.parent, version=new.path.parent / old)
    replay.load(old_store.canonical_nquads(), format=ox.RdfFormat.N_QUADS)
    replay.update(response.get_data(as_text=True))
    # blank nodes (the ontology's lists) get fresh labels in the replay: compared in canonical form (RDFC-1.0)
    dumped = replay.dump(format=ox.RdfFormat.N_QUADS) or b""
    replayed = parse_rdf(dumped, format="nquads", base_iri="https://w3id.org/yrd-kg/", source="replay")
    assert set(canonical_blank_nodes(replayed)) == set(canonical_blank_nodes(list(new.quads())))
    again = client.get(f"/changes?since={old}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_change_as_lines_and_as_a_summary(two_versions):
    client, old, new = two_versions
    lines = client.get(f"/changes?since={old}", headers={"Accept": "text/plain"}).get_data(as_text=True)
    assert "+ <https://partner.example/park/p1>" in lines and not any(
        line.startswith("- ") for line in lines.splitlines()
    )
    summary = client.get(f"/changes?since={old}&format=summary")
    assert summary.mimetype == "text/markdown" and "Partner park one" in summary.get_data(as_text=True)
    same = client.get(f"/changes?since={new.build_id}&format=nquads")
    assert same.status_code == 200 and "+ " not in same.get_data(as_text=True)


@pytest.mark.parametrize(("since", "status"), [("0123456789abcdef", 410), ("nope", 400), ("../../etc", 400)])
def test_a_version_no_longer_kept_is_gone_and_a_malformed_one_is_refused(two_versions, since, status):
    client, _, _ = two_versions
    response = client.get(f"/changes?since={since}")
    assert response.status_code == status and "error" in response.get_json()


def test_changes_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/changes"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["since", "format"]
    assert {"200", "400", "410"} <= set(operation["responses"])
