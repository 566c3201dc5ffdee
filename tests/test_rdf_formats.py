"""The RDF formats' one table (kg.store.rdf_io.RDF_FORMATS) and what is read from it: file extensions,
the media types a request body may carry, the dump's file names and media types, the forms' labels."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.errors import InputError, UnsupportedFormat
from kg.exchange.dataset_description import MEDIA_TYPES
from kg.exchange.export import FORMATS
from kg.store.rdf_io import EXTENSIONS, RDF_FORMATS, format_for
from kg.web.negotiation import UPLOAD_TYPES, upload_format


@pytest.mark.parametrize(
    "name, expected",
    [
        ("p.ttl", "turtle"),
        ("P.TURTLE", "turtle"),
        ("p.nt", "ntriples"),
        ("p.json", "jsonld"),
        ("p.jsonld", "jsonld"),
        ("p.owl", "rdfxml"),
        ("p.rdf", "rdfxml"),
        ("p.trig", "trig"),
        ("p.nq", "nquads"),
    ],
)
def test_a_file_s_extension_names_its_format(name, expected):
    assert format_for(Path(name)) == expected
    assert format_for(Path(name), "nquads") == "nquads"  # a named format wins


def test_an_unknown_extension_or_format_name_is_an_input_error():
    with pytest.raises(InputError, match="extension"):
        format_for(Path("p.csv"))
    with pytest.raises(InputError, match="choose one of turtle, ntriples"):
        format_for(Path("p.ttl"), "n3")


def test_every_table_of_formats_agrees_with_the_engine_s():
    assert set(EXTENSIONS.values()) == set(RDF_FORMATS) == set(FORMATS) == set(MEDIA_TYPES)
    for name, rdf_format in RDF_FORMATS.items():
        assert MEDIA_TYPES[name] == rdf_format.media_type
        assert ox.RdfFormat.from_extension(rdf_format.file_extension) == rdf_format
    # a body is read in the format its media type names, and every format can be sent
    assert {RDF_FORMATS[name].media_type for name in UPLOAD_TYPES.values()} == set(UPLOAD_TYPES)
    assert set(UPLOAD_TYPES.values()) == set(RDF_FORMATS)


def test_a_body_in_no_rdf_format_is_415():
    assert upload_format("application/n-quads") == "nquads"
    for sent in ("text/plain", "application/json", ""):
        with pytest.raises(UnsupportedFormat) as refused:
            upload_format(sent)
        assert refused.value.http_status == 415 and "text/turtle" in refused.value.message
