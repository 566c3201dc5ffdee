"""bench.generate: synthetic seed folders that the real pipeline builds without SHACL violations, at the size
asked for, byte for byte reproducible."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from kg.build.pipeline import build_and_publish
from kg.build.tables import load_schemas, read_table
from kg.config import load_settings

if str(ROOT) not in sys.path:  # bench/ is not an installed package; pytest run from elsewhere still finds it
    sys.path.insert(0, str(ROOT))
from bench.generate import METADATA_FILE, generate, main  # noqa: E402

SMALL, DOUBLE = 3_000, 6_000
YRD = "https://w3id.org/yrd-kg/ontology#"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench-small")
    return out, generate(out, SMALL, seed=1)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def declared_tables() -> dict[str, list[str]]:
    metadata = json.loads((ROOT / "seeds" / METADATA_FILE).read_text(encoding="utf-8"))
    return {t["url"]: [c["name"] for c in t["tableSchema"]["columns"]] for t in metadata["tables"]}


def test_small_folder_builds_with_the_real_pipeline_and_conforms(small, tmp_path):
    out, summary = small
    settings = load_settings({"root": ROOT, "seeds_dir": out, "store_dir": tmp_path / "store"}, env={})
    # build_and_publish raises ValidationFailed on any violation
    build, version = build_and_publish(settings, progress=lambda message: None)
    assert build.report.conforms
    assert build.report.counts()["Violation"] == 0
    asserted = len(build.graphs["asserted"])
    assert 0.7 * SMALL <= asserted <= 1.3 * SMALL, asserted
    assert (tmp_path / "store" / "current").exists()

    # the shapes had something to check: every kind of data the generator promises is in the graph
    counts = {str(k).removeprefix(YRD): v for k, v in build.instance_counts().items()}
    for kind in (
        "AdministrativeRegion",
        "InformalRegion",
        "JointlyBuiltPark",
        "Agreement",
        "Industry",
        "Indicator",
        "Article",
        "ReferenceSource",
        "http://purl.org/linked-data/cube#Observation",
    ):
        assert counts.get(kind, 0) > 0, kind
    predicates = {str(p).removeprefix(YRD) for _, p, _ in build.graphs["asserted"]}
    assert {
        "partOf",
        "coBuiltBy",
        "party",
        "signedOn",
        "established",
        "refPeriod",
        "hasMemberRegion",
        "http://www.w3.org/2004/02/skos/core#broader",
        "http://www.w3.org/2004/02/skos/core#notation",
        "http://www.w3.org/2003/01/geo/wgs84_pos#lat",
    } <= predicates
    # the real seeds' shape: some facts are stated by two sources (two citations, one triple)
    assert any(len(cited) > 1 for cited in build.produced.values())


def test_every_declared_table_is_written_with_its_header_and_read_back(small):
    out, summary = small
    tables = declared_tables()
    assert sorted(p.name for p in out.iterdir()) == sorted([*tables, METADATA_FILE])
    assert (out / METADATA_FILE).read_bytes() == (ROOT / "seeds" / METADATA_FILE).read_bytes()
    for file, header in tables.items():
        with (out / file).open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == header, file
    schemas = load_schemas(out)
    for name, schema in schemas.items():  # the project's reader checks every cell against the metadata
        assert len(read_table(schema, out)) == summary["rows"][name], name
    for used in (
        "gazetteer",
        "coordinates",
        "regions",
        "parks",
        "park_roles",
        "agreements",
        "agreement_parties",
        "industries",
        "industry_links",
        "indicators",
        "observations",
        "sources",
    ):
        assert summary["rows"][used] > 0, used
    assert summary["rows"]["people"] == 0  # unused tables: the header only


def test_same_arguments_give_the_same_bytes_and_another_seed_other_bytes(small, tmp_path):
    out, summary = small
    again = generate(tmp_path / "again", SMALL, seed=1)
    assert digests(tmp_path / "again") == digests(out)
    assert again == summary
    generate(tmp_path / "other", SMALL, seed=2)
    first, other = digests(out), digests(tmp_path / "other")
    assert first[METADATA_FILE] == other[METADATA_FILE]
    for file in ("gazetteer.csv", "parks.csv", "agreements.csv", "observations.csv", "sources.csv"):
        assert first[file] != other[file], file


def test_twice_the_triples_is_about_twice_the_rows(small, tmp_path):
    _, summary = small
    double = generate(tmp_path / "double", DOUBLE, seed=1)
    assert 1.6 <= double["total_rows"] / summary["total_rows"] <= 2.4
    for table in ("gazetteer", "parks", "observations"):
        assert 1.5 <= double["rows"][table] / summary["rows"][table] <= 2.5, table
    assert 1.7 <= double["estimated_triples"] / summary["estimated_triples"] <= 2.3


def test_command_line_prints_the_summary(tmp_path, capsys):
    assert main(["--triples", "2000", "--out", str(tmp_path / "cli"), "--seed", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["target_triples"] == 2000 and printed["seed"] == 3
    assert printed["rows"]["observations"] > 0
    assert main(["--triples", "10", "--out", str(tmp_path / "tiny")]) == 2  # below the smallest size
