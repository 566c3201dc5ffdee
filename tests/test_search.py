"""Search: the index published with each store version, its ranking, and ``GET /search`` for browsers and
programs. What the index should hold is read from the store with SPARQL, not listed here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg.errors import InputError, StoreError
from kg.store.search import SearchIndex, query_variants
from kg.store.search_index import INDEX, search_key, short_grams, write_index
from kg.store.versions import publish

BASE = "https://w3id.org/yrd-kg/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ALT = "http://www.w3.org/2004/02/skos/core#altLabel"


@pytest.fixture(scope="module")
def index(store) -> SearchIndex:
    return SearchIndex(store.path.parent / f"{store.build_id}.{INDEX}")


def first(index: SearchIndex, text: str):
    return index.search(text, 5).hits[0]


def test_every_version_is_published_with_its_index(store):
    assert (store.path.parent / f"{store.build_id}.{INDEX}").is_file()


NAMED = """
  GRAPH ?g { ?e ?p ?name }
  VALUES ?p { rdfs:label skos:altLabel skos:prefLabel yrd:displayLabel }
  FILTER(isIRI(?e) && isLiteral(?name) && ?g NOT IN (graph:ontology, graph:shapes))"""
PREFIXES = f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX yrd: <{BASE}ontology#>
PREFIX graph: <{BASE}graph/>
"""


def test_the_index_holds_every_named_entity_and_nothing_of_the_vocabulary(store, index):
    named = {str(row["e"]) for row in store.select(PREFIXES + f"SELECT DISTINCT ?e WHERE {{ {NAMED} }}")}
    db = index._connect()
    indexed = {iri for (iri,) in db.execute("SELECT iri FROM entity")}
    assert indexed == named
    assert not any(iri.startswith(BASE + "ontology") for iri in indexed)
    # every name of every entity, in each language, is searchable
    names = db.execute("SELECT COUNT(*) FROM name").fetchone()[0]
    distinct = store.select(
        PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?e ?name WHERE {{ {NAMED} }} }}"
    )
    assert names == int(distinct[0]["n"])


def test_two_suzhous_are_told_apart_by_where_they_lie(store, index):
    hits = [h for h in index.search("Suzhou").hits if h.label.startswith("Suzhou (")]
    assert {(h.iri, h.place) for h in hits} == {
        (BASE + "id/region/suzhou-jiangsu", "Jiangsu"),
        (BASE + "id/region/suzhou-anhui", "Anhui"),
    }
    assert {h.kind for h in hits} == {"Administrative Region"}
    assert {h.label_zh for h in hits} == {"苏州市", "宿州市"}


@pytest.mark.parametrize(
    "text", ["Nantong", "nantong", "NANTONG", "Nan-tong", "Nantong City", " nantong  city ", "南通", "南通市"]
)
def test_case_hyphens_spaces_and_generic_suffixes_do_not_matter(index, text):
    assert first(index, text).iri == BASE + "id/region/nantong"


@pytest.mark.parametrize(
    ("text", "iri", "matched"),
    [
        ("Su", "region/suzhou-jiangsu", "Su"),
        ("Tong", "region/nantong", "Tong"),
        ("CIIE", "event/china-international-import-expo", "CIIE"),
    ],
)
def test_short_forms_find_what_they_stand_for(index, text, iri, matched):
    hit = first(index, text)
    assert (hit.iri, hit.matched, hit.matched_lang) == (BASE + "id/" + iri, matched, "en")


def test_chinese_finds_a_character_anywhere_in_a_name(index):
    found = {h.iri for h in index.search("苏", 50).hits}
    assert {BASE + "id/region/suzhou-jiangsu", BASE + "id/region/jiangsu"} <= found
    assert BASE + "id/region/suzhou-anhui" not in found  # 宿州市


def test_a_name_nobody_has_finds_nothing(index):
    assert index.search("Zzyzx Quarry").hits == []


@pytest.mark.parametrize("text", ["", "   ", "--", "x" * 201])
def test_an_empty_or_overlong_query_is_refused(index, text):
    with pytest.raises(InputError):
        index.search(text)


def _snapshot(tmp_path: Path, names: list[tuple[str, str, str]]) -> Path:
    lines = [
        f'<{BASE}id/t/{slug}> <{predicate}> "{text}"@en <{BASE}graph/asserted> .\n' for slug, predicate, text in names
    ]
    path = tmp_path / "snapshot.nq"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_exact_before_start_before_word_start_before_anywhere_and_labels_before_alternatives(tmp_path):
    snapshot = _snapshot(
        tmp_path,
        [
            ("inside", RDFS_LABEL, "Xinanlake"),
            ("word", RDFS_LABEL, "Old Anlake"),
            ("start", RDFS_LABEL, "Anlake Port"),
            ("alternative", ALT, "Anlake"),
            ("exact", RDFS_LABEL, "anlake"),
        ],
    )
    write_index(snapshot, tmp_path / "index.sqlite")
    hits = SearchIndex(tmp_path / "index.sqlite").search("Anlake").hits
    assert [h.iri.rsplit("/", 1)[1] for h in hits] == ["exact", "alternative", "start", "word", "inside"]


