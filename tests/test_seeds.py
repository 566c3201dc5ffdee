"""The curated fact tables: every row maps, every citation resolves, nothing copied from the articles."""

from __future__ import annotations

import csv
import re

import pytest
from helpers import ROOT

from kg.build.mapping import load_mapping, map_row
from kg.build.tables import load_schemas, read_table

SEEDS = ROOT / "seeds"
SCHEMAS = load_schemas(SEEDS)
BASE = "https://w3id.org/yrd-kg/"
#: Cells in the curators' own words, and how many consecutive words they may share with an article:
#: prose may quote a name (up to 11 words) but no longer phrase; a name may repeat the article's words, but no
#: name is a whole sentence.
FREE_TEXT = {"note": 12, "purpose": 12, "field": 12, "definition": 12, "name_en": 20, "label": 20, "role_en": 12}


def all_rows():
    for schema in SCHEMAS.values():
        yield from ((schema, row) for row in read_table(schema, SEEDS))


def sources() -> dict[str, dict]:
    with (SEEDS / "sources.csv").open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_every_seed_row_yields_triples(table):
    schema = SCHEMAS[table]
    mapping = load_mapping(ROOT / "mappings" / f"{table}.rq", schema, base_iri=BASE)
    rows = read_table(schema, SEEDS)
    assert rows, f"{schema.file} is empty"
    for row in rows:
        assert map_row(mapping, schema, row, base_iri=BASE), f"{schema.file}, line {row.line} yields nothing"


def test_every_citation_names_a_source_and_a_paragraph_in_range():
    register = sources()
    for schema, row in all_rows():
        if schema.cites_itself:
            continue
        where = f"{schema.file}, line {row.line}"
        assert row.source in register, f"{where}: unknown source {row.source!r}"
        source = register[row.source]
        if source["kind"] == "article":
            assert row.paragraph is not None, f"{where}: an article citation needs a paragraph"
            assert 1 <= row.paragraph <= int(source["paragraph_count"]), (
                f"{where}: paragraph {row.paragraph} out of range"
            )
        else:
            assert row.paragraph is None, f"{where}: reference sources have no paragraphs"


def test_reference_data_comes_only_from_reference_sources():
    register = sources()
    for schema, row in all_rows():
        if schema.name in ("gazetteer", "coordinates"):
            assert register[row.source]["kind"] == "reference", f"{schema.file}, line {row.line}"
        if schema.name == "labels" and row.cells["lang"].value == "zh":
            assert register[row.source]["kind"] == "reference", f"labels.csv, line {row.line}: zh name from an article"


def paragraphs(path):
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_paragraph_counts_match_the_articles(shared_seeds):
    for source_id, source in sources().items():
        if source["kind"] == "article":
            assert int(source["paragraph_count"]) == len(paragraphs(shared_seeds / source_id)), source_id


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def test_no_sentence_of_an_article_is_copied(shared_seeds):
    article_runs = set()
    for path in shared_seeds.glob("*.txt"):
        tokens = words(path.read_text(encoding="utf-8"))
        for run in set(FREE_TEXT.values()):
            article_runs.update(tuple(tokens[i : i + run]) for i in range(len(tokens) - run + 1))
    for schema, row in all_rows():
        for column, run in FREE_TEXT.items():
            if column in row.cells:
                tokens = words(row.cells[column].value)
                copied = [
                    " ".join(tokens[i : i + run])
                    for i in range(len(tokens) - run + 1)
                    if tuple(tokens[i : i + run]) in article_runs
                ]
                assert not copied, f"{schema.file}, line {row.line}, {column}: copied text {copied[0]!r}"


def test_places_sharing_a_name_stay_distinct():
    gazetteer = {r.cells["id"].value: r for r in read_table(SCHEMAS["gazetteer"], SEEDS)}
    for first, second in (("suzhou-jiangsu", "suzhou-anhui"), ("taizhou-jiangsu", "taizhou-zhejiang")):
        a, b = gazetteer[f"region/{first}"], gazetteer[f"region/{second}"]
        assert a.cells["name_en"].value == b.cells["name_en"].value
        assert a.cells["code"].value != b.cells["code"].value
        assert a.cells["part_of"].value != b.cells["part_of"].value


def test_gazetteer_codes_nest_in_their_parents():
    gazetteer = {r.cells["id"].value: r for r in read_table(SCHEMAS["gazetteer"], SEEDS)}
    for region_id, row in gazetteer.items():
        if "part_of" in row.cells:
            parent_row = gazetteer[row.cells["part_of"].value]
            parent, code = parent_row.cells["code"].value, row.cells["code"].value
            # a prefecture-level city, or a district of a municipality, shares the province's two digits
            digits = 2 if parent_row.cells["level"].value in ("province", "municipality") else 4
            assert code[:digits] == parent[:digits], region_id


def test_every_curated_figure_names_its_kind():
    """An empty kind reads as actual (tables written before kinds); the curated seeds say it on every row, so a
    target, an expectation or a planned figure is never taken for an achieved one by default."""
    rows = read_table(SCHEMAS["observations"], SEEDS)
    assert not [row.line for row in rows if "kind" not in row.cells]
    kinds = {row.cells["id"].value: row.cells["kind"].value for row in rows}
    assert kinds["obs/nantong-gdp-target-2029-cny"] == "target"  # 000 p24: "within another five years"
    assert kinds["obs/north-yanjiang-hsr-nantong-shanghai-commuting-time"] == "expected"  # 001 p10: once it opens
