"""The seed-table reader: typing of cells and errors that name file, line and column."""

import json
import shutil

import pytest
from helpers import ROOT

from kg.build.tables import load_schemas, read_table
from kg.errors import SeedTableError

SEEDS = ROOT / "seeds"


@pytest.fixture
def seeds_copy(tmp_path):
    shutil.copy(SEEDS / "tables.csv-metadata.json", tmp_path)
    return tmp_path


def write_parks(folder, *rows):
    header = "id,name_en,kind,located_in,established,date_derived,area_km2,status,part_of,source,paragraph,note"
    (folder / "parks.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_cells_are_typed_and_dates_get_bounds(seeds_copy):
    write_parks(seeds_copy, "park/p,Park P,IndustrialPark,region/r,2010-08,true,5.2,in-operation,,x.txt,3,")
    (row,) = read_table(load_schemas(seeds_copy)["parks"], seeds_copy)
    assert row.line == 2 and row.source == "x.txt" and row.paragraph == 3
    assert row.cells["established"].datatype.value.endswith("#gYearMonth")
    assert row.cells["established_earliest"].value == "2010-08-01"
    assert row.cells["established_latest"].value == "2010-08-31"
    assert row.cells["area_km2"].datatype.value.endswith("#decimal")
    assert "note" not in row.cells  # an empty cell stays unbound


@pytest.mark.parametrize(
    "row, column",
    [
        ("park/p,Park P,IndustrialPark,region/r,2010-13,,,,,x.txt,3,", "established"),
        ("park/p,Park P,Castle,region/r,,,,,,x.txt,3,", "kind"),
        ("Park P,Park P,IndustrialPark,region/r,,,,,,x.txt,3,", "id"),
        ("park/p,Park P,IndustrialPark,park/r,,,,,,x.txt,3,", "located_in"),
        ("park/p,Park P,IndustrialPark,region/r,,maybe,,,,x.txt,3,", "date_derived"),
        ("park/p,Park P,IndustrialPark,region/r,,,about 5,,,x.txt,3,", "area_km2"),
        ("park/p,Park P,IndustrialPark,region/r,,,,,,,3,", "source"),
        ("park/p,Park P,IndustrialPark,region/r,,,,,,x.txt,three,", "paragraph"),
        ("park/p, Park P,IndustrialPark,region/r,,,,,,x.txt,3,", "name_en"),
    ],
)
def test_bad_cell_names_file_line_and_column(seeds_copy, row, column):
    write_parks(seeds_copy, "park/ok,OK,IndustrialPark,,,,,,,x.txt,1,", row)
    with pytest.raises(SeedTableError) as error:
        read_table(load_schemas(seeds_copy)["parks"], seeds_copy)
    assert f"parks.csv, line 3, column {column}" in str(error.value)


def test_wrong_header_and_ragged_rows(seeds_copy):
    (seeds_copy / "parks.csv").write_text("id,name\npark/p,P\n")
    with pytest.raises(SeedTableError, match="line 1: header must be"):
        read_table(load_schemas(seeds_copy)["parks"], seeds_copy)
    write_parks(seeds_copy, "park/p,Park P")
    with pytest.raises(SeedTableError, match="line 2: 2 cells"):
        read_table(load_schemas(seeds_copy)["parks"], seeds_copy)


def test_missing_table_and_broken_metadata(seeds_copy):
    with pytest.raises(SeedTableError, match="cannot open"):
        read_table(load_schemas(seeds_copy)["parks"], seeds_copy)
    (seeds_copy / "tables.csv-metadata.json").write_text("{not json")
    with pytest.raises(SeedTableError, match="cannot read the table metadata"):
        load_schemas(seeds_copy)


@pytest.mark.parametrize("column", ["source", "id"])
def test_metadata_must_make_the_citation_required(seeds_copy, column):
    """A fact table whose source may be empty (or a register whose id may be) is refused when read, by name."""
    path = seeds_copy / "tables.csv-metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    tables = [t for t in metadata["tables"] if any(c["name"] == "source" for c in t["tableSchema"]["columns"])]
    if column == "id":
        tables = [t for t in metadata["tables"] if t not in tables]
    for declared in tables[0]["tableSchema"]["columns"]:
        if declared["name"] == column:
            declared["required"] = False
    path.write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(SeedTableError, match=f"column {column} must be declared and required"):
        load_schemas(seeds_copy)
