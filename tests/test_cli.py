"""The kg command: exit codes, summaries, reports and readable errors, run as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from helpers import ROOT
from rdflib import Dataset, Graph, URIRef

from kg.store.embedded import EmbeddedStore

VALID_PARTNER = """@prefix yrd: <https://w3id.org/yrd-kg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix id: <https://w3id.org/yrd-kg/id/> .
<https://partner.example/park/p1> a yrd:IndustrialPark ; rdfs:label "Partner park"@en , "合作园区"@zh ;
    yrd:locatedIn id:region\\/nantong ; yrd:areaKm2 3.5 .
"""
INVALID_PARTNER = VALID_PARTNER.replace("yrd:areaKm2 3.5", "yrd:areaKm2 -3.5")


def kg(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, "-c", "from kg.cli import run; run()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "store"
    result = kg("--store-dir", str(store), "build")
    assert result.returncode == 0, result.stderr
    return store, result


def test_build_prints_a_summary_and_progress(cli_store):
    store, result = cli_store
    assert "triples per graph:" in result.stdout and "instances per class" in result.stdout
    assert "mapped parks.csv" in result.stderr and "validating (SHACL)" in result.stderr
    info = kg("--store-dir", str(store), "info")
    assert info.returncode == 0 and "/graph/asserted" in info.stdout and "/graph/shapes" in info.stdout
    published = EmbeddedStore(store)
    counted = {str(graph): sum(1 for _ in published.quads([graph])) for graph in published.graphs()}
    listed = {graph: int(count) for count, graph in (line.split() for line in info.stdout.splitlines()[1:])}
    assert listed == counted and info.stdout.startswith(f"build {published.build_id} ")


def test_missing_store_and_unknown_graph_are_usage_errors(cli_store, tmp_path):
    store, _ = cli_store
    result = kg("--store-dir", str(tmp_path / "nothing"), "export")
    assert result.returncode == 2 and "run 'kg build' first" in result.stderr
    result = kg("--store-dir", str(store), "export", "--graph", "nonsense")
    assert result.returncode == 2 and "no graph 'nonsense'" in result.stderr
    assert kg("--store-dir", str(store), "export", "--format", "csv").returncode == 2


def test_broken_seed_gives_exit_2_naming_file_line_and_column(tmp_path):
    for folder in ("seeds", "mappings", "ontology"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "seeds" / "people.csv").open("a", encoding="utf-8") as handle:
        handle.write("person/x,X,000_e6f6fc23eec8e3c6.txt,not-a-number,\n")
    result = kg("build", cwd=tmp_path)
    assert result.returncode == 2
    assert "people.csv, line" in result.stderr and "column paragraph" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_the_published_graph(cli_store):
    store, _ = cli_store
    result = kg("--store-dir", str(store), "validate", "--report", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["conforms"] and report["counts"]["Violation"] == 0 and report["counts"]["Warning"] > 0


def test_validate_partner_data_exit_codes_and_formats(cli_store, tmp_path):
    store, _ = cli_store
    good, bad = tmp_path / "good.ttl", tmp_path / "bad.ttl"
    good.write_text(VALID_PARTNER, encoding="utf-8")
    bad.write_text(INVALID_PARTNER, encoding="utf-8")
    result = kg("--store-dir", str(store), "validate", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conforms" in result.stdout

    result = kg("--store-dir", str(store), "validate", "--report", "json", str(bad))
    assert result.returncode == 1
    (violation,) = [r for r in json.loads(result.stdout)["results"] if r["severity"] == "Violation"]
    assert violation["shape"].endswith("#ZoneArea") and violation["focus"] == "https://partner.example/park/p1"
    assert violation["focus_label"] == "Partner park"

    # without the published graph beside it, the reference to Nantong does not resolve either
    result = kg("--store-dir", str(store), "validate", "--no-context", "--report", "text", str(bad))
    assert result.returncode == 1 and "VIOLATION  yrds:ZoneArea" in result.stdout and "Partner park" in result.stdout
    assert "VIOLATION  yrds:LocatedInPlace" in result.stdout

    result = kg("--store-dir", str(store), "validate", "--no-context", "--report", "turtle", str(bad))
    graph = Graph()
    graph.parse(data=result.stdout, format="turtle")
    assert len(graph) > 5

    page = tmp_path / "report.html"
    result = kg("--store-dir", str(store), "validate", "--no-context", "--report", "html", "-o", str(page), str(bad))
    assert result.returncode == 1 and result.stdout == ""
    html = page.read_text(encoding="utf-8")
    headings = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            headings.append(tag)

    Collect().feed(html)
    assert html.startswith("<!doctype html>") and "h2" in headings and "table" in headings
    assert "yrds:ZoneArea" in html and "Partner park" in html


def test_other_rdf_formats_are_read_by_extension_or_flag(cli_store, tmp_path):
    store, _ = cli_store
    dataset = Dataset()
    named = dataset.graph(URIRef("https://partner.example/graph"))
    named.parse(data=VALID_PARTNER, format="turtle")
    for name, fmt in (
        ("p.nt", "nt"),
        ("p.jsonld", "json-ld"),
        ("p.rdf", "xml"),
        ("p.trig", "trig"),
        ("p.nq", "nquads"),
    ):
        source = dataset if fmt in ("trig", "nquads", "json-ld") else named
        (tmp_path / name).write_text(source.serialize(format=fmt), encoding="utf-8")
        result = kg("--store-dir", str(store), "validate", "--no-context", "--report", "json", str(tmp_path / name))
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        shapes = {r["shape"].rsplit("#", 1)[-1] for r in json.loads(result.stdout)["results"]}
        assert shapes == {"LocatedInPlace"}, name  # read in full: the same single finding as from Turtle
    (tmp_path / "partner.data").write_text(VALID_PARTNER, encoding="utf-8")
    result = kg("--store-dir", str(store), "validate", "--input-format", "turtle", str(tmp_path / "partner.data"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("truncated.ttl", VALID_PARTNER[:-40], "line"),
        ("wrong.csv", VALID_PARTNER, "cannot tell the RDF format from the extension"),
        ("turtle-in.jsonld", VALID_PARTNER, "not valid jsonld"),
        ("empty.ttl", "", "the file is empty"),
        ("junk.ttl", b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 20, "not valid turtle"),
        ("missing.ttl", None, "cannot read"),
    ],
)
def test_unreadable_input_gives_exit_2_and_a_readable_message(cli_store, tmp_path, name, content, message):
    store, _ = cli_store
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = kg("--store-dir", str(store), "validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr and "Traceback" not in result.stderr


def test_literals_outside_their_datatype_are_named_once_without_a_traceback(cli_store, tmp_path):
    store, _ = cli_store
    path = tmp_path / "odd.ttl"
    path.write_text(
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<https://partner.example/a> <https://partner.example/b> "x"^^xsd:decimal , "none"^^xsd:boolean , '
        '"abc"^^xsd:date , "0"^^xsd:double .\n',
        encoding="utf-8",
    )
    result = kg("--store-dir", str(store), "validate", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: OWL RL reasoning found the graph inconsistent"
    assert sorted(line.split("'")[1] for line in lines[1:]) == ["abc", "none", "x"]  # a zero double is one
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr


def test_truncated_turtle_names_line_and_column(cli_store, tmp_path):
    store, _ = cli_store
    path = tmp_path / "truncated.ttl"
    path.write_text(VALID_PARTNER[:-40], encoding="utf-8")
    result = kg("--store-dir", str(store), "validate", str(path))
    assert "line 5" in result.stderr and "column" in result.stderr


def test_queries_query_and_sparql_commands(cli_store, tmp_path):
    store, _ = cli_store
    listing = kg("--store-dir", str(store), "queries")
    assert listing.returncode == 0 and "subregions" in listing.stdout and "region:iri" in listing.stdout
    table = kg(
        "--store-dir",
        str(store),
        "query",
        "region_hierarchy",
        "--param",
        "region=https://w3id.org/yrd-kg/id/region/jiangyin",
    )
    assert table.returncode == 0 and "Wuxi" in table.stdout and "320200" in table.stdout and "---" in table.stdout
    rows = kg("--store-dir", str(store), "query", "subregions", "--format", "csv")
    assert rows.returncode == 0 and rows.stdout.count("\n") == 7  # a header and Nantong's six parts
    query_file = tmp_path / "count.rq"
    query_file.write_text("SELECT (COUNT(*) AS ?n) WHERE { ?p a <https://w3id.org/yrd-kg/ontology#Zone> }")
    result = kg("--store-dir", str(store), "query", "--file", str(query_file), "--format", "json")
    assert json.loads(result.stdout)["results"]["bindings"][0]["n"]["value"] == "10"
    result = kg("--store-dir", str(store), "sparql", "ASK { ?s ?p ?o }", "--format", "json")
    assert json.loads(result.stdout)["boolean"] is True
    construct = "CONSTRUCT WHERE { <https://w3id.org/yrd-kg/id/infra/sutong-bridge> ?p ?o }"
    result = kg("--store-dir", str(store), "sparql", construct, "--format", "nquads")
    dataset = Dataset().parse(data=result.stdout, format="nquads")
    assert result.returncode == 0 and len(dataset.default_graph) >= 5 and len(dataset) == len(dataset.default_graph)
    for args, message in (
        (("query", "nope"), "no saved query"),
        (("sparql", "SELEC"), "does not parse"),
        (("query", "subregions", "--param", "region"), "KEY=VALUE"),
    ):
        result = kg("--store-dir", str(store), *args)
        assert result.returncode == 2 and message in result.stderr


def test_serve_without_a_published_store_is_a_usage_error(tmp_path):
    result = kg("--store-dir", str(tmp_path / "nothing"), "serve", "--port", "1")
    assert result.returncode == 2 and "run 'kg build' first" in result.stderr and "Traceback" not in result.stderr
    result = kg("--store-dir", str(tmp_path / "nothing"), "serve", "--port", "70000")
    assert result.returncode == 2 and "port must be 0-65535" in result.stderr


def test_serve_on_a_busy_port_says_so_and_names_the_option(settings, store):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kg("--store-dir", str(settings.path("store_dir")), "serve", "--port", str(port))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
