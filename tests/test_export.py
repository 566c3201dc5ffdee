"""Export for partners: deterministic bytes, round trips, profiles, the VoID/DCAT description, the
validation gate, and the Graph Store Protocol / dump over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pyoxigraph as ox
import pytest
from helpers import ROOT
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS, SH, SKOS

from kg.config import load_settings
from kg.errors import InputError, NotValidated
from kg.exchange.dataset_description import DCAT_VERSION
from kg.exchange.export import dump, export, load_profiles, serialize
from kg.store.embedded import EmbeddedStore
from kg.store.rdf_io import parse_rdf
from kg.store.terms import ox_quad_stream
from kg.store.versions import publish

YRD = Namespace("https://w3id.org/yrd-kg/ontology#")
VOID = Namespace("http://rdfs.org/ns/void#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = ["turtle", "ntriples", "trig", "nquads", "jsonld", "rdfxml"]
DATASET_FORMATS = {"trig", "nquads", "jsonld"}


def as_set(quads, *, merge: bool) -> set[bytes]:
    """Quads compared by value, as N-Quads lines: blank nodes relabelled by RDFC-1.0, graph names dropped
    when merged. The terms may be rdflib's or pyoxigraph's."""
    dataset = ox.Dataset(
        ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph() if merge else q.graph_name)
        for q in ox_quad_stream(quads)
    )
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set((ox.serialize(dataset, format=ox.RdfFormat.N_QUADS) or b"").splitlines())


@pytest.fixture(scope="module")
def published_sets(store) -> dict[bool, set]:
    """The store's quads compared by value, merged into one graph (True) and by graph (False): what every
    format's round trip is held to, made once."""
    quads = list(store.export_quads(store.graphs()))
    return {merge: as_set(quads, merge=merge) for merge in (True, False)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_is_deterministic_and_round_trips(store, settings, fmt, published_sets):
    first = export(store, format=fmt, graphs=None, base_iri=settings.base_iri)
    assert len(first) > 100_000
    if fmt in ("turtle", "trig"):
        # made again from the same quads as rdflib terms, the bytes are the same: the embedded store hands
        # its terms over as pyoxigraph keeps them, and the output depends neither on that nor on the run
        # (the terms are written the same way for every format: one with graph names, one without)
        through_rdflib = serialize(list(store.quads(store.graphs())), format=fmt, base_iri=settings.base_iri)
        assert first == through_rdflib
    parsed = parse_rdf(first, format=fmt, base_iri=settings.base_iri, source="export")
    merge = fmt not in DATASET_FORMATS
    assert as_set(parsed, merge=merge) == published_sets[merge]


def test_an_export_reimported_into_an_empty_store_is_isomorphic(store, settings, tmp_path, published_sets):
    trig = export(store, format="trig", graphs=None, base_iri=settings.base_iri)
    quads = parse_rdf(trig, format="trig", base_iri=settings.base_iri, source="export")
    publish(quads, tmp_path / "copy", keep_versions=1)
    copy = EmbeddedStore(tmp_path / "copy")
    assert copy.graphs() == store.graphs()
    assert as_set(copy.quads(), merge=False) == published_sets[False]


def test_export_is_byte_identical_across_processes(store, settings, tmp_path):
    """Hash seeds differ between interpreter runs; the output must not depend on them."""
    for fmt in ("turtle", "trig"):
        outputs = []
        for seed in ("1", "2"):
            target = tmp_path / f"out{seed}.{fmt}"
            env = {**os.environ, "PYTHONHASHSEED": seed, "KG_STORE_DIR": str(settings.path("store_dir"))}
            subprocess.run(
                [sys.executable, "-c", "from kg.cli import run; run()", "export", "--format", fmt, "-o", str(target)],
                check=True,
                env=env,
                cwd=ROOT,
            )
            outputs.append((target.read_bytes(), target.with_name(f"out{seed}.void.ttl").read_bytes()))
        assert outputs[0] == outputs[1] and len(outputs[0][0]) > 100_000


def test_turtle_uses_the_fixed_prefixes_and_one_per_kind_of_identifier(store, settings):
    text = export(
        store, format="turtle", graphs=[URIRef(settings.base_iri + "graph/asserted")], base_iri=settings.base_iri
    ).decode()
    assert "@prefix yrd: <https://w3id.org/yrd-kg/ontology#> ." in text
    assert "@prefix park: <https://w3id.org/yrd-kg/id/park/> ." in text and "region:nantong" in text
    assert "\\/" not in text  # no escaped slashes in local names


@pytest.mark.parametrize("profile_id", ["parks-and-agreements", "parks-and-agreements-linked", "regions"])
def test_a_profile_export_holds_only_what_the_profile_names(store, settings, profile_id):
    profile = load_profiles(settings.path("profiles_dir"), settings.base_iri)[profile_id]
    members = store.instances(profile.classes)
    result = dump(settings, format="ntriples", graphs=["asserted", "inferred"], profile_id=profile_id, store=store)
    graph = Graph().parse(data=result.payload, format="nt")
    assert len(graph) > 20
    assert set(graph.subjects()) <= members
    assert set(graph.predicates()) <= profile.properties | {RDF.type}
    # ...and all of it: every named property of every member that the exported graphs hold
    expected = {
        (s, p, o)
        for s, p, o, g in store.quads(
            [URIRef(settings.base_iri + "graph/asserted"), URIRef(settings.base_iri + "graph/inferred")]
        )
        if s in members and (p in profile.properties or p == RDF.type)
    }
    assert set(graph) == expected


def test_the_parks_profile_keeps_parks_agreements_and_their_labels(store, settings):
    result = dump(settings, format="turtle", profile_id="parks-and-agreements", store=store)
    graph = Graph().parse(data=result.payload, format="turtle")
    park = URIRef(settings.base_iri + "id/park/jiangyin-jingjiang-industrial-park")
    assert (park, RDF.type, YRD.JointlyBuiltPark) in graph and graph.value(park, RDFS.label) is not None
    assert not any(p == YRD.coBuiltBy for p in graph.predicates())
    assert not any(str(s).startswith(settings.base_iri + "id/region/") for s in graph.subjects())
    regions = Graph().parse(data=dump(settings, format="turtle", profile_id="regions", store=store).payload)
    nantong = URIRef(settings.base_iri + "id/region/nantong")
    assert str(regions.value(nantong, SKOS.notation)) == "320600"


def test_an_unknown_profile_or_graph_is_refused(store, settings):
    with pytest.raises(InputError, match="no export profile"):
        dump(settings, format="turtle", profile_id="nope", store=store)
    with pytest.raises(InputError, match="holds no graph"):
        dump(settings, format="turtle", graphs=["nonsense"], store=store)


def test_the_description_states_what_was_exported(store, settings):
    result = dump(settings, format="trig", store=store, download_url="http://127.0.0.1/dump?format=trig")
    description = Graph().parse(data=result.description, format="turtle")
    dataset = URIRef(settings.base_iri + "dataset")
    assert (dataset, RDF.type, VOID.Dataset) in description and (dataset, RDF.type, DCAT.Dataset) in description
    assert description.value(dataset, DCTERMS.license) == URIRef(settings.dataset_license)
    assert str(description.value(dataset, DCAT_VERSION)) == store.build_id
    assert description.value(dataset, DCTERMS.title) is not None
    quads = list(store.quads())
    assert description.value(dataset, VOID.triples).toPython() == len(quads)
    for graph in store.graphs():
        subset = description.value(predicate=SD.name, object=graph)
        assert description.value(subset, VOID.triples).toPython() == sum(1 for q in quads if q[3] == graph)
    sources = set(description.objects(dataset, DCTERMS.source))
    assert sources == store.instances([YRD.Article]) and len(sources) == 5
    report = description.value(dataset, URIRef("http://www.w3.org/ns/dqv#hasQualityAnnotation"))
    assert description.value(report, SH.conforms) == Literal(True)
    distribution = description.value(dataset, DCAT.distribution)
    checksum = description.value(distribution, SPDX.checksum)
    assert str(description.value(checksum, SPDX.checksumValue)) == hashlib.sha256(result.payload).hexdigest()
    assert description.value(distribution, DCAT.byteSize).toPython() == len(result.payload)
    assert str(description.value(distribution, DCAT.downloadURL)) == "http://127.0.0.1/dump?format=trig"


@pytest.fixture
def unvalidated_store(tmp_path, store, settings):
    """A store version whose report says it did not pass (the build gate never publishes one, so it is
    made here the way an operator could have made it with an older or patched build)."""
    report = {"conforms": False, "counts": {"Violation": 2, "Warning": 0, "Info": 0}, "results": []}
    publish(
        list(store.quads()),
        tmp_path / "store",
        keep_versions=1,
        attachments={"report.json": json.dumps(report).encode()},
    )
    return load_settings({"root": ROOT, "store_dir": tmp_path / "store"}, env={})


def test_a_build_that_did_not_pass_is_exported_only_when_forced(unvalidated_store):
    with pytest.raises(NotValidated, match="did not pass validation"):
        dump(unvalidated_store, format="turtle")
    forced = dump(unvalidated_store, format="turtle", force=True)
    description = Graph().parse(data=forced.description, format="turtle")
    dataset = URIRef(unvalidated_store.base_iri + "dataset")
    report = description.value(dataset, URIRef("http://www.w3.org/ns/dqv#hasQualityAnnotation"))
    assert description.value(report, SH.conforms) == Literal(False)
    assert "did NOT pass" in str(description.value(report, RDFS.comment))
    assert description.value(dataset, DCTERMS.conformsTo) is None


def test_the_cli_writes_the_description_beside_and_refuses_unvalidated(unvalidated_store, tmp_path):
    def kg(*args):
        env = {**os.environ, "KG_STORE_DIR": str(unvalidated_store.path("store_dir"))}
        return subprocess.run(
            [sys.executable, "-c", "from kg.cli import run; run()", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )

    refused = kg("export", "-o", str(tmp_path / "out.ttl"))
    assert refused.returncode == 1 and "--force" in refused.stderr and not (tmp_path / "out.ttl").exists()
    forced = kg("export", "--force", "--format", "nquads", "-o", str(tmp_path / "out.nq"))
    assert forced.returncode == 0 and "did not pass" in forced.stderr
    assert (tmp_path / "out.void.ttl").is_file() and (tmp_path / "out.nq").stat().st_size > 100_000
    listing = kg("export", "--list-profiles")
    assert listing.returncode == 0 and "parks-and-agreements" in listing.stdout


def test_serialize_refuses_an_unknown_format():
    from kg.errors import UnsupportedFormat

    with pytest.raises(UnsupportedFormat):
        serialize([], format="csv", base_iri="https://w3id.org/yrd-kg/")


# --- over HTTP: the Graph Store Protocol (read) and the dump ------------------------------------------


def test_graph_store_get_of_a_named_graph_in_each_format(client, store, settings):
    asserted = settings.base_iri + "graph/asserted"
    expected = as_set(store.quads([URIRef(asserted)]), merge=True)
    for media_type, fmt in [
        ("text/turtle", "turtle"),
        ("application/n-triples", "ntriples"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml", "rdfxml"),
    ]:
        response = client.get("/data", query_string={"graph": asserted}, headers={"Accept": media_type})
        assert response.status_code == 200 and response.mimetype == media_type
        parsed = parse_rdf(response.data, format=fmt, base_iri=settings.base_iri, source=fmt)
        assert as_set(parsed, merge=True) == expected, fmt


def test_graph_store_default_graph_and_whole_dataset(client, store, settings, published_sets):
    default = client.get("/data?default", headers={"Accept": "application/n-triples"})
    parsed = parse_rdf(default.data, format="ntriples", base_iri=settings.base_iri, source="default")
    assert as_set(parsed, merge=True) == published_sets[True]
    whole = client.get("/data", headers={"Accept": "application/n-quads"})
    parsed = parse_rdf(whole.data, format="nquads", base_iri=settings.base_iri, source="dataset")
    assert as_set(parsed, merge=False) == published_sets[False]
    assert client.get("/data", headers={"Accept": "text/turtle"}).status_code == 406
    assert client.get("/data?default", headers={"Accept": "application/trig"}).status_code == 406


def test_graph_store_errors_and_conditional_requests(client, settings):
    missing = client.get("/data", query_string={"graph": "http://127.0.0.1:9/nothing"})
    assert missing.status_code == 404 and "holds no graph" in missing.json["error"]
    both = client.get("/data", query_string={"graph": settings.base_iri + "graph/asserted", "default": ""})
    assert both.status_code == 400
    first = client.get("/data?default", headers={"Accept": "text/turtle"})
    again = client.get("/data?default", headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get(
        "/data?default", headers={"Accept": "application/n-triples", "If-None-Match": first.headers["ETag"]}
    )
    assert other.status_code == 200  # another format is another representation
    head = client.head("/data?default", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(first.data)


def test_the_dump_comes_with_its_description(client, store):
    response = client.get("/dump")
    assert response.status_code == 200 and response.mimetype == "application/trig"
    assert response.headers["Content-Disposition"] == f'attachment; filename="yrd-kg-{store.build_id}.trig"'
    link = response.headers["Link"]
    assert 'rel="describedby"' in link and "/dump/description" in link
    description = Graph().parse(data=client.get("/dump/description").data, format="turtle")
    checksums = {str(o) for o in description.objects(None, SPDX.checksumValue)}
    assert checksums == {hashlib.sha256(response.data).hexdigest()}
    assert client.get("/.well-known/void").data == client.get("/dump/description").data
    nquads = client.get("/dump?format=nquads")
    assert nquads.status_code == 200 and nquads.headers["Content-Disposition"].endswith('.nq"')


def test_sorting_on_lines_orders_as_sorting_on_each_term_in_turn(store):
    # the order exports have always had: graph, subject, predicate, object, each by its N-Triples text
    from kg.store.rdf_io import serialize_sorted

    quads = list(store.export_quads(store.graphs()))
    by_terms = sorted(
        {(ox.NamedNode(str(g)), s, p, o) for s, p, o, g in quads},
        key=lambda q: (str(q[0]), str(q[1]), str(q[2]), str(q[3])),
    )
    expected = ox.serialize([ox.Quad(s, p, o, g) for g, s, p, o in by_terms], format=ox.RdfFormat.N_QUADS)
    assert serialize_sorted(quads, "nquads") == expected