def test_query_variants_and_keys():
    assert query_variants("Nantong City") == ["nantongcity", "nantong"]
    assert query_variants("南通市") == ["南通市", "南通"]
    assert query_variants("City") == ["city"]
    assert search_key("Su-Tong  Bridge") == "sutongbridge"
    assert {"苏", "苏锡", "锡", "锡通", "通"} <= short_grams("苏锡通")
    assert "an" not in short_grams("Nantong")  # Latin: word starts only


def test_a_failure_while_indexing_leaves_the_published_version(tmp_path, monkeypatch):
    import pyoxigraph as ox

    from kg.store import versions

    def dataset(label: str) -> list[tuple]:
        return [
            (
                ox.NamedNode(BASE + "id/t/a"),
                ox.NamedNode(RDFS_LABEL),
                ox.Literal(label, language="en"),
                BASE + "graph/asserted",
            )
        ]

    first_version = publish(dataset("A"), tmp_path, keep_versions=3)

    def no_room(snapshot, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(versions, "write_index", no_room)
    with pytest.raises(StoreError, match="disk is full"):
        publish(dataset("B"), tmp_path, keep_versions=3)
    assert os.path.realpath(tmp_path / "current") == str(first_version.path)
    left = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert left == sorted(
        [first_version.build_id] + [f"{first_version.build_id}.{x}" for x in ("nq", "blank.nq", INDEX)]
    )


# --- over HTTP (Flask's test client) ----------------------------------------------------------------------------


def test_search_answers_json_to_programs(client):
    response = client.get("/search?q=Suzhou&limit=3", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["query"] == "Suzhou" and len(body["hits"]) == 3 and body["more"] is True
    top = body["hits"][0]
    assert set(top) == {"iri", "label", "label_zh", "kind", "place", "matched", "matched_lang", "page"}
    assert top["page"].startswith("/doc/region/suzhou-")


def test_search_answers_a_page_to_browsers_with_hits_linked_to_their_pages(client):
    response = client.get("/search?q=%E5%8D%97%E9%80%9A", headers={"Accept": "text/html"})  # 南通
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'href="/doc/region/nantong"' in page and '<span lang="zh">南通市</span>' in page
    empty = client.get("/search", headers={"Accept": "text/html"})
    assert empty.status_code == 200 and 'name="q"' in empty.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    ["/search?q=", "/search", "/search?q=Nantong&limit=0", "/search?q=Nantong&limit=x", "/search?q=" + "a" * 201],
)
def test_bad_searches_get_400_in_json(client, query):
    response = client.get(query, headers={"Accept": "application/json"})
    assert response.status_code == 400 and "error" in response.get_json()


def test_every_page_has_a_search_box(client):
    for path in ("/", "/query", "/saved/", "/map", "/doc/region/nantong"):
        page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert 'role="search"' in page and 'name="q"' in page, path


def test_search_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/search"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["q", "limit", "format"]


def test_a_version_without_an_index_gets_503_saying_to_rebuild(writable):
    from kg.web import create_app

    store_dir = writable.path("store_dir")
    for index in (store_dir / "versions").glob(f"*.{INDEX}"):
        index.unlink()
    response = create_app(writable).test_client().get("/search?q=Nantong")
    assert response.status_code == 503 and "kg build" in response.get_json()["error"]


def test_an_import_publishes_its_names_with_its_version(writable):
    from helpers import GOOD, TOKEN

    from kg.exchange.imports import import_data
    from kg.store.embedded import EmbeddedStore

    store_dir = writable.path("store_dir")
    before = EmbeddedStore(store_dir)
    old_index = SearchIndex(before.path.parent / f"{before.build_id}.{INDEX}")
    assert (
        old_index.search("Partner park one").hits[:1] == []
        or old_index.search("Partner park one").hits[0].iri != "https://partner.example/park/p1"
    )
    import_data(
        writable,
        GOOD,
        format="turtle",
        graph="https://partner.example/graph/parks",
        agent="a",
        source_name="one.ttl",
        token=TOKEN,
    )
    after = EmbeddedStore(store_dir)
    hit = SearchIndex(after.path.parent / f"{after.build_id}.{INDEX}").search("partner park one").hits[0]
    assert (hit.iri, hit.kind) == ("https://partner.example/park/p1", "Industrial Park")
    # the vocabulary's documentation stays with the data it documents
    assert after.attachment("vocabulary.json") == before.attachment("vocabulary.json") is not None
